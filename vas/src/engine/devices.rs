//! Cameras and the credential rules.
//!
//! Owns adding, listing, changing and removing cameras (with their main and sub streams),
//! the rules for where credentials come from (in the URL or given apart, never two different
//! sets; a sub stream shares its camera's), sealing them on the way into the store, and the
//! outside view of a camera ([`Device`]), which never carries the password.

use tracing::info;

use super::Vas;
use crate::camera_url::{CameraUrl, Credentials};
use crate::model::{
    DesiredState, Device, DeviceId, DevicePatch, DeviceRow, NewDevice, Order, StreamId,
    StreamProfile, StreamRow, SubStreamChange, resolve_credentials, validate_name,
};
use crate::secrets;
use crate::{Error, Result};

#[vas_macros::calls(devices)]
impl Vas {
    /// Adds a camera with its main stream (and sub stream, if a sub URL is given). Streams
    /// start out stopped and not recording.
    ///
    /// Errors: `InvalidInput` for a bad name or URL, `AlreadyExists` for a duplicate name or
    /// URL, `Unavailable` when the database is down.
    #[call(rest = "POST /api/v1/devices")]
    pub async fn add_device(&self, device: NewDevice) -> Result<Device> {
        self.run(|v| async move {
            let d = v.add_device_now(device).await?;
            v.public(&d).await
        })
        .await
    }

    async fn add_device_now(&self, new: NewDevice) -> Result<DeviceRow> {
        let name = validate_name(&new.name)?;
        let (rtsp_url, url_creds) = CameraUrl::parse(&new.rtsp_url)?;
        let (sub_rtsp_url, sub_creds) = match new.sub_rtsp_url.as_deref() {
            Some(s) => {
                let (u, c) = CameraUrl::parse(s)?;
                (Some(u), c)
            }
            None => (None, None),
        };
        let credentials =
            resolve_credentials(url_creds, new.username.as_deref(), new.password.as_deref())?;
        check_sub_credentials(sub_creds.as_ref(), credentials.as_ref())?;
        let now = self.inner.clock.now_utc();
        let device = DeviceRow {
            id: DeviceId::new(),
            name,
            rtsp_url,
            sub_rtsp_url,
            credentials,
            rtsp_transport: new.rtsp_transport.unwrap_or(self.inner.ingest.transport),
            enabled: new.enabled,
            created_at: now,
            updated_at: now,
        };
        let mut streams = vec![self.new_stream(device.id, StreamProfile::Main)];
        if device.sub_rtsp_url.is_some() {
            streams.push(self.new_stream(device.id, StreamProfile::Sub));
        }
        self.inner
            .store
            .insert_device(
                &secrets::seal_device(&self.inner.secrets, &device)?,
                &streams,
            )
            .await?;
        info!(device = %device.id, name = %device.name, url = %device.rtsp_url_masked(), "camera added");
        Ok(device)
    }

    fn new_stream(&self, device_id: DeviceId, profile: StreamProfile) -> StreamRow {
        StreamRow {
            id: StreamId::new(),
            device_id,
            profile,
            desired: DesiredState::Stopped,
            record: false,
            created_at: self.inner.clock.now_utc(),
        }
    }

    /// Every camera, oldest first (by when it was added), or newest first.
    #[call(rest = "GET /api/v1/devices")]
    pub async fn devices(&self, order: Order) -> Result<Vec<Device>> {
        self.run(move |v| async move {
            let devices = v.inner.store.list_devices().await?;
            let streams = v.inner.store.list_streams(None).await?;
            let mut devices = devices
                .into_iter()
                .map(|d| secrets::open_device(&v.inner.secrets, d).map(|d| d.public(&streams)))
                .collect::<Result<Vec<_>>>()?;
            if order == Order::Newest {
                devices.reverse();
            }
            Ok(devices)
        })
        .await
    }

    /// One camera (`NotFound` if unknown).
    #[call(rest = "GET /api/v1/devices/{id}")]
    pub async fn device(&self, id: DeviceId) -> Result<Device> {
        self.run(move |v| async move {
            let d = v.device_with_secrets(id).await?;
            v.public(&d).await
        })
        .await
    }

    /// What the outside sees of a camera (with its streams' ids).
    async fn public(&self, d: &DeviceRow) -> Result<Device> {
        Ok(d.public(&self.inner.store.list_streams(Some(d.id)).await?))
    }

