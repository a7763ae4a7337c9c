//! Operating the server: liveness and readiness, draining on shutdown, request ids, the
//! effective configuration, and a graceful SIGTERM of the real binary (recordings closed with
//! valid playlists, WebSocket viewers told "going away", exit 0 within the grace, JSON logs).

use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};

use crate::common::server::Server;
use crate::common::{call, call_with};

#[tokio::test]
async fn readiness_and_draining() {
    let (state, vas, _dir) = crate::common::sqlite_state().await;
    let app = vas_server::app(state.clone());

    let live = call(&app, Method::GET, "/healthz", None).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.text);
    assert_eq!(live.json["status"], "ok");
    let ready = call(&app, Method::GET, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.json["database"], "ok");
    assert_eq!(ready.json["media"], "ok");
    // The probe leaves nothing behind in the media folder.
    let left: Vec<_> = std::fs::read_dir(vas.media_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".vas-ready"))
        .collect();
    assert!(left.is_empty(), "readiness probe files left: {left:?}");

    state.drain.start();
    let ready = call(&app, Method::GET, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.kind(), "unavailable");
    assert!(
        ready.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down")
    );
    for (method, path) in [
        (Method::GET, "/api/v1/devices"),
        (Method::POST, "/api/v1/bookmarks"),
        (Method::GET, "/api/v1/ws"),
        (Method::GET, "/media/x/y.ts"),
    ] {
        let r = call(&app, method, path, None).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.text
        );
        assert_eq!(r.kind(), "unavailable", "{path}");
        assert_eq!(r.headers["connection"], "close", "{path}");
    }
    // Alive while draining: a liveness probe must not kill a server finishing its work.
    let live = call(&app, Method::GET, "/healthz", None).await;
    assert_eq!(live.status, StatusCode::OK);
    vas.close().await;
}

#[tokio::test]
async fn readiness_fails_when_the_media_folder_takes_no_file() {
    let (app, vas, _dir) = crate::common::sqlite_app().await;
    // A media folder that disappeared (an unmounted volume) takes no file; root ignores
    // permission bits, so removing the folder is the fault that works for every user.
    std::fs::remove_dir_all(vas.media_dir()).unwrap();
    let ready = call(&app, Method::GET, "/readyz", None).await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert!(
        ready.json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the media folder is not writable"),
        "{}",
        ready.text
    );
    assert_eq!(
        call(&app, Method::GET, "/healthz", None).await.status,
        StatusCode::OK
    );
    vas.close().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let (app, vas, _dir) = crate::common::sqlite_app().await;
    let made = call(&app, Method::GET, "/api/v1/devices", None).await;
    let id = made.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "a made id is a UUID: {id}"
    );
    let other = call(&app, Method::GET, "/no/such/route", None).await;
    assert_ne!(other.headers["x-request-id"], made.headers["x-request-id"]);
    // A client's own id is kept; an unprintable or overlong one is replaced.
    let kept = call_with(
        &app,
        Method::GET,
        "/healthz",
        None,
        None,
        &[("x-request-id", "lb-1234")],
    )
    .await;
    assert_eq!(kept.headers["x-request-id"], "lb-1234");
    let long = "a".repeat(65);
    let replaced = call_with(
        &app,
        Method::GET,
        "/healthz",
        None,
        None,
        &[("x-request-id", &long)],
    )
    .await;
    let id = replaced.headers["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "an overlong id is replaced: {id}"
    );
    vas.close().await;
}

