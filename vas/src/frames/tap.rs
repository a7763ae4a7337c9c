//! One stream's decoder thread and the subscribers it serves.
//!
//! Owns starting the stream's decoder with its first decoded-frame subscriber and stopping it
//! with its last, reading the stream's hub (from the cached keyframe on), decoding each video
//! frame once, converting it once per distinct (format, size) among the subscribers that want
//! it, and handing the result to each subscriber's slot. It never blocks the hub (it is an
//! ordinary hub subscriber: if it falls behind, the hub skips it to the next keyframe) and it
//! never runs on the async runtime.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tracing::{debug, warn};

use super::convert::{Scaler, convert};
use super::decoder::{H264Decoder, YuvView};
use super::{FrameOptions, FrameSubscription, PixelFormat, Slot, VideoFrame};
use crate::hub::{Delivery, Hub, Subscription};
use crate::media::Frame;
use crate::model::StreamId;
use crate::{Error, ErrorKind, Result};

/// A failing camera's decode errors are logged at the first and then every this many.
const DECODE_ERROR_LOG_EVERY: u64 = 100;

/// The engine's handle on one stream's decoder: at most one runs at a time.
#[derive(Debug, Default)]
pub(crate) struct FrameTap {
    current: Mutex<Option<Arc<TapShared>>>,
    /// Decoder threads started and not yet joined (one running at most; earlier ones are
    /// finishing or done).
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

#[derive(Debug)]
struct TapShared {
    stream: StreamId,
    state: Mutex<TapState>,
    /// Wakes the thread when its last subscriber leaves.
    stop: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct TapState {
    slots: Vec<Weak<Slot>>,
    stopping: bool,
}

impl TapShared {
    fn lock(&self) -> MutexGuard<'_, TapState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slots(&self) -> Vec<Arc<Slot>> {
        self.lock().slots.iter().filter_map(Weak::upgrade).collect()
    }

    fn close_all(&self, error: &Error) {
        let mut st = self.lock();
        st.stopping = true;
        for slot in st.slots.iter().filter_map(Weak::upgrade) {
            slot.close(Error::new(error.kind(), error.message().to_owned()));
        }
    }
}

/// A subscriber's place in a tap; leaving the last one stops the thread.
#[derive(Debug)]
pub(crate) struct Membership {
    tap: Arc<TapShared>,
    slot: Weak<Slot>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut st = self.tap.lock();
        st.slots
            .retain(|s| !s.ptr_eq(&self.slot) && s.strong_count() > 0);
        if st.slots.is_empty() && !st.stopping {
            st.stopping = true;
            drop(st);
            // A stored permit: the thread sees it even if it is busy decoding right now.
            self.tap.stop.notify_one();
        }
    }
}

/// How often [`FrameTap::join`] looks whether a decoder thread has ended (std threads offer
/// no join with a timeout); short against the decoder's exit time, long enough not to spin.
const JOIN_POLL: std::time::Duration = std::time::Duration::from_millis(2);

impl FrameTap {
    /// Subscribes to the stream's decoded frames, starting its decoder if none runs.
    pub(crate) fn subscribe(
        &self,
        stream: StreamId,
        hub: &Hub,
        options: FrameOptions,
    ) -> Result<FrameSubscription> {
        options.validate()?;
        let slot = Arc::new(Slot::new(options));
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tap) = current.as_ref() {
            let mut st = tap.lock();
            if !st.stopping {
                st.slots.push(Arc::downgrade(&slot));
                drop(st);
                return Ok(FrameSubscription {
                    _tap: Membership {
                        tap: tap.clone(),
                        slot: Arc::downgrade(&slot),
                    },
                    slot,
                });
            }
        }
        let tap = Arc::new(TapShared {
            stream,
            state: Mutex::new(TapState {
                slots: vec![Arc::downgrade(&slot)],
                stopping: false,
            }),
            stop: tokio::sync::Notify::new(),
        });
        let sub = hub.subscribe();
        let thread_tap = tap.clone();
        let thread = std::thread::Builder::new()
            // Named after the stream, so `top -H` says whose it is.
            .name(thread_name(stream))
            .spawn(move || run(thread_tap, sub))
            .map_err(|e| {
                Error::new(
                    ErrorKind::ResourceExhausted,
                    format!("cannot start a decoder thread: {e}"),
                )
            })?;
        {
            let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
            // Reap the ones that ended, so the list stays as short as the threads alive.
            let (done, alive): (Vec<_>, Vec<_>) = threads
                .drain(..)
                .partition(std::thread::JoinHandle::is_finished);
            *threads = alive;
            threads.push(thread);
            drop(threads);
            for t in done {
                let _ = t.join();
            }
        }
        debug!(stream = %stream, "decoder started");
        *current = Some(tap.clone());
        Ok(FrameSubscription {
            _tap: Membership {
                tap,
                slot: Arc::downgrade(&slot),
            },
            slot,
        })
    }

    /// Ends every subscription with `error` and stops the decoder thread (the engine closed).
    pub(crate) fn close(&self, error: &Error) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tap) = current.as_ref() {
            tap.close_all(error);
            tap.stop.notify_one();
        }
    }

    /// Waits up to `limit` for every decoder thread this tap started to end, and joins them;
    /// false if one is still running (it is left to finish on its own). Call after
    /// [`close`](Self::close). Never waits for the calling thread itself.
    pub(crate) fn join(&self, limit: std::time::Duration) -> bool {
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let deadline = std::time::Instant::now() + limit;
        let me = std::thread::current().id();
        let mut all = true;
        for t in threads {
            if t.thread().id() == me {
                continue;
            }
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(JOIN_POLL);
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                all = false;
            }
        }
        all
    }

    /// Whether a decoder thread is running for the stream (for tests of "nothing decodes for
    /// nobody").
    #[cfg(test)]
    pub(crate) fn is_decoding(&self) -> bool {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|t| !t.lock().stopping)
    }
}

