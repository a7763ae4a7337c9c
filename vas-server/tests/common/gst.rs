//! GStreamer's RTSP server as a third-party camera (see `scripts/gst-rtsp-camera.py`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running GStreamer RTSP server; killed on drop.
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
        let port = vas::testutil::free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/gst-rtsp-camera.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run /usr/bin/python3 (make test installs python3-gi and GStreamer)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "READY",
            "GStreamer RTSP server did not start (needs gir1.2-gst-rtsp-server-1.0, python3-gi, \
             gstreamer1.0-plugins-ugly/bad/libav; `make test` installs them)"
        );
        GstCamera { child, port }
    }

    /// URL of one of its mounts.
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
