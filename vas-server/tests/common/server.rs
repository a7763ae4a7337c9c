//! The real `vas-server` binary, spawned for tests that need a socket.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vas::testutil::free_ports;

/// How long the server may take to answer /healthz after it is spawned.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running server; stop it with [`Server::stop`] (dropping it kills it).
pub struct Server {
    child: Child,
    /// Its API port.
    pub port: u16,
    /// Where its stdout and stderr go (a file, so a chatty server never blocks on a pipe).
    log: PathBuf,
}

impl Server {
    /// Starts `--demo` in `data_dir` on free ports and waits for /healthz.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// Like [`Server::start`], with extra arguments.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        let [port, camera, webrtc, signaling] = free_ports(4)[..] else {
            unreachable!("free_ports returns as many ports as asked")
        };
        let log = data_dir.with_extension(format!("{port}.log"));
        let out = File::create(&log).expect("create the server log");
        let child = Command::new(env!("CARGO_BIN_EXE_vas-server"))
            .args([
                "--demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data_dir)
            .args(["--demo-camera-port", &camera.to_string()])
            .args(["--webrtc-port", &webrtc.to_string()])
            .args(["--signaling-port", &signaling.to_string()])
            .args(extra)
            .env("RUST_LOG", "trace")
            .stdout(Stdio::from(out.try_clone().expect("clone the log handle")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("spawn vas-server");
        let mut server = Server { child, port, log };
        let started = Instant::now();
        while curl(&["-sf", &server.url("/healthz")]).status.code() != Some(0) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("vas-server exited with {status}:\n{}", server.output());
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "vas-server did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "vas-server answered /healthz {:?} after spawn",
            started.elapsed()
        );
        server
    }

    /// URL of a path on the server.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM, waits, and returns (exit success, everything it printed).
    pub fn stop(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        let out = self.output();
        let _ = std::fs::remove_file(&self.log);
        (status.success(), out)
    }
}

impl Server {
    /// Kills the server with SIGKILL (no chance to clean up), returning what it printed.
    pub fn kill9(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let out = self.output();
        let _ = std::fs::remove_file(&self.log);
        out
    }

    /// GETs a path and parses the JSON answer.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let out = curl(&["-sf", &self.url(path)]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("GET {path}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Sends a JSON request and returns (status, body).
    pub fn send_json(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let out = curl(&[
            "-s",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            &self.url(path),
            "-H",
            "content-type: application/json",
            "-d",
            body,
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (
            code.parse().unwrap_or(0),
            serde_json::from_str(body).unwrap_or_default(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only does something when a test failed before calling stop().
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs curl.
pub fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(args)
        .output()
        .expect("run curl (make test installs it)")
}
