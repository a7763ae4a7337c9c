//! Segmenter scenarios on synthetic frames: where segments are cut, what is dropped, how
//! discontinuities, wraps and jumps come out, and what the playlist says. Every scenario also
//! reads the produced transport stream back with an independent reader
//! (`crate::tests::record_support::check_recording`).

use std::time::Duration;

use crate::ErrorKind;
use crate::media::Track;
use crate::record::timeline::{OUTPUT_START_PTS, RTP_TIMESTAMP_MODULUS};
use crate::record::{MediaPlaylist, Segmenter, SegmenterConfig};
use crate::tests::record_support::*;

fn segmenter() -> Segmenter {
    Segmenter::new(SegmenterConfig::default()).expect("default config is valid")
}

fn approx(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

#[test]
fn cuts_at_keyframes_once_the_target_duration_is_reached() {
    let mut s = segmenter();
    // 10 s at 25 fps, keyframe every second.
    let rec = record(&mut s, &video_run(0, 250, 25, 0));
    assert!(approx(&rec.durations(), &[2.0; 5]), "{:?}", rec.durations());
    let starts: Vec<i64> = rec.segments.iter().map(|s| s.start_pts).collect();
    assert_eq!(starts, [0, 180_000, 360_000, 540_000, 720_000]);
    assert!(rec.segments.iter().all(|s| !s.discontinuity));
    let reports = check_recording(&rec);
    assert_eq!(video_pts(&reports[0])[0], OUTPUT_START_PTS as u64);
    assert_eq!(
        reports.iter().map(|r| video_pts(r).len()).sum::<usize>(),
        250
    );
    assert_eq!(s.stats().frames_written, 250);
    assert_eq!(s.stats().segments_closed, 5);
    // One PlaylistChanged per closed segment, merged with the end of the recording.
    assert_eq!(rec.playlist_changes, 5);
}

#[test]
fn a_gop_that_does_not_divide_the_target_cuts_at_the_first_keyframe_after_it() {
    let mut s = segmenter();
    // Keyframe every 1.4 s: 0, 1.4, 2.8, 4.2, 5.6, 7.0 → cuts at 2.8 and 5.6.
    let rec = record(&mut s, &video_run(0, 200, 35, 0));
    assert!(
        approx(&rec.durations(), &[2.8, 2.8, 2.4]),
        "{:?}",
        rec.durations()
    );
    check_recording(&rec);
}

#[test]
fn the_target_duration_is_configurable() {
    let config = SegmenterConfig::default().target_duration(Duration::from_secs(4));
    let mut s = Segmenter::new(config).unwrap();
    let rec = record(&mut s, &video_run(0, 250, 25, 0));
    assert!(
        approx(&rec.durations(), &[4.0, 4.0, 2.0]),
        "{:?}",
        rec.durations()
    );
    assert!(s.playlist().render().contains("#EXT-X-TARGETDURATION:4\n"));
    check_recording(&rec);
}

#[test]
fn a_long_gop_makes_long_segments_and_raises_the_target_duration() {
    let mut s = segmenter();
    let rec = record(&mut s, &video_run(0, 300, 125, 0)); // keyframe every 5 s
    assert!(
        approx(&rec.durations(), &[5.0, 5.0, 2.0]),
        "{:?}",
        rec.durations()
    );
    assert!(s.playlist().render().contains("#EXT-X-TARGETDURATION:5\n"));
}

#[test]
fn frames_before_the_first_keyframe_are_dropped_and_counted() {
    let mut s = segmenter();
    let mut frames = Vec::new();
    for i in 0..10 {
        frames.push(video(i * FRAME_TICKS, false, 0));
        frames.push(audio(i * FRAME_TICKS, 0));
    }
    frames.extend(video_run(10 * FRAME_TICKS, 50, 25, 0));
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().dropped_waiting_for_keyframe, 20);
    assert_eq!(rec.segments[0].start_pts, 10 * FRAME_TICKS);
    assert_eq!(rec.segments.len(), 1);
    assert!(approx(&rec.durations(), &[2.0]));
    check_recording(&rec);
}

