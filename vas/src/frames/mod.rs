//! Decoded frames: a stream's pictures as pixels, newest first, for callers that look at them.
//!
//! Owns the decoded-frame subscription: what a caller asks for ([`FrameOptions`]: pixel
//! format, an optional size, a maximum rate, a delivery [`Strategy`]), what it gets
//! ([`VideoFrame`]: one buffer with documented planes, capture time, sequence number), and how
//! it waits ([`FrameSubscription::recv`], [`FrameSubscription::recv_timeout`] from any thread,
//! [`FrameSubscription::try_recv`]).
//!
//! Rules it keeps, so no caller has to:
//! * **Never stale.** The default [`Strategy::Latest`] keeps one frame per subscriber: a slow
//!   consumer always gets the newest picture, never a backlog. [`Strategy::Queue`] keeps a
//!   bounded queue and drops the oldest, counting what it dropped.
//! * **Nothing decodes for nobody.** A stream's decoder thread starts with its first
//!   decoded-frame subscriber and stops with the last; one decoder serves every subscriber of
//!   the stream, and subscribers asking for the same format and size share one conversion.
//! * **Off the async runtime.** Decoding and conversion run on the stream's own thread.
//! * **At once, and across reconnects.** Decoding starts at the hub's cached keyframe, so the
//!   first frame comes without waiting for the camera's next one; a camera that drops and
//!   comes back is picked up by the same subscription (the engine's events say what
//!   happened meanwhile). A receive never waits past its timeout.
//! * **Corrupt input** skips to the next keyframe and is counted
//!   ([`FrameSubscription::decode_errors`]); it never panics.
//!
//! H.264 is decoded by openh264. H.265 is not decoded (no maintained, permissively licensed
//! Rust-callable H.265 decoder builds here without system libraries): a subscription to an
//! H.265 stream receives an `Unsupported` error once and then waits for H.264.
//!
//! ```no_run
//! # async fn run(vas: vas::Vas, stream: vas::StreamId) -> vas::Result<()> {
//! use std::time::Duration;
//! use vas::frames::{FrameOptions, PixelFormat};
//! let mut frames = vas.frames(stream, FrameOptions::new(PixelFormat::Bgr24).max_size(640, 360)).await?;
//! let frame = frames.recv_timeout(Duration::from_secs(5))?; // from any thread
//! assert_eq!(frame.data().len(), frame.width() as usize * frame.height() as usize * 3);
//! # Ok(()) }
//! ```

mod convert;
mod decoder;
mod encoded;
mod tap;

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::{Error, ErrorKind, Result};

pub(crate) use convert::{Scaler, convert};
pub(crate) use decoder::{H264Decoder, YuvView};
pub use encoded::{
    AudioCodec, AudioParams, EncodedDelivery, EncodedFrame, EncodedSubscription, NalUnits, Track,
    VideoCodec, VideoParams,
};
pub(crate) use tap::FrameTap;

/// Largest output width or height a subscription may ask for.
pub const MAX_OUTPUT_DIMENSION: u32 = 8192;
/// Largest queue a [`Strategy::Queue`] subscription may ask for.
pub const MAX_QUEUE: u32 = 64;
/// Highest rate cap a subscription may ask for ([`FrameOptions::max_fps`]).
pub const MAX_FPS: f64 = 1000.0;
/// Slack of the rate cap, as a fraction of the interval: a frame this much early still counts
/// (so 30 fps capped at 15 keeps every other frame despite capture-time jitter).
const RATE_CAP_SLACK_DIVISOR: i32 = 8;

pub use crate::model::{FrameInfo, FrameOptions, PixelFormat, Strategy};

impl PixelFormat {
    /// Parses a name ([`as_str`](Self::as_str)'s, or `"gray8"`, `"yuv420p"`); `InvalidInput`
    /// naming the allowed ones otherwise.
    pub fn parse(name: &str) -> Result<PixelFormat> {
        name.parse()
    }

    /// Whether the format subsamples chroma (so width and height are kept even).
    fn subsampled(self) -> bool {
        matches!(self, PixelFormat::I420 | PixelFormat::Nv12)
    }

    /// The planes of a `width`×`height` picture: (offset, stride, rows) each.
    fn layout(self, width: u32, height: u32) -> Vec<Plane> {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let plane = |offset, stride, rows| Plane {
            offset,
            stride,
            rows,
        };
        match self {
            PixelFormat::I420 => vec![
                plane(0, w, h),
                plane(w * h, cw, ch),
                plane(w * h + cw * ch, cw, ch),
            ],
            PixelFormat::Nv12 => vec![plane(0, w, h), plane(w * h, cw * 2, ch)],
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => vec![plane(0, w * 3, h)],
            PixelFormat::Gray8 => vec![plane(0, w, h)],
        }
    }
}

