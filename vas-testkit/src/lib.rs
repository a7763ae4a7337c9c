//! Helpers for VAS's tests that need real databases, real processes and hostile peers; a
//! crate of its own so that no shell's release build contains it.
//!
//! Owns: finding the PostgreSQL server the test command started (`VAS_TEST_POSTGRES_URL`),
//! giving each test its own fresh database on it, starting private clusters for tests that
//! must stop and restart the server, running GStreamer's RTSP server as a camera
//! ([`GstCamera`], `scripts/gst-rtsp-camera.py`), guarding every process a test starts so
//! it dies with the test ([`TestProcess`]), and serialising timing-sensitive tests
//! ([`realtime_lock`]). It never skips silently: without a server, a PostgreSQL
//! test fails, unless `VAS_SKIP_POSTGRES=1` is set outside CI, which prints a loud notice.

pub mod hostile;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use sqlx::Connection;

/// Environment variable naming the PostgreSQL server tests use (a superuser URL).
pub const POSTGRES_URL_ENV: &str = "VAS_TEST_POSTGRES_URL";
/// Environment variable that lets a developer without PostgreSQL skip those tests (not in CI).
pub const SKIP_POSTGRES_ENV: &str = "VAS_SKIP_POSTGRES";

/// Whether this is a CI run (`CI=true`), where nothing may skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The test PostgreSQL server's URL, or `None` when the developer explicitly skipped it.
///
/// # Panics
/// When no server is configured and skipping was not asked for (or this is CI).
pub fn postgres_url() -> Option<String> {
    if let Ok(url) = std::env::var(POSTGRES_URL_ENV)
        && !url.is_empty()
    {
        return Some(url);
    }
    let skip = std::env::var(SKIP_POSTGRES_ENV).is_ok_and(|v| v == "1");
    if skip && !in_ci() {
        eprintln!(
            "*** SKIPPED: PostgreSQL test ({SKIP_POSTGRES_ENV}=1). Run `make test` to include it. ***"
        );
        return None;
    }
    panic!(
        "{POSTGRES_URL_ENV} is not set. Run `make test`, which starts a throwaway PostgreSQL, \
         or point {POSTGRES_URL_ENV} at a server you may create databases on \
         (or set {SKIP_POSTGRES_ENV}=1 to skip these tests outside CI)."
    );
}

/// A fresh, empty database on the test server, dropped by [`TestDatabase::drop_db`].
#[derive(Debug)]
pub struct TestDatabase {
    /// URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates `vas_test_<random>` on the server `admin_url` names.
    pub async fn create(admin_url: &str) -> TestDatabase {
        let name = format!("vas_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to the test PostgreSQL server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        let mut url = url::Url::parse(admin_url).expect("test PostgreSQL URL parses");
        url.set_path(&format!("/{name}"));
        TestDatabase {
            url: url.into(),
            admin_url: admin_url.to_owned(),
            name,
        }
    }

    /// Drops the database (forcing off any connections left).
    pub async fn drop_db(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

/// A free TCP port on loopback (free at the time of asking).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct ports free on loopback for both TCP and UDP at the time of asking (held
/// together while choosing, so one call never returns the same port twice).
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port on loopback");
        let port = tcp.local_addr().expect("its address").port();
        // The WebRTC port needs UDP too; skip ports whose UDP twin is taken.
        if let Ok(udp) = std::net::UdpSocket::bind(("127.0.0.1", port)) {
            ports.push(port);
            held.push((tcp, udp));
        }
    }
    ports
}

/// A private PostgreSQL cluster this test alone owns, so it may stop and restart it.
/// Started with the project's `scripts/pg.sh`; stopped and deleted on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

fn pg_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh")
}

