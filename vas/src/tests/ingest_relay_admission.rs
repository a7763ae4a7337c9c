//! Only the engine's own RTSP client can use a camera relay. Local processes that connect to
//! the relay before it — one silent, one guessing the camera's path with a Digest header for
//! the relay to sign, one with a wrong secret — are closed without an answer, the refusals
//! are logged without the secret, and the engine's session with a Digest-protected camera
//! still comes up and plays. Once it is in, the relay listens no more.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::log_support::LogCapture;
use crate::camera_url::CameraUrl;
use crate::ingest::guard::Limits;
use crate::ingest::relay::{self, SECRET_BYTES};
use crate::ingest::{CameraTarget, RtpTransport, RtspSource};
use crate::media::Track;
use vas_synth::{CameraConfig, CameraMode, Credentials, SyntheticCamera};

/// How long anything in this scenario may take.
const LIMIT: Duration = Duration::from_secs(10);
/// Video frames the engine's session must deliver.
const FRAMES: usize = 30;

/// Reads from `s` until it closes; returns what it sent first. Fails if it stays open.
async fn closed(s: &mut TcpStream, who: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => panic!("{who}: still connected after {LIMIT:?}"),
            Ok(Ok(0) | Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn local_clients_that_connect_first_are_refused_and_the_camera_still_plays() {
    let (log, _log_guard) = LogCapture::start();
    let camera = SyntheticCamera::start(CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        credentials: Some(Credentials::new("admin", "camera-password")),
        ..CameraConfig::default()
    })
    .await
    .unwrap();
    let port = camera.local_addr().port();
    let (url, credentials) = CameraUrl::parse(&format!(
        "rtsp://admin:camera-password@127.0.0.1:{port}/synthetic"
    ))
    .unwrap();
    let target = CameraTarget {
        url,
        credentials,
        transport: RtpTransport::Tcp,
    };
    let relay = relay::open(&target, Limits::default()).await.unwrap();
    let relay_port = relay.url.port().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], relay_port));
    let secret = relay
        .url
        .path_segments()
        .and_then(|mut s| s.next())
        .unwrap()
        .to_owned();
    assert_eq!(
        secret.len(),
        2 * SECRET_BYTES,
        "the relay URL carries the secret"
    );

    // Three local processes get there first.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut guesser = TcpStream::connect(addr).await.unwrap();
    let guessed = format!("rtsp://127.0.0.1:{relay_port}/synthetic");
    guesser
        .write_all(
            format!(
                "DESCRIBE {guessed} RTSP/1.0\r\nCSeq: 1\r\nAuthorization: Digest \
                 username=\"admin\", realm=\"VAS synthetic camera\", nonce=\"0\", \
                 uri=\"{guessed}\", response=\"00000000000000000000000000000000\"\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut wrong = TcpStream::connect(addr).await.unwrap();
    let wrong_secret = "0".repeat(2 * SECRET_BYTES);
    wrong
        .write_all(
            format!(
                "OPTIONS rtsp://127.0.0.1:{relay_port}/{wrong_secret}/synthetic RTSP/1.0\r\n\
                 CSeq: 1\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    assert!(
        closed(&mut guesser, "the guesser").await.is_empty(),
        "the guesser got an answer"
    );
    assert!(
        closed(&mut wrong, "the wrong secret").await.is_empty(),
        "a wrong secret got an answer"
    );

    // The engine's client comes after them and plays.
    let mut conn = RtspSource::default()
        .play(&target, relay)
        .await
        .unwrap_or_else(|e| panic!("the engine's session did not come up: {e}"));
    let started = Instant::now();
    let mut video = 0;
    while video < FRAMES {
        assert!(started.elapsed() < LIMIT, "{video} frames in {LIMIT:?}");
        let frame = tokio::time::timeout(LIMIT, conn.next_frame())
            .await
            .expect("a frame")
            .unwrap()
            .expect("the session goes on");
        video += usize::from(matches!(frame.track, Track::Video(_)));
    }

    // The silent one was closed (not logged: it said nothing) when the engine's client was
    // admitted, and the door is shut.
    assert!(closed(&mut silent, "the silent client").await.is_empty());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the relay still listens after admitting its client"
    );

    let text = log.text();
    assert_eq!(
        text.matches("refused a local connection that did not present the relay's secret")
            .count(),
        2,
        "{text}"
    );
    assert!(!text.contains(&secret), "the secret was logged:\n{text}");
    assert!(!text.contains("camera-password"), "{text}");
    drop(conn);
}
