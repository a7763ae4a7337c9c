//! VAS's synthetic RTSP camera, for examples and tests without hardware.
//!
//! Owns `vas_synthetic_camera`: the camera and the small runtime it runs on (one worker
//! thread of its own, so it never competes with an engine's runtime for a thread).

use std::ffi::{CString, c_char};

use vas::synth::{CameraConfig, CameraMode, SyntheticCamera};

use crate::error::{
    DEAD_TAG, Fail, Tagged, arg_out, free_handle, guard, guard_value, handle, keep, opt_str,
    options, peek, write_out,
};
use crate::result::vas_result;

/// How long freeing a camera waits for its runtime's threads to finish.
const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A synthetic camera to start. Initialise with [`vas_synthetic_camera_options_init`]
/// (640×360 at 30 fps, a pre-encoded 2-second loop, on a free loopback port).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_synthetic_camera_options {
    /// `sizeof(vas_synthetic_camera_options)`, set by the init function.
    pub struct_size: u32,
    /// Picture width (even, 16..=3840).
    pub width: u32,
    /// Picture height (even, 16..=2160).
    pub height: u32,
    /// Frames per second (1..=120).
    pub fps: u32,
    /// Seconds of video encoded once and replayed (0: render and encode every frame live,
    /// which costs a core at 1080p).
    pub loop_seconds: u32,
    /// Whether to offer a G.711 audio track.
    pub audio: bool,
    /// Listen address (NULL: `127.0.0.1:0`, a free port).
    pub bind: *const c_char,
}

impl Default for vas_synthetic_camera_options {
    fn default() -> Self {
        vas_synthetic_camera_options {
            struct_size: std::mem::size_of::<vas_synthetic_camera_options>() as u32,
            width: 640,
            height: 360,
            fps: 30,
            loop_seconds: 2,
            audio: false,
            bind: std::ptr::null(),
        }
    }
}

/// Sets `*options` to the defaults (and its `struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_synthetic_camera_options_init(
    options: *mut vas_synthetic_camera_options,
) -> vas_result {
    guard("vas_synthetic_camera_options_init", || {
        write_out(
            arg_out(options, "options")?,
            vas_synthetic_camera_options::default(),
        );
        Ok(())
    })
}

/// A running synthetic camera, from [`vas_synthetic_camera_new`].
pub struct vas_synthetic_camera {
    tag: u64,
    url: CString,
    camera: SyntheticCamera,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Tagged for vas_synthetic_camera {
    const TAG: u64 = 0x7661_7373_796e_7468; // "vassynth"
    const WHAT: &'static str = "synthetic_camera";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// Starts a synthetic RTSP camera (`options` may be NULL: the defaults). Its URL is
/// [`vas_synthetic_camera_url`]. Free it with [`vas_synthetic_camera_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_synthetic_camera_new(
    options_: *const vas_synthetic_camera_options,
    out: *mut *mut vas_synthetic_camera,
) -> vas_result {
    guard("vas_synthetic_camera_new", || {
        let out = arg_out(out, "out")?;
        // SAFETY (both): per the header's conventions.
        let o = unsafe { options(options_, vas_synthetic_camera_options::default(), "options") }?;
        let bind = match unsafe { opt_str(o.bind, "options->bind") }? {
            None => "127.0.0.1:0".parse().expect("a valid address"),
            Some(b) => b.parse().map_err(|e| {
                Fail::invalid(format!("options->bind {b:?} is not an address: {e}"))
            })?,
        };
        let config = CameraConfig {
            width: o.width,
            height: o.height,
            fps: o.fps,
            gop: o.fps.max(1),
            audio: o.audio,
            mode: match o.loop_seconds {
                0 => CameraMode::Live,
                s => CameraMode::PreEncodedLoop { seconds: s },
            },
            bind,
            ..CameraConfig::default()
        };
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vas-synth")
            .enable_all()
            .build()
            .map_err(|e| {
                Fail::new(
                    vas_result::VAS_RESOURCE_EXHAUSTED,
                    format!("cannot start a runtime: {e}"),
                )
            })?;
        let camera = runtime.block_on(SyntheticCamera::start(config))?;
        write_out(
            out,
            Box::into_raw(Box::new(vas_synthetic_camera {
                tag: vas_synthetic_camera::TAG,
                url: keep(&camera.url()),
                camera,
                runtime: Some(runtime),
            })),
        );
        Ok(())
    })
}

/// The camera's `rtsp://` URL (owned by the handle).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_synthetic_camera_url(
    camera: *const vas_synthetic_camera,
) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(camera) }.map_or(std::ptr::null(), |c| c.url.as_ptr())
    })
}

/// Frames the camera has sent (to all its sessions).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_synthetic_camera_frames_sent(
    camera: *const vas_synthetic_camera,
) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || {
        unsafe { peek(camera) }.map_or(0, |c| c.camera.frames_sent())
    })
}

/// A fault for tests: `down` true drops every session and stops listening, as if the camera
/// lost power; false listens again on the same address.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_synthetic_camera_set_down(
    camera: *const vas_synthetic_camera,
    down: bool,
) -> vas_result {
    guard("vas_synthetic_camera_set_down", || {
        // SAFETY: per the header's conventions.
        let c = unsafe { handle(camera, "camera") }?;
        let rt = c
            .runtime
            .as_ref()
            .ok_or_else(|| Fail::new(vas_result::VAS_CLOSED, "the camera was freed"))?;
        if down {
            rt.block_on(c.camera.stop());
        } else {
            rt.block_on(c.camera.restart())?;
        }
        Ok(())
    })
}

/// Stops the camera and frees the handle (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_synthetic_camera_free(camera: *mut vas_synthetic_camera) {
    guard_value((), || {
        // SAFETY: per the header's conventions.
        unsafe {
            free_handle(camera, |c| {
                c.tag = DEAD_TAG;
                if let Some(rt) = c.runtime.take() {
                    rt.block_on(c.camera.stop());
                    rt.shutdown_timeout(SHUTDOWN_LIMIT);
                }
            })
        }
    })
}
