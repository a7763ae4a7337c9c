//! Bookmarks through the engine, from the synthetic camera over real RTSP, checked by real
//! ffprobe and ffmpeg: a clip of exactly `before + after` (within one frame, the edit list
//! honoured), starting on a keyframe, decoding cleanly — from the in-memory pre-roll, from
//! the recordings, and across a camera reconnect; a bookmark left pending by a stop finished
//! by the next start; bad input refused; delete removes the clip.
//!
//! The cameras replay a pre-encoded loop (cheap); the tests hold the real-time lock.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::bookmark::{BookmarkConfig, NewBookmark};
use crate::tests::record_support::{decode_errors, ffprobe_json, require_tool};
use crate::{BookmarkId, BookmarkState, ErrorKind, Event, NewDevice, StreamId, StreamState, Vas};
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

const FPS: u32 = 15;

async fn camera() -> SyntheticCamera {
    SyntheticCamera::start(CameraConfig {
        width: 320,
        height: 180,
        fps: FPS,
        gop: FPS,
        mode: CameraMode::PreEncodedLoop { seconds: 4 },
        bind: "127.0.0.1:0".parse().unwrap(),
        ..CameraConfig::default()
    })
    .await
    .unwrap()
}

async fn engine(dir: &Path, config: BookmarkConfig) -> Vas {
    Vas::builder()
        .data_dir(dir)
        .bookmark_config(config)
        .build()
        .await
        .unwrap()
}

async fn live_stream(vas: &Vas, url: &str, record: bool) -> StreamId {
    vas.add_device(NewDevice::new("gate", url)).await.unwrap();
    let id = vas.streams(None, crate::Order::Oldest).await.unwrap()[0].id;
    vas.set_recording(id, record).await.unwrap();
    vas.start_stream(id).await.unwrap();
    wait_live(vas, id).await;
    id
}

