//! PostgreSQL going away while the server runs: requests fail with 503 (`unavailable`) and
//! the server recovers by itself when the database returns. The test owns a private cluster
//! so it can stop and restart it without disturbing other tests.

use std::time::{Duration, Instant};

use crate::common::call;
use axum::http::{Method, StatusCode};
use vas_testkit::{PrivatePostgres, postgres_url};

/// How long the server may take to notice the database is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_with_503_while_postgres_is_down_and_recover() {
    // Same gate as every PostgreSQL test: `make test` provides the server binaries.
    if postgres_url().is_none() {
        return;
    }
    let pg = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .database_url(pg.url())
        .build()
        .await
        .unwrap();
    let app = vas_server::app(vas_server::AppState::new(vas));
    let body = r#"{"name": "before", "rtsp_url": "rtsp://10.9.9.9/a"}"#;
    let r = call(&app, Method::POST, "/api/v1/devices", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();
    for (method, path, body) in [
        (Method::GET, "/api/v1/devices", None),
        (Method::GET, "/api/v1/streams", None),
        (
            Method::POST,
            "/api/v1/devices",
            Some(r#"{"name": "during", "rtsp_url": "rtsp://10.9.9.9/b"}"#),
        ),
        (Method::GET, "/readyz", None),
    ] {
        let started = Instant::now();
        let r = call(&app, method, path, body).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.text
        );
        assert_eq!(r.kind(), "unavailable", "{path}");
        eprintln!(
            "{path} answered 503 in {:?} while PostgreSQL was down",
            started.elapsed()
        );
    }
    // Alive all the same: a liveness probe must not restart a server waiting for its database.
    let live = call(&app, Method::GET, "/healthz", None).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.text);

    let pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .unwrap();
    let started = Instant::now();
    loop {
        let r = call(&app, Method::GET, "/api/v1/devices", None).await;
        if r.status == StatusCode::OK {
            let names: Vec<&str> = r
                .json
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, ["before"], "nothing was lost or half-written");
            break;
        }
        assert!(
            started.elapsed() < RECOVERY_LIMIT,
            "server did not recover after PostgreSQL came back: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "recovered {:?} after PostgreSQL restarted",
        started.elapsed()
    );
    let r = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        Some(r#"{"name": "after", "rtsp_url": "rtsp://10.9.9.9/c"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    drop(pg);
}