/// `vas-dec-` and the random end of the stream's id (Linux keeps 15 bytes of a thread name).
fn thread_name(stream: StreamId) -> String {
    let id = stream.to_string();
    format!("vas-dec-{}", &id[id.len().saturating_sub(6)..])
}

/// The decoder thread: runs until its last subscriber leaves or the hub closes.
fn run(tap: Arc<TapShared>, sub: Subscription) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_loop(&tap, sub)));
    match outcome {
        Ok(Some(end)) => tap.close_all(&end),
        Ok(None) => {}
        Err(_) => {
            warn!(stream = %tap.stream, "decoder thread failed; its subscriptions are closed");
            tap.close_all(&Error::internal(
                "the decoder failed (a bug); subscribe again",
            ));
        }
    }
    debug!(stream = %tap.stream, "decoder stopped");
}

/// Decodes until told to stop (`None`) or the stream goes away (`Some(why)`).
fn decode_loop(tap: &TapShared, mut sub: Subscription) -> Option<Error> {
    let mut decoder = H264Decoder::new();
    let mut scaler = Scaler::new();
    let mut unsupported_reported = false;
    let mut errors: u64 = 0;
    loop {
        let next = futures::executor::block_on(async {
            tokio::select! {
                biased;
                () = tap.stop.notified() => None,
                d = sub.recv() => Some(d),
            }
        });
        let frame = match next {
            None => return None,
            Some(None) => {
                return Some(Error::not_found("the stream was removed"));
            }
            Some(Some(Delivery::Lost { frames })) => {
                debug!(stream = %tap.stream, frames, "decoder fell behind; resuming at the next keyframe");
                decoder.reset();
                continue;
            }
            Some(Some(Delivery::Frame(f))) if f.is_video() => f,
            Some(Some(Delivery::Frame(_))) => continue,
        };
        let slots = tap.slots();
        if slots.is_empty() {
            continue;
        }
        let delivered = decoder.decode(&frame, |pic| {
            deliver(tap, &frame, &pic, &slots, &mut scaler)
        });
        match delivered {
            Ok(Some(())) => unsupported_reported = false,
            Ok(None) => {}
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                if !unsupported_reported {
                    unsupported_reported = true;
                    for s in &slots {
                        s.report(Error::new(e.kind(), e.message().to_owned()));
                    }
                }
            }
            Err(e) => {
                errors += 1;
                // So a broken camera cannot flood the log.
                if errors == 1 || errors.is_multiple_of(DECODE_ERROR_LOG_EVERY) {
                    warn!(stream = %tap.stream, error = %e, errors, "frame not decoded; resuming at the next keyframe");
                }
                for s in &slots {
                    s.count_decode_error();
                }
            }
        }
    }
}