/// One plane of a [`VideoFrame`]: where it starts in [`VideoFrame::data`], the bytes per row,
/// and how many rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plane {
    /// Byte offset of the plane's first row.
    pub offset: usize,
    /// Bytes from one row to the next (no padding: the row's width in bytes).
    pub stride: usize,
    /// Rows in the plane.
    pub rows: usize,
}

impl FrameOptions {
    /// Frames in `format`, at the camera's size and rate, newest frame only.
    pub fn new(format: PixelFormat) -> Self {
        FrameOptions {
            format,
            ..Default::default()
        }
    }

    /// Scales pictures to fit inside `width`×`height`, keeping the aspect ratio (sizes are
    /// rounded to even numbers for the 4:2:0 formats).
    pub fn max_size(mut self, width: u32, height: u32) -> Self {
        self.max_width = Some(width);
        self.max_height = Some(height);
        self
    }

    /// Delivers at most `fps` frames per second (by capture time), skipping the rest.
    pub fn max_fps(mut self, fps: f64) -> Self {
        self.max_fps = Some(fps);
        self
    }

    /// Keeps up to `max` frames for a consumer that is not reading ([`Strategy::Queue`]),
    /// dropping the oldest when full.
    pub fn queue(mut self, max: u32) -> Self {
        self.strategy = Strategy::Queue;
        self.max_queue = max;
        self
    }

    /// Checks the options: `InvalidInput` names the first bad one.
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("max_width", self.max_width),
            ("max_height", self.max_height),
        ] {
            if let Some(v) = v
                && !(1..=MAX_OUTPUT_DIMENSION).contains(&v)
            {
                return Err(Error::invalid_input(format!(
                    "{what} {v} is out of range; it must be 1..={MAX_OUTPUT_DIMENSION}"
                )));
            }
        }
        if let Some(fps) = self.max_fps
            && !(fps.is_finite() && fps > 0.0 && fps <= MAX_FPS)
        {
            return Err(Error::invalid_input(format!(
                "max_fps {fps} is out of range; it must be above 0 and at most {MAX_FPS}"
            )));
        }
        if self.strategy == Strategy::Queue && !(1..=MAX_QUEUE).contains(&self.max_queue) {
            return Err(Error::invalid_input(format!(
                "max_queue {} is out of range; it must be 1..={MAX_QUEUE}",
                self.max_queue
            )));
        }
        Ok(())
    }

    /// Frames a subscriber's queue holds: one for [`Strategy::Latest`].
    pub(crate) fn queue_len(&self) -> usize {
        match self.strategy {
            Strategy::Queue => self.max_queue as usize,
            _ => 1,
        }
    }

    /// The output size for a `width`×`height` picture.
    fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        let (w, h) = if self.max_width.is_none() && self.max_height.is_none() {
            (width, height)
        } else {
            // Fit inside the box (unbounded where not given), keeping the aspect ratio.
            let bw = self.max_width.unwrap_or(u32::MAX);
            let bh = self.max_height.unwrap_or(u32::MAX);
            let scale = f64::min(
                f64::from(bw) / f64::from(width),
                f64::from(bh) / f64::from(height),
            );
            (
                ((f64::from(width) * scale).round() as u32).clamp(1, bw),
                ((f64::from(height) * scale).round() as u32).clamp(1, bh),
            )
        };
        if self.format.subsampled() {
            // 4:2:0 wants even sizes; never below 2.
            ((w & !1).max(2), (h & !1).max(2))
        } else {
            (w, h)
        }
    }
}

/// One decoded picture.
///
/// The pixels are one reference-counted buffer ([`data`](Self::data)): cloning a frame or
/// handing it to another thread never copies them, and the buffer stays valid for as long as
/// anyone holds it (also after the subscription or the engine is gone).
#[derive(Debug, Clone)]
pub struct VideoFrame {
    data: Bytes,
    width: u32,
    height: u32,
    format: PixelFormat,
    pts: i64,
    time: DateTime<Utc>,
    keyframe: bool,
    seq: u64,
    epoch: u32,
}

impl VideoFrame {
    /// The pixels, laid out as [`planes`](Self::planes) says.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The planes in [`data`](Self::data): one for packed formats and gray, two for NV12,
    /// three for I420.
    pub fn planes(&self) -> Vec<Plane> {
        self.format.layout(self.width, self.height)
    }

    /// Presentation time in the 90 kHz clock of the stream (restarts with a new
    /// [`epoch`](Self::epoch)).
    pub fn pts(&self) -> i64 {
        self.pts
    }