#[test]
fn an_epoch_change_closes_the_segment_and_marks_a_discontinuity() {
    let mut s = segmenter();
    let mut frames = video_run(5_000_000, 75, 25, 0); // 3 s
    // The camera reconnects: timestamps restart near zero, the first frames are not keyframes.
    let mut after = video_run(0, 105, 25, 1);
    frames.extend(after.drain(20..)); // starts 20 frames into a GOP: 5 to drop before a keyframe
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().discontinuities, 1);
    assert_eq!(s.stats().dropped_waiting_for_keyframe, 5);
    let flags: Vec<bool> = rec.segments.iter().map(|s| s.discontinuity).collect();
    assert_eq!(flags, [false, false, true, false]);
    // The segment cut short by the reconnect ends after its last frame.
    assert!(
        approx(&rec.durations(), &[2.0, 1.0, 2.0, 1.2]),
        "{:?}",
        rec.durations()
    );
    assert_eq!(rec.segments[2].start_pts, 25 * FRAME_TICKS);
    // Output timestamps run on without a gap across the discontinuity.
    let reports = check_recording(&rec);
    let last_before = *video_pts(&reports[1]).last().unwrap();
    assert_eq!(video_pts(&reports[2])[0], last_before + FRAME_TICKS as u64);
    let text = s.playlist().render();
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1);
    assert!(text.contains("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME"));
}

#[test]
fn lost_frames_close_the_segment_and_the_next_keyframe_starts_a_discontinuity() {
    let mut s = segmenter();
    let mut rec = Recording::default();
    // Reported before anything was written: nothing to close, nothing to mark.
    s.frames_lost();
    assert_eq!(s.stats().discontinuities, 0);
    let frames = video_run(0, 250, 25, 0);
    for f in &frames[..60] {
        s.push(f);
        rec.drain(&mut s);
    }
    // The driver was skipped forward from 2.4 s to the keyframe at 4 s.
    s.frames_lost();
    rec.drain(&mut s);
    s.frames_lost(); // twice: no segment open, nothing more
    for f in &frames[100..150] {
        s.push(f);
        rec.drain(&mut s);
    }
    s.finish();
    rec.drain(&mut s);
    assert_eq!(s.stats().discontinuities, 1);
    let flags: Vec<bool> = rec.segments.iter().map(|s| s.discontinuity).collect();
    assert_eq!(flags, [false, false, true]);
    assert!(
        approx(&rec.durations(), &[2.0, 0.4, 2.0]),
        "{:?}",
        rec.durations()
    );
    check_recording(&rec);
    assert_eq!(
        s.playlist()
            .render()
            .matches("#EXT-X-DISCONTINUITY\n")
            .count(),
        1
    );
}

#[test]
fn timestamps_jumping_backwards_are_a_discontinuity_never_a_negative_duration() {
    let mut s = segmenter();
    let mut frames = video_run(900_000, 60, 25, 0);
    // Same epoch, back by 5 s (more than a reorder), on a keyframe and then on a delta frame.
    frames.extend(video_run(900_000 + 59 * FRAME_TICKS - 450_000, 40, 25, 0));
    frames.push(video(100, false, 0));
    frames.extend(video_run(200, 30, 25, 0));
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().discontinuities, 2);
    assert!(rec.durations().iter().all(|d| *d >= 0.0));
    let disc = rec.segments.iter().filter(|s| s.discontinuity).count();
    assert_eq!(disc, 2);
    check_recording(&rec);
}

#[test]
fn a_forward_jump_beyond_the_threshold_is_a_discontinuity_but_a_small_gap_is_not() {
    let mut s = segmenter();
    let mut frames = video_run(0, 50, 25, 0);
    // A 5 s gap (frames lost) stays in the timeline; a 60 s jump does not.
    frames.extend(video_run(49 * FRAME_TICKS + 450_000, 50, 25, 0));
    frames.extend(video_run(99 * FRAME_TICKS + 450_000 + 5_400_000, 50, 25, 0));
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().discontinuities, 1);
    let flags: Vec<bool> = rec.segments.iter().map(|s| s.discontinuity).collect();
    assert_eq!(flags, [false, false, true]);
    // Segment 0 holds the 5 s gap: 1.96 s of frames, then 5 s until the keyframe after it.
    assert!(
        approx(&rec.durations(), &[1.96 + 5.0, 2.0, 2.0]),
        "{:?}",
        rec.durations()
    );
    check_recording(&rec);
}