/// Converts a picture for every slot that wants it (once per distinct format and size) and
/// hands it over.
fn deliver(
    tap: &TapShared,
    frame: &Frame,
    pic: &YuvView<'_>,
    slots: &[Arc<Slot>],
    scaler: &mut Scaler,
) {
    // Conversions made for this picture: (format, size) and the pixels.
    type Made = ((PixelFormat, (u32, u32)), bytes::Bytes);
    let mut made: Vec<Made> = Vec::new();
    for slot in slots {
        if !slot.wants(frame.wallclock) {
            continue;
        }
        let format = slot.options().format;
        let size = slot.options().output_size(pic.width, pic.height);
        let key = (format, size);
        let data = match made.iter().find(|(k, _)| *k == key) {
            Some((_, d)) => d.clone(),
            None => match convert(pic, format, size, scaler) {
                Ok(d) => {
                    made.push((key, d.clone()));
                    d
                }
                Err(e) => {
                    warn!(stream = %tap.stream, error = %e, "frame not converted");
                    slot.count_decode_error();
                    continue;
                }
            },
        };
        slot.push(VideoFrame {
            data,
            width: size.0,
            height: size.1,
            format,
            pts: frame.pts,
            time: frame.wallclock,
            keyframe: frame.keyframe,
            seq: 0,
            epoch: frame.epoch,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::hub::HubConfig;
    use crate::media::{Track, VideoCodec, VideoParams};

    /// `count` encoded frames of the test pattern (a keyframe every `gop`), as the hub carries
    /// them (length-prefixed NAL units).
    fn encoded(count: u64, gop: u32) -> Vec<Frame> {
        let start = chrono::Utc::now();
        crate::mp4::fixture::h264_frames(count as u32, 30, gop, (160, 96), 0, 0)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(n, f)| Frame {
                wallclock: start + chrono::Duration::milliseconds(n as i64 * 33),
                ..f
            })
            .collect()
    }

    #[test]
    fn a_corrupt_frame_skips_to_the_next_keyframe_and_is_counted() {
        let frames = encoded(30, 10);
        assert!(frames[10].keyframe && frames[20].keyframe);
        let hub = Hub::new(HubConfig::default());
        let tap = FrameTap::default();
        let mut sub = tap
            .subscribe(
                StreamId::new(),
                &hub,
                FrameOptions::new(PixelFormat::Gray8).queue(64),
            )
            .unwrap();
        for (i, f) in frames.iter().enumerate() {
            let mut f = f.clone();
            if i == 13 {
                // A slice NAL unit of garbage, and a payload whose length prefix lies.
                f.data = Bytes::from_static(&[0, 0, 0, 6, 0x41, 0xFF, 0x00, 0x13, 0x99, 0xAB]);
            }
            if i == 15 {
                f.data = Bytes::from_static(&[0, 0, 0, 200, 0x41, 1, 2]);
            }
            hub.publish(f);
            // Give the decoder thread time, so the queue sees every frame in order.
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut pts = Vec::new();
        while let Ok(f) = sub.recv_timeout(Duration::from_millis(500)) {
            assert_eq!((f.width(), f.height()), (160, 96));
            pts.push(f.pts() / 3000);
        }
        assert!(sub.decode_errors() >= 1, "the bad frames were counted");
        // Everything before the damage, nothing between it and the next keyframe (a picture
        // predicted from garbage), everything from the keyframe on.
        assert!(pts.starts_with(&(0..13).collect::<Vec<_>>()), "{pts:?}");
        assert!(pts.ends_with(&(20..30).collect::<Vec<_>>()), "{pts:?}");
        assert!(pts.iter().all(|p| !(14..20).contains(p)), "{pts:?}");
    }

    #[test]
    fn an_h265_stream_says_unsupported_once_and_keeps_the_subscription() {
        let hub = Hub::new(HubConfig::default());
        let tap = FrameTap::default();
        let mut sub = tap
            .subscribe(StreamId::new(), &hub, FrameOptions::default())
            .unwrap();
        let h265 = Arc::new(VideoParams {
            codec: VideoCodec::H265,
            width: 64,
            height: 64,
            vps: Some(Bytes::from_static(&[0x40, 0x01])),
            sps: Bytes::from_static(&[0x42, 0x01]),
            pps: Bytes::from_static(&[0x44, 0x01]),
            rfc6381_codec: "hvc1.1.6.L93.B0".into(),
        });
        for n in 0..3 {
            hub.publish(Frame {
                track: Track::Video(h265.clone()),
                pts: n * 3000,
                keyframe: true,
                data: Bytes::from_static(&[0, 0, 0, 3, 0x26, 0x01, 0xAF]),
                epoch: 0,
                wallclock: chrono::Utc::now(),
            });
        }
        let e = sub.recv_timeout(Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        // Said once; then the subscription simply has nothing (and is still open).
        let e = sub.recv_timeout(Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        // The camera switches to H.264: frames come.
        for f in encoded(3, 10) {
            hub.publish(f);
        }
        let f = sub.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((f.width(), f.height()), (160, 96));
    }

    #[test]
    fn the_last_subscriber_leaving_stops_the_decoder() {
        let hub = Hub::new(HubConfig::default());
        let tap = FrameTap::default();
        let a = tap
            .subscribe(StreamId::new(), &hub, FrameOptions::default())
            .unwrap();
        let b = tap
            .subscribe(StreamId::new(), &hub, FrameOptions::default())
            .unwrap();
        assert!(tap.is_decoding());
        drop(a);
        assert!(tap.is_decoding(), "one subscriber is left");
        drop(b);
        assert!(!tap.is_decoding());
        // A new subscriber starts a new decoder, which sees frames.
        let mut c = tap
            .subscribe(StreamId::new(), &hub, FrameOptions::new(PixelFormat::Rgb24))
            .unwrap();
        assert!(tap.is_decoding());
        for f in encoded(3, 10) {
            hub.publish(f);
        }
        let f = c.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(f.data().len(), 160 * 96 * 3);
        // A closed hub ends the subscription with `NotFound`, not a hang.
        hub.close();
        let end = loop {
            match c.recv_timeout(Duration::from_secs(5)) {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert_eq!(end.kind(), ErrorKind::NotFound, "{end}");
    }
}