    /// Wall-clock time the frame was captured (or received, when the camera does not say).
    pub fn time(&self) -> DateTime<Utc> {
        self.time
    }

    /// Whether the frame was a keyframe in the stream.
    pub fn keyframe(&self) -> bool {
        self.keyframe
    }

    /// This subscription's sequence number of the frame: it counts every frame the decoder
    /// produced for the subscription, so a gap says how many were skipped (by the rate cap or
    /// a slow consumer).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The camera connection the frame came from (increments on reconnect).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// What the frame says about itself, as one record (what every shell shows).
    pub fn info(&self) -> FrameInfo {
        FrameInfo {
            width: self.width,
            height: self.height,
            format: self.format,
            pts: self.pts,
            time: self.time,
            keyframe: self.keyframe,
            seq: self.seq,
            epoch: self.epoch,
        }
    }
}

/// A subscription to a stream's decoded frames. Dropping it unsubscribes (and stops the
/// stream's decoder when it was the last).
///
/// Receiving works from any thread, with or without an async runtime.
#[derive(Debug)]
pub struct FrameSubscription {
    slot: Arc<Slot>,
    /// Keeps the stream's decoder alive; dropping the last one stops it.
    _tap: tap::Membership,
}

/// What the decoder thread and one subscriber share.
#[derive(Debug)]
pub(crate) struct Slot {
    options: FrameOptions,
    state: Mutex<SlotState>,
    ready: Condvar,
    notify: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct SlotState {
    frames: VecDeque<VideoFrame>,
    /// An error to hand out once (e.g. an unsupported codec), ahead of frames.
    error: Option<Error>,
    /// Why nothing more will come.
    closed: Option<Error>,
    /// Frames produced for this subscriber (the next one's `seq`).
    produced: u64,
    /// Frames dropped unread (replaced or pushed out of the queue).
    dropped: u64,
    /// Frames the decoder could not decode.
    decode_errors: u64,
    /// Capture time of the last frame offered (for the rate cap).
    last_time: Option<DateTime<Utc>>,
}

impl Slot {
    pub(crate) fn new(options: FrameOptions) -> Slot {
        Slot {
            options,
            state: Mutex::new(SlotState::default()),
            ready: Condvar::new(),
            notify: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self) {
        self.ready.notify_all();
        // Receivers register before they look, so waking those waiting is enough.
        self.notify.notify_waiters();
    }

    /// Whether the rate cap lets a frame captured at `time` through (and if so, counts it).
    pub(crate) fn wants(&self, time: DateTime<Utc>) -> bool {
        let mut st = self.lock();
        if let (Some(fps), Some(last)) = (self.options.max_fps, st.last_time) {
            let min_gap = chrono::Duration::microseconds((1e6 / fps) as i64);
            if time >= last && time - last < min_gap - min_gap / RATE_CAP_SLACK_DIVISOR {
                return false;
            }
        }
        st.last_time = Some(time);
        true
    }

    pub(crate) fn options(&self) -> &FrameOptions {
        &self.options
    }

    /// Hands a frame over according to the strategy.
    pub(crate) fn push(&self, mut frame: VideoFrame) {
        let mut st = self.lock();
        frame.seq = st.produced;
        st.produced += 1;
        let max = self.options.queue_len();
        while st.frames.len() >= max {
            st.frames.pop_front();
            st.dropped += 1;
        }
        st.frames.push_back(frame);
        drop(st);
        self.wake();
    }

    /// Reports an error once, ahead of the next frame.
    pub(crate) fn report(&self, error: Error) {
        self.lock().error = Some(error);
        self.wake();
    }

    pub(crate) fn count_decode_error(&self) {
        self.lock().decode_errors += 1;
    }

    /// Ends the subscription: receives drain what is queued, then return `error`.
    pub(crate) fn close(&self, error: Error) {
        let mut st = self.lock();
        if st.closed.is_none() {
            st.closed = Some(error);
        }
        drop(st);
        self.wake();
    }

    fn take(st: &mut SlotState) -> Option<Result<VideoFrame>> {
        if let Some(e) = st.error.take() {
            return Some(Err(e));
        }
        if let Some(f) = st.frames.pop_front() {
            return Some(Ok(f));
        }
        st.closed
            .as_ref()
            .map(|e| Err(Error::new(e.kind(), e.message().to_owned())))
    }
}

impl FrameSubscription {
    /// The next frame, waiting as long as it takes (until the subscription ends: then
    /// `Closed`, or `NotFound` when the stream was removed).
    pub async fn recv(&mut self) -> Result<VideoFrame> {
        loop {
            let notified = self.slot.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = Slot::take(&mut self.slot.lock()) {
                return r;
            }
            notified.await;
        }
    }