    /// A camera with its credentials opened: for the engine's own use, never handed out.
    pub(super) async fn device_with_secrets(&self, id: DeviceId) -> Result<DeviceRow> {
        let d = self.inner.store.get_device(id).await?;
        secrets::open_device(&self.inner.secrets, d)
    }

    /// Changes a camera. [`SubStreamChange::Set`] adds a sub stream (or changes its URL);
    /// [`SubStreamChange::Remove`] removes it (and what was indexed for it). A new URL with
    /// credentials in it replaces the stored credentials; `username` and `password` both
    /// `""` clear them.
    ///
    /// Errors: `NotFound`, `InvalidInput` (bad name, URL or credentials), `AlreadyExists`.
    #[call(rest = "PATCH /api/v1/devices/{id}")]
    pub async fn update_device(&self, id: DeviceId, patch: DevicePatch) -> Result<Device> {
        self.run(move |v| async move {
            let d = v.update_device_now(id, patch).await?;
            v.public(&d).await
        })
        .await
    }

    async fn update_device_now(&self, id: DeviceId, patch: DevicePatch) -> Result<DeviceRow> {
        let mut device = self.device_with_secrets(id).await?;
        let mut url_creds = None;
        if let Some(name) = &patch.name {
            device.name = validate_name(name)?;
        }
        if let Some(url) = &patch.rtsp_url {
            let (u, c) = CameraUrl::parse(url)?;
            device.rtsp_url = u;
            url_creds = c;
        }
        let clear = patch.username.as_deref() == Some("") && patch.password.as_deref() == Some("");
        if clear {
            if url_creds.is_some() {
                return Err(Error::invalid_input(
                    "cannot clear credentials and set them in the URL at once",
                ));
            }
            device.credentials = None;
        } else if let Some(c) = resolve_credentials(
            url_creds,
            patch.username.as_deref(),
            patch.password.as_deref(),
        )? {
            device.credentials = Some(c);
        }
        let streams = self.inner.store.list_streams(Some(id)).await?;
        let existing_sub = streams.iter().find(|s| s.profile == StreamProfile::Sub);
        let mut add = Vec::new();
        let mut remove = Vec::new();
        match &patch.sub_rtsp_url {
            SubStreamChange::Keep => {}
            SubStreamChange::Remove => {
                device.sub_rtsp_url = None;
                remove.extend(existing_sub.map(|s| s.id));
            }
            SubStreamChange::Set(url) => {
                let (u, c) = CameraUrl::parse(url)?;
                check_sub_credentials(c.as_ref(), device.credentials.as_ref())?;
                device.sub_rtsp_url = Some(u);
                if existing_sub.is_none() {
                    add.push(self.new_stream(id, StreamProfile::Sub));
                }
            }
        }
        if let Some(enabled) = patch.enabled {
            device.enabled = enabled;
        }
        if let Some(transport) = patch.rtsp_transport {
            device.rtsp_transport = transport;
        }
        device.updated_at = self.inner.clock.now_utc();
        self.inner
            .store
            .update_device(
                &secrets::seal_device(&self.inner.secrets, &device)?,
                &add,
                &remove,
            )
            .await?;
        for sid in &remove {
            self.remove_stream_room(*sid).await;
        }
        // A new address, new credentials or a disabled camera change what ingest does.
        for s in self.inner.store.list_streams(Some(id)).await? {
            self.reconcile(s.id).await?;
        }
        info!(device = %device.id, name = %device.name, url = %device.rtsp_url_masked(), "camera updated");
        Ok(device)
    }

    /// Removes a camera, its streams and everything indexed for them (rows first, then
    /// files, so no row ever points at a missing file).
    #[call(rest = "DELETE /api/v1/devices/{id}")]
    pub async fn remove_device(&self, id: DeviceId) -> Result<()> {
        self.run(move |v| async move {
            let streams = v.inner.store.list_streams(Some(id)).await?;
            v.inner.store.delete_device(id).await?;
            for s in &streams {
                v.remove_stream_room(s.id).await;
            }
            info!(device = %id, "camera removed");
            Ok(())
        })
        .await
    }
}

/// A camera has one set of credentials: a sub-stream URL may repeat them, not differ.
fn check_sub_credentials(sub: Option<&Credentials>, main: Option<&Credentials>) -> Result<()> {
    match sub {
        Some(c) if Some(c) != main => Err(Error::invalid_input(
            "the sub-stream URL's credentials differ from the camera's; a camera has one set",
        )),
        _ => Ok(()),
    }
}
