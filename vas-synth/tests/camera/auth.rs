//! Authentication on the synthetic camera: without credentials clients get 401 with Digest and
//! Basic challenges; ffmpeg with `rtsp://u:p@…` gets in; Basic and Digest both work by hand.
use crate::support::{RawClient, camera, probe, streams};
use base64::Engine as _;
use md5::{Digest as _, Md5};
use vas_synth::{CameraConfig, Credentials};

async fn protected() -> vas_synth::SyntheticCamera {
    camera(CameraConfig {
        credentials: Some(Credentials::new("u", "p")),
        ..CameraConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_without_credentials_fails_and_with_them_succeeds() {
    let cam = protected().await;
    let url = cam.url();
    assert!(
        !url.contains('@'),
        "url() must not carry credentials: {url}"
    );

    let (out, json) = probe(&url, "tcp").await;
    assert!(!out.status.success(), "ffprobe got in without credentials");
    assert!(streams(&json).is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401"),
        "expected a 401 from the camera: {stderr}"
    );

    let with = url.replacen("rtsp://", "rtsp://u:p@", 1);
    let (out, json) = probe(&with, "tcp").await;
    assert!(
        out.status.success(),
        "ffprobe with credentials failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let video = streams(&json)
        .into_iter()
        .find(|s| s["codec_type"] == "video")
        .expect("video");
    assert_eq!(video["codec_name"], "h264");

    let wrong = url.replacen("rtsp://", "rtsp://u:nope@", 1);
    let (out, _) = probe(&wrong, "tcp").await;
    assert!(!out.status.success(), "a wrong password got in");
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn challenge_basic_and_digest_by_hand() {
    let cam = protected().await;
    let url = cam.url();
    let mut c = RawClient::connect(cam.local_addr()).await;

    // Every method is protected, OPTIONS included.
    let r = c.request("OPTIONS", &url, &[]).await;
    assert_eq!(r.status, 401);
    let r = c.request("DESCRIBE", &url, &[]).await;
    assert_eq!(r.status, 401);
    let challenges = r.all("WWW-Authenticate");
    assert_eq!(challenges.len(), 2, "{r:?}");
    assert!(challenges[0].starts_with("Digest "), "{challenges:?}");
    assert!(challenges[1].starts_with("Basic "), "{challenges:?}");

    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:p")
    );
    let r = c
        .request("DESCRIBE", &url, &[("Authorization", &basic)])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(String::from_utf8_lossy(&r.body).contains("H264/90000"));
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:x")
    );
    assert_eq!(
        c.request("DESCRIBE", &url, &[("Authorization", &bad)])
            .await
            .status,
        401
    );

    // Digest per RFC 2617 without qop, as ffmpeg and most cameras do it.
    let param = |name: &str| {
        let d = challenges[0];
        let start = d.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        d[start..start + d[start..].find('"').unwrap()].to_owned()
    };
    let (realm, nonce) = (param("realm"), param("nonce"));
    let ha1 = md5_hex(&format!("u:{realm}:p"));
    let ha2 = md5_hex(&format!("DESCRIBE:{url}"));
    let response = md5_hex(&format!("{ha1}:{nonce}:{ha2}"));
    let digest = format!(
        "Digest username=\"u\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{url}\", response=\"{response}\""
    );
    let r = c
        .request("DESCRIBE", &url, &[("Authorization", &digest)])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // The same digest is bound to DESCRIBE; it does not authorise another method.
    let r = c
        .request("OPTIONS", &url, &[("Authorization", &digest)])
        .await;
    assert_eq!(r.status, 401);
}
