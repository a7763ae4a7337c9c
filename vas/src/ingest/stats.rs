//! Frame-rate and bit-rate measurement over fixed windows.
//!
//! Sans-IO: told about frames and the time, it reports the rates of the last complete
//! window. O(1) memory whatever the frame rate.

use std::time::{Duration, Instant};

/// Length of one measuring window.
pub const WINDOW: Duration = Duration::from_secs(1);

/// Rates of the last complete window.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window_start: Option<Instant>,
    frames: u64,
    bytes: u64,
    fps: f64,
    bps: u64,
}

impl Default for RateMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateMeter {
    /// A meter with nothing measured.
    pub fn new() -> Self {
        RateMeter {
            window_start: None,
            frames: 0,
            bytes: 0,
            fps: 0.0,
            bps: 0,
        }
    }

    /// Counts a video frame of `bytes` at `now`; returns true when a window completed (the
    /// rates changed).
    pub fn frame(&mut self, now: Instant, bytes: usize) -> bool {
        let start = *self.window_start.get_or_insert(now);
        let mut rolled = false;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= WINDOW {
            let secs = elapsed.as_secs_f64();
            self.fps = (self.frames as f64 / secs * 10.0).round() / 10.0;
            self.bps = (self.bytes as f64 * 8.0 / secs) as u64;
            self.frames = 0;
            self.bytes = 0;
            self.window_start = Some(now);
            rolled = true;
        }
        self.frames += 1;
        self.bytes += bytes as u64;
        rolled
    }

    /// Frames per second of the last complete window.
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Bits per second of the last complete window.
    pub fn bitrate_bps(&self) -> u64 {
        self.bps
    }

    /// Forgets everything (the stream stopped).
    pub fn reset(&mut self) {
        *self = RateMeter::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_steady_stream() {
        let mut m = RateMeter::new();
        let t0 = Instant::now();
        let frame = Duration::from_millis(40); // 25 fps
        for i in 0..=50u32 {
            m.frame(t0 + frame * i, 10_000);
        }
        assert_eq!(m.fps(), 25.0);
        assert_eq!(m.bitrate_bps(), 2_000_000);
        m.reset();
        assert_eq!(m.fps(), 0.0);
    }
}
