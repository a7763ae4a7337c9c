//! Runs the Node scripts in `tests/browser/` (playwright-core driving Debian's headless
//! Chromium) and returns their one-line JSON results.

use std::path::PathBuf;
use std::process::Command;

/// The scripts' folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Where screenshots are kept (`target/test-artifacts`).
pub fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts")
}

/// Starts `node <script> <args…>` with piped stdin/stdout, for scripts that talk back.
pub fn spawn(script: &str, args: &[&str]) -> std::process::Child {
    Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir())
        .env("VAS_ARTIFACTS", artifacts())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run node (Node.js 20 is on this machine)")
}

/// Runs `node <script> <args…>`; returns (success, parsed last JSON line, raw output).
pub fn run(script: &str, args: &[&str]) -> (bool, serde_json::Value, String) {
    assert!(
        dir().join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: `make test` runs `npm ci` in {}",
        dir().display()
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: `make test` installs Debian's chromium package"
    );
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir())
        .env("VAS_ARTIFACTS", artifacts())
        .output()
        .expect("run node (Node.js 20 is on this machine)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    (out.status.success(), json, format!("{stdout}\n{stderr}"))
}
