//! Requests the handlers must survive: a handler that panics answers 500 with the JSON error
//! body (never an empty reply), media types are case-insensitive, and camera URLs with
//! control characters or port 0 are refused with 400.

use crate::common::{call, call_with, sqlite_app};
use axum::http::{Method, StatusCode};

#[tokio::test]
async fn a_panicking_handler_answers_500_with_a_json_body() {
    let app = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                let v: Vec<u8> = Vec::new();
                #[allow(clippy::indexing_slicing)]
                let _ = v[1];
                "unreachable"
            }),
        )
        .layer(vas_server::catch_panic());
    let r = call(&app, Method::GET, "/boom", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.kind(), "internal", "{}", r.text);
    assert!(!r.text.contains("index out of bounds"), "{}", r.text);
}

#[tokio::test]
async fn camera_urls_with_control_characters_or_port_zero_are_refused() {
    let (app, vas, _dir) = sqlite_app().await;
    for (i, url) in [
        "rtsp://cam/a\\r\\nX-Injected: 1",
        "rtsp://cam/a\\u0000b",
        "rtsp://cam/\\tx",
        "rtsp://cam:0/x",
    ]
    .iter()
    .enumerate()
    {
        let body = format!(r#"{{"name": "c{i}", "rtsp_url": "{url}"}}"#);
        let r = call(&app, Method::POST, "/api/v1/devices", Some(&body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}: {}", r.text);
        assert_eq!(r.kind(), "invalid_input");
    }
    assert!(
        vas.devices(vas::Order::Oldest).await.unwrap().is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn media_types_are_case_insensitive() {
    let (app, vas, _dir) = sqlite_app().await;
    vas.add_device(vas::NewDevice::new("cam", "rtsp://10.9.9.9/x"))
        .await
        .unwrap();
    let sid = vas.streams(None, vas::Order::Oldest).await.unwrap()[0].id;
    for ct in [
        "APPLICATION/SDP",
        "application/SDP; charset=utf-8",
        "Application/Sdp",
    ] {
        let r = call_with(
            &app,
            Method::POST,
            &format!("/api/v1/streams/{sid}/whep"),
            Some("v=0\r\n"),
            Some(ct),
            &[],
        )
        .await;
        // Past the media type check (this engine has no WebRTC, which is the next refusal).
        assert!(!r.text.contains("Content-Type"), "{ct}: {}", r.text);
        assert!(r.text.contains("WebRTC"), "{ct}: {}", r.text);
    }
    let r = call_with(
        &app,
        Method::POST,
        &format!("/api/v1/streams/{sid}/whep"),
        Some("v=0\r\n"),
        Some("application/sdpx"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    assert!(
        r.text.contains("Content-Type: application/sdp"),
        "{}",
        r.text
    );
}