fn vas_server(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vas-server"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn print_config_shows_the_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vas.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\nshutdown_grace = 20\nlog_format = \"json\"\n",
    )
    .unwrap();
    let out = vas_server(
        &[
            "--print-config",
            "--config",
            file.to_str().unwrap(),
            "--shutdown-grace",
            "7",
        ],
        &[
            ("VAS_API_TOKEN", "tok-very-secret"),
            (
                "VAS_DATABASE_URL",
                "postgres://vas:pw-very-secret@db.example:5432/vas",
            ),
            ("VAS_LISTEN", "127.0.0.1:9100"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("very-secret"),
        "a secret was printed:\n{text}"
    );
    let parsed: toml::Table = toml::from_str(&text).expect("the output is TOML");
    // Flag > environment > file > default, key by key.
    assert_eq!(parsed["shutdown_grace"].as_integer(), Some(7), "{text}");
    assert_eq!(parsed["listen"].as_str(), Some("127.0.0.1:9100"), "{text}");
    assert_eq!(parsed["log_format"].as_str(), Some("json"), "{text}");
    assert_eq!(parsed["http_idle_timeout"].as_integer(), Some(60), "{text}");
    assert_eq!(parsed["api_token"].as_str(), Some("***"), "{text}");
    assert_eq!(
        parsed["database_url"].as_str(),
        Some("postgres://vas:***@db.example:5432/vas"),
        "{text}"
    );
    // What it prints is a config file the server accepts as it is.
    std::fs::write(&file, text.as_bytes()).unwrap();
    let again = vas_server(&["--print-config", "--config", file.to_str().unwrap()], &[]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    for (args, env, says) in [
        (
            vec!["--print-config"],
            vec![("VAS_LOG_FORMAT", "xml")],
            "VAS_LOG_FORMAT",
        ),
        (
            vec!["--print-config"],
            vec![("VAS_SHUTDOWN_GRACE", "0")],
            "VAS_SHUTDOWN_GRACE",
        ),
        (
            vec!["--print-config", "--shutdown-grace", "0"],
            vec![],
            "--shutdown-grace",
        ),
        (
            vec!["--print-config", "--log-format", "xml"],
            vec![],
            "--log-format",
        ),
    ] {
        let out = vas_server(&args, &env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} {env:?} was accepted");
        assert!(err.contains(says), "{args:?} {env:?}: {err}");
    }
}

/// SIGTERM with a recording running and a WebSocket client connected: the client is told
/// "going away", the process exits 0 within its grace, every playlist it wrote ends, and
/// with `--log-format json` every line it printed is a JSON object, the request lines with
/// their id.
#[test]
fn sigterm_finishes_recordings_and_exits_within_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let grace = 8;
    let server = Server::start_with(
        dir.path(),
        &[
            "--demo-camera-loop",
            crate::common::server::DEMO_LOOP_SECONDS,
            "--shutdown-grace",
            &grace.to_string(),
            "--log-format",
            "json",
        ],
    );
    // A recording with at least one closed segment.
    let streams = server.get_json("/api/v1/streams");
    let sid = streams[0]["id"]
        .as_str()
        .expect("the demo stream")
        .to_owned();
    let (code, body) = server.send_json(
        "PATCH",
        &format!("/api/v1/streams/{sid}"),
        r#"{"record": true}"#,
    );
    assert_eq!(code, 200, "{body}");
    let media = dir.path().join("media");
    let playlist = wait_for_playlist(&media, Duration::from_secs(60));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut ws = rt
        .block_on(tokio_tungstenite::connect_async(format!(
            "ws://{}/",
            server.signaling_addr()
        )))
        .expect("connect to the signaling port")
        .0;
    // A token in a query string (where a WebSocket client may put it) is never logged.
    crate::common::server::curl(&["-s", &server.url("/api/v1/ws?token=sekrit-token-77")]);
    let started = Instant::now();
    let (clean, logs) = server.stop();
    let took = started.elapsed();
    eprintln!("SIGTERM to exit 0: {took:?} (grace {grace} s)");
    assert!(clean, "SIGTERM ends the server with exit 0:\n{logs}");
    assert!(took < Duration::from_secs(grace), "stopping took {took:?}");
    let close = rt.block_on(async {
        use futures::StreamExt;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => {
                    return frame;
                }
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    });
    let close = close.expect("the WebSocket got a close frame");
    assert_eq!(u16::from(close.code), 1001, "{close:?}");
    let text = std::fs::read_to_string(&playlist).unwrap();
    assert!(
        text.trim_end().ends_with("#EXT-X-ENDLIST"),
        "{}:\n{text}",
        playlist.display()
    );
    crate::common::media::check_recording(&playlist, 30.0);
    let mut requests = 0;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        if v["span"]["name"] == "request" {
            requests += 1;
            let id = v["span"]["request_id"].as_str().unwrap_or("");
            assert!(uuid::Uuid::parse_str(id).is_ok(), "{line}");
        }
    }
    assert!(
        requests > 0,
        "the readiness polls were logged with ids:\n{logs}"
    );
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(logs.contains("VAS stopped"), "{logs}");
    assert!(
        logs.contains("/api/v1/ws") && !logs.contains("sekrit-token-77"),
        "the request was logged, its query string was not:\n{logs}"
    );
}

