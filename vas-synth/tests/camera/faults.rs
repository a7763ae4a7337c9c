//! The synthetic camera's fault controls and RTP details, seen by a raw RTSP client:
//! stream start, sender reports, freeze, resolution change, stop and restart, session count.
use std::time::Duration;

use crate::support::{RawClient, camera, h264_type, probe, rtp, streams};
use vas_synth::CameraConfig;

const SPS: u8 = 7;
const PPS: u8 = 8;
const IDR: u8 = 5;
const WAIT: Duration = Duration::from_secs(10);

/// Waits until `f` holds, polling; panics with `what` after `WAIT`.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The SPS payload of the next keyframe on channel 0 (skipping anything before it).
async fn next_sps(c: &mut RawClient) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let p = c.next_on(0, left).await.expect("a keyframe arrives");
        let (_, _, _, _, payload) = rtp(&p);
        if h264_type(payload) == SPS {
            return payload.to_vec();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_starts_with_sps_pps_idr_and_follows_rtp_info() {
    let cam = camera(CameraConfig::default()).await;
    let url = cam.url();
    let mut c = RawClient::connect(cam.local_addr()).await;
    let options = c.request("OPTIONS", &url, &[]).await;
    assert_eq!(options.status, 200);
    assert!(options.header("Public").unwrap().contains("GET_PARAMETER"));
    let d = c.request("DESCRIBE", &url, &[]).await;
    let sdp = String::from_utf8(d.body.clone()).unwrap();
    assert!(
        sdp.contains("packetization-mode=1") && sdp.contains("sprop-parameter-sets="),
        "{sdp}"
    );
    assert_eq!(d.header("Content-Base"), Some(format!("{url}/").as_str()));
    let s = c
        .request(
            "SETUP",
            &format!("{url}/trackID=0"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        )
        .await;
    assert_eq!(s.status, 200);
    let session = s.header("Session").unwrap();
    assert!(session.contains(";timeout="), "{session}");
    let transport = s.header("Transport").unwrap();
    assert!(
        transport.contains("interleaved=0-1") && transport.contains("ssrc="),
        "{transport}"
    );
    assert_eq!(cam.session_count(), 1);

    let play = c.request("PLAY", &url, &[]).await;
    assert_eq!(play.status, 200);
    let info = play.header("RTP-Info").unwrap().to_owned();
    let seq: u16 = info
        .split("seq=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let rtptime: u32 = info
        .split("rtptime=")
        .nth(1)
        .unwrap()
        .split([';', ','])
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // The first packets: SPS, PPS, then the IDR, with the RTP-Info sequence number.
    let mut packets = Vec::new();
    while packets.len() < 40 {
        packets.push(c.next_on(0, WAIT).await.expect("video packets"));
    }
    let first = rtp(&packets[0]);
    assert_eq!(
        first.1, seq,
        "first packet's sequence number must match RTP-Info"
    );
    assert!(
        first.2.wrapping_sub(rtptime) < 90_000,
        "first timestamp is near RTP-Info's rtptime"
    );
    let types: Vec<u8> = packets.iter().map(|p| h264_type(rtp(p).4)).collect();
    assert_eq!(&types[..3], &[SPS, PPS, IDR], "{types:?}");
    let ssrc = first.3;
    let mut frames = 0;
    for w in packets.windows(2) {
        let (a, b) = (rtp(&w[0]), rtp(&w[1]));
        assert_eq!(b.1, a.1.wrapping_add(1), "sequence numbers are consecutive");
        assert_eq!(b.3, ssrc);
        if a.0 {
            // After a marker, a new frame with a later timestamp (one frame at 15 fps, or more
            // if the encoder skipped one).
            frames += 1;
            let step = b.2.wrapping_sub(a.2);
            assert!(
                step > 0 && step % 6000 == 0 && step <= 12_000,
                "timestamp step {step}"
            );
        } else {
            assert_eq!(a.2, b.2, "packets of one frame share a timestamp");
        }
    }
    assert!(frames >= 5, "only {frames} frames in 40 packets");
    assert!(cam.frames_sent() >= 5);

    // A sender report arrives on the RTCP channel soon after PLAY.
    let sr = c.next_on(1, WAIT).await.expect("an RTCP sender report");
    assert_eq!(sr[1], 200, "RTCP packet type SR");
    assert_eq!(u32::from_be_bytes(sr[4..8].try_into().unwrap()), ssrc);

    let r = c.request("GET_PARAMETER", &url, &[]).await;
    assert_eq!(r.status, 200);
    let r = c.request("TEARDOWN", &url, &[]).await;
    assert_eq!(r.status, 200);
    eventually("the session to end after TEARDOWN", || {
        cam.session_count() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_camera_keeps_sessions_but_sends_nothing() {
    let cam = camera(CameraConfig::default()).await;
    let url = cam.url();
    let mut c = RawClient::connect(cam.local_addr()).await;
    c.play_tcp(&url).await;
    next_sps(&mut c).await;

    cam.set_frozen(true);
    assert!(cam.is_frozen());
    // Drain what was in flight, then silence.
    while c
        .next_interleaved(Duration::from_millis(500))
        .await
        .is_some()
    {}
    let sent = cam.frames_sent();
    assert!(
        c.next_interleaved(Duration::from_millis(1500))
            .await
            .is_none(),
        "media arrived from a frozen camera"
    );
    assert_eq!(cam.frames_sent(), sent);
    assert_eq!(cam.session_count(), 1, "the session stays while frozen");
    assert_eq!(
        c.request("GET_PARAMETER", &url, &[]).await.status,
        200,
        "RTSP still answers"
    );

    cam.set_frozen(false);
    let p = c.next_on(0, WAIT).await.expect("media resumes");
    assert_eq!(h264_type(rtp(&p).4), SPS, "media resumes at a keyframe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolution_change_sends_new_parameter_sets_in_band() {
    let cam = camera(CameraConfig::default()).await;
    let url = cam.url();
    let mut c = RawClient::connect(cam.local_addr()).await;
    c.play_tcp(&url).await;
    let before = next_sps(&mut c).await;

    cam.set_resolution(320, 240).await.unwrap();
    assert_eq!(cam.resolution(), (320, 240));
    let after = next_sps(&mut c).await;
    assert_ne!(before, after, "the SPS must change with the resolution");

    let (out, json) = probe(&url, "tcp").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let video = streams(&json)
        .into_iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap();
    assert_eq!(
        (video["width"].as_i64(), video["height"].as_i64()),
        (Some(320), Some(240))
    );

    assert!(
        cam.set_resolution(321, 240).await.is_err(),
        "odd sizes are refused"
    );
    assert!(
        cam.set_resolution(8000, 240).await.is_err(),
        "oversized pictures are refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_everything_and_restart_reuses_the_port() {
    let cam = camera(CameraConfig::default()).await;
    let url = cam.url();
    let addr = cam.local_addr();
    let mut a = RawClient::connect(addr).await;
    a.play_tcp(&url).await;
    let mut b = RawClient::connect(addr).await;
    b.play_tcp(&url).await;
    assert_eq!(cam.session_count(), 2);

    cam.stop().await;
    assert!(!cam.is_running().await);
    assert_eq!(cam.session_count(), 0);
    // The client sees the connection end (after whatever was already in flight).
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.next_interleaved(Duration::from_secs(1)).await.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "connection still delivering after stop"
        );
    }
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port still accepts after stop"
    );
    cam.stop().await; // twice is harmless

    cam.restart().await.unwrap();
    assert_eq!(cam.local_addr(), addr);
    let mut c = RawClient::connect(addr).await;
    c.play_tcp(&url).await;
    next_sps(&mut c).await;
    assert_eq!(cam.session_count(), 1);
    cam.restart().await.unwrap(); // restarting a running camera changes nothing
    assert_eq!(cam.session_count(), 1);

    drop(c);
    eventually("the session to end when its client disconnects", || {
        cam.session_count() == 0
    })
    .await;
}
