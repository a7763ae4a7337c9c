//! The recorder across breaks in the stream: a camera that drops and reconnects (a new
//! epoch) and a recorder that falls behind the hub (`Delivery::Lost`) both become
//! `#EXT-X-DISCONTINUITY` in one recording that still decodes cleanly, never a corrupt
//! segment.

use crate::record::recorder::RecorderConfig;
use crate::tests::recorder_support::*;

#[tokio::test]
async fn a_camera_reconnect_is_a_discontinuity_and_still_decodes() {
    let env = Env::new(8192).await;
    let task = env.recorder(RecorderConfig::default());
    // 6 s from the first connection, the camera away for 3 s, then 4 s from a new
    // connection that starts over at its first keyframe (a new epoch, timestamps continuing
    // on the stream's timeline as ingest does).
    let first = frames(0, 6 * FPS, 1, 90_000, t0(), true);
    let resume_pts = 90_000 + (6 * FPS) as i64 * 3_600 + 3_600;
    let second = frames(
        0,
        4 * FPS,
        2,
        resume_pts,
        t0() + chrono::Duration::seconds(9),
        true,
    );
    feed(&env.hub, &task, &first, 60).await;
    feed(&env.hub, &task, &second, 60).await;
    let status = task.stop().await;
    assert_eq!(status.discontinuities, 1, "{status:?}");
    assert_eq!(status.recordings, 1);

    let rows = env.recordings().await;
    assert_eq!(rows.len(), 1);
    let checked = check_recording(&env.layout, &rows[0]);
    assert_eq!(checked.discontinuities, 1);
    assert_eq!(
        checked.video_frames,
        10 * FPS,
        "every frame of both connections"
    );
    let (path, playlist) = playlist_of(&env.layout, &rows[0]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1);
    // The segment after the break starts at the reconnection's wall-clock time, and the row
    // ends 4 s later (the outage is inside the recording's span, not its media).
    let after = playlist
        .segments
        .iter()
        .find(|s| s.discontinuity)
        .expect("a segment after the break");
    assert_eq!(
        after.program_date_time,
        Some(t0() + chrono::Duration::seconds(9))
    );
    assert!((checked.duration_secs - 10.0).abs() < 1e-6);
    assert_eq!(rows[0].end, Some(t0() + chrono::Duration::seconds(13)));
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;
}

#[tokio::test]
async fn frames_lost_to_a_slow_recorder_become_a_discontinuity() {
    // A ring of 64 frames: publishing 4 s at once (≈ 290 frames with audio) overruns it.
    let env = Env::new(64).await;
    let task = env.recorder(RecorderConfig::default());
    let all = frames(0, MEDIA_SECS * FPS, 1, 0, t0(), true);
    let (before, rest) = all.split_at(all.len() / 3);
    let (burst, after) = rest.split_at(rest.len() / 3);
    feed(&env.hub, &task, before, 40).await;
    // Everything at once: the recorder cannot keep up and is skipped forward.
    feed(&env.hub, &task, burst, burst.len()).await;
    feed(&env.hub, &task, after, 40).await;
    let status = task.stop().await;
    assert!(status.frames_lost > 0, "{status:?}");
    assert!(status.discontinuities >= 1, "{status:?}");
    assert_eq!(status.recordings, 1);

    let rows = env.recordings().await;
    assert_eq!(rows.len(), 1);
    let checked = check_recording(&env.layout, &rows[0]);
    assert!(checked.discontinuities >= 1);
    assert!(
        checked.video_frames < MEDIA_SECS * FPS,
        "frames were lost: {}",
        checked.video_frames
    );
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;
}
