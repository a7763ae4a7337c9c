//! The real `vas-server` binary over a real socket: the README's curl examples, data surviving
//! a restart, clean shutdown on SIGTERM, no credentials in its output, and one-line start-up
//! errors with a non-zero exit.

use std::process::Command;

use crate::common::server::{Server, curl};
use vas_testkit::free_port;

/// The password used in the README's examples.
const README_PASSWORD: &str = "secret";

fn readme_examples() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme
        .find("<!-- api-examples:start -->")
        .expect("examples start marker");
    let end = readme
        .find("<!-- api-examples:end -->")
        .expect("examples end marker");
    let block = &readme[start..end];
    let code_start = block.find("```sh\n").expect("sh code block") + 6;
    let code_end = block[code_start..].find("```").unwrap() + code_start;
    block[code_start..code_end].to_owned()
}

#[test]
fn readme_examples_work_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let script = readme_examples().replace("localhost:8080", &format!("127.0.0.1:{}", server.port));
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "README examples failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r#""rtsp_url":"rtsp://admin:***@192.168.1.20:554/stream1""#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""desired_state":"running""#), "{stdout}");
    assert!(stdout.contains(r#""name":"front porch""#), "{stdout}");
    assert!(
        !stdout.contains(README_PASSWORD),
        "a password came back: {stdout}"
    );
    let before = curl(&["-sf", &server.url("/api/v1/streams")]);
    let (clean, logs) = server.stop();
    assert!(clean, "SIGTERM ends the server cleanly:\n{logs}");
    assert!(logs.contains("camera added"), "logs were captured");
    assert!(
        !logs.contains(README_PASSWORD),
        "a password was logged:\n{logs}"
    );

    let server = Server::start(dir.path());
    let devices = curl(&["-sf", &server.url("/api/v1/devices")]);
    let devices = String::from_utf8_lossy(&devices.stdout);
    assert!(
        devices.contains("front porch"),
        "data survived the restart: {devices}"
    );
    let after = curl(&["-sf", &server.url("/api/v1/streams")]);
    assert_eq!(
        stored_fields(&before.stdout),
        stored_fields(&after.stdout),
        "streams' stored settings identical after the restart"
    );
    // A real socket also rejects bad input with the JSON error body.
    let bad = curl(&[
        "-s",
        "-w",
        "\n%{http_code}",
        "-X",
        "POST",
        &server.url("/api/v1/devices"),
        "-H",
        "content-type: application/json",
        "-d",
        "{\"name\": ",
    ]);
    let bad = String::from_utf8_lossy(&bad.stdout);
    assert!(
        bad.ends_with("\n400") && bad.contains(r#""kind":"invalid_input""#),
        "{bad}"
    );
    server.stop();
}

/// The stored (not live) fields of a stream list.
fn stored_fields(body: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {} {}",
                s["id"], s["device_id"], s["profile"], s["desired_state"], s["record"]
            )
        })
        .collect()
}

fn start_failure(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vas-server"))
        .args(args)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env("VAS_DATA_DIR", dir.path())
        .env_remove("VAS_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} must fail");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one-line error, got:\n{stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn bad_start_up_settings_end_with_one_line_errors() {
    let e = start_failure(&["--database-url", "postgres://vas:topsecret@127.0.0.1:1/vas"]);
    assert!(
        e.contains("cannot connect to PostgreSQL") && !e.contains("topsecret"),
        "{e}"
    );
    let e = start_failure(&["--database-url", "mysql://u:topsecret@h/db"]);
    assert!(
        e.contains("must start with sqlite:// or postgres://") && !e.contains("topsecret"),
        "{e}"
    );
    let e = start_failure(&["--database-url", "postgres://u:topsecret@[bad/db"]);
    assert!(!e.contains("topsecret"), "{e}");
    let e = start_failure(&["--media-dir", "/dev/null/media"]);
    assert!(
        e.contains("media folder /dev/null/media is not writable"),
        "{e}"
    );
    let e = start_failure(&["--demo", "--database-url", "sqlite://x.db"]);
    assert!(e.contains("--demo"), "{e}");
}
