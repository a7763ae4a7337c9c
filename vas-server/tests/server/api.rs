//! The REST API through `app()` without a socket: the documented endpoints, their shapes,
//! and the bad-input table.

use crate::common::{Reply, call, call_with, sqlite_app};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

async fn create(app: &axum::Router, body: Value) -> Reply {
    call(
        app,
        Method::POST,
        "/api/v1/devices",
        Some(&body.to_string()),
    )
    .await
}

#[tokio::test]
async fn device_crud_with_documented_shapes() {
    let (app, _vas, _dir) = sqlite_app().await;
    let r = create(
        &app,
        json!({"name": "porch", "rtsp_url": "rtsp://admin:s3cret@10.0.0.7:554/stream1"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("/api/v1/devices/{id}")
    );
    assert_eq!(r.json["name"], "porch");
    assert_eq!(r.json["rtsp_url"], "rtsp://admin:***@10.0.0.7:554/stream1");
    assert_eq!(r.json["enabled"], true);
    assert!(chrono::DateTime::parse_from_rfc3339(r.json["created_at"].as_str().unwrap()).is_ok());

    let list = call(&app, Method::GET, "/api/v1/devices", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json.as_array().unwrap().len(), 1);
    let one = call(&app, Method::GET, &format!("/api/v1/devices/{id}"), None).await;
    assert_eq!(one.json, r.json);

    // Adding a sub URL adds a sub stream; null removes it again.
    let p = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        Some(r#"{"name": "front porch", "sub_rtsp_url": "rtsp://10.0.0.7:554/stream2"}"#),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.json["name"], "front porch");
    assert_eq!(
        p.json["sub_rtsp_url"],
        "rtsp://admin:***@10.0.0.7:554/stream2"
    );
    let streams = call(&app, Method::GET, "/api/v1/streams", None).await;
    let profiles: Vec<&str> = streams
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["profile"].as_str().unwrap())
        .collect();
    assert_eq!(profiles.len(), 2);
    assert!(profiles.contains(&"main") && profiles.contains(&"sub"));
    let p = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        Some(r#"{"sub_rtsp_url": null}"#),
    )
    .await;
    assert_eq!(p.json["sub_rtsp_url"], Value::Null);
    let streams = call(&app, Method::GET, "/api/v1/streams", None).await;
    assert_eq!(streams.json.as_array().unwrap().len(), 1);

    let d = call(&app, Method::DELETE, &format!("/api/v1/devices/{id}"), None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let gone = call(&app, Method::GET, &format!("/api/v1/devices/{id}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.kind(), "not_found");
    let streams = call(&app, Method::GET, "/api/v1/streams", None).await;
    assert_eq!(streams.json, json!([]));
}

#[tokio::test]
async fn start_and_stop_change_the_desired_state_truthfully() {
    let (app, _vas, _dir) = sqlite_app().await;
    let dev = create(
        &app,
        json!({"name": "gate", "rtsp_url": "rtsp://gate.local/live"}),
    )
    .await;
    let streams = call(&app, Method::GET, "/api/v1/streams", None).await;
    let s = &streams.json[0];
    assert_eq!(s["device_id"], dev.json["id"]);
    assert_eq!(s["profile"], "main");
    assert_eq!(s["state"], "stopped");
    assert_eq!(s["desired_state"], "stopped");
    assert_eq!(s["record"], false);
    let sid = s["id"].as_str().unwrap();

    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/streams/{sid}/start"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["desired_state"], "running");
    let again = call(&app, Method::GET, &format!("/api/v1/streams/{sid}"), None).await;
    assert_eq!(again.json["desired_state"], "running");

    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/streams/{sid}/stop"),
        None,
    )
    .await;
    assert_eq!(r.json["desired_state"], "stopped");
    assert_eq!(r.json["state"], "stopped");

    // A disabled camera's stream cannot be started.
    let did = dev.json["id"].as_str().unwrap();
    call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{did}"),
        Some(r#"{"enabled": false}"#),
    )
    .await;
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/streams/{sid}/start"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.kind(), "failed_precondition");
}

/// What is sent, and the 4xx status and error kind that must come back.
type BadInput<'a> = (
    &'a str,
    Method,
    String,
    Option<String>,
    Option<&'a str>,
    StatusCode,
    &'a str,
);

/// Every row of the bad-input table gets its clear 4xx.
#[tokio::test]
async fn bad_input_table() {
    let (app, _vas, _dir) = sqlite_app().await;
    let existing = create(
        &app,
        json!({"name": "taken", "rtsp_url": "rtsp://taken.local/x"}),
    )
    .await;
    let did = existing.json["id"].as_str().unwrap().to_owned();
    let unknown = uuid::Uuid::new_v4();
    let ten_kb = "n".repeat(10 * 1024);
    let huge = format!(
        r#"{{"name": "big", "rtsp_url": "rtsp://a/{}"}}"#,
        "x".repeat(100 * 1024)
    );
    let dev_body = |name: &str, url: &str| json!({"name": name, "rtsp_url": url}).to_string();
    let post = Method::POST;
    let devices = "/api/v1/devices";
    #[rustfmt::skip]
    let rows: Vec<BadInput<'_>> = vec![
        ("malformed JSON", post.clone(), devices.into(), Some("{\"name\": ".into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("not an object", post.clone(), devices.into(), Some("[1,2]".into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("wrong type", post.clone(), devices.into(), Some(r#"{"name": 5, "rtsp_url": "rtsp://a/"}"#.into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("wrong type for enabled", post.clone(), devices.into(), Some(r#"{"name": "a", "rtsp_url": "rtsp://a/", "enabled": "yes"}"#.into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("unknown field", post.clone(), devices.into(), Some(r#"{"name": "a", "rtsp_url": "rtsp://a/", "colour": "red"}"#.into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("missing field", post.clone(), devices.into(), Some(r#"{"name": "a"}"#.into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("oversized body", post.clone(), devices.into(), Some(huge), Some("application/json"), StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        ("not JSON content type", post.clone(), devices.into(), Some(dev_body("a", "rtsp://a/")), Some("text/plain"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported"),
        ("http URL", post.clone(), devices.into(), Some(dev_body("a", "http://cam/x")), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("URL without host", post.clone(), devices.into(), Some(dev_body("a", "rtsp:///x")), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("not a URL", post.clone(), devices.into(), Some(dev_body("a", "camera one")), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("empty name", post.clone(), devices.into(), Some(dev_body("  ", "rtsp://a/")), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("10 KB name", post.clone(), devices.into(), Some(dev_body(&ten_kb, "rtsp://a/")), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("duplicate name", post.clone(), devices.into(), Some(dev_body("taken", "rtsp://other/")), Some("application/json"), StatusCode::CONFLICT, "already_exists"),
        ("duplicate URL", post.clone(), devices.into(), Some(dev_body("other", "rtsp://taken.local/x")), Some("application/json"), StatusCode::CONFLICT, "already_exists"),
        ("conflicting credentials", post.clone(), devices.into(), Some(r#"{"name": "c", "rtsp_url": "rtsp://u:p@c/", "password": "q"}"#.into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("non-UUID device id", Method::GET, "/api/v1/devices/123".into(), None, None, StatusCode::BAD_REQUEST, "invalid_input"),
        ("unknown device id", Method::GET, format!("/api/v1/devices/{unknown}"), None, None, StatusCode::NOT_FOUND, "not_found"),
        ("delete unknown device", Method::DELETE, format!("/api/v1/devices/{unknown}"), None, None, StatusCode::NOT_FOUND, "not_found"),
        ("patch unknown device", Method::PATCH, format!("/api/v1/devices/{unknown}"), Some("{}".into()), Some("application/json"), StatusCode::NOT_FOUND, "not_found"),
        ("patch bad URL", Method::PATCH, format!("/api/v1/devices/{did}"), Some(r#"{"rtsp_url": "rtmp://x/"}"#.into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("patch unknown field", Method::PATCH, format!("/api/v1/devices/{did}"), Some(r#"{"id": "x"}"#.into()), Some("application/json"), StatusCode::BAD_REQUEST, "invalid_input"),
        ("dot-dot stream id", Method::POST, "/api/v1/streams/../start".into(), None, None, StatusCode::BAD_REQUEST, "invalid_input"),
        ("garbage stream id", Method::POST, "/api/v1/streams/zzz/start".into(), None, None, StatusCode::BAD_REQUEST, "invalid_input"),
        ("unknown stream id", Method::POST, format!("/api/v1/streams/{unknown}/start"), None, None, StatusCode::NOT_FOUND, "not_found"),
        ("unknown stream get", Method::GET, format!("/api/v1/streams/{unknown}"), None, None, StatusCode::NOT_FOUND, "not_found"),
        ("unknown endpoint", Method::GET, "/api/v1/cameras".into(), None, None, StatusCode::NOT_FOUND, "not_found"),
        ("wrong method", Method::PUT, devices.into(), Some("{}".into()), Some("application/json"), StatusCode::METHOD_NOT_ALLOWED, "unsupported"),
    ];
    let mut failures = Vec::new();
    for (what, method, path, body, ct, status, kind) in rows {
        let r = call_with(&app, method, &path, body.as_deref(), ct, &[]).await;
        let message_ok = r.json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty());
        if r.status != status || r.kind() != kind || !message_ok {
            failures.push(format!("{what}: got {} {}", r.status, r.text));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Nothing above changed the one valid device.
    let list = call(&app, Method::GET, "/api/v1/devices", None).await;
    assert_eq!(list.json.as_array().unwrap().len(), 1);
    assert_eq!(list.json[0]["name"], "taken");
}

#[tokio::test]
async fn api_token_is_enforced_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .build()
        .await
        .unwrap();
    let state = vas_server::AppState::with_token(vas, Some("tok-123"));
    let app = vas_server::app(state);
    let r = call(&app, Method::GET, "/api/v1/devices", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.kind(), "unauthenticated");
    let r = call_with(
        &app,
        Method::GET,
        "/api/v1/devices",
        None,
        None,
        &[("authorization", "Bearer nope")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call_with(
        &app,
        Method::GET,
        "/api/v1/devices",
        None,
        None,
        &[("authorization", "Bearer tok-123")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&app, Method::GET, "/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK, "health checks need no token");
}
