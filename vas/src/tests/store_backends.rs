//! The store suite: every scenario runs against SQLite (`sqlite::…`) and PostgreSQL
//! (`postgres::…`, on the server `make test` starts; see `vas_testkit`).

use std::sync::Arc;
use std::time::Duration;

use crate::ErrorKind;
use crate::camera_url::{CameraUrl, Credentials};
use crate::model::ListQuery;
use crate::model::{
    Bookmark, BookmarkId, BookmarkState, DesiredState, DeviceId, DeviceRow, Recording, RecordingId,
    Snapshot, SnapshotId, StreamId, StreamProfile, StreamRow,
};
use crate::store::Store;
use chrono::{DateTime, TimeZone, Utc};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + secs, 0).unwrap()
}

fn device(name: &str, url: &str) -> DeviceRow {
    let (rtsp_url, credentials) = CameraUrl::parse(url).unwrap();
    DeviceRow {
        id: DeviceId::new(),
        name: name.to_owned(),
        rtsp_url,
        sub_rtsp_url: None,
        credentials,
        rtsp_transport: crate::model::RtpTransport::Tcp,
        enabled: true,
        created_at: t(0),
        updated_at: t(0),
    }
}

fn stream(device: DeviceId, profile: StreamProfile) -> StreamRow {
    StreamRow {
        id: StreamId::new(),
        device_id: device,
        profile,
        desired: DesiredState::Stopped,
        record: false,
        created_at: t(0),
    }
}

fn recording(stream: StreamId, start: i64, end: Option<i64>) -> Recording {
    let id = RecordingId::new();
    Recording {
        id,
        stream_id: stream,
        start: t(start),
        end: end.map(t),
        location: format!("{stream}/{id}/index.m3u8"),
        bytes: 1_000,
    }
}

/// A camera with one main stream, inserted.
async fn camera(store: &dyn Store, name: &str) -> (DeviceRow, StreamRow) {
    let d = device(name, &format!("rtsp://{name}.cams.local/main"));
    let s = stream(d.id, StreamProfile::Main);
    store
        .insert_device(&d, std::slice::from_ref(&s))
        .await
        .unwrap();
    (d, s)
}

async fn device_roundtrip(store: &dyn Store) {
    let mut d = device("porch", "rtsp://admin:pa%3Ass@10.0.0.2:554/s1");
    d.sub_rtsp_url = Some(CameraUrl::parse("rtsp://10.0.0.2:554/s2").unwrap().0);
    d.created_at = Utc.timestamp_micros(1_780_000_000_123_456).unwrap();
    d.updated_at = d.created_at;
    let main = stream(d.id, StreamProfile::Main);
    let sub = stream(d.id, StreamProfile::Sub);
    store
        .insert_device(&d, &[main.clone(), sub.clone()])
        .await
        .unwrap();

    let got = store.get_device(d.id).await.unwrap();
    assert_eq!(
        got, d,
        "device survives a round trip, microseconds included"
    );
    assert_eq!(
        got.credentials,
        Some(Credentials::new("admin", "pa:ss").unwrap())
    );
    assert_eq!(store.list_devices().await.unwrap(), vec![d.clone()]);
    let streams = store.list_streams(Some(d.id)).await.unwrap();
    assert_eq!(streams.len(), 2);
    assert!(streams.contains(&main) && streams.contains(&sub));
    assert_eq!(store.get_stream(sub.id).await.unwrap(), sub);
}