#[test]
fn the_32_bit_rtp_wrap_is_seamless() {
    let mut s = segmenter();
    let start = RTP_TIMESTAMP_MODULUS - 3 * 90_000 + 1_234;
    let mut frames = video_run(start, 200, 25, 0);
    for f in &mut frames {
        f.pts %= RTP_TIMESTAMP_MODULUS;
    }
    // Audio wrapping slightly out of step with the video.
    let mut all = Vec::new();
    for (i, v) in frames.into_iter().enumerate() {
        let a = (start + i as i64 * FRAME_TICKS - 900) % RTP_TIMESTAMP_MODULUS;
        all.push(v);
        all.push(audio(a, 0));
    }
    let rec = record(&mut s, &all);
    assert_eq!(s.stats().discontinuities, 0);
    assert_eq!(s.stats().dropped_bad_timestamp, 0);
    assert!(approx(&rec.durations(), &[2.0; 4]), "{:?}", rec.durations());
    let reports = check_recording(&rec);
    let video: Vec<u64> = reports.iter().flat_map(video_pts).collect();
    assert_eq!(video.len(), 200);
    assert!(video.windows(2).all(|w| w[1] - w[0] == FRAME_TICKS as u64));
}

#[test]
fn output_timestamps_wrap_at_33_bits_without_breaking_the_recording() {
    // Steps of 50 minutes (below a 1-hour jump threshold) cross 2^33 ticks (26.5 h) quickly.
    let config = SegmenterConfig::default().max_timestamp_jump(Duration::from_secs(3600));
    let mut s = Segmenter::new(config).unwrap();
    let step = 50 * 60 * 90_000;
    let frames: Vec<_> = (0..40).map(|i| video(i * step, true, 0)).collect();
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().discontinuities, 0);
    assert_eq!(rec.segments.len(), 40);
    assert!(rec.durations().iter().all(|d| (*d - 3000.0).abs() < 1e-9));
    let reports = check_recording(&rec);
    let video: Vec<u64> = reports.iter().flat_map(video_pts).collect();
    assert!(
        video.windows(2).any(|w| w[1] < w[0]),
        "the 33-bit PTS wrapped"
    );
}

#[test]
fn finish_closes_the_last_segment_and_ends_the_playlist() {
    let mut s = segmenter();
    let mut rec = record(&mut s, &video_run(0, 63, 25, 0));
    // Last segment: frames 50..=62, the last lasting one frame.
    assert!(
        approx(&rec.durations(), &[2.0, 0.52]),
        "{:?}",
        rec.durations()
    );
    assert!(s.is_finished());
    assert!(s.playlist().ended);
    assert!(
        s.playlist()
            .render()
            .ends_with("#EXTINF:0.520,\nsegment-00000001.ts\n#EXT-X-ENDLIST\n")
    );
    // Later pushes and a second finish change nothing.
    s.push(&video(63 * FRAME_TICKS, true, 0));
    s.finish();
    rec.drain(&mut s);
    assert_eq!(rec.segments.len(), 2);
    assert_eq!(s.stats().dropped_after_finish, 1);
}

#[test]
fn finishing_an_empty_recording_ends_an_empty_playlist() {
    let mut s = segmenter();
    let rec = record(&mut s, &[video(0, false, 0)]);
    assert!(rec.segments.is_empty());
    assert_eq!(rec.playlist_changes, 1);
    let p = MediaPlaylist::parse(&s.playlist().render()).unwrap();
    assert!(p.ended && p.segments.is_empty());
}

#[test]
fn aac_is_carried_and_g711_is_skipped_and_counted() {
    let mut s = segmenter();
    let mut frames = Vec::new();
    for v in video_run(0, 100, 25, 0) {
        let pts = v.pts;
        frames.push(v);
        frames.push(audio(pts + 100, 0));
        let mut g711 = audio(pts, 0);
        g711.track = Track::Audio(pcmu_params());
        frames.push(g711);
    }
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().dropped_unsupported, 100);
    assert_eq!(s.stats().frames_written, 200);
    let reports = check_recording(&rec);
    for r in &reports {
        assert_eq!(r.streams.get(&0x100), Some(&0x1B));
        assert_eq!(r.streams.get(&0x101), Some(&0x0F));
        assert_eq!(r.streams.len(), 2);
        let adts = r.pes.iter().find(|p| p.pid == 0x101).expect("audio PES");
        assert_eq!(&adts.data[..2], &[0xFF, 0xF1]);
        assert_eq!(adts.data.len(), 7 + 6);
    }
}

