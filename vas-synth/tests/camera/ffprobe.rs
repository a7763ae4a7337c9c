//! The synthetic camera as ffprobe and ffmpeg see it: H.264 640x360 over RTSP with RTP over
//! TCP and over UDP, decoding cleanly, with the PCMU track when audio is on.
use crate::support::{camera, probe, run, streams};
use vas_synth::CameraConfig;

fn config_640x360() -> CameraConfig {
    CameraConfig {
        width: 640,
        height: 360,
        fps: 15,
        ..CameraConfig::default()
    }
}

fn assert_h264_640x360(json: &serde_json::Value, out: &std::process::Output) {
    let s = streams(json);
    let video = s
        .iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap_or_else(|| {
            panic!(
                "no video stream; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(video["width"], 640);
    assert_eq!(video["height"], 360);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_over_tcp_sees_h264_640x360() {
    let cam = camera(config_640x360()).await;
    let (out, json) = probe(&cam.url(), "tcp").await;
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_h264_640x360(&json, &out);
    assert!(cam.frames_sent() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_over_udp_sees_h264_640x360() {
    let cam = camera(config_640x360()).await;
    let (out, json) = probe(&cam.url(), "udp").await;
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_h264_640x360(&json, &out);
    assert!(cam.frames_sent() > 0);
}

async fn decode_30_frames(transport: &str) {
    let cam = camera(config_640x360()).await;
    let url = cam.url();
    let out = run(
        "ffmpeg",
        &[
            "-hide_banner",
            "-nostdin",
            "-rtsp_transport",
            transport,
            "-i",
            &url,
            "-frames:v",
            "30",
            "-f",
            "null",
            "-",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffmpeg failed: {stderr}");
    assert!(
        !stderr.to_lowercase().contains("error"),
        "decoder complained: {stderr}"
    );
    assert!(
        stderr.contains("frame=   30") || stderr.contains("frame=30"),
        "did not decode 30 frames: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_30_frames_over_tcp_without_errors() {
    decode_30_frames("tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_30_frames_over_udp_without_errors() {
    decode_30_frames("udp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_track_is_pcmu_8k_mono() {
    let cam = camera(CameraConfig {
        audio: true,
        ..config_640x360()
    })
    .await;
    let (out, json) = probe(&cam.url(), "tcp").await;
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_h264_640x360(&json, &out);
    let s = streams(&json);
    let audio = s
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .expect("an audio stream");
    assert_eq!(audio["codec_name"], "pcm_mulaw");
    assert_eq!(audio["sample_rate"], "8000");
    assert_eq!(audio["channels"], 1);
}
