//! The real `vas-server` binary, spawned for tests that need a socket.
//!
//! Its demo camera replays a pre-encoded loop ([`DEMO_LOOP_SECONDS`]) unless a test asks for
//! the live encoder ([`Server::start_live`]): a live 720p30 encode costs most of a core in a
//! debug build, and several of them on two cores starve each other.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use vas_testkit::{TestProcess, free_ports};

/// How long the server may take to answer /readyz after it is spawned.
const START_LIMIT: Duration = Duration::from_secs(30);
/// Attempts at starting a server when another process took one of its ports meanwhile.
pub const START_ATTEMPTS: usize = 3;
/// Loop length of the test servers' demo camera (`--demo-camera-loop`).
pub const DEMO_LOOP_SECONDS: &str = "4";

/// A running server; stop it with [`Server::stop`] (dropping it kills it and everything it
/// started).
pub struct Server {
    child: TestProcess,
    /// Its API port.
    pub port: u16,
    /// Its WebSocket signaling port.
    pub signaling_port: u16,
    /// Where its stdout and stderr go (a file, so a chatty server never blocks on a pipe).
    log: PathBuf,
}

impl Server {
    /// Starts `--demo` in `data_dir` on free ports (demo camera on a pre-encoded loop) and
    /// waits for /readyz.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &["--demo-camera-loop", DEMO_LOOP_SECONDS])
    }

    /// Starts `--demo` exactly as a user would (the demo camera encodes live).
    pub fn start_live(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// Starts `--demo` with extra arguments (the demo camera encodes live unless they say
    /// `--demo-camera-loop`).
    ///
    /// The ports are free when chosen but another process may take one before the server
    /// binds it (any outgoing connection on the machine can get it as its local port); a
    /// server that exits for that reason is started again on new ports, up to
    /// [`START_ATTEMPTS`] times.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        for attempt in 1..=START_ATTEMPTS {
            match Self::try_start(data_dir, extra) {
                Ok(server) => return server,
                Err(output)
                    if output.contains("Address already in use") && attempt < START_ATTEMPTS =>
                {
                    eprintln!(
                        "vas-server lost a port to another process; starting it again on new ports"
                    );
                }
                Err(output) => panic!("vas-server exited:\n{output}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn try_start(data_dir: &Path, extra: &[&str]) -> Result<Server, String> {
        let [port, camera, webrtc, signaling] = free_ports(4)[..] else {
            unreachable!("free_ports returns as many ports as asked")
        };
        let log = data_dir.with_extension(format!("{port}.log"));
        let out = File::create(&log).expect("create the server log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vas-server"));
        cmd.args([
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
        .stderr(Stdio::from(out));
        let child = TestProcess::spawn("vas-server", &mut cmd).expect("spawn vas-server");
        let mut server = Server {
            child,
            port,
            signaling_port: signaling,
            log,
        };
        let started = Instant::now();
        while curl(&["-sf", &server.url("/readyz")]).status.code() != Some(0) {
            if let Some(status) = server.child.try_wait() {
                let output = format!("exit status {status}:\n{}", server.output());
                let _ = std::fs::remove_file(&server.log);
                return Err(output);
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "vas-server did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "vas-server answered /readyz {:?} after spawn",
            started.elapsed()
        );
        Ok(server)
    }

    /// The signaling port's address.
    pub fn signaling_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.signaling_port))
    }

    /// URL of a path on the server.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM, waits (killing it after a grace period), and returns (exit success,
    /// everything it printed).
    pub fn stop(mut self) -> (bool, String) {
        let status = self.child.stop();
        let out = self.output();
        let _ = std::fs::remove_file(&self.log);
        (status.is_some_and(|s| s.success()), out)
    }

    /// The server's process guard (its tag, survivors).
    pub fn process(&self) -> &TestProcess {
        &self.child
    }
}

impl Server {
    /// Kills the server with SIGKILL (no chance to clean up), returning what it printed.
    pub fn kill9(mut self) -> String {
        self.child.kill_all();
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

/// Runs curl.
pub fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(args)
        .output()
        .expect("run curl (make test installs it)")
}

/// The demo camera's main stream id, once it is live (panics after `limit`).
pub fn wait_demo_live(server: &Server, limit: Duration) -> String {
    let t = Instant::now();
    loop {
        let devices = server.get_json("/api/v1/devices");
        let demo = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == vas_server::demo::DEMO_CAMERA_NAME)
            .map(|d| d["id"].clone());
        let streams = server.get_json("/api/v1/streams");
        if let Some(s) = streams.as_array().unwrap().iter().find(|s| {
            demo.as_ref() == Some(&s["device_id"]) && s["profile"] == "main" && s["state"] == "live"
        }) {
            return s["id"].as_str().unwrap().to_owned();
        }
        assert!(t.elapsed() < limit, "demo not live: {streams}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
