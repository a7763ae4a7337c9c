//! Snapshot endpoints through `app()`, on SQLite and on PostgreSQL, with the synthetic
//! camera over real RTSP: the instant JPEG and its headers, saved snapshots (take, list, get,
//! image, delete), a stream that is not live (503, or the last picture with `stale_ok`), and
//! hostile parameters (clear 4xx).

use crate::common::{call, call_with, live_stream, loop_camera, on_both_backends};
use axum::Router;
use axum::http::{Method, StatusCode};
use vas::{StreamId, Vas};

fn is_jpeg(b: &[u8]) -> bool {
    b.starts_with(&[0xFF, 0xD8]) && b.ends_with(&[0xFF, 0xD9])
}

async fn scenario(app: Router, vas: Vas, cam: vas_synth::SyntheticCamera) {
    let id = live_stream(&vas, &cam.url()).await;
    let base = format!("/api/v1/streams/{id}");

    // Instant: a JPEG with the frame's capture time, never cached.
    let r = call(&app, Method::GET, &format!("{base}/snapshot.jpg"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "image/jpeg");
    assert_eq!(r.headers["cache-control"], "no-store");
    let t: chrono::DateTime<chrono::Utc> =
        r.headers["x-frame-time"].to_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - t).num_seconds().abs() < 10, "{t}");
    assert!(is_jpeg(&r.bytes));
    assert!(!r.headers.contains_key("x-stream-offline"));
    let r = call(
        &app,
        Method::GET,
        &format!("{base}/snapshot.jpg?width=160&quality=50&keyframe=true"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(is_jpeg(&r.bytes));

    // Hostile parameters: clear 4xx with the API's error body.
    let unknown = StreamId::new();
    for (path, want) in [
        (
            format!("{base}/snapshot.jpg?width=0"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?width=100000"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?width=-1"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?quality=0"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?quality=101"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?quality=abc"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?at=yesterday"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?at=2999-01-01T00:00:00Z"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?at=2026-01-01T00:00:00Z&keyframe=true"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{base}/snapshot.jpg?bogus=1"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/streams/nope/snapshot.jpg".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/streams/{unknown}/snapshot.jpg"),
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/snapshots?limit=0".into(), StatusCode::BAD_REQUEST),
        (
            "/api/v1/snapshots?from=soon".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/snapshots/{unknown}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/snapshots/{unknown}/image.jpg"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/snapshots/..%2F..%2Fetc/image.jpg".into(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = call(&app, Method::GET, &path, None).await;
        assert_eq!(r.status, want, "{path}: {}", r.text);
        assert!(!r.kind().is_empty(), "{path}: an error body: {}", r.text);
    }
    for (body, ct, want) in [
        (
            Some("{\"label\": 5}"),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Some("{\"nope\": 1}"),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Some("not json"),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Some("label=x"),
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let r = call_with(
            &app,
            Method::POST,
            &format!("{base}/snapshots"),
            body,
            ct,
            &[],
        )
        .await;
        assert_eq!(r.status, want, "{body:?}: {}", r.text);
    }
    let long = format!("{{\"label\": \"{}\"}}", "x".repeat(257));
    let r = call(
        &app,
        Method::POST,
        &format!("{base}/snapshots"),
        Some(&long),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/streams/{unknown}/snapshots"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Saved: 201 with a Location, listed, fetched, its image served, deleted.
    let r = call(
        &app,
        Method::POST,
        &format!("{base}/snapshots"),
        Some("{\"label\": \"gate ✓\"}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let first = r.json.clone();
    assert_eq!(first["label"], "gate ✓");
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(320), Some(180))
    );
    let sid = first["id"].as_str().unwrap().to_owned();
    assert_eq!(r.headers["location"], format!("/api/v1/snapshots/{sid}"));
    let r = call(&app, Method::POST, &format!("{base}/snapshots"), None).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "an empty body takes one now: {}",
        r.text
    );
    assert!(r.json["label"].is_null());
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/snapshots?stream_id={id}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json.as_array().unwrap().len(), 2);
    assert_eq!(r.json[0], first, "oldest first");
    let r = call(&app, Method::GET, &format!("/api/v1/snapshots/{sid}"), None).await;
    assert_eq!(r.json, first);
    let r = call(
        &app,
        Method::GET,
        first["image_url"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/jpeg");
    assert!(is_jpeg(&r.bytes));
    assert_eq!(r.bytes.len() as u64, first["bytes"].as_u64().unwrap());
    let r = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/snapshots/{sid}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for path in [
        format!("/api/v1/snapshots/{sid}"),
        format!("/api/v1/snapshots/{sid}/image.jpg"),
    ] {
        let r = call(&app, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Not live: 503 naming the last good picture, or that picture with stale_ok.
    let r = call(&app, Method::POST, &format!("{base}/stop"), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = call(&app, Method::GET, &format!("{base}/snapshot.jpg"), None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.kind(), "unavailable");
    assert!(r.text.contains("last good picture"), "{}", r.text);
    let r = call(
        &app,
        Method::GET,
        &format!("{base}/snapshot.jpg?stale_ok=true"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-stream-offline"], "true");
    assert!(is_jpeg(&r.bytes));
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_api_on_sqlite_and_postgres() {
    let _serial = vas_testkit::realtime_lock();
    on_both_backends(|app, vas| async move {
        let cam = loop_camera().await;
        scenario(app, vas, cam).await;
    })
    .await;
}
