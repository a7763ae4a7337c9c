//! Camera credentials never leave the server: no endpoint returns them and no log line
//! (at any level, the database driver's included) contains them.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::{call, sqlite_app};

const PASSWORD: &str = "Pa55-w0rd-never-shown";
const PASSWORD2: &str = "second-secret-xyz";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_are_never_returned_or_logged() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (app, _vas, _dir) = sqlite_app().await;
    let mut bodies = Vec::new();
    let created = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        Some(&format!(
            r#"{{"name": "cam", "rtsp_url": "rtsp://admin:{PASSWORD}@10.1.1.1/s", "sub_rtsp_url": "rtsp://10.1.1.1/sub"}}"#
        )),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    bodies.push(created.text);
    let second = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        Some(&format!(
            r#"{{"name": "cam2", "rtsp_url": "rtsp://10.1.1.2/s", "username": "op", "password": "{PASSWORD2}"}}"#
        )),
    )
    .await;
    assert_eq!(second.json["rtsp_url"], "rtsp://op:***@10.1.1.2/s");
    bodies.push(second.text);
    // A failed request echoing nothing secret either.
    let dup = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        Some(&format!(
            r#"{{"name": "cam", "rtsp_url": "rtsp://a:{PASSWORD}@x/"}}"#
        )),
    )
    .await;
    assert_eq!(dup.status, 409);
    bodies.push(dup.text);
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        Some(&format!(
            r#"{{"rtsp_url": "rtsp://admin:{PASSWORD}@10.1.1.1/new"}}"#
        )),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    bodies.push(patched.text);
    for path in [
        "/api/v1/devices".to_owned(),
        format!("/api/v1/devices/{id}"),
        "/api/v1/streams".to_owned(),
    ] {
        bodies.push(call(&app, Method::GET, &path, None).await.text);
    }

    for b in &bodies {
        assert!(
            !b.contains(PASSWORD) && !b.contains(PASSWORD2),
            "leaked in response: {b}"
        );
        assert!(
            !b.contains("password\""),
            "a password field was returned: {b}"
        );
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("camera added"),
        "logs were captured: {logged}"
    );
    assert!(
        !logged.contains(PASSWORD) && !logged.contains(PASSWORD2),
        "leaked in logs:\n{logged}"
    );
}