    /// The next frame, waiting at most `timeout` (`Timeout` then). Blocks the calling thread;
    /// usable from any thread, with or without an async runtime.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<VideoFrame> {
        let deadline = Instant::now() + timeout;
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = Slot::take(&mut st) {
                return r;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no frame within {} ms", timeout.as_millis()),
                ));
            }
            st = self
                .slot
                .ready
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// A frame if one is waiting: `Ok(None)` when none is, an error when the subscription
    /// ended.
    pub fn try_recv(&mut self) -> Result<Option<VideoFrame>> {
        Slot::take(&mut self.slot.lock()).transpose()
    }

    /// Frames dropped unread so far (replaced by a newer one, or pushed out of the queue).
    pub fn dropped(&self) -> u64 {
        self.slot.lock().dropped
    }

    /// Frames the decoder could not decode so far (each skips to the next keyframe).
    pub fn decode_errors(&self) -> u64 {
        self.slot.lock().decode_errors
    }

    /// The options the subscription was made with.
    pub fn options(&self) -> &FrameOptions {
        self.slot.options()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_keeps_aspect_and_parity() {
        let o = FrameOptions::new(PixelFormat::I420).max_size(640, 640);
        assert_eq!(o.output_size(1280, 720), (640, 360));
        let o = FrameOptions::new(PixelFormat::Rgb24).max_size(100, 1000);
        assert_eq!(o.output_size(1920, 1080), (100, 56));
        let o = FrameOptions::new(PixelFormat::I420).max_size(101, 1000);
        assert_eq!(o.output_size(1920, 1080), (100, 56));
        let o = FrameOptions::new(PixelFormat::I420).max_size(1, 1);
        assert_eq!(o.output_size(1920, 1080), (2, 2));
        assert_eq!(FrameOptions::default().output_size(640, 360), (640, 360));
    }

    #[test]
    fn options_out_of_range_are_invalid_input() {
        let base = FrameOptions::new(PixelFormat::Bgr24);
        for bad in [
            base.max_size(0, 10),
            base.max_size(10, MAX_OUTPUT_DIMENSION + 1),
            base.max_fps(0.0),
            base.max_fps(f64::NAN),
            base.max_fps(-1.0),
            base.queue(0),
            base.queue(MAX_QUEUE + 1),
        ] {
            assert_eq!(
                bad.validate().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn format_names_round_trip() {
        for &f in PixelFormat::ALL {
            assert_eq!(PixelFormat::parse(f.as_str()).unwrap(), f);
        }
        assert_eq!(
            PixelFormat::parse("yuv444").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn layouts_cover_the_buffer() {
        for &f in PixelFormat::ALL {
            let planes = f.layout(6, 4);
            let end = planes.last().map(|p| p.offset + p.stride * p.rows).unwrap();
            let expect = match f {
                PixelFormat::I420 | PixelFormat::Nv12 => 6 * 4 * 3 / 2,
                PixelFormat::Rgb24 | PixelFormat::Bgr24 => 6 * 4 * 3,
                PixelFormat::Gray8 => 6 * 4,
            };
            assert_eq!(end, expect, "{f}");
        }
    }

    fn frame(n: i64) -> VideoFrame {
        VideoFrame {
            data: Bytes::from(vec![0u8; 6]),
            width: 2,
            height: 2,
            format: PixelFormat::I420,
            pts: n,
            time: Utc::now(),
            keyframe: false,
            seq: 0,
            epoch: 0,
        }
    }

    #[test]
    fn latest_keeps_one_and_queue_drops_oldest() {
        let latest = Slot::new(FrameOptions::default());
        for n in 0..5 {
            latest.push(frame(n));
        }
        let st = latest.lock();
        assert_eq!(st.frames.len(), 1);
        assert_eq!(st.frames[0].pts, 4);
        assert_eq!(st.frames[0].seq, 4);
        assert_eq!(st.dropped, 4);
        drop(st);
        let queue = Slot::new(FrameOptions::default().queue(3));
        for n in 0..5 {
            queue.push(frame(n));
        }
        let pts: Vec<i64> = queue.lock().frames.iter().map(|f| f.pts).collect();
        assert_eq!(pts, [2, 3, 4]);
    }

    #[test]
    fn rate_cap_skips_frames_closer_than_the_interval() {
        let slot = Slot::new(FrameOptions::default().max_fps(10.0));
        let t0 = Utc::now();
        let kept = (0..30)
            .filter(|i| slot.wants(t0 + chrono::Duration::milliseconds(i * 33)))
            .count();
        assert_eq!(kept, 10, "30 frames at 30 fps over 1 s capped at 10 fps");
    }
}
