//! Retention driven against a real store and media folder: the free-space watermark as the
//! fault-injecting filesystem reports it, and once on a real 20 MB tmpfs; age, per-stream
//! and total limits on a simulated clock; pending bookmarks protecting what their clips
//! need; rows deleted before folders, and what is left matching exactly.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::model::{Bookmark, BookmarkId, BookmarkState, Recording, RecordingId, StreamId};
use crate::record::fs::{MediaFs, OsFs};
use crate::record::layout::MediaLayout;
use crate::record::playlist::{MediaPlaylist, PlaylistSegment};
use crate::record::retention::{DeletionReason, Retention, RetentionPolicy, enforce};
use crate::store::Store;
use crate::tests::recorder_support::*;
use chrono::{DateTime, Utc};

const MB: u64 = 1 << 20;

/// Writes a closed recording of `bytes` media bytes (one segment) and indexes it.
async fn fake_recording(
    store: &dyn Store,
    layout: &MediaLayout,
    stream: StreamId,
    start: DateTime<Utc>,
    secs: i64,
    bytes: u64,
) -> Recording {
    let id = RecordingId::new();
    let dir = layout.recording_dir(stream, id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("segment-00000000.ts"), vec![0x47; bytes as usize]).unwrap();
    let mut p = MediaPlaylist::event(2);
    p.segments.push(PlaylistSegment {
        uri: "segment-00000000.ts".into(),
        duration_secs: secs as f64,
        program_date_time: Some(start),
        discontinuity: false,
    });
    p.ended = true;
    std::fs::write(dir.join("index.m3u8"), p.render()).unwrap();
    let r = Recording {
        id,
        stream_id: stream,
        start,
        end: Some(start + chrono::Duration::seconds(secs)),
        location: layout.recording_location(stream, id),
        bytes: folder_bytes(&dir),
    };
    store.insert_recording(&r).await.unwrap();
    r
}

fn pending_bookmark(stream: StreamId, at: DateTime<Utc>) -> Bookmark {
    Bookmark {
        id: BookmarkId::new(),
        stream_id: stream,
        at,
        before: Duration::from_secs(5),
        after: Duration::from_secs(5),
        label: None,
        clip_location: None,
        state: BookmarkState::Pending,
        created_at: at,
        detail: None,
    }
}

