//! Snapshots: any moment of a stream as a JPEG, at once.
//!
//! Owns turning a stream's pictures into JPEG files: what a caller asks for
//! ([`SnapshotOptions`]: which picture, an output width, a quality), what it gets ([`SnapshotImage`]:
//! the bytes with the capture time of the frame), and the rules that keep it cheap:
//! * **Current without waiting for a keyframe.** The newest picture comes from the stream's
//!   decoder ([`crate::frames`]), which starts at the hub's cached keyframe and decodes
//!   forward to the newest frame; nothing waits for the camera's next keyframe.
//! * **Warm for pollers.** After a snapshot the stream's decoder keeps following the camera
//!   for [`SnapshotConfig::linger`], so the next snapshot is the newest frame at once; with
//!   nobody asking it stops (nothing decodes for nobody). At most
//!   [`SnapshotConfig::max_warm`] streams stay warm; the least recently used goes first.
//! * **Single-flight.** Concurrent snapshots of one stream share the wait and, for the same
//!   frame, size and quality, the encoding.
//! * **Bounded work off the runtime.** Decoding runs on the stream's decoder thread;
//!   encoding (and one-off keyframe decodes) on blocking threads, at most
//!   [`SnapshotConfig::max_concurrent`] at once across the engine.
//! * **Never a hang.** A stream with no picture yet, or none decodable within
//!   [`SnapshotConfig::wait`], is an `Unavailable` error.
//!
//! JPEG encoding is the `jpeg-encoder` crate's, fed the decoder's YUV directly (see `jpeg`).

mod jpeg;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tracing::debug;

use crate::frames::{
    FrameSubscription, H264Decoder, MAX_OUTPUT_DIMENSION, PixelFormat, Scaler, VideoFrame, YuvView,
    convert,
};
use crate::hub::Hub;
use crate::media::Frame;
use crate::model::StreamId;
use crate::{Error, ErrorKind, Result};

pub(crate) use jpeg::encode_i420;

pub use crate::model::kept::DEFAULT_QUALITY;
/// Widest snapshot one may ask for (the same bound as decoded frames).
pub const MAX_WIDTH: u32 = MAX_OUTPUT_DIMENSION;

pub use crate::model::{SnapshotImage, SnapshotOptions};

/// Which picture a snapshot shows, from its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The newest frame the camera sent (decoded forward from the cached keyframe).
    Newest,
    /// The newest keyframe (one decode: the fastest picture, up to a GOP old).
    Keyframe,
    /// The frame showing at a past moment, from memory or the stream's recordings.
    At(DateTime<Utc>),
}

impl SnapshotOptions {
    /// The newest frame, at the stream's size, quality [`DEFAULT_QUALITY`].
    pub fn new() -> Self {
        SnapshotOptions::default()
    }

    /// Scales down to this width (1–[`MAX_WIDTH`]), keeping the aspect ratio. Never up: a
    /// width above the picture's gives the picture at its own size.
    pub fn width(mut self, width: u32) -> Self {
        self.width = Some(width);
        self
    }

    /// JPEG quality, 1–100.
    pub fn quality(mut self, quality: u8) -> Self {
        self.quality = quality;
        self
    }

    /// The picture showing at a past moment.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }

    /// The newest keyframe instead of the newest frame.
    pub fn keyframe(mut self) -> Self {
        self.keyframe = true;
        self
    }

    /// When the stream is not live, return its last good picture (marked
    /// [`SnapshotImage::offline`]) instead of an `Unavailable` error.
    pub fn stale_ok(mut self, stale_ok: bool) -> Self {
        self.stale_ok = stale_ok;
        self
    }

    /// Which picture the options ask for.
    pub(crate) fn source(&self) -> Source {
        match (self.at, self.keyframe) {
            (Some(at), _) => Source::At(at),
            (None, true) => Source::Keyframe,
            (None, false) => Source::Newest,
        }
    }

    /// `InvalidInput` for a width of 0 or above [`MAX_WIDTH`], a quality outside 1–100, or
    /// both `at` and `keyframe`.
    pub fn validate(&self) -> Result<()> {
        if let Some(w) = self.width
            && !(1..=MAX_WIDTH).contains(&w)
        {
            return Err(Error::invalid_input(format!(
                "snapshot width must be 1–{MAX_WIDTH} pixels, not {w}"
            )));
        }
        if !(1..=100).contains(&self.quality) {
            return Err(Error::invalid_input(format!(
                "JPEG quality must be 1–100, not {}",
                self.quality
            )));
        }
        if self.at.is_some() && self.keyframe {
            return Err(Error::invalid_input(
                "a snapshot is of a past moment (at) or of the newest keyframe, not both",
            ));
        }
        Ok(())
    }

