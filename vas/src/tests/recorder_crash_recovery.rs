//! Crash recovery: a recorder killed mid-segment (with a torn write on top), and the other
//! things a crash leaves (a folder without a row, a row without files, a playlist never
//! renamed into place, a segment of garbage) are repaired by `recover` into closed playlists
//! that decode, with rows and folders matching exactly; running it again changes nothing.

use std::path::Path;
use std::sync::Arc;

use crate::model::{Recording, RecordingId};
use crate::record::fs::MediaFs;
use crate::record::recorder::RecorderConfig;
use crate::record::recover;
use crate::record::recovery::RecoveryReport;
use crate::tests::recorder_support::*;

/// Records `secs` seconds and kills the recorder without letting it end anything.
async fn record_then_crash(env: &Env, secs: usize) -> Recording {
    let task = env.recorder(RecorderConfig::default());
    let all = frames(0, secs * FPS, 1, 0, t0(), true);
    feed(&env.hub, &task, &all, 50).await;
    // Frames are handed to the OS shortly after they arrive (the shared writer batches
    // them); the crash comes once they all were, as it would a moment later in production.
    let mut status = task.watch_status();
    wait_for(&mut status, "every frame handed to the OS", |s| {
        s.frames_written == all.len() as u64
    })
    .await;
    task.abort();
    // Let the runtime drop the aborted task.
    tokio::task::yield_now().await;
    let rows = env.recordings().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].end, None, "a crash leaves the row open");
    rows[0].clone()
}

fn segment_path(env: &Env, r: &Recording, seq: u64) -> std::path::PathBuf {
    let (path, _) = playlist_of(&env.layout, r);
    path.with_file_name(format!("segment-{seq:08}.ts"))
}

#[tokio::test]
async fn a_recorder_killed_mid_segment_is_closed_with_its_trailing_segment() {
    let env = Env::new(8192).await;
    let r = record_then_crash(&env, 5).await;
    let (path, open) = playlist_of(&env.layout, &r);
    assert!(!open.ended);
    assert_eq!(open.segments.len(), 2, "[0, 2) and [2, 4) were closed");
    let trailing = segment_path(&env, &r, 2);
    assert!(trailing.exists(), "[4, 5) was being written");

    // On top, a torn write: the start of a large frame and half a packet.
    let seg0 = std::fs::read(segment_path(&env, &r, 0)).unwrap();
    let torn = &seg0[2 * 188..5 * 188 + 50];
    let mut data = std::fs::read(&trailing).unwrap();
    let whole_len = data.len();
    data.extend_from_slice(torn);
    std::fs::write(&trailing, &data).unwrap();
    std::fs::write(path.with_file_name("index.m3u8.tmp"), "#EXTM3U\n#EXTINF:").unwrap();

    let fs: Arc<dyn MediaFs> = Arc::new(crate::record::fs::OsFs);
    let report = recover(&*env.store, &env.layout, &fs).await.unwrap();
    assert_eq!(report.closed, vec![r.id]);
    assert_eq!(report.segments_added, 1);
    assert_eq!(report.bytes_cut, torn.len() as u64);
    assert!(report.rows_deleted.is_empty() && report.folders_deleted.is_empty());
    assert_eq!(
        std::fs::metadata(&trailing).unwrap().len(),
        whole_len as u64
    );

    let rows = env.recordings().await;
    let checked = check_recording(&env.layout, &rows[0]);
    assert_eq!(checked.segments, 3);
    assert_eq!(
        checked.video_frames,
        5 * FPS,
        "every frame written before the crash"
    );
    assert!(
        (checked.duration_secs - 5.0).abs() < 1e-6,
        "{}",
        checked.duration_secs
    );
    assert_eq!(rows[0].end, Some(t0() + chrono::Duration::seconds(5)));
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;

    let again = recover(&*env.store, &env.layout, &fs).await.unwrap();
    assert_eq!(again, RecoveryReport::default(), "recovery is idempotent");
}

