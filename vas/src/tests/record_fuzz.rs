//! Property tests: random frame sequences (garbage NAL data, wild timestamps, epoch changes,
//! codec switches, unsupported and broken audio) through the segmenter, checking invariants
//! after every step, not just "no panic"; plus garbage through the playlist and ADTS parsers.
//! Deterministic: a failure names its seed.

use std::sync::Arc;
use std::time::Duration;

use crate::media::{AudioCodec, AudioParams, Frame, Track, VideoCodec, VideoParams};
use crate::record::adts::AdtsConfig;
use crate::record::{MediaPlaylist, Segmenter, SegmenterConfig};
use crate::tests::record_support::*;
use bytes::Bytes;

/// Random recordings per test run.
const CASES: u64 = 300;

/// Most frames in one random recording.
const MAX_FRAMES: u64 = 700;

fn random_video_params(rng: &mut Rng) -> Arc<VideoParams> {
    let codec = if rng.chance(50) {
        VideoCodec::H264
    } else {
        VideoCodec::H265
    };
    let ps = |rng: &mut Rng| {
        Bytes::from({
            let mut b = rng.bytes_below(40);
            b.push(0x55);
            b
        })
    };
    Arc::new(VideoParams {
        codec,
        width: 640,
        height: 360,
        vps: (codec == VideoCodec::H265 && rng.chance(90)).then(|| ps(rng)),
        sps: ps(rng),
        pps: if rng.chance(5) { Bytes::new() } else { ps(rng) },
        rfc6381_codec: String::new(),
    })
}

fn random_audio_params(rng: &mut Rng) -> Arc<AudioParams> {
    let codec = match rng.below(10) {
        0 => AudioCodec::Pcmu,
        1 => AudioCodec::Opus,
        _ => AudioCodec::Aac,
    };
    let config = match rng.below(6) {
        0 => Bytes::new(),
        1 => Bytes::from(rng.bytes_below(5)),
        _ => Bytes::from_static(&[0x11, 0x90]),
    };
    Arc::new(AudioParams {
        codec,
        sample_rate: [48_000, 44_100, 8_000, 12_345][rng.below(4) as usize],
        channels: rng.below(3) as u16,
        config,
    })
}

fn random_video_payload(rng: &mut Rng) -> Bytes {
    if rng.chance(15) {
        return Bytes::from(rng.bytes_below(64)); // garbage framing
    }
    let mut data = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let max = if rng.chance(5) { 20_000 } else { 600 };
        let len = 1 + rng.below(max) as usize;
        crate::media::push_length_prefixed(&mut data, &rng.bytes(len));
    }
    if rng.chance(5) {
        data.truncate(rng.below(data.len() as u64 + 1) as usize);
    }
    Bytes::from(data)
}

/// The next video timestamp: mostly one frame on, sometimes anything.
fn next_pts(rng: &mut Rng, pts: i64) -> i64 {
    match rng.below(100) {
        0 => rng.next_u64() as i64,
        1 => pts.wrapping_sub(rng.below(2_000_000) as i64),
        2 => pts.wrapping_add(3600).rem_euclid(1 << 32),
        3 => pts.wrapping_add(rng.below(20_000_000) as i64),
        4 => pts,
        5 => [i64::MIN, i64::MAX, 0, -1, 1 << 33][rng.below(5) as usize],
        _ => pts.wrapping_add(3000 + rng.below(1200) as i64),
    }
}

fn random_frames(rng: &mut Rng) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut video_params = random_video_params(rng);
    let mut audio_params = random_audio_params(rng);
    let mut pts: i64 = rng.next_u64() as i64 >> rng.below(64);
    let mut epoch = rng.below(3) as u32;
    let wallclock = t0();
    for _ in 0..rng.below(MAX_FRAMES) {
        if rng.chance(1) {
            epoch = epoch.wrapping_add(1);
            video_params = random_video_params(rng);
        }
        if rng.chance(1) {
            audio_params = random_audio_params(rng);
        }
        if rng.chance(65) {
            pts = next_pts(rng, pts);
            frames.push(Frame {
                track: Track::Video(video_params.clone()),
                pts,
                keyframe: rng.chance(8),
                data: random_video_payload(rng),
                epoch,
                wallclock,
            });
        } else {
            let offset = if rng.chance(95) {
                rng.below(20_000) as i64 - 8_000
            } else {
                rng.next_u64() as i64
            };
            let len = if rng.chance(2) {
                9_000
            } else {
                rng.below(800) as usize
            };
            frames.push(Frame {
                track: Track::Audio(audio_params.clone()),
                pts: pts.wrapping_add(offset),
                keyframe: true,
                data: Bytes::from(rng.bytes(len)),
                epoch: if rng.chance(2) {
                    epoch.wrapping_add(1)
                } else {
                    epoch
                },
                wallclock,
            });
        }
    }
    frames
}