    /// The output size for a `width`×`height` picture: the asked width (never above the
    /// picture's: scaling up costs CPU and shows nothing more), the height that keeps the
    /// aspect ratio, both even (JPEG 4:2:0) and at least 2.
    fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        let Some(w) = self.width.filter(|&w| w < width) else {
            return (width, height);
        };
        let h = (f64::from(height) * f64::from(w) / f64::from(width.max(1))).round() as u32;
        ((w & !1).max(2), (h.min(MAX_WIDTH) & !1).max(2))
    }
}

/// Limits of the snapshot service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotConfig {
    /// Encodes and one-off decodes running at once, across the engine (others wait).
    pub max_concurrent: usize,
    /// How long a stream's decoder keeps following the camera after its last snapshot.
    pub linger: Duration,
    /// Streams kept warm at once (the least recently used is let go first).
    pub max_warm: usize,
    /// Longest wait for a decodable picture before `Unavailable`.
    pub wait: Duration,
}

impl Default for SnapshotConfig {
    /// Two at once, 30 s linger, 16 warm streams, 5 s wait.
    fn default() -> Self {
        SnapshotConfig {
            max_concurrent: 2,
            linger: Duration::from_secs(30),
            max_warm: 16,
            wait: Duration::from_secs(5),
        }
    }
}

impl SnapshotConfig {
    /// `InvalidInput` when a limit is zero.
    pub fn validate(&self) -> Result<()> {
        if self.max_concurrent == 0 || self.max_warm == 0 || self.wait.is_zero() {
            return Err(Error::invalid_input(
                "snapshot limits (max_concurrent, max_warm, wait) must not be zero",
            ));
        }
        Ok(())
    }
}

/// What identifies one encoding: the frame, and the size and quality asked.
type JpegKey = (u32, i64, (u32, u32), u8);

/// One warm stream: its decoded-frame subscription, the last picture and the last JPEG.
#[derive(Debug)]
struct Warm {
    state: tokio::sync::Mutex<WarmState>,
    last_used: Mutex<Instant>,
}

#[derive(Debug)]
struct WarmState {
    sub: FrameSubscription,
    picture: Option<VideoFrame>,
    /// The newest encodings (a few sizes and qualities of recent pictures).
    jpegs: std::collections::VecDeque<(JpegKey, SnapshotImage)>,
}

/// Encodings kept per warm stream (pollers asking for a few different sizes share them).
const KEPT_ENCODINGS: usize = 4;

