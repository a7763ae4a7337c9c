//! Helpers for tests that need real databases and a real third-party camera (feature
//! `test-util`; not for production).
//!
//! Owns: finding the PostgreSQL server the test command started (`VAS_TEST_POSTGRES_URL`),
//! giving each test its own fresh database on it, starting private clusters for tests that
//! must stop and restart the server, and running GStreamer's RTSP server as a camera
//! ([`GstCamera`], `scripts/gst-rtsp-camera.py`). It never skips silently: without a server, a PostgreSQL
//! test fails, unless `VAS_SKIP_POSTGRES=1` is set outside CI, which prints a loud notice.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

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

/// GStreamer's RTSP server (`scripts/gst-rtsp-camera.py`) as a third-party camera on
/// 127.0.0.1; killed on drop.
pub struct GstCamera {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl GstCamera {
    /// Starts the server and waits until it listens.
    ///
    /// # Panics
    /// When GStreamer's Python bindings are missing (`make test` installs them).
    pub fn start() -> GstCamera {
        let port = free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/gst-rtsp-camera.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run /usr/bin/python3 (make test installs python3-gi and GStreamer)");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        assert_eq!(
            line.trim(),
            "READY",
            "GStreamer RTSP server did not start (needs gir1.2-gst-rtsp-server-1.0, python3-gi, \
             gstreamer1.0-plugins-ugly/bad/libav; `make test` installs them)"
        );
        GstCamera { child, port }
    }

    /// URL of one of its mounts (`baseline`, `high`, `high-pcmu`, `high-aac`, `h265`).
    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{mount}", self.port)
    }
}

impl Drop for GstCamera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