impl PrivatePostgres {
    /// Creates and starts a cluster on a free port.
    ///
    /// # Panics
    /// When the cluster cannot start (PostgreSQL missing: run `make test`, which installs it).
    pub fn start() -> PrivatePostgres {
        let dir = tempfile::Builder::new()
            .prefix("vas-pg-")
            .tempdir()
            .expect("create a folder for a private PostgreSQL cluster");
        // The server may run as another user (as root it runs as "postgres").
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        }
        let pg = PrivatePostgres {
            dir,
            port: free_port(),
        };
        pg.resume();
        pg
    }

    fn cluster(&self) -> PathBuf {
        self.dir.path().join("cluster")
    }

    /// The superuser URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://vas@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn stop(&self) {
        let status = Command::new("bash")
            .arg(pg_script())
            .arg("stop")
            .arg(self.cluster())
            .status()
            .expect("run scripts/pg.sh");
        assert!(status.success(), "scripts/pg.sh stop failed");
    }

    /// Starts the server again on the same port with the same data.
    pub fn resume(&self) {
        let out = Command::new("bash")
            .arg(pg_script())
            .arg("start")
            .arg(self.cluster())
            .arg(self.port.to_string())
            .output()
            .expect("run scripts/pg.sh");
        assert!(
            out.status.success(),
            "could not start a private PostgreSQL cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(pg_script())
            .arg("stop")
            .arg(self.cluster())
            .status();
    }
}

/// Prefix of the environment variable that tags a [`TestProcess`] and everything it starts in
/// turn (`VAS_TEST_PROCESS_TAG_<id>=1`): children inherit it, so a process that was
/// re-parented to init when its parent died is still found by [`tagged_processes`].
pub const PROCESS_TAG_PREFIX: &str = "VAS_TEST_PROCESS_TAG_";

/// How long [`TestProcess::stop`] waits after SIGTERM before it kills everything.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A process a test started (a server, `node` driving Chromium, GStreamer, ffmpeg), in its own
/// process group and tagged in its environment. Dropping it — also when the test panics —
/// kills the process, its group and every process carrying its tag, and reaps the child, so
/// nothing a failed test started keeps running and slows the tests after it.
#[derive(Debug)]
pub struct TestProcess {
    child: Child,
    tag: String,
    what: String,
}

impl TestProcess {
    /// Spawns `cmd` (its stdio as configured by the caller) in a new process group, tagged.
    /// `what` names it in messages.
    pub fn spawn(what: &str, cmd: &mut Command) -> std::io::Result<TestProcess> {
        use std::os::unix::process::CommandExt;
        let tag = format!("{PROCESS_TAG_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let child = cmd.env(&tag, "1").process_group(0).spawn()?;
        Ok(TestProcess {
            child,
            tag,
            what: what.to_owned(),
        })
    }

    /// The environment variable that tags this process and its descendants.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The process id of the spawned process.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The spawned process (for its pipes).
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Its exit status if it has exited (reaping it), without waiting.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `limit` for it to exit.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if started.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asks it to end with SIGTERM, waits up to [`STOP_GRACE`], then kills whatever is left of
    /// it and its descendants. Returns its exit status (`None` if it had to be killed).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        signal(self.child.id(), Signal::TERM);
        let status = self.wait_timeout(STOP_GRACE);
        self.kill_all();
        status
    }

