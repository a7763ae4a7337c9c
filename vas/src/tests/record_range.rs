//! Reading recorded frames back for a time range, through the engine, with the synthetic
//! camera over real RTSP recorded into short segments and short recordings: the range starts
//! at the last keyframe at or before `from`, ends with the frame showing at `to`, crosses
//! segments and recordings (a new epoch per recording), and ffprobe counts the same video
//! frames in every segment read. Fails (never skips) without ffprobe.
use std::process::Command;
use std::time::{Duration, Instant};

use crate::config::RecorderConfig;
use crate::model::ListQuery;
use crate::model::NewDevice;
use crate::record::ts_read::{ReadOptions, read_segment_bytes};
use crate::{ErrorKind, Vas};
use chrono::TimeDelta;
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

fn ffprobe_video_frames(path: &std::path::Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs (install ffmpeg)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The stream is listed twice (under its program and on its own): take the first.
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("ffprobe said {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_starts_at_a_keyframe_and_crosses_segments_and_recordings() {
    let cam = SyntheticCamera::start(CameraConfig {
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        bind: "127.0.0.1:0".parse().unwrap(),
        ..CameraConfig::default() // 640x360, 15 fps, a keyframe a second
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder()
        .data_dir(dir.path())
        .recorder_config(RecorderConfig {
            target_duration: Duration::from_secs(1),
            chunk_length: Duration::from_secs(3),
            ..RecorderConfig::default()
        })
        .build()
        .await
        .unwrap();
    vas.add_device(NewDevice::new("cam", cam.url()))
        .await
        .unwrap();
    let id = vas.streams(None, crate::Order::Oldest).await.unwrap()[0].id;
    vas.set_recording(id, true).await.unwrap();
    vas.start_stream(id).await.unwrap();

    // Record until two recordings are closed.
    let t = Instant::now();
    let recordings = loop {
        let recs = vas.recordings(ListQuery::stream(id)).await.unwrap();
        if recs.iter().filter(|r| r.end.is_some()).count() >= 2 {
            break recs;
        }
        assert!(t.elapsed() < Duration::from_secs(40), "recorded {recs:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (a, b) = (&recordings[0], &recordings[1]);
    let b_end = b.end.unwrap();
    let from = a.start + TimeDelta::milliseconds(1500);
    let to = b.start + TimeDelta::milliseconds(1200);
    assert!(from < a.end.unwrap() && to < b_end, "{a:?} {b:?}");

    let range = vas.recorded_frames(id, from, to).await.unwrap();
    let frames = &range.frames;
    let first = &frames[0];
    assert!(first.is_video() && first.keyframe, "starts at a keyframe");
    assert!(first.wallclock <= from, "{} > {from}", first.wallclock);
    assert!(
        from - first.wallclock < TimeDelta::milliseconds(1100),
        "the last keyframe"
    );
    assert!(
        !frames[1..]
            .iter()
            .any(|f| f.keyframe && f.is_video() && f.wallclock <= from && f.epoch == 0),
        "no later keyframe at or before from"
    );
    let params = first.video_params().unwrap();
    assert_eq!((params.width, params.height), (640, 360));
    let last = frames.iter().rev().find(|f| f.is_video()).unwrap();
    assert!(last.wallclock <= to);
    assert_eq!(last.epoch, 1, "the second recording is a new epoch");
    assert_eq!(first.epoch, 0);
    assert!(frames.iter().all(|f| f.wallclock <= to));
    let epochs: Vec<u32> = range.segments.iter().map(|s| s.epoch).collect();
    assert!(epochs.windows(2).all(|w| w[0] <= w[1]), "{epochs:?}");
    assert!(range.segments.len() >= 3, "{:?}", range.segments);
    assert!(range.segments.iter().any(|s| s.recording == a.id));
    assert!(range.segments.iter().any(|s| s.recording == b.id));
    // Video times increase within an epoch; wall-clock times never go backwards.
    for w in frames
        .iter()
        .filter(|f| f.is_video())
        .collect::<Vec<_>>()
        .windows(2)
    {
        if w[0].epoch == w[1].epoch {
            assert!(w[1].pts > w[0].pts);
            assert!(w[1].wallclock >= w[0].wallclock);
        }
    }

    // Every segment read, whole: ffprobe counts the same video frames; its first frame is a
    // keyframe at the segment's start; and the range is a run of these frames.
    let mut all = Vec::new();
    for seg in &range.segments {
        let bytes = std::fs::read(&seg.path).unwrap();
        let whole = read_segment_bytes(&bytes, seg.start, &ReadOptions::default()).unwrap();
        let video = whole.iter().filter(|f| f.is_video()).count() as u64;
        assert_eq!(
            video,
            ffprobe_video_frames(&seg.path),
            "{}",
            seg.path.display()
        );
        assert!(whole[0].keyframe && whole[0].wallclock == seg.start);
        all.extend(whole.into_iter().map(|f| (seg.epoch, f)));
    }
    let at = all
        .iter()
        .position(|(e, f)| *e == first.epoch && f.pts == first.pts && f.is_video())
        .expect("the first frame is in the first segment");
    for (i, f) in frames.iter().enumerate() {
        let (epoch, g) = &all[at + i];
        assert_eq!(
            (*epoch, g.pts, &g.data),
            (f.epoch, f.pts, &f.data),
            "frame {i}"
        );
    }
    // The frame after the range's last video frame shows after `to` (it is the one showing
    // at `to`).
    let next = all[at + frames.len()..]
        .iter()
        .find(|(_, f)| f.is_video())
        .expect("the last segment goes on past to");
    assert!(next.1.wallclock > to);
    let video = frames.iter().filter(|f| f.is_video()).count();
    eprintln!(
        "range: {video} video frames from {} segments, {} bytes read",
        range.segments.len(),
        range.bytes_read
    );

    // Nothing recorded at `from`; a backwards range.
    let e = vas
        .recorded_frames(id, a.start - TimeDelta::seconds(60), a.start)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = vas.recorded_frames(id, to, from).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // One instant: its keyframe through the frame showing then.
    let one = vas.recorded_frames(id, from, from).await.unwrap();
    assert!(one.frames[0].keyframe && one.frames.len() <= 16);
    vas.close().await;
}
