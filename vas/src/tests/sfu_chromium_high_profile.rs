//! Scenario (interop, needs `chromium` and `ffmpeg` with libx264 on the PATH): real headless
//! Chromium receives a **High-profile** H.264 stream (profile_idc 100) from the SFU, answered
//! with the Main `profile-level-id` Chromium offered, and decodes it.
//!
//! `make test` installs both; the test fails (never skips) when a tool is missing.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::hub::{Hub, HubConfig};
use crate::media::{Frame, Track, VideoCodec, VideoParams, push_length_prefixed};
use crate::sfu::{Sfu, SfuConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The page: receive-only video, offer → POST /offer → answer, then after a few seconds
/// POST the inbound video stats to /result.
const PAGE: &str = r#"<html><body><video id=v autoplay muted playsinline></video><script>
(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.ontrack = e => { document.getElementById('v').srcObject = new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  const answer = await (await fetch('/offer', {method: 'POST', body: pc.localDescription.sdp})).text();
  await pc.setRemoteDescription({type: 'answer', sdp: answer});
  await new Promise(r => setTimeout(r, 5000));
  const out = {state: pc.connectionState};
  const stats = await pc.getStats();
  stats.forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.framesDecoded = s.framesDecoded; out.width = s.frameWidth; out.codecId = s.codecId;
    }
  });
  stats.forEach(s => { if (s.type === 'codec' && s.id === out.codecId) out.fmtp = s.sdpFmtpLine; });
  await fetch('/result', {method: 'POST', body: JSON.stringify(out)});
})().catch(e => fetch('/result', {method: 'POST', body: JSON.stringify({error: String(e)})}));
</script></body></html>"#;

/// Splits Annex B into NAL units.
fn nal_units(annexb: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annexb.len() {
        if annexb[i..].starts_with(&[0, 0, 1]) {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut e = starts.get(k + 1).map_or(annexb.len(), |n| n - 3);
        while e > s && annexb[e - 1] == 0 {
            e -= 1; // trailing zero of a 4-byte start code
        }
        units.push(&annexb[s..e]);
    }
    units
}

/// Groups NAL units into access units (one slice per picture, as x264 writes by default).
fn access_units(units: &[&[u8]]) -> Vec<(bool, Vec<u8>)> {
    let mut aus = Vec::new();
    let mut cur = Vec::new();
    let mut key = false;
    for u in units {
        let t = u[0] & 0x1f;
        push_length_prefixed(&mut cur, u);
        key |= t == 5;
        if t == 1 || t == 5 {
            aus.push((key, std::mem::take(&mut cur)));
            key = false;
        }
    }
    aus
}

async fn serve(mut s: TcpStream, sfu: Arc<Sfu>, hub: Hub, result: Arc<Mutex<Option<String>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head, body) = loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= len || n == 0 {
                break (head.to_string(), body.to_string());
            }
        }
        if n == 0 {
            return;
        }
    };
    let (kind, reply) = if head.starts_with("POST /offer") {
        match sfu.add_viewer("cam", &hub, &body).await {
            Ok((_, answer)) => ("application/sdp", answer),
            Err(e) => ("text/plain", e.to_string()),
        }
    } else if head.starts_with("POST /result") {
        *result.lock().unwrap() = Some(body);
        ("text/plain", "ok".to_string())
    } else {
        ("text/html", PAGE.to_string())
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
    let _ = s.write_all(response.as_bytes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_decodes_a_high_profile_stream() {
    let _rt = vas_testkit::realtime_lock();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("high.h264");
    let ok = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=size=640x360:rate=30")
        .args([
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-bf",
            "0",
            "-g",
            "30",
        ])
        .args(["-pix_fmt", "yuv420p", "-f", "h264"])
        .arg(&file)
        .status()
        .expect("ffmpeg must be installed for this test");
    assert!(ok.success(), "ffmpeg failed");
    let data = std::fs::read(&file).unwrap();
    let units = nal_units(&data);
    let sps = units.iter().find(|u| u[0] & 0x1f == 7).expect("SPS");
    let pps = units.iter().find(|u| u[0] & 0x1f == 8).expect("PPS");
    assert_eq!(sps[1], 100, "the stream is High profile");
    let params = Arc::new(VideoParams {
        codec: VideoCodec::H264,
        width: 640,
        height: 360,
        vps: None,
        sps: bytes::Bytes::copy_from_slice(sps),
        pps: bytes::Bytes::copy_from_slice(pps),
        rfc6381_codec: "avc1.64001E".into(),
    });
    let aus = access_units(&units);

    let sfu = Arc::new(
        Sfu::start(SfuConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..SfuConfig::default()
        })
        .await
        .unwrap(),
    );
    let hub = Hub::new(HubConfig::default());
    let camera = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(33));
            let mut pts = 0;
            loop {
                for (keyframe, au) in &aus {
                    tick.tick().await;
                    hub.publish(Frame {
                        track: Track::Video(params.clone()),
                        pts,
                        keyframe: *keyframe,
                        data: au.clone().into(),
                        epoch: 0,
                        wallclock: chrono::Utc::now(),
                    });
                    pts += 3000;
                }
            }
        })
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let result: Arc<Mutex<Option<String>>> = Arc::default();
    let web = {
        let (sfu, hub, result) = (sfu.clone(), hub.clone(), result.clone());
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(serve(s, sfu.clone(), hub.clone(), result.clone()));
            }
        })
    };
    let profile = tempfile::tempdir().unwrap();
    let mut chromium_cmd = Command::new("chromium");
    chromium_cmd
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg("--autoplay-policy=no-user-gesture-required")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("http://127.0.0.1:{port}/"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Killed with all its helper processes on drop, also when the test fails.
    let mut chromium = vas_testkit::TestProcess::spawn("chromium", &mut chromium_cmd)
        .expect("chromium must be installed for this test");
    for _ in 0..300 {
        if result.lock().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    chromium.kill_all();
    camera.abort();
    web.abort();
    let result = result.lock().unwrap().clone().expect("the page reported");
    let stats: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(stats["state"], "connected", "{result}");
    assert!(
        stats["framesDecoded"].as_u64().unwrap_or(0) > 60,
        "{result}"
    );
    assert_eq!(stats["width"], 640, "{result}");
    assert!(
        stats["fmtp"]
            .as_str()
            .unwrap_or("")
            .contains("profile-level-id=4d001f"),
        "{result}"
    );
}