async fn duplicates_are_rejected(store: &dyn Store) {
    let (d, _) = camera(store, "yard").await;
    let same_name = device("yard", "rtsp://other.local/x");
    let e = store.insert_device(&same_name, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(e.message().contains("name"), "{}", e.message());

    let same_url = device("yard-2", d.rtsp_url.as_str());
    let e = store.insert_device(&same_url, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(e.message().contains("URL"), "{}", e.message());

    // A failed insert leaves nothing behind (device and streams are one transaction).
    let d2 = device("yard", "rtsp://third.local/x");
    let s2 = stream(d2.id, StreamProfile::Main);
    assert!(
        store
            .insert_device(&d2, std::slice::from_ref(&s2))
            .await
            .is_err()
    );
    assert_eq!(
        store.get_stream(s2.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(store.list_devices().await.unwrap().len(), 1);
}

async fn update_adds_and_removes_streams(store: &dyn Store) {
    let (mut d, main) = camera(store, "gate").await;
    d.name = "front gate".into();
    d.enabled = false;
    d.rtsp_transport = crate::model::RtpTransport::Udp;
    d.sub_rtsp_url = Some(CameraUrl::parse("rtsp://gate.cams.local/sub").unwrap().0);
    d.updated_at = t(60);
    let sub = stream(d.id, StreamProfile::Sub);
    store
        .update_device(&d, std::slice::from_ref(&sub), &[])
        .await
        .unwrap();
    assert_eq!(store.get_device(d.id).await.unwrap(), d);
    assert_eq!(store.list_streams(Some(d.id)).await.unwrap().len(), 2);

    d.sub_rtsp_url = None;
    store.update_device(&d, &[], &[sub.id]).await.unwrap();
    assert_eq!(store.list_streams(Some(d.id)).await.unwrap(), vec![main]);

    // Adding a second main stream violates the one-stream-per-profile rule.
    let dup = stream(d.id, StreamProfile::Main);
    let e = store.update_device(&d, &[dup], &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);

    let ghost = device("ghost", "rtsp://ghost/");
    let e = store.update_device(&ghost, &[], &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

async fn delete_cascades_to_everything_indexed(store: &dyn Store) {
    let (d, s) = camera(store, "dock").await;
    let (other, other_s) = camera(store, "shed").await;
    let r = recording(s.id, 0, Some(10));
    store.insert_recording(&r).await.unwrap();
    store
        .insert_recording(&recording(other_s.id, 0, Some(10)))
        .await
        .unwrap();
    let b = bookmark(s.id, 5);
    store.insert_bookmark(&b).await.unwrap();
    let snap = snapshot(s.id, 3);
    store.insert_snapshot(&snap).await.unwrap();

    store.delete_device(d.id).await.unwrap();
    for e in [
        store.get_device(d.id).await.unwrap_err(),
        store.get_stream(s.id).await.unwrap_err(),
        store.get_recording(r.id).await.unwrap_err(),
        store.get_bookmark(b.id).await.unwrap_err(),
        store.get_snapshot(snap.id).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{}", e.message());
    }
    assert_eq!(store.list_devices().await.unwrap(), vec![other]);
    assert_eq!(
        store
            .list_recordings(ListQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let e = store.delete_device(d.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

async fn unknown_ids_are_not_found(store: &dyn Store) {
    let kinds = [
        store.get_device(DeviceId::new()).await.unwrap_err().kind(),
        store.get_stream(StreamId::new()).await.unwrap_err().kind(),
        store
            .set_stream_desired(StreamId::new(), DesiredState::Running)
            .await
            .unwrap_err()
            .kind(),
        store
            .set_stream_record(StreamId::new(), true)
            .await
            .unwrap_err()
            .kind(),
        store
            .get_recording(RecordingId::new())
            .await
            .unwrap_err()
            .kind(),
        store
            .update_recording(RecordingId::new(), None, 1)
            .await
            .unwrap_err()
            .kind(),
        store
            .delete_recording(RecordingId::new())
            .await
            .unwrap_err()
            .kind(),
        store
            .update_bookmark(BookmarkId::new(), BookmarkState::Ready, None, None)
            .await
            .unwrap_err()
            .kind(),
        store
            .delete_bookmark(BookmarkId::new())
            .await
            .unwrap_err()
            .kind(),
        store
            .delete_snapshot(SnapshotId::new())
            .await
            .unwrap_err()
            .kind(),
        // Rows pointing at a stream that does not exist are refused by the foreign key.
        store
            .insert_recording(&recording(StreamId::new(), 0, None))
            .await
            .unwrap_err()
            .kind(),
    ];
    assert!(kinds.iter().all(|k| *k == ErrorKind::NotFound), "{kinds:?}");
}

async fn stream_settings_persist(store: &dyn Store) {
    let (_, s) = camera(store, "hall").await;
    let got = store
        .set_stream_desired(s.id, DesiredState::Running)
        .await
        .unwrap();
    assert_eq!(got.desired, DesiredState::Running);
    let got = store.set_stream_record(s.id, true).await.unwrap();
    assert!(got.record);
    assert_eq!(got.desired, DesiredState::Running);
    assert_eq!(store.get_stream(s.id).await.unwrap(), got);
}

async fn recordings_in_a_time_range(store: &dyn Store) {
    let (_, s) = camera(store, "lot").await;
    let (_, other) = camera(store, "lot-2").await;
    // [0,10) [10,20) [30,40) [50,open)
    let rs = [
        recording(s.id, 0, Some(10)),
        recording(s.id, 10, Some(20)),
        recording(s.id, 30, Some(40)),
        recording(s.id, 50, None),
    ];
    for r in &rs {
        store.insert_recording(r).await.unwrap();
    }
    store
        .insert_recording(&recording(other.id, 0, Some(100)))
        .await
        .unwrap();
    let ids = |v: Vec<Recording>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();

    let all = store
        .list_recordings(ListQuery::stream(s.id))
        .await
        .unwrap();
    assert_eq!(ids(all), rs.iter().map(|r| r.id).collect::<Vec<_>>());
    // Overlap semantics: touching ends do not overlap; open recordings overlap anything later.
    let q = |from, to| ListQuery::stream(s.id).between(t(from), t(to));
    assert_eq!(
        ids(store.list_recordings(q(5, 12)).await.unwrap()),
        vec![rs[0].id, rs[1].id]
    );
    assert_eq!(
        ids(store.list_recordings(q(20, 30)).await.unwrap()),
        Vec::<RecordingId>::new()
    );
    assert_eq!(
        ids(store.list_recordings(q(35, 1_000)).await.unwrap()),
        vec![rs[2].id, rs[3].id]
    );
    let limited = ListQuery {
        limit: 2,
        ..ListQuery::stream(s.id)
    };
    assert_eq!(store.list_recordings(limited).await.unwrap().len(), 2);
    assert_eq!(
        store
            .list_recordings(ListQuery::default())
            .await
            .unwrap()
            .len(),
        5
    );

    assert_eq!(ids(store.open_recordings().await.unwrap()), vec![rs[3].id]);
    store
        .update_recording(rs[3].id, Some(t(60)), 4_242)
        .await
        .unwrap();
    let closed = store.get_recording(rs[3].id).await.unwrap();
    assert_eq!((closed.end, closed.bytes), (Some(t(60)), 4_242));
    assert!(store.open_recordings().await.unwrap().is_empty());
    // An end before the start breaks a rule the database enforces.
    let e = store
        .update_recording(rs[3].id, Some(t(-1)), 1)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);

    store.delete_recording(rs[0].id).await.unwrap();
    assert_eq!(
        store
            .list_recordings(ListQuery::stream(s.id))
            .await
            .unwrap()
            .len(),
        3
    );
    let bad = ListQuery {
        limit: 0,
        ..ListQuery::default()
    };
    assert_eq!(
        store.list_recordings(bad).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

fn bookmark(stream: StreamId, at: i64) -> Bookmark {
    Bookmark {
        id: BookmarkId::new(),
        stream_id: stream,
        at: t(at),
        before: Duration::from_secs(5),
        after: Duration::from_millis(7_500),
        label: Some("dog on lawn ✓".into()),
        clip_location: None,
        state: BookmarkState::Pending,
        created_at: t(at),
        detail: None,
    }
}

fn snapshot(stream: StreamId, at: i64) -> Snapshot {
    Snapshot {
        id: SnapshotId::new(),
        stream_id: stream,
        taken_at: t(at),
        location: format!("{stream}/snapshots/{at}.jpg"),
        bytes: 51_234,
        width: 1920,
        height: 1080,
        // Both shapes round-trip: a label (with non-ASCII text) and none.
        label: (at % 2 == 1).then(|| format!("gate ✓ {at}")),
    }
}

async fn bookmarks_lifecycle(store: &dyn Store) {
    let (_, s) = camera(store, "pool").await;
    let b1 = bookmark(s.id, 10);
    let b2 = bookmark(s.id, 20);
    store.insert_bookmark(&b1).await.unwrap();
    store.insert_bookmark(&b2).await.unwrap();
    assert_eq!(store.get_bookmark(b1.id).await.unwrap(), b1);
    let got = store
        .list_bookmarks(ListQuery::stream(s.id).between(t(15), t(25)))
        .await
        .unwrap();
    assert_eq!(got, vec![b2.clone()]);
    let ready = store
        .update_bookmark(
            b1.id,
            BookmarkState::Ready,
            Some("clips/b1.ts"),
            Some("short by 1 s"),
        )
        .await
        .unwrap();
    assert_eq!(ready.state, BookmarkState::Ready);
    assert_eq!(ready.clip_location.as_deref(), Some("clips/b1.ts"));
    assert_eq!(ready.detail.as_deref(), Some("short by 1 s"));
    store.delete_bookmark(b2.id).await.unwrap();
    assert_eq!(
        store.list_bookmarks(ListQuery::stream(s.id)).await.unwrap(),
        vec![ready]
    );
    let mut too_long = bookmark(s.id, 1);
    too_long.before = Duration::from_secs(3_600);
    assert_eq!(
        store.insert_bookmark(&too_long).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

async fn snapshots_lifecycle(store: &dyn Store) {
    let (_, s) = camera(store, "roof").await;
    let a = snapshot(s.id, 1);
    let b = snapshot(s.id, 2);
    store.insert_snapshot(&a).await.unwrap();
    store.insert_snapshot(&b).await.unwrap();
    assert_eq!(store.get_snapshot(b.id).await.unwrap(), b);
    let r = ListQuery::stream(s.id).between(t(0), t(2));
    assert_eq!(store.list_snapshots(r).await.unwrap(), vec![a.clone()]);
    store.delete_snapshot(a.id).await.unwrap();
    assert_eq!(
        store.list_snapshots(ListQuery::stream(s.id)).await.unwrap(),
        vec![b]
    );
}

async fn concurrent_writers_do_not_fail(store: &dyn Store) {
    let store: Arc<&dyn Store> = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = Arc::clone(&store);
        tasks.push(async move {
            let (_, s) = camera(*store, &format!("cam-{i}")).await;
            store.insert_recording(&recording(s.id, i, None)).await
        });
    }
    for r in futures::future::join_all(tasks).await {
        r.unwrap();
    }
    assert_eq!(store.list_devices().await.unwrap().len(), 24);
}

async fn usage_and_oldest_recordings(store: &dyn Store) {
    let (_, a) = camera(store, "usage-a").await;
    let (_, b) = camera(store, "usage-b").await;
    let (_, idle) = camera(store, "usage-idle").await;
    let sized = |stream, start, end, bytes| Recording {
        bytes,
        ..recording(stream, start, end)
    };
    let a0 = sized(a.id, 0, Some(10), 1_000);
    let a1 = sized(a.id, 10, Some(20), 2_000);
    let a2 = sized(a.id, 20, None, 500);
    let b0 = sized(b.id, 5, Some(15), 4_000);
    for r in [&a2, &b0, &a1, &a0] {
        store.insert_recording(r).await.unwrap();
    }

    let usage = store.recording_usage().await.unwrap();
    let find = |s: StreamId| usage.iter().find(|u| u.stream == s).copied();
    assert_eq!(usage.len(), 2, "streams without recordings are absent");
    assert_eq!(
        find(a.id).map(|u| (u.recordings, u.bytes)),
        Some((3, 3_500))
    );
    assert_eq!(
        find(b.id).map(|u| (u.recordings, u.bytes)),
        Some((1, 4_000))
    );
    assert!(find(idle.id).is_none());
    assert_eq!(store.total_recording_bytes().await.unwrap(), 7_500);

    let ids = |v: Vec<Recording>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    // Closed only, oldest first, across streams or for one.
    assert_eq!(
        ids(store.oldest_recordings(None, 10).await.unwrap()),
        vec![a0.id, b0.id, a1.id]
    );
    assert_eq!(
        ids(store.oldest_recordings(None, 2).await.unwrap()),
        vec![a0.id, b0.id]
    );
    assert_eq!(
        ids(store.oldest_recordings(Some(a.id), 10).await.unwrap()),
        vec![a0.id, a1.id]
    );
    for bad in [0, crate::store::MAX_LIST_LIMIT + 1] {
        assert_eq!(
            store.oldest_recordings(None, bad).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    assert_eq!(
        store.recording_ids(a.id).await.unwrap(),
        vec![a0.id, a1.id, a2.id]
    );
    assert!(store.recording_ids(idle.id).await.unwrap().is_empty());
    store.delete_recording(b0.id).await.unwrap();
    assert_eq!(store.total_recording_bytes().await.unwrap(), 3_500);
}

async fn pending_bookmarks_protect_recordings(store: &dyn Store) {
    let (_, s) = camera(store, "protect").await;
    let (_, other) = camera(store, "protect-other").await;
    let r0 = recording(s.id, 0, Some(10));
    let r1 = recording(s.id, 10, Some(20));
    let r2 = recording(s.id, 100, Some(110));
    let open = recording(s.id, 200, None);
    for r in [&r0, &r1, &r2, &open] {
        store.insert_recording(r).await.unwrap();
    }
    // Pending at 25 s, 5 s before and 7.5 s after: its clip spans [20, 32.5].
    let pending = bookmark(s.id, 25);
    store.insert_bookmark(&pending).await.unwrap();
    // Ready bookmarks and other streams' bookmarks protect nothing here.
    let ready = Bookmark {
        state: BookmarkState::Ready,
        ..bookmark(s.id, 5)
    };
    store.insert_bookmark(&ready).await.unwrap();
    store
        .insert_bookmark(&bookmark(other.id, 101))
        .await
        .unwrap();

    let ids = |v: Vec<Bookmark>| v.into_iter().map(|b| b.id).collect::<Vec<_>>();
    let overlapping =
        |from, to: Option<i64>| store.pending_bookmarks_overlapping(s.id, t(from), to.map(t));
    assert_eq!(
        ids(overlapping(10, Some(20)).await.unwrap()),
        vec![pending.id]
    );
    assert_eq!(ids(overlapping(32, None).await.unwrap()), vec![pending.id]);
    let just_after = store
        .pending_bookmarks_overlapping(s.id, t(32) + chrono::Duration::milliseconds(501), None)
        .await
        .unwrap();
    assert!(just_after.is_empty(), "the span ends at 32.5 s");
    assert!(overlapping(0, Some(19)).await.unwrap().is_empty());
    assert!(overlapping(100, Some(110)).await.unwrap().is_empty());

    // Touching the span's start (20 s) counts: r1 is needed, r0 and r2 are not.
    assert!(store.delete_recording_if_unreferenced(r0.id).await.unwrap());
    assert!(!store.delete_recording_if_unreferenced(r1.id).await.unwrap());
    assert!(store.delete_recording_if_unreferenced(r2.id).await.unwrap());
    assert!(
        !store
            .delete_recording_if_unreferenced(open.id)
            .await
            .unwrap(),
        "open recordings are never deleted this way"
    );
    assert!(
        !store
            .delete_recording_if_unreferenced(RecordingId::new())
            .await
            .unwrap()
    );
    assert_eq!(store.get_recording(r1.id).await.unwrap(), r1);
    assert_eq!(
        store.get_recording(r0.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Once its clip is cut, the bookmark no longer holds the recording.
    store
        .update_bookmark(pending.id, BookmarkState::Ready, Some("clips/x.ts"), None)
        .await
        .unwrap();
    assert!(store.delete_recording_if_unreferenced(r1.id).await.unwrap());
}

/// Runs each scenario on a fresh SQLite file and on a fresh PostgreSQL database.
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}/vas.db", dir.path().display());
                    let store = crate::store::open(&url).await.unwrap();
                    super::$name(&*store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(server) = vas_testkit::postgres_url() else { return };
                    let db = vas_testkit::TestDatabase::create(&server).await;
                    let store = crate::store::open(&db.url).await.unwrap();
                    super::$name(&*store).await;
                    drop(store);
                    db.drop_db().await;
                }
            )*
        }
    };
}

store_suite!(
    device_roundtrip,
    duplicates_are_rejected,
    update_adds_and_removes_streams,
    delete_cascades_to_everything_indexed,
    unknown_ids_are_not_found,
    stream_settings_persist,
    recordings_in_a_time_range,
    bookmarks_lifecycle,
    snapshots_lifecycle,
    concurrent_writers_do_not_fail,
    usage_and_oldest_recordings,
    pending_bookmarks_protect_recordings,
);

// Backend-specific checks: reopening keeps data, and the range query uses the index.

#[tokio::test]
async fn sqlite_reopen_keeps_data_and_range_query_is_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sub/dir/vas.db", dir.path().display());
    let id;
    {
        let store = crate::store::open(&url).await.unwrap();
        id = camera(&*store, "attic").await.0.id;
    }
    let store = crate::store::SqliteStore::open(&url).await.unwrap();
    assert_eq!(store.get_device(id).await.unwrap().name, "attic");
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT * FROM recordings WHERE 1 = 1 AND stream_id = ? \
         AND start_at < ? AND (end_at IS NULL OR end_at > ?) ORDER BY start_at, id LIMIT ?",
    )
    .bind("x")
    .bind(1_i64)
    .bind(0_i64)
    .bind(10_i64)
    .fetch_all(store.pool())
    .await
    .unwrap();
    let plan = plan.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ");
    assert!(
        plan.contains("USING INDEX recordings_stream_start (stream_id=? AND start_at<?)"),
        "{plan}"
    );
}

#[tokio::test]
async fn postgres_reopen_keeps_data_and_range_query_is_indexed() {
    let Some(server) = vas_testkit::postgres_url() else {
        return;
    };
    let db = vas_testkit::TestDatabase::create(&server).await;
    let id;
    {
        let store = crate::store::open(&db.url).await.unwrap();
        id = camera(&*store, "attic").await.0.id;
    }
    let store = crate::store::PostgresStore::open(&db.url).await.unwrap();
    assert_eq!(store.get_device(id).await.unwrap().name, "attic");
    let mut conn = store.pool().acquire().await.unwrap();
    // The tables are tiny, so make the planner show whether the index can serve the query.
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT * FROM recordings WHERE 1 = 1 AND stream_id = $1 \
         AND start_at < $2 AND (end_at IS NULL OR end_at > $3) ORDER BY start_at, id LIMIT $4",
    )
    .bind(uuid::Uuid::nil())
    .bind(t(1))
    .bind(t(0))
    .bind(10_i64)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let plan = plan.join("; ");
    assert!(plan.contains("recordings_stream_start"), "{plan}");
    drop(conn);
    drop(store);
    db.drop_db().await;
}