impl Warm {
    fn touch(&self) {
        *lock(&self.last_used) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        lock(&self.last_used).elapsed()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The engine's snapshot service (one per engine).
#[derive(Debug)]
pub(crate) struct Snapshots {
    config: SnapshotConfig,
    work: Arc<Semaphore>,
    warm: Arc<Mutex<HashMap<StreamId, Arc<Warm>>>>,
    /// JPEG encodings made (single-flight shares them; for tests and metrics).
    encodes: AtomicU64,
    /// Per stream: a decoder kept for keyframe snapshots (starting one costs as much as the
    /// decode) and the last keyframe's encodings.
    keyframes: Mutex<HashMap<StreamId, Arc<Mutex<KeyframeState>>>>,
}

/// What keyframe snapshots of one stream keep between requests.
#[derive(Debug, Default)]
struct KeyframeState {
    decoder: Option<H264Decoder>,
    jpegs: std::collections::VecDeque<(JpegKey, SnapshotImage)>,
}

impl Snapshots {
    pub(crate) fn new(config: SnapshotConfig) -> Self {
        Snapshots {
            config,
            work: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            warm: Arc::default(),
            encodes: AtomicU64::new(0),
            keyframes: Mutex::default(),
        }
    }

    /// JPEG encodings made so far.
    #[cfg(test)]
    pub(crate) fn encodes(&self) -> u64 {
        self.encodes.load(Ordering::Relaxed)
    }

    /// Lets every warm stream go (the engine closes, or a stream is removed).
    pub(crate) fn forget(&self, stream: Option<StreamId>) {
        let mut warm = lock(&self.warm);
        let mut keyframes = lock(&self.keyframes);
        match stream {
            Some(id) => {
                warm.remove(&id);
                keyframes.remove(&id);
            }
            None => {
                warm.clear();
                keyframes.clear();
            }
        }
    }

    /// Streams kept warm right now.
    #[cfg(test)]
    pub(crate) fn warm_count(&self) -> usize {
        lock(&self.warm).len()
    }

    /// Runs blocking picture work under the engine-wide cap.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .work
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::new(ErrorKind::Closed, "the snapshot service stopped"))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::internal(format!("a snapshot task failed: {e}")))?
    }

    /// The newest picture of a live stream (or, with `stale_ok`, the last good one of a stream
    /// that is not live). `live` is the stream's ingest state; `subscribe` starts a
    /// decoded-frame subscription when the stream is not warm yet.
    pub(crate) async fn newest(
        &self,
        stream: StreamId,
        hub: &Hub,
        live: bool,
        options: SnapshotOptions,
        subscribe: impl FnOnce() -> Result<FrameSubscription>,
    ) -> Result<SnapshotImage> {
        options.validate()?;
        let target = newest_frame(hub, live, &options)?;
        let warm = self.warm_entry(stream, subscribe)?;
        let mut st = warm.state.lock().await;
        warm.touch();
        let deadline = tokio::time::Instant::now() + self.config.wait;
        // The stream's decoder catches up from the cached keyframe; take the first picture
        // at or after the newest frame at the time of asking.
        while !st.picture.as_ref().is_some_and(|p| shows(p, &target)) {
            match tokio::time::timeout_at(deadline, st.sub.recv()).await {
                Ok(Ok(p)) => st.picture = Some(p),
                Ok(Err(e)) if e.kind() == ErrorKind::Unsupported => return Err(e),
                Ok(Err(e)) => {
                    drop(st);
                    self.forget(Some(stream));
                    return Err(e);
                }
                Err(_) => break,
            }
        }
        // Best effort: the newest picture that decoded (a corrupt frame since then is skipped).
        let Some(picture) = st.picture.clone() else {
            return Err(Error::unavailable(format!(
                "no picture of the stream could be decoded within {} s",
                self.config.wait.as_secs()
            )));
        };
        let size = options.output_size(picture.width(), picture.height());
        let key: JpegKey = (picture.epoch(), picture.pts(), size, options.quality);
        if let Some((_, jpeg)) = st.jpegs.iter().find(|(k, _)| *k == key) {
            let mut jpeg = jpeg.clone();
            jpeg.offline = !live;
            return Ok(jpeg);
        }
        let quality = options.quality;
        self.encodes.fetch_add(1, Ordering::Relaxed);
        let mut jpeg = self
            .blocking(move || encode_picture(&picture, size, quality))
            .await?;
        jpeg.offline = !live;
        if st.jpegs.len() >= KEPT_ENCODINGS {
            st.jpegs.pop_front();
        }
        st.jpegs.push_back((key, jpeg.clone()));
        Ok(jpeg)
    }

    /// The newest keyframe, decoded on its own.
    pub(crate) async fn keyframe(
        &self,
        stream: StreamId,
        hub: &Hub,
        live: bool,
        options: SnapshotOptions,
    ) -> Result<SnapshotImage> {
        options.validate()?;
        newest_frame(hub, live, &options)?;
        let Some(key) = hub.cached_keyframe() else {
            return Err(Error::unavailable(
                "no keyframe of the stream is cached yet; try again in a moment",
            ));
        };
        let state = {
            let mut all = lock(&self.keyframes);
            if !all.contains_key(&stream) && all.len() >= self.config.max_warm {
                // Let some other stream's decoder go (bounded like the warm decoders).
                if let Some(other) = all.keys().next().copied() {
                    all.remove(&other);
                }
            }
            all.entry(stream).or_default().clone()
        };
        let (epoch, pts, quality) = (key.epoch, key.pts, options.quality);
        let want = move |size: (u32, u32)| -> JpegKey { (epoch, pts, size, quality) };
        if let Some(params) = key.video_params() {
            let size = options.output_size(params.width, params.height);
            if let Some((_, jpeg)) = lock(&state).jpegs.iter().find(|(k, _)| *k == want(size)) {
                let mut jpeg = jpeg.clone();
                jpeg.offline = !live;
                return Ok(jpeg);
            }
        }
        self.encodes.fetch_add(1, Ordering::Relaxed);
        let mut jpeg = self
            .blocking(move || {
                let mut st = lock(&state);
                let mut decoder = st.decoder.take().unwrap_or_else(H264Decoder::new);
                let jpeg = decode_with(&mut decoder, std::slice::from_ref(&key), None, options);
                st.decoder = Some(decoder);
                let jpeg = jpeg?;
                if st.jpegs.len() >= KEPT_ENCODINGS {
                    st.jpegs.pop_front();
                }
                st.jpegs
                    .push_back((want((jpeg.width, jpeg.height)), jpeg.clone()));
                Ok(jpeg)
            })
            .await?;
        jpeg.offline = !live;
        Ok(jpeg)
    }

    /// The warm entry of a stream, made (and its linger timer started) if needed.
    fn warm_entry(
        &self,
        stream: StreamId,
        subscribe: impl FnOnce() -> Result<FrameSubscription>,
    ) -> Result<Arc<Warm>> {
        let mut warm = lock(&self.warm);
        if let Some(w) = warm.get(&stream) {
            return Ok(w.clone());
        }
        while warm.len() >= self.config.max_warm {
            // Let the least recently used stream go.
            let Some(oldest) = warm
                .iter()
                .max_by_key(|(_, w)| w.idle_for())
                .map(|(id, _)| *id)
            else {
                break;
            };
            warm.remove(&oldest);
        }
        let entry = Arc::new(Warm {
            state: tokio::sync::Mutex::new(WarmState {
                sub: subscribe()?,
                picture: None,
                jpegs: std::collections::VecDeque::new(),
            }),
            last_used: Mutex::new(Instant::now()),
        });
        warm.insert(stream, entry.clone());
        drop(warm);
        tokio::spawn(linger(
            Arc::downgrade(&self.warm),
            Arc::downgrade(&entry),
            stream,
            self.config.linger,
        ));
        Ok(entry)
    }
}

