//! The pre-encoded loop: replayed at the frame rate, it decodes cleanly across the loop
//! boundary and its timestamps keep increasing.
use crate::support::{camera, run};
use vas_synth::{CameraConfig, CameraMode};

fn loop_config() -> CameraConfig {
    CameraConfig {
        width: 640,
        height: 360,
        fps: 15,
        gop: 15,
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        ..CameraConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pts_increase_across_the_loop_boundary() {
    let cam = camera(loop_config()).await;
    // 75 packets of a 30-frame loop: well past two loop boundaries.
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-rtsp_transport",
            "tcp",
            "-select_streams",
            "v",
            "-read_intervals",
            "%+#75",
            "-show_entries",
            "frame=pts,key_frame,width,height",
            "-of",
            "csv=p=0",
            &cam.url(),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffprobe failed: {stderr}");
    assert!(
        !stderr.to_lowercase().contains("error"),
        "decoder complained: {stderr}"
    );
    let rows: Vec<(Option<i64>, bool)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // csv fields in ffprobe's own order: key_frame, pts, width, height
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(&f[2..4], ["640", "360"], "{l}");
            (f[1].parse().ok(), f[0] == "1")
        })
        .collect();
    assert!(rows.len() >= 70, "only {} frames: {stderr}", rows.len());
    // ffmpeg's RTSP demuxer leaves the very first packet without a pts (it has nothing to
    // anchor it to yet); every later frame must have one.
    assert!(rows[0].1, "the stream must start at a keyframe");
    let frames: Vec<(i64, bool)> = rows[1..]
        .iter()
        .map(|(pts, key)| {
            (
                pts.unwrap_or_else(|| panic!("a frame after the first has no pts: {rows:?}")),
                *key,
            )
        })
        .collect();
    for w in frames.windows(2) {
        let step = w[1].0 - w[0].0;
        // At 15 fps a frame lasts 6000 ticks of 90 kHz; the loop boundary must not jump back
        // or skip ahead by more than a frame the encoder chose to skip.
        assert!(
            step > 0 && step % 6000 == 0 && step <= 2 * 6000,
            "pts step {step}: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
    // A keyframe every 15 frames: several of them, including the ones at loop boundaries.
    let keys = frames.iter().filter(|f| f.1).count();
    assert!(keys >= 4, "{keys} keyframes in {} frames", frames.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_cameras_share_one_loop_and_all_decode() {
    let started = std::time::Instant::now();
    let mut cams = Vec::new();
    for _ in 0..20 {
        cams.push(camera(loop_config()).await);
    }
    let elapsed = started.elapsed();
    // One 2 s loop at 640x360 encodes in well under a second here; twenty encodes would not.
    assert!(
        elapsed < std::time::Duration::from_secs(10),
        "20 cameras took {elapsed:?} to start"
    );
    for cam in [&cams[0], &cams[19]] {
        let out = run(
            "ffmpeg",
            &[
                "-hide_banner",
                "-nostdin",
                "-rtsp_transport",
                "tcp",
                "-i",
                &cam.url(),
                "-frames:v",
                "40",
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
    }
}
