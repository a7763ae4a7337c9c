//! Camera credentials never leave the server: no endpoint returns them and no log line
//! (at any level, the database driver's included) contains them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::{call, sqlite_app};
use axum::http::Method;

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

/// Captures this thread's log lines at TRACE until the guard is dropped.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn credentials_are_never_returned_or_logged() {
    let (logs, _guard) = capture_logs();

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

/// End to end: the real server ingests a camera that needs a password, with every log
/// target at TRACE (the RTSP client's included), and neither the password nor its Basic
/// encoding appears in its output or its API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ingest_with_credentials_logs_no_secret() {
    use std::time::{Duration, Instant};
    const CAM_PASSWORD: &str = "Cam-Secret-123";
    let camera = vas_synth::SyntheticCamera::start(vas_synth::CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        credentials: Some(vas_synth::Credentials::new("op", CAM_PASSWORD)),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let server = tokio::task::spawn_blocking(move || crate::common::server::Server::start(&data))
        .await
        .unwrap();
    let url = camera
        .url()
        .replace("rtsp://", &format!("rtsp://op:{CAM_PASSWORD}@"));
    let body = format!(r#"{{"name": "locked", "rtsp_url": "{url}"}}"#);
    let created = crate::common::server::curl(&[
        "-sf",
        "-X",
        "POST",
        &server.url("/api/v1/devices"),
        "-H",
        "content-type: application/json",
        "-d",
        &body,
    ]);
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let streams = crate::common::server::curl(&["-sf", &server.url("/api/v1/streams")]);
    let streams: serde_json::Value = serde_json::from_slice(&streams.stdout).unwrap();
    let sid = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["device_id"] == created["id"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::common::server::curl(&[
        "-sf",
        "-X",
        "POST",
        &server.url(&format!("/api/v1/streams/{sid}/start")),
    ]);
    let t = Instant::now();
    let mut answers = String::new();
    loop {
        let s =
            crate::common::server::curl(&["-sf", &server.url(&format!("/api/v1/streams/{sid}"))]);
        let text = String::from_utf8_lossy(&s.stdout).into_owned();
        answers.push_str(&text);
        if text.contains(r#""state":"live""#) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "never live: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, logs) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    let basic = base64_basic("op", CAM_PASSWORD);
    for (what, text) in [("logs", &logs), ("API answers", &answers)] {
        assert!(!text.contains(CAM_PASSWORD), "password in {what}");
        assert!(!text.contains(&basic), "Basic credentials in {what}");
    }
    assert!(
        logs.contains("stream live"),
        "the camera was really ingested"
    );
}

/// `base64("user:password")`, as a Basic Authorization header carries it.
fn base64_basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let bytes = input.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every form a camera secret takes in a URL — a userinfo password, a bare userinfo token,
/// query parameters with the usual secret names, on the main and the sub URL — is masked in
/// every answer, event and log line (TRACE), streams with secret query parameters still reach
/// their camera with them, and every secret is sealed in the database file.
#[tokio::test]
async fn every_form_of_camera_secret_is_masked_everywhere_and_sealed_at_rest() {
    use std::time::{Duration, Instant};
    const SECRETS: [&str; 6] = [
        "Userinfo-Pw-111",
        "Bare-Token-222",
        "Query-Pw-333",
        "Query-Token-444",
        "Query-Key-555",
        "Sub-Query-Pwd-666",
    ];
    let (logs, _guard) = capture_logs();
    // A real camera: paths it does not serve fail with 404, the query forms reach it.
    let camera = vas_synth::SyntheticCamera::start(vas_synth::CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        mode: vas_synth::CameraMode::PreEncodedLoop { seconds: 1 },
        ..Default::default()
    })
    .await
    .unwrap();
    let cam = camera.url().trim_start_matches("rtsp://").to_owned();
    let (app, vas, dir) = sqlite_app().await;
    let mut events = vas.events();
    let table = [
        (
            format!("rtsp://admin:{}@{cam}x", SECRETS[0]),
            None,
            format!("rtsp://admin:***@{cam}x"),
        ),
        (
            format!("rtsp://{}@{cam}y", SECRETS[1]),
            None,
            format!("rtsp://***@{cam}y"),
        ),
        (
            format!("rtsp://{cam}?user=admin&password={}&ch=1", SECRETS[2]),
            Some(format!("rtsp://{cam}/sub?PWD={}", SECRETS[5])),
            format!("rtsp://{cam}?user=admin&password=***&ch=1"),
        ),
        (
            format!("rtsp://{cam}?token={}&key={}", SECRETS[3], SECRETS[4]),
            None,
            format!("rtsp://{cam}?token=***&key=***"),
        ),
    ];
    let mut bodies = Vec::new();
    let mut ids = Vec::new();
    for (i, (url, sub, shown)) in table.iter().enumerate() {
        let sub = sub
            .as_ref()
            .map(|s| format!(r#", "sub_rtsp_url": "{s}""#))
            .unwrap_or_default();
        let created = call(
            &app,
            Method::POST,
            "/api/v1/devices",
            Some(&format!(r#"{{"name": "c{i}", "rtsp_url": "{url}"{sub}}}"#)),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.json["rtsp_url"], shown.as_str(), "{}", created.text);
        ids.push(created.json["id"].as_str().unwrap().to_owned());
        bodies.push(created.text);
    }
    let streams = call(&app, Method::GET, "/api/v1/streams", None).await;
    for s in streams.json.as_array().unwrap() {
        let sid = s["id"].as_str().unwrap();
        let r = call(
            &app,
            Method::POST,
            &format!("/api/v1/streams/{sid}/start"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Wait until every stream is live (the sealed URL, opened, reaches the camera with its
    // secret parameters) or has failed with its error in the status.
    let t = Instant::now();
    loop {
        let s = call(&app, Method::GET, "/api/v1/streams", None).await;
        let list = s.json.as_array().unwrap();
        let settled = list
            .iter()
            .all(|s| s["state"] == "live" || !s["last_error"].is_null());
        let live = list.iter().filter(|s| s["state"] == "live").count();
        if settled && live >= 2 {
            bodies.push(s.text);
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{}", s.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for path in [
        "/api/v1/devices".to_owned(),
        format!("/api/v1/devices/{}", ids[2]),
    ] {
        bodies.push(call(&app, Method::GET, &path, None).await.text);
    }
    let mut seen_events = Vec::new();
    while let Ok(Some(e)) = events.try_recv() {
        seen_events.push(format!("{e:?}"));
    }
    assert!(
        seen_events.iter().any(|e| e.contains("error: Some")),
        "{seen_events:?}"
    );
    vas.close().await;
    camera.stop().await;
    // The database file and its write-ahead log, whatever is in either.
    let mut db = String::new();
    for suffix in ["", "-wal", "-journal"] {
        let path = dir
            .path()
            .join(format!("{}{suffix}", vas::SQLITE_FILE_NAME));
        if let Ok(bytes) = std::fs::read(&path) {
            db.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    assert!(db.contains("c0"), "the database file was read");
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logged.contains("camera added"), "logs were captured");
    for secret in SECRETS {
        for b in &bodies {
            assert!(!b.contains(secret), "{secret} in an answer: {b}");
        }
        for e in &seen_events {
            assert!(!e.contains(secret), "{secret} in an event: {e}");
        }
        assert!(!logged.contains(secret), "{secret} in the logs:\n{logged}");
        assert!(
            !db.contains(secret),
            "{secret} in plain text in the database file"
        );
    }
    let key = dir.path().join(vas::config::KEY_FILE_NAME);
    assert!(key.exists(), "the key file is created in the data folder");
}
