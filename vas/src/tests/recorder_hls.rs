//! The recorder end to end on real H.264 + AAC from ffmpeg, fed through a hub: 12 s of
//! media become one recording on disk and one row, checked by ffmpeg and ffprobe; a short
//! chunk length rolls over into several recordings whose stitched VOD playlist plays
//! through.

use std::time::Duration;

use crate::record::recorder::{FsyncPolicy, RecorderConfig, RecorderState};
use crate::tests::recorder_support::*;

#[tokio::test]
async fn twelve_seconds_become_one_recording_that_decodes_cleanly() {
    let env = Env::new(8192).await;
    let task = env.recorder(RecorderConfig {
        fsync: FsyncPolicy::EverySegment,
        ..Default::default()
    });
    let frames = frames(0, MEDIA_SECS * FPS, 1, 1_000_000, t0(), true);
    feed(&env.hub, &task, &frames[..200], 50).await;

    // While recording: the row is open, its playlist exists and is a valid EVENT playlist.
    let live = task.status();
    assert_eq!(live.state, RecorderState::Recording);
    let rows = env.recordings().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].end, None, "open while recording");
    assert_eq!(live.recording_id, Some(rows[0].id));
    let (_, playlist) = playlist_of(&env.layout, &rows[0]);
    assert!(!playlist.ended);
    assert!(!playlist.segments.is_empty());

    for f in &frames[200..] {
        env.hub.publish(f.clone());
    }
    let status = task.stop().await;
    assert_eq!(status.state, RecorderState::Stopped);
    assert_eq!(status.recordings, 1);
    assert_eq!(status.frames_received, frames.len() as u64);
    assert_eq!(status.frames_written, frames.len() as u64, "{status:?}");
    assert_eq!((status.errors, status.frames_lost), (0, 0));

    let rows = env.recordings().await;
    assert_eq!(rows.len(), 1);
    let checked = check_recording(&env.layout, &rows[0]);
    assert_eq!(
        checked.video_frames,
        MEDIA_SECS * FPS,
        "every frame recorded"
    );
    assert_eq!(checked.segments, MEDIA_SECS / 2, "2-second segments");
    assert_eq!(checked.discontinuities, 0);
    assert!((checked.duration_secs - MEDIA_SECS as f64).abs() < 1e-6);
    assert_eq!(rows[0].start, t0());
    assert_eq!(status.segments, checked.segments as u64);
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;

    // One write per frame: each segment file got exactly one append per frame in it.
    let appends = env.fs.appends_per_file();
    let segment_appends: u64 = appends
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "ts"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(segment_appends, status.frames_written);
    let audio_packets = {
        let (path, _) = playlist_of(&env.layout, &rows[0]);
        let p = crate::tests::record_support::ffprobe_json(
            &path,
            &["-select_streams", "a:0", "-show_entries", "packet=pts"],
        );
        p["packets"].as_array().expect("packets").len()
    };
    assert_eq!(
        checked.video_frames + audio_packets,
        segment_appends as usize,
        "frames in the files = appends"
    );
}

#[tokio::test]
async fn a_chunk_length_rolls_over_into_recordings_whose_vod_plays_through() {
    let env = Env::new(8192).await;
    let task = env.recorder(RecorderConfig {
        chunk_length: Duration::from_secs(5),
        ..Default::default()
    });
    let frames = frames(0, MEDIA_SECS * FPS, 0, 0, t0(), true);
    feed(&env.hub, &task, &frames, 100).await;
    let status = task.stop().await;
    assert_eq!(status.recordings, 3, "{status:?}");

    // [0, 5) [5, 10) [10, 12): each closed and checked, each starting where the last ended.
    let rows = env.recordings().await;
    assert_eq!(rows.len(), 3);
    let mut total_frames = 0;
    for (i, r) in rows.iter().enumerate() {
        let checked = check_recording(&env.layout, r);
        total_frames += checked.video_frames;
        let want = if i < 2 { 5.0 } else { 2.0 };
        assert!(
            (checked.duration_secs - want).abs() < 1e-6,
            "recording {i} lasts {}",
            checked.duration_secs
        );
        if i > 0 {
            assert_eq!(Some(r.start), rows[i - 1].end, "recordings abut");
        }
    }
    assert_eq!(total_frames, MEDIA_SECS * FPS, "no frame lost at a roll");
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;

    let vod = write_vod(&env.layout, &rows);
    let text = std::fs::read_to_string(&vod).unwrap();
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY").count(), 2);
    let errors = crate::tests::record_support::decode_errors(&vod);
    assert!(errors.trim().is_empty(), "VOD does not decode:\n{errors}");
    assert_eq!(count_video_packets(&vod), MEDIA_SECS * FPS);
}
