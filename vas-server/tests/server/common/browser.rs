//! Runs the Node scripts in `tests/browser/` (playwright-core driving Debian's headless
//! Chromium) and returns their one-line JSON results.
//!
//! Every script runs under a [`TestProcess`] guard: when the script hangs past
//! [`SCRIPT_LIMIT`], or the test fails while it runs, `node` and every Chromium process it
//! started are killed, so nothing outlives the test. Browser tests hold the
//! [`realtime_lock`](vas_testkit::realtime_lock) so that on two cores they never compete with
//! each other for the CPU.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use vas_testkit::TestProcess;

/// Longest a browser script may run before the test kills it and fails.
pub const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// Environment variable that overrides [`MIN_DECODED_RATIO`] (a deliberately impossible
/// value, say 100, makes every live-view test fail: the suite checks that a failing browser
/// test leaves nothing running).
pub const MIN_RATIO_ENV: &str = "VAS_TEST_MIN_DECODED_RATIO";
/// Share of the frames the camera sent in a window that the browser must decode in it.
pub const MIN_DECODED_RATIO: f64 = 0.75;

/// The ratio live-view tests require ([`MIN_DECODED_RATIO`] unless [`MIN_RATIO_ENV`] says).
pub fn min_decoded_ratio() -> f64 {
    std::env::var(MIN_RATIO_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MIN_DECODED_RATIO)
}

/// The scripts' folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Where screenshots are kept (`target/test-artifacts`).
pub fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts")
}

fn check_tools() {
    assert!(
        dir().join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: `make test` runs `npm ci` in {}",
        dir().display()
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: `make test` installs Debian's chromium package"
    );
}

fn node(script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .args(args)
        .current_dir(dir())
        .env("VAS_ARTIFACTS", artifacts());
    cmd
}

/// Starts `node <script> <args…>` with piped stdin/stdout, for scripts that talk back. The
/// guard kills it and its Chromium when dropped.
pub fn spawn(script: &str, args: &[&str]) -> TestProcess {
    check_tools();
    TestProcess::spawn(
        script,
        node(script, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .expect("run node (Node.js 20 is on this machine)")
}

/// Runs `node <script> <args…>` to the end (at most [`SCRIPT_LIMIT`]); returns (success,
/// parsed last JSON line, raw output).
pub fn run(script: &str, args: &[&str]) -> (bool, serde_json::Value, String) {
    check_tools();
    let mut node = TestProcess::spawn(
        script,
        node(script, args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .expect("run node (Node.js 20 is on this machine)");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        node.child()
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        node.child()
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = node.wait_timeout(SCRIPT_LIMIT);
    // Kills Chromium too if the script hung (the pipes then close and the readers end).
    node.kill_all();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let json = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    let note = if status.is_none() {
        format!("\n{script} did not finish within {SCRIPT_LIMIT:?} and was killed")
    } else {
        String::new()
    };
    (
        status.is_some_and(|s| s.success()),
        json,
        format!("{stdout}\n{stderr}{note}"),
    )
}
