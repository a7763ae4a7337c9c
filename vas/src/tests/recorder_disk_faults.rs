//! The recorder when the disk fails, through the fault-injecting filesystem seam: a full
//! disk (ENOSPC mid-frame) and failing renames (EIO) put the recorder into the error state
//! without corrupting anything already written; when the disk works again, the first
//! recording is ended cleanly and a new one starts after the backoff delay.

use std::time::Duration;

use crate::ingest::backoff::BackoffPolicy;
use crate::record::recorder::{RecorderConfig, RecorderState};
use crate::tests::recorder_support::*;

fn config() -> RecorderConfig {
    RecorderConfig {
        retry: BackoffPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(4),
            jitter: 0.0,
            ..BackoffPolicy::default()
        },
        ..RecorderConfig::default()
    }
}

/// Every segment file in a recording's folder decodes cleanly (listed or not).
fn every_segment_file_decodes(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "ts") {
            let errors = crate::tests::record_support::decode_errors(&path);
            assert!(
                errors.trim().is_empty(),
                "{} is corrupt:\n{errors}",
                path.display()
            );
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn a_full_disk_is_an_error_state_then_recording_resumes_when_space_returns() {
    let env = Env::new(8192).await;
    let task = env.recorder(config());
    let mut status = task.watch_status();
    let all = frames(0, MEDIA_SECS * FPS, 1, 0, t0(), true);
    let video_index = |n: usize| {
        all.iter()
            .position(|f| f.is_video() && f.pts == n as i64 * 3_600)
            .unwrap()
    };
    let (s4, s8) = (video_index(4 * FPS), video_index(8 * FPS));

    feed(&env.hub, &task, &all[..s4], 50).await;
    wait_for(&mut status, "every frame handed to the OS", |s| {
        s.frames_written == s.frames_received
    })
    .await;
    let first = env.recordings().await;
    assert_eq!(first.len(), 1);

    // The disk fills up 30 kB from now: part-way through the next segment, mid-frame.
    env.fs.set_capacity(Some(env.fs.used_bytes() + 30_000));
    feed(&env.hub, &task, &all[s4..s8], 25).await;
    let failed = wait_for(&mut status, "the error state", |s| {
        s.state == RecorderState::Error
    })
    .await;
    assert!(env.fs.failed_writes() >= 1);
    let error = failed.last_error.clone().unwrap();
    assert!(error.contains("no space"), "{error}");
    assert!(
        failed.frames_dropped > 0,
        "frames after the error are dropped"
    );
    assert_eq!(failed.recording_id, None);

    // Nothing written is corrupt: the playlist on disk is the last complete one, and every
    // segment file decodes (the torn frame was cut off).
    let (path, playlist) = playlist_of(&env.layout, &first[0]);
    assert!(!playlist.segments.is_empty());
    let dir = path.parent().unwrap();
    assert!(every_segment_file_decodes(dir) >= playlist.segments.len());
    assert!(
        !dir.join("index.m3u8.tmp").exists(),
        "no temporary file left"
    );

    // Space returns; once the backoff delay has passed, the next keyframe starts a new
    // recording and the first one is ended.
    env.fs.set_capacity(None);
    env.clock.advance(Duration::from_secs(5));
    feed(&env.hub, &task, &all[s8..], 25).await;
    let resumed = task.status();
    assert_eq!(resumed.state, RecorderState::Recording, "{resumed:?}");
    assert_eq!(resumed.recordings, 2);
    let end = task.stop().await;
    assert!(end.errors >= 1);

    let rows = env.recordings().await;
    assert_eq!(rows.len(), 2);
    let a = check_recording(&env.layout, &rows[0]);
    let b = check_recording(&env.layout, &rows[1]);
    assert!(
        a.video_frames >= 4 * FPS,
        "the first recording kept its 4 s and more"
    );
    assert_eq!(b.video_frames, 4 * FPS, "the second has the last 4 s");
    assert_eq!(
        rows[1].start,
        t0() + chrono::Duration::seconds(8),
        "it starts at the first keyframe after the retry"
    );
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;
}

#[tokio::test]
async fn failing_renames_keep_the_last_good_playlist_and_recover() {
    let env = Env::new(8192).await;
    let task = env.recorder(config());
    let mut status = task.watch_status();
    let all = frames(0, MEDIA_SECS * FPS, 1, 0, t0(), false);
    feed(&env.hub, &task, &all[..3 * FPS], 25).await;
    let rows = env.recordings().await;
    let (_, before) = playlist_of(&env.layout, &rows[0]);
    assert_eq!(before.segments.len(), 1);

    // The next segment close rewrites the playlist: the rename fails with EIO.
    env.fs.fail_renames(true);
    feed(&env.hub, &task, &all[3 * FPS..6 * FPS], 25).await;
    let failed = wait_for(&mut status, "the error state", |s| {
        s.state == RecorderState::Error
    })
    .await;
    assert!(
        failed.last_error.as_deref().unwrap().contains("EIO"),
        "{failed:?}"
    );
    // The playlist on disk is the previous complete one, still an open EVENT playlist; the
    // row stays open until its ending can be written.
    let (path, now) = playlist_of(&env.layout, &rows[0]);
    assert_eq!(now, before);
    assert!(!path.with_file_name("index.m3u8.tmp").exists());
    assert_eq!(env.recordings().await[0].end, None);

    env.fs.fail_renames(false);
    env.clock.advance(Duration::from_secs(5));
    feed(&env.hub, &task, &all[6 * FPS..], 25).await;
    assert_eq!(task.status().state, RecorderState::Recording);
    task.stop().await;

    let rows = env.recordings().await;
    assert_eq!(rows.len(), 2);
    let a = check_recording(&env.layout, &rows[0]);
    assert_eq!(
        a.video_frames,
        4 * FPS,
        "segments [0, 2) and [2, 4) were kept"
    );
    let b = check_recording(&env.layout, &rows[1]);
    assert_eq!(b.video_frames, 6 * FPS);
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;
}
