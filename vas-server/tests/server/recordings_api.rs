//! Recording endpoints through `app()`: hostile query and path parameters get clear 4xx,
//! and media paths can never escape the media folder.

use crate::common::{call, sqlite_app};
use axum::http::{Method, StatusCode};

#[tokio::test]
async fn hostile_recording_parameters_are_rejected() {
    let (app, vas, dir) = sqlite_app().await;
    let d = vas
        .add_device(vas::NewDevice::new("cam", "rtsp://10.1.2.3/x"))
        .await
        .unwrap();
    let sid = vas.streams(None, vas::Order::Oldest).await.unwrap()[0].id;
    assert_eq!(
        vas.streams(None, vas::Order::Oldest).await.unwrap()[0].device_id,
        d.id
    );
    // Something outside the media folder a traversal would love to reach.
    std::fs::write(dir.path().join("secret.ts"), b"not yours").unwrap();
    let unknown = uuid::Uuid::new_v4();
    let rows: Vec<(Method, String, Option<&str>, StatusCode)> = vec![
        (
            Method::GET,
            "/api/v1/recordings?from=yesterday".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?to=2026-13-01T00:00:00Z".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?limit=0".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?limit=100000".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?limit=abc".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?stream_id=nope".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?bogus=1".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/api/v1/recordings/{unknown}"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/v1/recordings/..".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!(
                "/api/v1/streams/{sid}/playback.m3u8?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z"
            ),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!(
                "/api/v1/streams/{sid}/playback.m3u8?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"
            ),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/api/v1/streams/{sid}/playback.m3u8?from=%00"),
            None,
            StatusCode::BAD_REQUEST,
        ),
        // Times at chrono's edges: checked arithmetic, a 400 and never a panic.
        (
            Method::GET,
            format!("/api/v1/streams/{sid}/playback.m3u8?to=-262143-01-01T00:00:00Z"),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/api/v1/streams/{sid}/playback.m3u8?to=+262142-12-31T23:59:59Z"),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/api/v1/streams/{sid}/playback.m3u8?to=1970-01-01T00:00:01Z"),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?from=-262143-01-01T00:00:00Z".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/recordings?to=+262142-12-31T23:59:59Z".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        // A name no filesystem can hold is simply not there.
        (
            Method::GET,
            format!("/media/{}.ts", "A".repeat(255)),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/media/{sid}/{}/index.m3u8", "B".repeat(300)),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/api/v1/streams/{sid}/playback.m3u8"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/api/v1/streams/{unknown}/playback.m3u8"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PATCH,
            format!("/api/v1/streams/{sid}"),
            Some(r#"{"record": "yes"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/api/v1/streams/{sid}"),
            Some(r#"{"recording": true}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/api/v1/streams/{unknown}"),
            Some(r#"{"record": true}"#),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/media/../secret.ts".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/media/%2e%2e/secret.ts".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/media/..%2fsecret.ts".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/media/%2Fetc%2Fpasswd.ts".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/media/a/b/../../../secret.ts".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/media/{sid}/x/index.m3u8"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/media/vas.db".into(),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/media/%ff%fe.ts".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, body, status) in rows {
        let r = call(&app, method.clone(), &path, body).await;
        if r.status != status
            || r.json["error"]["kind"].as_str().is_none()
            || r.text.contains("not yours")
        {
            failures.push(format!("{method} {path}: {} {}", r.status, r.text));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // A real switch-on is accepted (the camera is unreachable; recording waits for frames).
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/streams/{sid}"),
        Some(r#"{"record": true}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["record"], true);
    vas.close().await;
}