fn random_config(rng: &mut Rng) -> SegmenterConfig {
    let target = Duration::from_millis(100 + rng.below(6_000));
    SegmenterConfig::default()
        .target_duration(target)
        .max_timestamp_jump(target.max(Duration::from_secs(1 + rng.below(60))))
}

#[test]
fn random_frame_sequences_keep_every_invariant() {
    let mut total_segments = 0;
    for seed in 0..CASES {
        let mut rng = Rng::new(seed);
        let frames = random_frames(&mut rng);
        let mut s = Segmenter::new(random_config(&mut rng)).expect("valid config");
        if rng.chance(30) {
            let _ = s.declare_track(&Track::Audio(random_audio_params(&mut rng)));
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut rec = Recording::default();
            for f in &frames {
                s.push(f);
                rec.drain(&mut s);
                // The playlist always lists exactly the closed segments.
                let closed = rec
                    .segments
                    .iter()
                    .filter(|g| g.duration_secs.is_some())
                    .count();
                assert_eq!(s.playlist().segments.len(), closed);
            }
            s.finish();
            rec.drain(&mut s);
            assert!(
                rec.segments.iter().all(|g| g.duration_secs.is_some()),
                "all closed"
            );
            // Segments start at keyframes, CCs run on across segments, timestamps only
            // move forward, durations match the media.
            check_recording(&rec);

            let st = s.stats();
            assert_eq!(
                st.frames_in,
                st.frames_written
                    + st.dropped_waiting_for_keyframe
                    + st.dropped_bad_timestamp
                    + st.dropped_unsupported
                    + st.dropped_invalid
                    + st.dropped_after_finish,
                "{st:?}"
            );
            assert_eq!(st.segments_closed as usize, rec.segments.len());
            assert_eq!(
                st.bytes_written,
                rec.segments
                    .iter()
                    .map(|g| g.data.len() as u64)
                    .sum::<u64>()
            );
            let text = s.playlist().render();
            let back = MediaPlaylist::parse(&text).expect("our playlist parses");
            assert_eq!(back.render(), text);
            assert!(back.ended);
            for (g, p) in rec.segments.iter().zip(&s.playlist().segments) {
                assert_eq!(g.uri, p.uri);
                assert_eq!(g.discontinuity, p.discontinuity);
                assert_eq!(g.duration_secs, Some(p.duration_secs));
            }
            rec.segments.len()
        }));
        match result {
            Ok(n) => total_segments += n,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("seed {seed}: {msg}");
            }
        }
    }
    // The generator must actually produce recordings, or this test proves nothing.
    assert!(
        total_segments > CASES as usize,
        "only {total_segments} segments in {CASES} cases"
    );
}

#[test]
fn garbage_playlists_never_panic() {
    let mut rng = Rng::new(7);
    let mut valid = MediaPlaylist::event(2);
    for i in 0..20 {
        valid
            .segments
            .push(crate::record::playlist::PlaylistSegment {
                uri: format!("segment-{i:08}.ts"),
                duration_secs: 2.0,
                program_date_time: Some(t0()),
                discontinuity: i % 7 == 3,
            });
    }
    let text = valid.render().into_bytes();
    for _ in 0..3_000 {
        let mut t = text.clone();
        for _ in 0..1 + rng.below(8) {
            if t.is_empty() {
                break;
            }
            let i = rng.below(t.len() as u64) as usize;
            match rng.below(3) {
                0 => t[i] = rng.next_u64() as u8,
                1 => {
                    t.remove(i);
                }
                _ => t.truncate(i),
            }
        }
        let _ = MediaPlaylist::parse(&String::from_utf8_lossy(&t));
        let _ = MediaPlaylist::parse(&String::from_utf8_lossy(&rng.bytes_below(300)));
    }
}

#[test]
fn garbage_audio_configs_never_panic() {
    let mut rng = Rng::new(11);
    for _ in 0..20_000 {
        let asc = rng.bytes_below(8);
        if let Ok(c) = AdtsConfig::from_audio_specific_config(&asc) {
            assert!((1..=4).contains(&c.object_type()));
            assert!((1..=7).contains(&c.channel_config()));
            let h = c.header(rng.below(9_000) as usize);
            if let Ok(h) = h {
                assert_eq!(&h[..2], &[0xFF, 0xF1]);
            }
        }
    }
}
