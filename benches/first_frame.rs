//! First frame: subscribe → first decoded frame in real headless Chromium, median over 20
//! tries, through the dashboard with WebSocket signaling and with WHEP. Target ≤ 300 ms.
//!
//! Runs the reference server's app in this process (release build) with the demo's
//! synthetic camera (720p30, keyframe every second), then drives Chromium with the browser
//! tests' Node scripts (`npm ci` in vas-server/tests/browser first; `make test` does it).
//!
//! `cargo bench -p vas-benches --bench first_frame`

// A load generator reports on stdout; that is its interface.
#![allow(clippy::print_stdout)]

use std::process::Command;

/// Subscriptions measured per signaling path.
const TRIES: usize = 20;

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let (base, _camera, _dir) = rt.block_on(async {
        let camera = vas_server::demo::start_camera(0, None)
            .await
            .expect("demo camera");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let vas = vas::Vas::builder()
            .data_dir(dir.path())
            .webrtc(vas::config::WebRtcConfig {
                bind: "127.0.0.1:0".parse().expect("an address"),
                ..Default::default()
            })
            .build()
            .await
            .expect("start VAS");
        vas_server::demo::register(&vas, &camera)
            .await
            .expect("register the camera");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("its address");
        let app = vas_server::app(vas_server::AppState::new(vas.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let t = std::time::Instant::now();
        while vas
            .streams(None, vas::Order::Oldest)
            .await
            .expect("streams")[0]
            .state
            != vas::StreamState::Live
        {
            assert!(t.elapsed().as_secs() < 20, "demo camera not live");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        (format!("http://{addr}"), camera, dir)
    });
    let scripts = concat!(env!("CARGO_MANIFEST_DIR"), "/../vas-server/tests/browser");
    let out = Command::new("node")
        .arg("first_frame.mjs")
        .arg(&base)
        .arg(TRIES.to_string())
        .current_dir(scripts)
        .output()
        .expect("node and the browser tests' node_modules (npm ci)");
    let text = String::from_utf8_lossy(&out.stdout);
    let results: serde_json::Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no result: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    println!(
        "\nfirst frame in Chromium (subscribe → first decoded frame, {TRIES} tries, release build)"
    );
    println!("| signaling | median | p90 | min | max | failures |");
    println!("|---|---|---|---|---|---|");
    for r in results.as_array().into_iter().flatten() {
        println!(
            "| {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {} |",
            r["signaling"].as_str().unwrap_or("?"),
            r["median_ms"].as_f64().unwrap_or(f64::NAN),
            r["p90_ms"].as_f64().unwrap_or(f64::NAN),
            r["min_ms"].as_f64().unwrap_or(f64::NAN),
            r["max_ms"].as_f64().unwrap_or(f64::NAN),
            r["failures"]
        );
    }
}