async fn wait_live(vas: &Vas, id: StreamId) {
    let t = Instant::now();
    while vas.stream(id).await.unwrap().state != StreamState::Live {
        assert!(t.elapsed() < Duration::from_secs(20), "stream never live");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the bookmark to leave `pending`; returns it and when it did.
async fn finished(vas: &Vas, id: BookmarkId, limit: Duration) -> (crate::Bookmark, Instant) {
    let t = Instant::now();
    loop {
        let b = vas.bookmark(id).await.unwrap();
        if b.state != BookmarkState::Pending {
            return (b, Instant::now());
        }
        assert!(
            t.elapsed() < limit,
            "bookmark still pending after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// ffprobe's duration, and checks every clip must pass: video first packet a keyframe, a
/// clean decode, the stream's size.
fn check_clip(path: &Path) -> f64 {
    require_tool("ffprobe");
    let format = ffprobe_json(path, &["-show_entries", "format=duration,format_name"]);
    assert!(
        format["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("mp4"),
        "{format}"
    );
    let duration: f64 = format["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let packets = ffprobe_json(
        path,
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "packet=flags",
            "-read_intervals",
            "%+#1",
        ],
    );
    let flags = packets["packets"][0]["flags"].as_str().unwrap_or("");
    assert!(
        flags.starts_with('K'),
        "first packet not a keyframe: {packets}"
    );
    let streams = ffprobe_json(
        path,
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "stream=width,height",
        ],
    );
    assert_eq!(streams["streams"][0]["width"], 320);
    assert_eq!(streams["streams"][0]["height"], 180);
    let errors = decode_errors(path);
    assert!(errors.trim().is_empty(), "ffmpeg decode errors: {errors}");
    // moov before mdat: the clip plays as it downloads.
    let head = std::fs::read(path).unwrap();
    let moov = head.windows(4).position(|w| w == b"moov").unwrap();
    let mdat = head.windows(4).position(|w| w == b"mdat").unwrap();
    assert!(moov < mdat, "moov must come first");
    duration
}

const ONE_FRAME: f64 = 1.0 / FPS as f64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_from_the_preroll_is_exactly_before_plus_after_and_made_at_once() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera().await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(dir.path(), BookmarkConfig::default()).await;
    let id = live_stream(&vas, &cam.url(), false).await;
    let mut events = vas.events();
    // Let the pre-roll fill past `before`.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Bad input first: clear errors, nothing stored.
    for bad in [
        NewBookmark::new(id).before(Duration::from_secs(31)),
        NewBookmark::new(id).after(Duration::from_secs(61)),
        NewBookmark::new(id)
            .before(Duration::ZERO)
            .after(Duration::ZERO),
        NewBookmark::new(id).at(chrono::Utc::now() + chrono::TimeDelta::minutes(5)),
        NewBookmark::new(id).label("x".repeat(257)),
    ] {
        let e = vas.add_bookmark(bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    let e = vas
        .add_bookmark(NewBookmark::new(StreamId::new()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        vas.bookmarks(crate::ListQuery::stream(id))
            .await
            .unwrap()
            .is_empty()
    );

    let (before, after) = (Duration::from_secs(2), Duration::from_millis(1500));
    let b = vas
        .add_bookmark(
            NewBookmark::new(id)
                .before(before)
                .after(after)
                .label(" gate "),
        )
        .await
        .unwrap();
    assert_eq!(b.state, BookmarkState::Pending);
    assert_eq!(b.label.as_deref(), Some("gate"));
    let e = vas.bookmark_clip(b.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
    let (done, when) = finished(&vas, b.id, Duration::from_secs(15)).await;
    assert_eq!(done.state, BookmarkState::Ready, "{:?}", done.detail);
    assert_eq!(done.detail, None);
    let due = b.at + chrono::TimeDelta::from_std(after).unwrap();
    let late = (chrono::Utc::now() - due).num_milliseconds() - when.elapsed().as_millis() as i64;
    eprintln!("clip ready {late} ms after at + after");
    let path = vas.bookmark_clip(b.id).await.unwrap();
    let duration = check_clip(&path);
    eprintln!("pre-roll clip: ffprobe duration {duration} s");
    assert!(
        (duration - (before + after).as_secs_f64()).abs() <= ONE_FRAME + 1e-6,
        "duration {duration} s"
    );
    // The events said pending, then ready.
    let mut states = Vec::new();
    while let Ok(Some(e)) = events.try_recv() {
        if let Event::Bookmark {
            bookmark_id: bookmark,
            state,
            ..
        } = e
            && bookmark == b.id
        {
            states.push(state);
        }
    }
    assert_eq!(states, vec![BookmarkState::Pending, BookmarkState::Ready]);

    // Deleting removes the row and the clip.
    vas.delete_bookmark(b.id).await.unwrap();
    assert!(!path.exists());
    assert_eq!(
        vas.bookmark(b.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_from_the_recordings_when_the_preroll_does_not_reach() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera().await;
    let dir = tempfile::tempdir().unwrap();
    // A pre-roll that holds nothing: every clip comes from the recordings.
    let vas = engine(
        dir.path(),
        BookmarkConfig {
            preroll_bytes: 0,
            ..BookmarkConfig::default()
        },
    )
    .await;
    let id = live_stream(&vas, &cam.url(), true).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    // A moment 4 s ago, 2 s either side: all of it recorded by now or soon.
    let at = chrono::Utc::now() - chrono::TimeDelta::seconds(4);
    let b = vas
        .add_bookmark(
            NewBookmark::new(id)
                .at(at)
                .before(Duration::from_secs(2))
                .after(Duration::from_secs(2)),
        )
        .await
        .unwrap();
    let (done, _) = finished(&vas, b.id, Duration::from_secs(20)).await;
    assert_eq!(done.state, BookmarkState::Ready, "{:?}", done.detail);
    let duration = check_clip(&vas.bookmark_clip(b.id).await.unwrap());
    eprintln!("recorded clip: ffprobe duration {duration} s");
    assert!(
        (duration - 4.0).abs() <= ONE_FRAME + 1e-6,
        "duration {duration} s"
    );

    // A moment before anything was recorded: failed, with the reason.
    let b = vas
        .add_bookmark(NewBookmark::new(id).at(chrono::Utc::now() - chrono::TimeDelta::hours(1)))
        .await
        .unwrap();
    let (done, _) = finished(&vas, b.id, Duration::from_secs(20)).await;
    assert_eq!(done.state, BookmarkState::Failed);
    assert!(
        done.detail
            .as_deref()
            .unwrap_or("")
            .contains("neither in memory nor recorded"),
        "{:?}",
        done.detail
    );
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_across_a_camera_reconnect_plays() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera().await;
    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder()
        .data_dir(dir.path())
        .ingest_config(crate::config::IngestConfig {
            stall_timeout: Duration::from_secs(2),
            backoff: crate::config::BackoffPolicy {
                initial: Duration::from_millis(100),
                max: Duration::from_millis(300),
                stable_period: Duration::from_millis(500),
                ..Default::default()
            },
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let id = live_stream(&vas, &cam.url(), false).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let b = vas
        .add_bookmark(
            NewBookmark::new(id)
                .before(Duration::from_secs(2))
                .after(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    // The camera restarts within the after-window; ingest reconnects (a new epoch).
    tokio::time::sleep(Duration::from_millis(500)).await;
    cam.restart().await.unwrap();
    let (done, _) = finished(&vas, b.id, Duration::from_secs(20)).await;
    assert_eq!(done.state, BookmarkState::Ready, "{:?}", done.detail);
    let duration = check_clip(&vas.bookmark_clip(b.id).await.unwrap());
    eprintln!(
        "clip across a reconnect: ffprobe duration {duration} s; detail {:?}",
        done.detail
    );
    // The gap while the camera was away is not in the clip; what is there plays, and a
    // clip that ends early says so.
    assert!(duration > 2.0 && duration <= 7.0 + ONE_FRAME, "{duration}");
    if duration < 7.0 - ONE_FRAME {
        assert!(done.detail.is_some(), "a short clip says why");
    }
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bookmark_left_pending_by_a_stop_is_finished_by_the_next_start() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera().await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(dir.path(), BookmarkConfig::default()).await;
    let id = live_stream(&vas, &cam.url(), true).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let b = vas
        .add_bookmark(
            NewBookmark::new(id)
                .before(Duration::from_secs(2))
                .after(Duration::from_secs(3)),
        )
        .await
        .unwrap();
    // Stop before the clip is due: the bookmark stays pending in the database.
    vas.close().await;
    let row = {
        let again = engine(dir.path(), BookmarkConfig::default()).await;
        // The next start records on (the stream was running) and finishes it.
        let (done, _) = finished(&again, b.id, Duration::from_secs(30)).await;
        let clip = again.bookmark_clip(b.id).await.ok();
        again.close().await;
        (done, clip)
    };
    let (done, clip) = row;
    assert_eq!(done.state, BookmarkState::Ready, "{:?}", done.detail);
    let duration = check_clip(&clip.unwrap());
    eprintln!("clip finished after a restart: ffprobe duration {duration} s");
    // The recordings hold the moment before the stop; the gap of the restart may shorten
    // the after-part.
    assert!((2.0..=5.0 + ONE_FRAME).contains(&duration), "{duration}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_drops_while_a_bookmark_is_pending_gives_what_exists_and_says_so() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera().await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(
        dir.path(),
        BookmarkConfig {
            grace: Duration::from_secs(1),
            ..BookmarkConfig::default()
        },
    )
    .await;
    let id = live_stream(&vas, &cam.url(), false).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let b = vas
        .add_bookmark(
            NewBookmark::new(id)
                .before(Duration::from_secs(2))
                .after(Duration::from_secs(4)),
        )
        .await
        .unwrap();
    // The camera goes away a second later and stays away.
    tokio::time::sleep(Duration::from_secs(1)).await;
    cam.stop().await;
    let (done, _) = finished(&vas, b.id, Duration::from_secs(20)).await;
    assert_eq!(done.state, BookmarkState::Ready, "{:?}", done.detail);
    let detail = done.detail.clone().unwrap_or_default();
    assert!(detail.contains("the camera stopped sending"), "{detail}");
    let duration = check_clip(&vas.bookmark_clip(b.id).await.unwrap());
    eprintln!("clip of a camera that dropped: {duration} s; {detail}");
    assert!((2.0..5.0).contains(&duration), "{duration}");
    vas.close().await;
}

/// A burst of identical requests (a client repeating itself, many clients pressing the same
/// button) is one bookmark; past the per-stream cap of pending bookmarks a new one is
/// `ResourceExhausted`, and nothing is written for it. The bookmarks reach 60 s past now, so
/// they stay pending for the length of the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmark_bursts_are_coalesced_and_capped_per_stream() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera().await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(
        dir.path(),
        BookmarkConfig {
            max_pending_per_stream: 3,
            ..BookmarkConfig::default()
        },
    )
    .await;
    let id = live_stream(&vas, &cam.url(), false).await;
    let at = chrono::Utc::now();
    let long = |at| NewBookmark::new(id).at(at).after(Duration::from_secs(60));
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..20 {
        let vas = vas.clone();
        // Moments up to 0.95 s apart: all within the coalescing window of the first.
        let b = long(at - chrono::TimeDelta::milliseconds(i * 50));
        burst.spawn(async move { vas.add_bookmark(b).await });
    }
    let ids: std::collections::BTreeSet<BookmarkId> = burst
        .join_all()
        .await
        .into_iter()
        .map(|r| {
            r.expect("an identical request joins the pending bookmark")
                .id
        })
        .collect();
    assert_eq!(ids.len(), 1, "20 identical requests made {ids:?}");
    // A different label, or a moment further away, is another bookmark.
    vas.add_bookmark(long(at).label("door")).await.unwrap();
    vas.add_bookmark(long(at - chrono::TimeDelta::seconds(3)))
        .await
        .unwrap();
    let over = vas
        .add_bookmark(long(at - chrono::TimeDelta::seconds(6)))
        .await
        .unwrap_err();
    assert_eq!(over.kind(), ErrorKind::ResourceExhausted, "{over}");
    assert!(over.message().contains("3 bookmarks"), "{over}");
    // The identical request still joins rather than being refused.
    let again = vas.add_bookmark(long(at)).await.unwrap();
    assert!(ids.contains(&again.id));
    let listed = vas.bookmarks(crate::ListQuery::stream(id)).await.unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed.iter().all(|b| b.state == BookmarkState::Pending),
        "{listed:?}"
    );
    vas.close().await;
}