/// Lets a warm stream go once nobody asked for `linger`.
async fn linger(
    map: Weak<Mutex<HashMap<StreamId, Arc<Warm>>>>,
    entry: Weak<Warm>,
    stream: StreamId,
    linger: Duration,
) {
    loop {
        let Some(w) = entry.upgrade() else { return };
        let idle = w.idle_for();
        if idle >= linger {
            let Some(map) = map.upgrade() else { return };
            let mut map = lock(&map);
            if map.get(&stream).is_some_and(|m| Arc::ptr_eq(m, &w)) {
                map.remove(&stream);
                debug!(stream = %stream, "snapshot decoder let go (idle)");
            }
            return;
        }
        drop(w);
        tokio::time::sleep(linger - idle).await;
    }
}

/// The newest video frame of the hub, or why there is no picture to give.
fn newest_frame(hub: &Hub, live: bool, options: &SnapshotOptions) -> Result<Frame> {
    let newest = hub.latest_video();
    if !live && !options.stale_ok {
        return Err(Error::unavailable(match &newest {
            Some(f) => format!(
                "the stream is not live; its last good picture is from {} (ask with stale_ok=true for it)",
                f.wallclock
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            None => "the stream is not live and has sent no picture yet".to_owned(),
        }));
    }
    newest.ok_or_else(|| {
        Error::unavailable("the stream has sent no picture yet; try again in a moment")
    })
}

/// Whether a decoded picture is at or after the frame `target` (a later connection counts).
fn shows(picture: &VideoFrame, target: &Frame) -> bool {
    picture.epoch() > target.epoch
        || (picture.epoch() == target.epoch && picture.pts() >= target.pts)
}

/// Scales (if asked) and encodes a full-size I420 picture.
fn encode_picture(picture: &VideoFrame, size: (u32, u32), quality: u8) -> Result<SnapshotImage> {
    let (w, h) = (picture.width(), picture.height());
    let data = picture.data();
    let pixels = if size == (w, h) {
        data.clone()
    } else {
        let (wu, hu) = (w as usize, h as usize);
        let (cw, ch) = (wu.div_ceil(2), hu.div_ceil(2));
        if data.len() < wu * hu + 2 * cw * ch {
            return Err(Error::internal("decoded picture is smaller than its size"));
        }
        let (y, rest) = data.split_at(wu * hu);
        let (u, v) = rest.split_at(cw * ch);
        let view = YuvView {
            width: w,
            height: h,
            y,
            u,
            v: &v[..cw * ch],
            y_stride: wu,
            uv_stride: cw,
        };
        convert(&view, PixelFormat::I420, size, &mut Scaler::new())?
    };
    Ok(SnapshotImage {
        jpeg: encode_i420(&pixels, size.0, size.1, quality)?,
        time: picture.time(),
        width: size.0,
        height: size.1,
        offline: false,
    })
}

/// Decodes `frames` (a keyframe first, then the frames after it in decoding order) and
/// encodes the last picture whose time is not after `until` (every picture when `None`).
/// A frame that does not decode is skipped: the picture is the last good one before it.
pub(crate) fn decode_and_encode(
    frames: &[Frame],
    until: Option<DateTime<Utc>>,
    options: SnapshotOptions,
) -> Result<SnapshotImage> {
    decode_with(&mut H264Decoder::new(), frames, until, options)
}

/// [`decode_and_encode`] with a decoder the caller keeps (a keyframe resets its state).
fn decode_with(
    decoder: &mut H264Decoder,
    frames: &[Frame],
    until: Option<DateTime<Utc>>,
    options: SnapshotOptions,
) -> Result<SnapshotImage> {
    let mut scaler = Scaler::new();
    let mut last: Option<(Bytes, u32, u32, DateTime<Utc>)> = None;
    let mut error: Option<Error> = None;
    for frame in frames.iter().filter(|f| f.is_video()) {
        if until.is_some_and(|t| frame.wallclock > t) && last.is_some() {
            break;
        }
        let decoded = decoder.decode(frame, |pic| {
            let size = options.output_size(pic.width, pic.height);
            convert(&pic, PixelFormat::I420, size, &mut scaler).map(|d| (d, size))
        });
        match decoded {
            Ok(Some(Ok((data, size)))) => last = Some((data, size.0, size.1, frame.wallclock)),
            Ok(Some(Err(e))) | Err(e) => {
                if e.kind() == ErrorKind::Unsupported {
                    return Err(e);
                }
                error = Some(e);
            }
            Ok(None) => {}
        }
    }
    let Some((pixels, w, h, time)) = last else {
        return Err(error.unwrap_or_else(|| {
            Error::unavailable("no picture could be decoded from the frames at hand")
        }));
    };
    Ok(SnapshotImage {
        jpeg: encode_i420(&pixels, w, h, options.quality)?,
        time,
        width: w,
        height: h,
        offline: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_keeps_aspect_and_is_even() {
        let o = SnapshotOptions::new().width(640);
        assert_eq!(o.output_size(1280, 720), (640, 360));
        assert_eq!(
            SnapshotOptions::new().width(101).output_size(1920, 1080),
            (100, 56)
        );
        assert_eq!(
            SnapshotOptions::new().width(1).output_size(1920, 1080),
            (2, 2)
        );
        assert_eq!(SnapshotOptions::new().output_size(641, 361), (641, 361));
    }

    #[test]
    fn output_size_never_scales_up() {
        // `snapshot.jpg?width=7680` of a 720p camera is the camera's own size, not 8K.
        let o = SnapshotOptions::new().width(7680);
        assert_eq!(o.output_size(1280, 720), (1280, 720));
        assert_eq!(
            SnapshotOptions::new().width(1280).output_size(1280, 720),
            (1280, 720)
        );
        assert_eq!(
            SnapshotOptions::new().width(1279).output_size(1280, 720),
            (1278, 719 & !1)
        );
    }

    #[test]
    fn options_out_of_range_are_invalid_input() {
        for bad in [
            SnapshotOptions::new().width(0),
            SnapshotOptions::new().width(100_000),
            SnapshotOptions::new().quality(0),
            SnapshotOptions::new().quality(101),
        ] {
            assert_eq!(bad.validate().unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        assert!(
            SnapshotOptions::new()
                .width(MAX_WIDTH)
                .quality(1)
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn config_limits_must_not_be_zero() {
        assert!(SnapshotConfig::default().validate().is_ok());
        let c = SnapshotConfig {
            max_concurrent: 0,
            ..SnapshotConfig::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn a_corrupt_frame_in_the_gop_gives_the_last_good_picture() {
        let start = Utc::now();
        let mut frames: Vec<Frame> = crate::mp4::fixture::h264_frames(10, 30, 30, (64, 48), 0, 0)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(n, f)| Frame {
                wallclock: start + chrono::TimeDelta::milliseconds(n as i64 * 33),
                ..f
            })
            .collect();
        let good = decode_and_encode(&frames, None, SnapshotOptions::new()).unwrap();
        assert_eq!(good.time, frames[9].wallclock);
        // Frame 5 is garbage: the picture is frame 4's (the decoder waits for a keyframe).
        frames[5].data = Bytes::from_static(&[0, 0, 0, 6, 0x41, 0xFF, 0x00, 0x13, 0x99, 0xAB]);
        let best = decode_and_encode(&frames, None, SnapshotOptions::new()).unwrap();
        assert!(
            best.time < frames[5].wallclock,
            "{} is after the corrupt frame",
            best.time
        );
        assert_eq!((best.width, best.height), (64, 48));
        // Nothing decodable at all: a clear error, not a panic.
        let e = decode_and_encode(&frames[5..6], None, SnapshotOptions::new()).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Unavailable),
            "{e}"
        );
    }
}