    /// Kills the process, its process group and every process carrying its tag, and reaps
    /// the child. Safe to call more than once.
    pub fn kill_all(&mut self) {
        if let Some(pgid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Descendants (Chromium under node starts its own process groups) are found by tag;
        // a process may be forking while we look, so look until none is left.
        let started = Instant::now();
        loop {
            let left = tagged_processes(&self.tag);
            if left.is_empty() {
                return;
            }
            if started.elapsed() > STOP_GRACE {
                eprintln!(
                    "testutil: {} left processes that would not die: {left:?}",
                    self.what
                );
                return;
            }
            for pid in left {
                signal(pid, Signal::KILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Live processes (not zombies) carrying this process's tag, other than the caller.
    pub fn survivors(&self) -> Vec<u32> {
        tagged_processes(&self.tag)
    }
}

impl Drop for TestProcess {
    fn drop(&mut self) {
        self.kill_all();
    }
}

fn signal(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Live processes (zombies excluded) whose environment carries `tag` (`<tag>=1`), except the
/// calling process itself.
pub fn tagged_processes(tag: &str) -> Vec<u32> {
    let me = std::process::id();
    let needle = format!("{tag}=1");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if !environ
            .split(|&b| b == 0)
            .any(|var| var == needle.as_bytes())
        {
            continue;
        }
        // "pid (comm) S …": the state follows the last ')'.
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
            })
            .unwrap_or(true);
        if !zombie {
            found.push(pid);
        }
    }
    found
}

/// Environment variable a test sets for a child test binary when it already holds the
/// real-time lock on the child's behalf (so the child does not wait for its own parent).
pub const REALTIME_HELD_ENV: &str = "VAS_TEST_REALTIME_LOCK_HELD";

/// Held while a test needs the machine's real time to itself: real-time cameras, Chromium,
/// frame-rate thresholds. Dropping it lets the next such test run.
#[derive(Debug)]
pub struct RealtimeLock {
    _file: Option<std::fs::File>,
}

/// Serialises timing-sensitive tests across threads and test processes (an exclusive
/// `flock` on `vas-test-realtime.lock` in the temporary folder), so on a two-core machine
/// they measure the product, not each other. Blocks until the lock is free.
///
/// # Panics
/// When the lock file cannot be created or locked.
pub fn realtime_lock() -> RealtimeLock {
    if std::env::var_os(REALTIME_HELD_ENV).is_some() {
        return RealtimeLock { _file: None };
    }
    let path = std::env::temp_dir().join("vas-test-realtime.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let started = Instant::now();
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    let waited = started.elapsed();
    if waited > Duration::from_secs(1) {
        eprintln!("testutil: waited {waited:?} for the real-time test lock");
    }
    RealtimeLock { _file: Some(file) }
}

/// GStreamer's RTSP server (`scripts/gst-rtsp-camera.py`) as a third-party camera on
/// 127.0.0.1; killed on drop.
pub struct GstCamera {
    process: TestProcess,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _stderr: tempfile::NamedTempFile,
}

/// Attempts at starting the GStreamer camera when its port was taken meanwhile.
pub const GST_CAMERA_START_ATTEMPTS: usize = 3;
/// How long the GStreamer camera may take to build its pipelines and listen.
pub const GST_CAMERA_START_LIMIT: Duration = Duration::from_secs(30);

impl GstCamera {
    /// Starts the server and waits until it listens (on a new port when another process took
    /// the one chosen before the camera bound it).
    ///
    /// # Panics
    /// When it does not start: its own error (say, a missing GStreamer element and the
    /// package that ships it) is in the message.
    pub fn start() -> GstCamera {
        let mut last = String::new();
        for _ in 0..GST_CAMERA_START_ATTEMPTS {
            match Self::try_start() {
                Ok(camera) => return camera,
                Err(e) if e.contains("could not listen") => last = e,
                Err(e) => panic!("{e}"),
            }
        }
        panic!("{last}")
    }

    fn try_start() -> Result<GstCamera, String> {
        let port = free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/gst-rtsp-camera.py");
        let stderr = tempfile::NamedTempFile::new().expect("a file for the camera's stderr");
        let mut process = TestProcess::spawn(
            "gst-rtsp-camera.py",
            Command::new("/usr/bin/python3")
                .arg(script)
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(stderr.reopen().expect("reopen the stderr file")),
        )
        .expect("run /usr/bin/python3 (make test installs python3-gi and GStreamer)");
        let out = process.child().stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(out);
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the camera never blocks on a full pipe.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let line = rx.recv_timeout(GST_CAMERA_START_LIMIT).unwrap_or_default();
        if line.trim() != "READY" {
            let status = process.wait_timeout(Duration::from_secs(1));
            let err = std::fs::read_to_string(stderr.path()).unwrap_or_default();
            return Err(format!(
                "GStreamer RTSP camera did not start (exit status {status:?}):\n{}\n\
                 (`make test` installs and checks what it needs: scripts/install-deps.sh)",
                err.trim()
            ));
        }
        Ok(GstCamera {
            process,
            port,
            _stderr: stderr,
        })
    }

    /// URL of one of its mounts (`baseline`, `high`, `high-pcmu`, `high-aac`, `h265`,
    /// `high-netsim`).
    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{mount}", self.port)
    }

    /// The camera's process guard (its tag, survivors).
    pub fn process(&self) -> &TestProcess {
        &self.process
    }
}

/// Peak signal-to-noise ratio of two 8-bit pictures of the same length, in dB (infinite when
/// they are equal).
///
/// # Panics
/// When the lengths differ.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "pictures of different sizes");
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len().max(1) as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0 * 255.0 / mse).log10()
}
