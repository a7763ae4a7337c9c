//! Bookmark endpoints through `app()`, on SQLite and on PostgreSQL, with the synthetic camera
//! over real RTSP: make one (201, pending), watch it become ready, fetch its clip with byte
//! ranges and an ETag, list, delete; hostile bodies and parameters get clear 4xx.

use std::time::{Duration, Instant};

use crate::common::{call, call_with, live_stream, loop_camera, on_both_backends};
use axum::Router;
use axum::http::{Method, StatusCode};
use vas::{StreamId, Vas};

async fn scenario(app: Router, vas: Vas, cam: vas_synth::SyntheticCamera) {
    let id = live_stream(&vas, &cam.url()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let unknown = StreamId::new();

    // Hostile bodies and parameters.
    for (body, want) in [
        (
            format!("{{\"stream_id\": \"{id}\", \"before_s\": 31}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"stream_id\": \"{id}\", \"after_s\": 61}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"stream_id\": \"{id}\", \"before_s\": -1}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"stream_id\": \"{id}\", \"before_s\": \"x\"}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"stream_id\": \"{id}\", \"before_s\": 0, \"after_s\": 0}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"stream_id\": \"{id}\", \"at\": \"2999-01-01T00:00:00Z\"}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"stream_id\": \"{id}\", \"at\": \"noon\"}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"stream_id\": \"{id}\", \"bogus\": 1}}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"stream_id\": \"nope\"}".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        ("{}".to_owned(), StatusCode::BAD_REQUEST),
        (
            format!("{{\"stream_id\": \"{unknown}\"}}"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = call(&app, Method::POST, "/api/v1/bookmarks", Some(&body)).await;
        assert_eq!(r.status, want, "{body}: {}", r.text);
        assert!(!r.kind().is_empty(), "{body}: an error body: {}", r.text);
    }
    let r = call_with(
        &app,
        Method::POST,
        "/api/v1/bookmarks",
        Some("stream_id=x"),
        Some("text/plain"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for (path, want) in [
        (
            "/api/v1/bookmarks?limit=0".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/bookmarks?from=soon".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/bookmarks/nope".to_owned(), StatusCode::BAD_REQUEST),
        (
            format!("/api/v1/bookmarks/{unknown}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/bookmarks/{unknown}/clip.mp4"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = call(&app, Method::GET, &path, None).await;
        assert_eq!(r.status, want, "{path}: {}", r.text);
    }

    // Made: pending at once, with its Location.
    let body = format!(
        "{{\"stream_id\": \"{id}\", \"before_s\": 1.5, \"after_s\": 1, \"label\": \"gate ✓\"}}"
    );
    let r = call(&app, Method::POST, "/api/v1/bookmarks", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["state"], "pending");
    assert_eq!(r.json["before_s"], 1.5);
    assert_eq!(r.json["label"], "gate ✓");
    assert!(r.json["clip_url"].is_null());
    let bid = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(r.headers["location"], format!("/api/v1/bookmarks/{bid}"));
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/bookmarks/{bid}/clip.mp4"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "not ready yet: {}", r.text);

    // Ready a moment after at + after.
    let t = Instant::now();
    let ready = loop {
        let r = call(&app, Method::GET, &format!("/api/v1/bookmarks/{bid}"), None).await;
        if r.json["state"] != "pending" {
            break r.json;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["state"], "ready", "{ready}");
    let url = ready["clip_url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/api/v1/bookmarks/{bid}/clip.mp4"));

    // The clip: MP4, byte ranges, an ETag that answers 304.
    let r = call(&app, Method::GET, &url, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "video/mp4");
    assert_eq!(&r.bytes[4..8], b"ftyp");
    let len = r.bytes.len();
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let r = call_with(
        &app,
        Method::GET,
        &url,
        None,
        None,
        &[("range", "bytes=0-99")],
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes.len(), 100);
    assert_eq!(
        r.headers["content-range"],
        format!("bytes 0-99/{len}").as_str()
    );
    let r = call_with(
        &app,
        Method::GET,
        &url,
        None,
        None,
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);

    // Listed, then deleted.
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/bookmarks?stream_id={id}"),
        None,
    )
    .await;
    assert_eq!(r.json.as_array().unwrap().len(), 1);
    assert_eq!(r.json[0], ready);
    let r = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/bookmarks/{bid}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for path in [format!("/api/v1/bookmarks/{bid}"), url] {
        let r = call(&app, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmark_api_on_sqlite_and_postgres() {
    let _serial = vas_testkit::realtime_lock();
    on_both_backends(|app, vas| async move {
        let cam = loop_camera().await;
        scenario(app, vas, cam).await;
    })
    .await;
}