/// Copies a recording folder's segments to a new folder (no playlist).
fn copy_segments(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ts") {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[tokio::test]
async fn rows_and_folders_match_after_every_kind_of_leftover() {
    let env = Env::new(8192).await;
    let task = env.recorder(RecorderConfig::default());
    feed(&env.hub, &task, &frames(0, 6 * FPS, 1, 0, t0(), false), 50).await;
    task.stop().await;
    let good = env.recordings().await.remove(0);
    let good_dir = env.layout.recording_dir(env.stream, good.id);
    let open_row = |id: RecordingId, start| Recording {
        id,
        stream_id: env.stream,
        start,
        end: None,
        location: env.layout.recording_location(env.stream, id),
        bytes: 0,
    };

    // A folder without a row (crash between the files and the row).
    let orphan = env.layout.recording_dir(env.stream, RecordingId::new());
    copy_segments(&good_dir, &orphan);
    std::fs::copy(good_dir.join("index.m3u8"), orphan.join("index.m3u8")).unwrap();
    // A closed row whose files are gone.
    let gone = Recording {
        end: Some(t0() + chrono::Duration::seconds(60)),
        ..open_row(RecordingId::new(), t0() + chrono::Duration::seconds(50))
    };
    env.store.insert_recording(&gone).await.unwrap();
    // An open row whose only segment is garbage (and its playlist is empty).
    let garbage = open_row(RecordingId::new(), t0() + chrono::Duration::seconds(100));
    let garbage_dir = env.layout.recording_dir(env.stream, garbage.id);
    std::fs::create_dir_all(&garbage_dir).unwrap();
    std::fs::write(
        garbage_dir.join("index.m3u8"),
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n",
    )
    .unwrap();
    std::fs::write(garbage_dir.join("segment-00000000.ts"), vec![0x47; 5000]).unwrap();
    env.store.insert_recording(&garbage).await.unwrap();
    // An open row whose playlist never made it into place: rebuilt from the segments.
    let unlisted = open_row(RecordingId::new(), t0() + chrono::Duration::seconds(200));
    let unlisted_dir = env.layout.recording_dir(env.stream, unlisted.id);
    copy_segments(&good_dir, &unlisted_dir);
    std::fs::write(unlisted_dir.join("index.m3u8.tmp"), "#EXTM3U\n").unwrap();
    env.store.insert_recording(&unlisted).await.unwrap();
    // Things that are not recordings are left alone.
    let snapshots = env.layout.stream_dir(env.stream).join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    std::fs::write(snapshots.join("a.jpg"), b"jpeg").unwrap();
    let alien = env.layout.recording_dir(env.stream, RecordingId::new());
    std::fs::create_dir_all(&alien).unwrap();
    std::fs::write(alien.join("notes.txt"), b"mine").unwrap();

    let fs: Arc<dyn MediaFs> = Arc::new(crate::record::fs::OsFs);
    let report = recover(&*env.store, &env.layout, &fs).await.unwrap();
    assert_eq!(report.closed, vec![unlisted.id]);
    let mut deleted = report.rows_deleted.clone();
    deleted.sort();
    let mut want = vec![garbage.id, gone.id];
    want.sort();
    assert_eq!(deleted, want);
    assert_eq!(report.folders_deleted, vec![orphan.clone()]);
    assert_eq!(
        report.segments_added, 3,
        "the unlisted folder's three segments"
    );
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(!orphan.exists() && !garbage_dir.exists());
    assert!(snapshots.join("a.jpg").exists());
    assert!(alien.join("notes.txt").exists());

    // The rebuilt recording plays like the one it was copied from.
    let rows = env.recordings().await;
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![good.id, unlisted.id]
    );
    let checked = check_recording(&env.layout, &rows[1]);
    assert_eq!(checked.video_frames, 6 * FPS);
    assert!((checked.duration_secs - 6.0).abs() < 1e-6);
    check_recording(&env.layout, &rows[0]);
    std::fs::remove_dir_all(&alien).unwrap();
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;
}