#[test]
fn audio_far_from_the_video_is_dropped() {
    let mut s = segmenter();
    let mut frames = video_run(1_000_000, 50, 25, 0);
    frames.insert(5, audio(1_000_000 - 200_000, 0)); // 2.2 s behind the video
    frames.insert(6, audio(1_000_000 + 10_000_000, 0)); // 110 s ahead
    frames.insert(7, audio(1_000_000, 1)); // another epoch
    frames.insert(8, audio(1_000_000 + 4 * FRAME_TICKS, 0));
    frames.insert(9, audio(1_000_000 + 3 * FRAME_TICKS, 0)); // before the previous audio frame
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().dropped_bad_timestamp, 4);
    assert_eq!(s.stats().frames_written, 51);
    check_recording(&rec);
}

#[test]
fn a_declared_audio_track_is_in_the_first_pmt() {
    let mut s = segmenter();
    s.declare_track(&Track::Audio(aac_params())).unwrap();
    assert_eq!(
        s.declare_track(&Track::Audio(pcmu_params()))
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    let rec = record(&mut s, &video_run(0, 10, 25, 0));
    let mut reader = TsReader::default();
    let report = reader.read(&rec.segments[0].data).unwrap();
    assert_eq!(report.streams.len(), 2);
}

#[test]
fn frames_without_a_complete_nal_unit_are_dropped() {
    let mut s = segmenter();
    let mut frames = video_run(0, 50, 25, 0);
    frames[10].data = bytes::Bytes::from_static(&[0, 0, 0, 200, 1, 2, 3]);
    frames[25].data = bytes::Bytes::new(); // a keyframe: the cut moves to the next keyframe
    let rec = record(&mut s, &frames);
    assert_eq!(s.stats().dropped_invalid, 2);
    assert_eq!(rec.segments.len(), 1);
    check_recording(&rec);
}

#[test]
fn playlist_lists_closed_segments_with_program_date_times() {
    let mut s = segmenter();
    let frames = video_run(0, 110, 25, 0);
    let mut rec = Default::default();
    for f in &frames {
        s.push(f);
        crate::tests::record_support::Recording::drain(&mut rec, &mut s);
    }
    // Two closed, one open: the EVENT playlist lists the closed ones only.
    let text = s.playlist().render();
    assert_eq!(
        text,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXT-X-PLAYLIST-TYPE:EVENT\n\
         #EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.000Z\n#EXTINF:2.000,\nsegment-00000000.ts\n\
         #EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:07.000Z\n#EXTINF:2.000,\nsegment-00000001.ts\n"
    );
    assert_eq!(MediaPlaylist::parse(&text).unwrap(), *s.playlist());
}

#[test]
fn the_stats_account_for_every_frame() {
    let mut s = segmenter();
    let mut frames = video_run(0, 30, 25, 0);
    frames.insert(0, video(-3600, false, 0));
    frames.push(video(40 * FRAME_TICKS, false, 1));
    let mut g711 = audio(0, 0);
    g711.track = Track::Audio(pcmu_params());
    frames.push(g711);
    record(&mut s, &frames);
    let st = s.stats().clone();
    assert_eq!(
        st.frames_in,
        st.frames_written
            + st.dropped_waiting_for_keyframe
            + st.dropped_bad_timestamp
            + st.dropped_unsupported
            + st.dropped_invalid
            + st.dropped_after_finish
    );
    assert_eq!(st.frames_in, 33);
}

#[test]
fn invalid_configs_are_rejected() {
    let bad = [
        SegmenterConfig::default().target_duration(Duration::ZERO),
        SegmenterConfig::default().target_duration(Duration::from_secs(3600)),
        SegmenterConfig::default().max_timestamp_jump(Duration::from_secs(1)),
        SegmenterConfig::default().max_timestamp_jump(Duration::from_secs(7 * 3600)),
        SegmenterConfig {
            segment_prefix: "../x".into(),
            ..Default::default()
        },
        SegmenterConfig {
            segment_prefix: "a\n".into(),
            ..Default::default()
        },
    ];
    for config in bad {
        let e = Segmenter::new(config.clone()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{config:?}");
    }
    let c = SegmenterConfig {
        segment_prefix: "cam1_".into(),
        first_sequence: 42,
        ..Default::default()
    };
    assert_eq!(c.segment_uri(42), "cam1_00000042.ts");
    let mut s = Segmenter::new(c).unwrap();
    record(&mut s, &video_run(0, 10, 25, 0));
    assert!(s.playlist().render().contains("#EXT-X-MEDIA-SEQUENCE:42\n"));
}