/// The first playlist under `media` that lists a segment.
fn wait_for_playlist(media: &std::path::Path, limit: Duration) -> std::path::PathBuf {
    let started = Instant::now();
    loop {
        let found = walk(media).into_iter().find(|p| {
            p.extension().is_some_and(|e| e == "m3u8")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("#EXTINF"))
        });
        if let Some(p) = found {
            return p;
        }
        assert!(
            started.elapsed() < limit,
            "no recording segment after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Width and height from a JPEG's start-of-frame marker.
fn jpeg_size(jpeg: &[u8]) -> (u16, u16) {
    let mut i = 2;
    while i + 9 < jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "a JPEG marker at {i}");
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if (0xC0..=0xC2).contains(&marker) {
            let h = u16::from_be_bytes([jpeg[i + 5], jpeg[i + 6]]);
            let w = u16::from_be_bytes([jpeg[i + 7], jpeg[i + 8]]);
            return (w, h);
        }
        i += 2 + len;
    }
    panic!("no start-of-frame marker");
}

/// The expensive routes cannot be turned into unbounded work: a snapshot wider than the
/// camera comes at the camera's size (no 8K upscale of a small camera), a burst of 300
/// bookmark requests from one client makes one clip and is throttled with 429 and
/// Retry-After, and a burst of snapshots likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expensive_routes_are_bounded() {
    let (app, vas, _dir) = crate::common::sqlite_app().await;
    let cam = crate::common::loop_camera().await;
    let id = crate::common::live_stream(&vas, &cam.url()).await;
    let base = format!("/api/v1/streams/{id}");

    let r = call(
        &app,
        Method::GET,
        &format!("{base}/snapshot.jpg?width=7680"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        jpeg_size(&r.bytes),
        (320, 180),
        "never scaled above the camera"
    );
    let r = call(
        &app,
        Method::GET,
        &format!("{base}/snapshot.jpg?width=160"),
        None,
    )
    .await;
    assert_eq!(jpeg_size(&r.bytes), (160, 90), "scaled down as asked");

    let body = format!("{{\"stream_id\": \"{id}\"}}");
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let (app, body) = (app.clone(), body.clone());
        burst
            .spawn(async move { call(&app, Method::POST, "/api/v1/bookmarks", Some(&body)).await });
    }
    let replies = burst.join_all().await;
    let made: std::collections::BTreeSet<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| r.json["id"].as_str().unwrap().to_owned())
        .collect();
    let throttled: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    let accepted = replies.len() - throttled.len();
    assert!(
        accepted <= vas_server::api::throttle::BOOKMARKS.burst as usize + 2,
        "{accepted} of 300 accepted"
    );
    assert!(
        replies
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::TOO_MANY_REQUESTS),
        "only 201 or 429"
    );
    for r in &throttled {
        assert_eq!(r.kind(), "resource_exhausted");
        assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
    }
    // Identical requests within a second are one bookmark (a slow machine may straddle a
    // second boundary: two at most).
    assert!((1..=2).contains(&made.len()), "{made:?}");
    let listed = vas.bookmarks(vas::ListQuery::stream(id)).await.unwrap();
    assert_eq!(listed.len(), made.len(), "{listed:?}");

    // Taken at once: the tokens go at the door, before any work, so a slow machine cannot
    // refill the bucket between requests.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..(vas_server::api::throttle::PICTURES.burst as usize + 60) {
        let (app, path) = (
            app.clone(),
            format!("{base}/snapshot.jpg?keyframe=true&width=64"),
        );
        burst.spawn(async move { call(&app, Method::GET, &path, None).await });
    }
    let (mut pictures, mut limited) = (0, 0);
    for r in burst.join_all().await {
        match r.status {
            StatusCode::OK => pictures += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("{other}: {}", r.text),
        }
    }
    assert!(limited > 0, "{pictures} snapshots in a row, none refused");
    vas.close().await;
    drop(cam);
}
