//! MPEG-TS muxer throughput (input media bytes per second), against a plain copy of the same
//! bytes as the in-process peer: `cargo bench -p vas-benches --bench ts_mux`.
//!
//! The stream is ten seconds of a typical camera: H.264 at 25 fps with a keyframe every
//! second (60 kB keyframes, 15 kB delta frames, about 3.4 Mbit/s) plus 48 kHz AAC.

use std::hint::black_box;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_main};
use vas::_internal_test_exports::media::{
    AudioCodec, AudioParams, Frame, Track, VideoCodec, VideoParams,
};
use vas::_internal_test_exports::record::{Segmenter, SegmenterConfig, TsMuxer};

/// Seconds of media per iteration.
const SECONDS: usize = 10;
/// Video frame rate.
const FPS: usize = 25;
/// Keyframe size in bytes.
const KEYFRAME_BYTES: usize = 60_000;
/// Delta frame size in bytes.
const DELTA_FRAME_BYTES: usize = 15_000;
/// AAC frames per second at 48 kHz (1024 samples each), rounded up.
const AAC_FRAMES_PER_SEC: usize = 47;
/// AAC frame size in bytes (about 96 kbit/s).
const AAC_FRAME_BYTES: usize = 256;

fn frames() -> Vec<Frame> {
    let video = Arc::new(VideoParams {
        codec: VideoCodec::H264,
        width: 1920,
        height: 1080,
        vps: None,
        sps: Bytes::from_static(&[0x67, 0x64, 0x00, 0x28, 0xAC, 0xD9, 0x40, 0x78]),
        pps: Bytes::from_static(&[0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0]),
        rfc6381_codec: "avc1.640028".into(),
    });
    let audio = Arc::new(AudioParams {
        codec: AudioCodec::Aac,
        sample_rate: 48_000,
        channels: 2,
        config: Bytes::from_static(&[0x11, 0x90]),
    });
    let wallclock = chrono::DateTime::UNIX_EPOCH;
    let mut out = Vec::new();
    let mut audio_pts = 0i64;
    for i in 0..SECONDS * FPS {
        let keyframe = i % FPS == 0;
        let len = if keyframe {
            KEYFRAME_BYTES
        } else {
            DELTA_FRAME_BYTES
        };
        let mut unit = vec![0x5A; len];
        unit[0] = if keyframe { 0x65 } else { 0x41 };
        let mut data = Vec::with_capacity(len + 4);
        vas::_internal_test_exports::media::push_length_prefixed(&mut data, &unit);
        let pts = (i * 3600) as i64;
        out.push(Frame {
            track: Track::Video(video.clone()),
            pts,
            keyframe,
            data: data.into(),
            epoch: 0,
            wallclock,
        });
        while audio_pts < pts + 3600 {
            out.push(Frame {
                track: Track::Audio(audio.clone()),
                pts: audio_pts,
                keyframe: true,
                data: Bytes::from(vec![0x21; AAC_FRAME_BYTES]),
                epoch: 0,
                wallclock,
            });
            audio_pts += 90_000 / AAC_FRAMES_PER_SEC as i64;
        }
    }
    out
}

fn ts_mux(c: &mut Criterion) {
    let frames = frames();
    let input_bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    let mut group = c.benchmark_group("ts_mux");
    group.throughput(Throughput::Bytes(input_bytes as u64));

    // The peer: copying the payloads once, the floor any remuxer pays.
    group.bench_function("copy_payloads_peer", |b| {
        let mut out = Vec::with_capacity(input_bytes);
        b.iter(|| {
            out.clear();
            for f in &frames {
                out.extend_from_slice(&f.data);
            }
            black_box(out.len())
        })
    });

    group.bench_function("muxer", |b| {
        let mut out = BytesMut::new();
        b.iter(|| {
            let mut mux = TsMuxer::new();
            let mut total = 0;
            for f in &frames {
                total += mux
                    .write_frame(f, 126_000 + f.pts, &mut out)
                    .expect("valid frame");
                // One buffered output per frame, handed on (as the segmenter does).
                black_box(out.split().freeze());
            }
            total
        })
    });

    group.bench_function("segmenter", |b| {
        b.iter(|| {
            let mut s = Segmenter::new(SegmenterConfig::default()).expect("default config");
            let mut events = 0;
            for f in &frames {
                s.push(f);
                while let Some(e) = s.poll() {
                    black_box(e);
                    events += 1;
                }
            }
            s.finish();
            while s.poll().is_some() {}
            events
        })
    });
    group.finish();
}

mod group {
    // A private module: the generated group function is not public API needing docs.
    criterion::criterion_group!(benches, super::ts_mux);
}
criterion_main!(group::benches);
