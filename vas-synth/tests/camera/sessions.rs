//! Many clients at once, clients that never read, and clients that send garbage: the camera
//! keeps serving everyone else, answers nonsense with a clear 4xx, and never falls over.
use std::time::Duration;

use crate::support::{RawClient, camera, h264_type, rtp, run};
use tokio::io::AsyncReadExt;
use vas_synth::{CameraConfig, CameraMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_stall_the_others() {
    // A high bitrate fills the stalled client's socket buffers quickly.
    let cam = camera(CameraConfig {
        bitrate_bps: 8_000_000,
        fps: 30,
        gop: 30,
        ..CameraConfig::default()
    })
    .await;
    let url = cam.url();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(cam.local_addr()).await.unwrap();
    let mut stalled = RawClient::from_stream(stream);
    stalled.play_tcp(&url).await;
    // From here on the stalled client reads nothing.

    tokio::time::sleep(Duration::from_secs(4)).await;
    let out = run(
        "ffmpeg",
        &[
            "-hide_banner",
            "-nostdin",
            "-rtsp_transport",
            "tcp",
            "-i",
            &url,
            "-frames:v",
            "60",
            "-f",
            "null",
            "-",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ffmpeg failed next to a stalled client: {stderr}"
    );
    assert!(
        !stderr.to_lowercase().contains("error"),
        "decoder complained: {stderr}"
    );
    // The stalled session is still there, and RTSP on another connection answers promptly.
    assert_eq!(cam.session_count(), 1);
    let mut probe = RawClient::connect(cam.local_addr()).await;
    let started = std::time::Instant::now();
    assert_eq!(probe.request("DESCRIBE", &url, &[]).await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    // Once the stalled client reads again, it gets what was queued before the stall, then a
    // jump forward in time to a keyframe: frames were dropped whole (no sequence gap), never
    // queued without bound, and the stream stays decodable.
    let mut last: Option<(u16, u32, bool)> = None;
    let mut recovered = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !recovered && tokio::time::Instant::now() < deadline {
        let Some(p) = stalled.next_on(0, Duration::from_secs(5)).await else {
            break;
        };
        let (marker, seq, ts, _, payload) = rtp(&p);
        if let Some((prev_seq, prev_ts, prev_marker)) = last {
            assert_eq!(
                seq,
                prev_seq.wrapping_add(1),
                "dropped frames leave no sequence gap"
            );
            let jump = ts.wrapping_sub(prev_ts);
            // 30 fps is 3000 ticks a frame; a jump of ten frames or more means frames were
            // skipped for this client, and the first packet after it must start a keyframe.
            if (10 * 3000..u32::MAX / 2).contains(&jump) {
                assert!(prev_marker, "a frame was cut in the middle");
                assert_eq!(
                    h264_type(payload),
                    7,
                    "after skipping, delivery resumes at a keyframe"
                );
                recovered = true;
            }
        }
        last = Some((seq, ts, marker));
    }
    assert!(
        recovered,
        "the stalled client never skipped ahead to a keyframe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sessions_each_get_a_keyframe() {
    let cam = camera(CameraConfig {
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        ..CameraConfig::default()
    })
    .await;
    let url = cam.url();
    let mut clients = Vec::new();
    for _ in 0..50 {
        let mut c = RawClient::connect(cam.local_addr()).await;
        c.play_tcp(&url).await;
        clients.push(c);
    }
    assert_eq!(cam.session_count(), 50);
    let mut tasks = Vec::new();
    for mut c in clients {
        tasks.push(tokio::spawn(async move {
            let p = c.next_on(0, Duration::from_secs(10)).await.expect("video");
            assert_eq!(
                h264_type(rtp(&p).4),
                7,
                "every session starts at a keyframe"
            );
            c
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    assert!(cam.frames_sent() >= 50);
    drop(clients);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cam.session_count() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sessions linger after clients left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `bytes` on a fresh connection and returns what comes back until the server closes.
async fn answer_to(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut c = RawClient::connect(addr).await;
    c.send_raw(bytes).await;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), c.stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection after garbage")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn garbage_gets_a_clear_error_and_the_camera_keeps_serving() {
    let cam = camera(CameraConfig::default()).await;
    let addr = cam.local_addr();
    let url = cam.url();

    assert!(
        answer_to(addr, b"hello there\r\n\r\n")
            .await
            .starts_with("RTSP/1.0 400 ")
    );
    assert!(
        answer_to(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .starts_with("RTSP/1.0 400 ")
    );
    assert!(
        answer_to(addr, b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n")
            .await
            .starts_with("RTSP/1.0 505 ")
    );
    let huge = vec![b'A'; 64 * 1024];
    assert!(answer_to(addr, &huge).await.starts_with("RTSP/1.0 413 "));
    let binary: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let reply = answer_to(addr, &binary).await;
    assert!(
        reply.is_empty() || reply.starts_with("RTSP/1.0 4"),
        "{reply}"
    );

    // Well-formed requests the camera cannot honour get the right status, and the
    // connection stays usable.
    let mut c = RawClient::connect(addr).await;
    assert_eq!(
        c.request("DESCRIBE", &format!("{url}/nope"), &[])
            .await
            .status,
        404
    );
    let other = url.replace("/synthetic", "/other");
    assert_eq!(c.request("DESCRIBE", &other, &[]).await.status, 404);
    assert_eq!(c.request("ANNOUNCE", &url, &[]).await.status, 501);
    assert_eq!(
        c.request("PLAY", &url, &[]).await.status,
        454,
        "PLAY without SETUP"
    );
    let multicast = [("Transport", "RTP/AVP;multicast")];
    assert_eq!(
        c.request("SETUP", &format!("{url}/trackID=0"), &multicast)
            .await
            .status,
        461
    );
    let no_audio = [("Transport", "RTP/AVP/TCP;interleaved=2-3")];
    assert_eq!(
        c.request("SETUP", &format!("{url}/trackID=1"), &no_audio)
            .await
            .status,
        404,
        "no audio track"
    );
    assert_eq!(
        c.request("GET_PARAMETER", &url, &[("Session", "NOSUCHSESSION")])
            .await
            .status,
        454
    );
    c.send_raw(b"OPTIONS * RTSP/1.0\r\n\r\n").await;
    assert_eq!(
        c.response().await.expect("a response").status,
        400,
        "a request without CSeq"
    );
    assert_eq!(c.request("OPTIONS", &url, &[]).await.status, 200);
    c.play_tcp(&url).await;
    assert!(c.next_on(0, Duration::from_secs(10)).await.is_some());
}