async fn remaining(env: &Env, stream: StreamId) -> Vec<RecordingId> {
    env.store
        .list_recordings(crate::model::ListQuery::stream(stream))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[tokio::test]
async fn the_watermark_frees_space_oldest_first_around_a_pending_bookmark() {
    let env = Env::new(16).await;
    env.fs.set_capacity(Some(10 * MB));
    let mut recs = Vec::new();
    for i in 0..8 {
        let start = t0() + chrono::Duration::minutes(10 * i);
        recs.push(fake_recording(&*env.store, &env.layout, env.stream, start, 600, MB).await);
    }
    let free = env.fs.space(env.media_dir()).unwrap().available;
    assert!(free < 2 * MB, "{free}");
    // The oldest recording is still needed by a bookmark waiting for its clip.
    let b = pending_bookmark(env.stream, recs[0].start + chrono::Duration::seconds(30));
    env.store.insert_bookmark(&b).await.unwrap();

    let policy = RetentionPolicy {
        min_free_bytes: Some(4 * MB + MB / 2),
        ..Default::default()
    };
    let fs = env.fs();
    let report = enforce(&*env.store, &env.layout, &fs, &policy, t0())
        .await
        .unwrap();
    assert!(report.satisfied, "{report:?}");
    assert_eq!(report.kept_for_bookmarks, vec![recs[0].id]);
    assert_eq!(
        report.deleted,
        [1, 2, 3]
            .map(|i| (recs[i].id, DeletionReason::FreeSpace))
            .to_vec()
    );
    assert_eq!(
        report.bytes_freed,
        recs[1..4].iter().map(|r| r.bytes).sum::<u64>()
    );
    assert!(env.fs.space(env.media_dir()).unwrap().available >= 4 * MB + MB / 2);
    for r in &recs[1..4] {
        assert!(!env.layout.recording_dir(env.stream, r.id).exists());
    }
    let mut left = vec![recs[0].id];
    left.extend(recs[4..].iter().map(|r| r.id));
    assert_eq!(remaining(&env, env.stream).await, left);
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;

    // Once the clip is cut, the bookmark no longer holds the oldest recording.
    env.store
        .update_bookmark(b.id, BookmarkState::Ready, Some("clips/b.ts"), None)
        .await
        .unwrap();
    let policy = RetentionPolicy {
        min_free_bytes: Some(5 * MB + MB / 2),
        ..Default::default()
    };
    let report = enforce(&*env.store, &env.layout, &fs, &policy, t0())
        .await
        .unwrap();
    assert_eq!(
        report.deleted,
        vec![(recs[0].id, DeletionReason::FreeSpace)]
    );
}

#[tokio::test]
async fn age_stream_and_total_limits_on_a_simulated_clock() {
    let env = Env::new(16).await;
    let other = add_camera(&*env.store, "yard").await;
    // Three days of hourly recordings on two cameras: the door's 2 MB each, the yard's 1 MB.
    let mut door = Vec::new();
    let mut yard = Vec::new();
    for h in 0..72 {
        let start = t0() + chrono::Duration::hours(h);
        door.push(fake_recording(&*env.store, &env.layout, env.stream, start, 3600, 2 * MB).await);
        yard.push(fake_recording(&*env.store, &env.layout, other, start, 3600, MB).await);
    }
    // And one that is still being recorded, started long ago: never deleted.
    let open = Recording {
        end: None,
        ..fake_recording(&*env.store, &env.layout, other, t0(), 1, 10).await
    };
    env.store
        .update_recording(open.id, None, open.bytes)
        .await
        .unwrap();
    env.clock.advance(Duration::from_secs(72 * 3600));
    let fs = env.fs();

    // Keep two days.
    let age = RetentionPolicy {
        max_age: Some(Duration::from_secs(48 * 3600)),
        ..Default::default()
    };
    let report = enforce(&*env.store, &env.layout, &fs, &age, env.clock.now_utc())
        .await
        .unwrap();
    assert_eq!(
        report.deleted.len(),
        2 * 24,
        "the first day of both cameras"
    );
    assert!(
        report
            .deleted
            .iter()
            .all(|(_, r)| *r == DeletionReason::Age)
    );
    assert_eq!(remaining(&env, env.stream).await.len(), 48);
    assert!(remaining(&env, other).await.contains(&open.id));

    // Each camera may keep 40 MB: the door's 28 oldest of 48 go (2 MB each), and the yard's
    // 8 oldest (1 MB each; its open recording counts but stays).
    let per_stream = RetentionPolicy {
        max_bytes_per_stream: Some(40 * MB + MB / 2),
        ..Default::default()
    };
    let report = enforce(
        &*env.store,
        &env.layout,
        &fs,
        &per_stream,
        env.clock.now_utc(),
    )
    .await
    .unwrap();
    assert!(report.satisfied);
    assert_eq!(report.deleted.len(), 28 + 8);
    assert_eq!(
        remaining(&env, env.stream).await,
        door[52..].iter().map(|r| r.id).collect::<Vec<_>>()
    );
    let mut yard_left = vec![open.id];
    yard_left.extend(yard[32..].iter().map(|r| r.id));
    assert_eq!(remaining(&env, other).await, yard_left);

    // 60 MB in total across both cameras, as a periodic task: oldest first across streams.
    let total = RetentionPolicy {
        max_total_bytes: Some(60 * MB),
        ..Default::default()
    };
    let task = Retention {
        store: env.store.clone(),
        layout: env.layout.clone(),
        fs: fs.clone(),
        clock: Arc::new(env.clock.clone()),
        policy: total,
        interval: Duration::from_secs(3600),
    }
    .spawn();
    let mut reports = task.watch_reports();
    let report = tokio::time::timeout(WAIT, reports.wait_for(Option::is_some))
        .await
        .expect("a pass within the wait")
        .unwrap()
        .clone()
        .unwrap();
    task.stop().await;
    assert!(report.satisfied, "{report:?}");
    assert!(env.store.total_recording_bytes().await.unwrap() <= 60 * MB);
    // The yard's hours 32 to 51 are older than anything the door has left: they go first.
    let yard_left = remaining(&env, other).await;
    assert!(yard_left.contains(&open.id));
    assert!(yard[32..52].iter().all(|r| !yard_left.contains(&r.id)));
    assert!(yard_left.contains(&yard[71].id));
    assert_rows_match_files(&*env.store, &env.layout, env.stream).await;
}

/// A tmpfs of `size` mounted for the test, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// Mounts one, or explains why not: this needs root (CAP_SYS_ADMIN), which the test
    /// command and CI have. Outside CI, `VAS_SKIP_TMPFS=1` skips it loudly.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir)),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                if std::env::var("VAS_SKIP_TMPFS").is_ok_and(|v| v == "1") && !vas_testkit::in_ci()
                {
                    eprintln!("*** SKIPPED: real-filesystem watermark test ({why}) ***");
                    None
                } else {
                    panic!(
                        "cannot mount a tmpfs ({why}); run as root, or set VAS_SKIP_TMPFS=1 \
                         outside CI to skip this test"
                    )
                }
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[tokio::test]
async fn the_watermark_on_a_real_small_filesystem() {
    let Some(tmpfs) = Tmpfs::mount("20m") else {
        return;
    };
    let env = Env::new(16).await;
    let layout = MediaLayout::new(tmpfs.0.path().join("media"));
    std::fs::create_dir_all(layout.root()).unwrap();
    let fs: Arc<dyn MediaFs> = Arc::new(OsFs);
    let space = fs.space(layout.root()).unwrap();
    assert_eq!(space.total, 20 * MB, "the tmpfs is 20 MB");
    let mut recs = Vec::new();
    for i in 0..16 {
        let start = t0() + chrono::Duration::minutes(10 * i);
        recs.push(fake_recording(&*env.store, &layout, env.stream, start, 600, MB).await);
    }
    let before = fs.space(layout.root()).unwrap().available;
    assert!(before < 5 * MB, "{before}");

    let policy = RetentionPolicy {
        min_free_bytes: Some(8 * MB),
        ..Default::default()
    };
    let report = enforce(&*env.store, &layout, &fs, &policy, t0())
        .await
        .unwrap();
    assert!(report.satisfied, "{report:?}");
    let after = fs.space(layout.root()).unwrap().available;
    assert!(after >= 8 * MB, "{after} bytes free");
    let n = report.deleted.len();
    assert!((4..=5).contains(&n), "{n} deleted");
    assert_eq!(
        report.deleted.iter().map(|d| d.0).collect::<Vec<_>>(),
        recs[..n].iter().map(|r| r.id).collect::<Vec<_>>(),
        "oldest first"
    );
    assert_rows_match_files(&*env.store, &layout, env.stream).await;
    drop(tmpfs);
}
