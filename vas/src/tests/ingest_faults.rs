//! Device faults over real sockets, each its own scenario: every one ends in a clear state and
//! error, is retried by policy, and never panics or leaves a task behind.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::StreamId;
use crate::camera_url::CameraUrl;
use crate::clock::SystemClock;
use crate::events::{EventBus, EventSubscription};
use crate::hub::{Hub, HubConfig};
use crate::ingest::supervisor::{IngestContext, IngestTask};
use crate::ingest::{BackoffPolicy, CameraTarget, IngestConfig, RtpTransport, RtspSource};
use crate::model::{StreamState, StreamStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Fast policy so each scenario takes seconds.
fn config() -> IngestConfig {
    IngestConfig {
        connect_timeout: Duration::from_secs(2),
        stall_timeout: Duration::from_secs(2),
        backoff: BackoffPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
            persistent_error_delay: Duration::from_secs(1),
            stable_period: Duration::from_secs(1),
            ..Default::default()
        },
        transport: RtpTransport::Tcp,
    }
}

struct Scenario {
    task: Option<IngestTask>,
    status: Arc<Mutex<StreamStatus>>,
    events: EventSubscription,
}

fn ingest(url: &str) -> Scenario {
    let events = EventBus::default();
    let rx = events.subscribe();
    let status = Arc::new(Mutex::new(StreamStatus::default()));
    let (url, credentials) = CameraUrl::parse(url).unwrap();
    let ctx = IngestContext {
        stream: StreamId::new(),
        target: CameraTarget {
            url,
            credentials,
            transport: RtpTransport::Tcp,
        },
        source: Arc::new(RtspSource::default()),
        hub: Hub::new(HubConfig::default()),
        status: status.clone(),
        timeline: Default::default(),
        events,
        clock: Arc::new(SystemClock),
        config: config(),
    };
    Scenario {
        task: Some(IngestTask::spawn(ctx)),
        status,
        events: rx,
    }
}

impl Scenario {
    /// Waits for the first state in `states`, returning it with its error.
    async fn until(&mut self, states: &[StreamState]) -> (StreamState, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = tokio::time::timeout(left, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("none of {states:?} within 20 s"))
                .unwrap();
            let crate::Event::StreamState { state, error, .. } = ev else {
                continue;
            };
            if states.contains(&state) {
                return (state, error.unwrap_or_default());
            }
        }
    }

    async fn stop(mut self) -> StreamStatus {
        let t = Instant::now();
        self.task.take().unwrap().stop().await;
        assert!(t.elapsed() < Duration::from_secs(2), "stop is prompt");
        let st = self.status.lock().unwrap().clone();
        assert_eq!(st.state, StreamState::Stopped);
        st
    }
}

/// A TCP server that does `behave` with every connection; counts connections.
async fn fake_server<F, Fut>(behave: F) -> (u16, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(behave(sock));
        }
    });
    (port, count)
}

/// Reads one RTSP request (up to the blank line) and returns its CSeq.
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.ok()? == 0 || buf.len() > 8192 {
            return None;
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf);
    text.lines()
        .find_map(|l| l.strip_prefix("CSeq: ").map(|v| v.trim().to_owned()))
}

#[tokio::test]
async fn refused_port_reconnects_with_a_clear_error() {
    let port = vas_testkit::free_port();
    let mut s = ingest(&format!("rtsp://127.0.0.1:{port}/x"));
    let (state, error) = s.until(&[StreamState::Reconnecting]).await;
    assert_eq!(state, StreamState::Reconnecting);
    assert!(error.contains("DESCRIBE failed"), "{error}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let st = s.stop().await;
    assert!(st.reconnects >= 2, "retried by policy: {}", st.reconnects);
}

#[tokio::test]
async fn unreachable_host_times_out_and_retries() {
    // TEST-NET-1 (RFC 5737): never routed, so the attempt hangs or fails fast.
    let mut s = ingest("rtsp://192.0.2.1:554/x");
    let (state, error) = s.until(&[StreamState::Reconnecting]).await;
    assert_eq!(state, StreamState::Reconnecting, "{error}");
    assert!(!error.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn garbage_speaking_server_is_a_clear_error() {
    let (port, count) = fake_server(|mut sock| async move {
        let _ = read_request(&mut sock).await;
        let _ = sock
            .write_all(b"\x00\xffHELLO I AM NOT RTSP\r\n\r\n\x01\x02")
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    let mut s = ingest(&format!("rtsp://127.0.0.1:{port}/x"));
    let (_, error) = s
        .until(&[StreamState::Reconnecting, StreamState::Failed])
        .await;
    assert!(error.contains("DESCRIBE failed"), "{error}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    s.stop().await;
    assert!(count.load(Ordering::SeqCst) >= 2, "retried");
}

#[tokio::test]
async fn server_closing_mid_describe_is_a_clear_error() {
    let (port, _) = fake_server(|mut sock| async move {
        let _ = read_request(&mut sock).await;
        let _ = sock
            .write_all(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Len")
            .await;
        // Hang up halfway through the response.
    })
    .await;
    let mut s = ingest(&format!("rtsp://127.0.0.1:{port}/x"));
    let (state, error) = s
        .until(&[StreamState::Reconnecting, StreamState::Failed])
        .await;
    assert_eq!(state, StreamState::Reconnecting, "{error}");
    assert!(error.contains("DESCRIBE failed"), "{error}");
    s.stop().await;
}

#[tokio::test]
async fn unauthorized_loop_fails_and_backs_off() {
    let (port, count) = fake_server(|mut sock| async move {
        while let Some(cseq) = read_request(&mut sock).await {
            let resp = format!(
                "RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n\
                 WWW-Authenticate: Digest realm=\"cam\", nonce=\"abc123\"\r\n\r\n"
            );
            if sock.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut s = ingest(&format!("rtsp://admin:wrong-pass-77@127.0.0.1:{port}/x"));
    let (state, error) = s.until(&[StreamState::Failed]).await;
    assert_eq!(state, StreamState::Failed);
    assert!(error.contains("rejected the credentials"), "{error}");
    assert!(!error.contains("wrong-pass-77"));
    let at_fail = count.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let later = count.load(Ordering::SeqCst);
    // The persistent-error floor (1 s here) keeps it from hammering the camera.
    assert!(
        later - at_fail <= 3,
        "{} connections in 2.5 s",
        later - at_fail
    );
    s.stop().await;
}
