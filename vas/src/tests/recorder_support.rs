//! Shared helpers for the recorder, recovery and retention scenarios: real H.264 + AAC media
//! encoded by ffmpeg and turned into hub frames, a test environment (media folder, SQLite
//! store with a camera, hub, filesystem seam, simulated clock), feeding a hub at a pace the
//! recorder can follow, and checks of what ended up on disk with ffmpeg and ffprobe.
//!
//! Every check uses the real tools; a missing ffmpeg or ffprobe fails the test.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::clock::SimulatedClock;
use crate::hub::{Hub, HubConfig};
use crate::media::{Frame, Track, VideoCodec};
use crate::model::ListQuery;
use crate::model::{
    DesiredState, DeviceId, DeviceRow, Recording, StreamId, StreamProfile, StreamRow,
};
use crate::record::SegmentWriter;
use crate::record::fs::{FaultFs, MediaFs};
use crate::record::layout::MediaLayout;
use crate::record::playlist::MediaPlaylist;
use crate::record::recorder::{Recorder, RecorderConfig, RecorderStatus, RecorderTask};
use crate::store::Store;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::tests::record_support::{
    AAC_FRAME_TICKS, EncodedMedia, FRAME_TICKS, decode_errors, encode_media, ffprobe_json,
    require_tool,
};

/// Seconds of media encoded once per test binary.
pub const MEDIA_SECS: usize = 12;
/// Video frames per second of that media (keyframe every second).
pub const FPS: usize = 25;
/// One video frame in seconds.
pub const FRAME_SECS: f64 = FRAME_TICKS as f64 / 90_000.0;
/// How long tests wait for the recorder to catch up before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// The test media: 320×180 H.264 (Main, keyframe every second, no B-frames) and AAC.
pub type Media = EncodedMedia;

/// The test media, encoded by ffmpeg on first use.
pub fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(|| {
        require_tool("ffprobe");
        let m = encode_media(
            VideoCodec::H264,
            MEDIA_SECS,
            (320, 180),
            FPS,
            &["-profile:v", "main", "-g", "25", "-bf", "0"],
        );
        assert_eq!(m.video.len(), MEDIA_SECS * FPS, "access units encoded");
        m
    })
}

/// Wall-clock time of the start of every test's media.
pub fn t0() -> DateTime<Utc> {
    "2026-04-05T06:07:08Z".parse().expect("valid time")
}

/// Frames of the test media from video frame `from` (a keyframe) to `to` (exclusive), as a
/// camera connection would deliver them: epoch `epoch`, the first frame at `pts` and
/// `wallclock`, audio interleaved by time (video first on ties).
pub fn frames(
    from: usize,
    to: usize,
    epoch: u32,
    pts: i64,
    wallclock: DateTime<Utc>,
    with_audio: bool,
) -> Vec<Frame> {
    let m = media();
    assert!(m.video[from].1, "runs start at a keyframe");
    let at = |ticks: i64| wallclock + chrono::Duration::microseconds(ticks * 1000 / 90);
    let mut out = Vec::new();
    let first_audio = from * FRAME_TICKS as usize / AAC_FRAME_TICKS as usize;
    let mut a = first_audio;
    for v in from..to {
        let vt = (v - from) as i64 * FRAME_TICKS;
        while with_audio && a < m.audio.len() {
            let t = (a - first_audio) as i64 * AAC_FRAME_TICKS;
            if t >= vt {
                break;
            }
            out.push(Frame {
                track: Track::Audio(m.audio_params.clone()),
                pts: pts + t,
                keyframe: true,
                data: m.audio[a].clone(),
                epoch,
                wallclock: at(t),
            });
            a += 1;
        }
        out.push(Frame {
            track: Track::Video(m.video_params.clone()),
            pts: pts + vt,
            keyframe: m.video[v].1,
            data: m.video[v].0.clone(),
            epoch,
            wallclock: at(vt),
        });
    }
    out
}

/// A media folder, an SQLite store with one camera stream, a hub, a fault-injecting
/// filesystem (faultless until told), a simulated clock and a segment writer for its
/// recorders.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub layout: MediaLayout,
    pub store: Arc<dyn Store>,
    pub stream: StreamId,
    pub hub: Hub,
    pub fs: FaultFs,
    pub clock: SimulatedClock,
    pub writer: SegmentWriter,
}

impl Env {
    /// A fresh environment; `ring_frames` bounds the hub (large: the recorder never lags).
    pub async fn new(ring_frames: usize) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let media = dir.path().join("media");
        std::fs::create_dir_all(&media).expect("media folder");
        let url = format!("sqlite://{}/vas.db", dir.path().display());
        let store = crate::store::open(&url).await.expect("open store");
        let stream = add_camera(&*store, "door").await;
        Env {
            layout: MediaLayout::new(&media),
            fs: FaultFs::new(&media),
            dir,
            store,
            stream,
            hub: Hub::new(HubConfig {
                ring_frames,
                ..HubConfig::default()
            }),
            clock: SimulatedClock::new(t0()),
            writer: SegmentWriter::start(),
        }
    }

    pub fn media_dir(&self) -> &Path {
        self.layout.root()
    }

    pub fn fs(&self) -> Arc<dyn MediaFs> {
        Arc::new(self.fs.clone())
    }

    /// Starts a recorder on the hub.
    pub fn recorder(&self, config: RecorderConfig) -> RecorderTask {
        Recorder {
            stream: self.stream,
            hub: self.hub.clone(),
            store: self.store.clone(),
            fs: self.fs(),
            layout: self.layout.clone(),
            clock: Arc::new(self.clock.clone()),
            config,
            writer: self.writer.clone(),
        }
        .spawn()
        .expect("valid recorder config")
    }

    /// The stream's recordings, oldest first.
    pub async fn recordings(&self) -> Vec<Recording> {
        self.store
            .list_recordings(ListQuery::stream(self.stream))
            .await
            .expect("list recordings")
    }
}

/// Adds a camera with one stream; returns the stream.
pub async fn add_camera(store: &dyn Store, name: &str) -> StreamId {
    let now = t0();
    let device = DeviceRow {
        id: DeviceId::new(),
        name: name.to_owned(),
        rtsp_url: crate::camera_url::CameraUrl::parse(&format!("rtsp://{name}.cams.test/main"))
            .expect("URL")
            .0,
        sub_rtsp_url: None,
        credentials: None,
        rtsp_transport: crate::model::RtpTransport::Tcp,
        enabled: true,
        created_at: now,
        updated_at: now,
    };
    let stream = StreamRow {
        id: StreamId::new(),
        device_id: device.id,
        profile: StreamProfile::Main,
        desired: DesiredState::Running,
        record: true,
        created_at: now,
    };
    store
        .insert_device(&device, std::slice::from_ref(&stream))
        .await
        .expect("insert camera");
    stream.id
}

/// Waits (bounded by [`WAIT`]) until the status satisfies `ready`.
pub async fn wait_for(
    status: &mut watch::Receiver<RecorderStatus>,
    what: &str,
    ready: impl FnMut(&RecorderStatus) -> bool,
) -> RecorderStatus {
    let outcome = match tokio::time::timeout(WAIT, status.wait_for(ready)).await {
        Ok(Ok(s)) => Ok(s.clone()),
        Ok(Err(_)) => Err("the recorder ended"),
        Err(_) => Err("timed out"),
    };
    outcome.unwrap_or_else(|why| panic!("{why} waiting for {what}; status {:?}", *status.borrow()))
}

/// Publishes frames in steps the recorder can follow without lagging: each step is
/// published, then the recorder is awaited until it has taken every frame so far.
pub async fn feed(hub: &Hub, task: &RecorderTask, frames: &[Frame], step: usize) {
    let mut status = task.watch_status();
    let base = {
        let s = status.borrow();
        s.frames_received + s.frames_lost
    };
    for (i, chunk) in frames.chunks(step.max(1)).enumerate() {
        for f in chunk {
            hub.publish(f.clone());
        }
        let target = base + ((i * step.max(1)) + chunk.len()) as u64;
        wait_for(&mut status, "the recorder to take the frames", |s| {
            s.frames_received + s.frames_lost >= target
        })
        .await;
    }
}

/// A recording's playlist, read back.
pub fn playlist_of(layout: &MediaLayout, r: &Recording) -> (PathBuf, MediaPlaylist) {
    let path = layout.resolve(&r.location).expect("location resolves");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    (path, MediaPlaylist::parse(&text).expect("playlist parses"))
}

/// Video frame times (seconds) of one file, by ffprobe; asserts the first is a keyframe.
pub fn video_times(path: &Path) -> Vec<f64> {
    let frames = ffprobe_json(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=key_frame,pts_time",
        ],
    );
    let frames = frames["frames"].as_array().expect("frames");
    assert!(!frames.is_empty(), "{} has no video frames", path.display());
    assert_eq!(
        frames[0]["key_frame"].as_i64(),
        Some(1),
        "{} starts with a keyframe",
        path.display()
    );
    frames
        .iter()
        .map(|f| {
            f["pts_time"]
                .as_str()
                .expect("pts_time")
                .parse::<f64>()
                .expect("number")
        })
        .collect()
}

/// What [`check_recording`] measured.
#[derive(Debug, Default)]
pub struct Checked {
    pub segments: usize,
    pub video_frames: usize,
    pub discontinuities: usize,
    pub duration_secs: f64,
}

/// Checks one closed recording with the real tools: the playlist is ended; every segment
/// decodes without an error, starts with a keyframe, and its EXTINF matches its media within
/// one frame; timestamps run on across segments (each starts where the previous EXTINF says
/// it ends, except after a discontinuity); the whole playlist decodes; the row's end and
/// size match the files.
pub fn check_recording(layout: &MediaLayout, r: &Recording) -> Checked {
    let (path, playlist) = playlist_of(layout, r);
    assert!(playlist.ended, "{} is not ended", path.display());
    assert!(!playlist.segments.is_empty(), "{} is empty", path.display());
    let dir = path.parent().expect("folder");
    let mut checked = Checked::default();
    let mut next_start: Option<f64> = None;
    for s in &playlist.segments {
        let seg = dir.join(&s.uri);
        let errors = decode_errors(&seg);
        assert!(
            errors.trim().is_empty(),
            "{} does not decode cleanly:\n{errors}",
            seg.display()
        );
        let times = video_times(&seg);
        assert!(
            times.windows(2).all(|w| w[1] > w[0]),
            "{} pts increase",
            s.uri
        );
        let media = times[times.len() - 1] - times[0] + FRAME_SECS;
        assert!(
            (media - s.duration_secs).abs() <= FRAME_SECS + 1e-3,
            "{}: EXTINF {} vs media {media}",
            s.uri,
            s.duration_secs
        );
        if let Some(expected) = next_start
            && !s.discontinuity
        {
            assert!(
                (times[0] - expected).abs() < 2e-3,
                "{}: starts at {} but the previous segment ends at {expected}",
                s.uri,
                times[0]
            );
        }
        next_start = Some(times[0] + s.duration_secs);
        checked.segments += 1;
        checked.video_frames += times.len();
        checked.discontinuities += usize::from(s.discontinuity);
    }
    let errors = decode_errors(&path);
    assert!(
        errors.trim().is_empty(),
        "{} does not decode cleanly:\n{errors}",
        path.display()
    );
    checked.duration_secs = playlist.total_duration_secs();

    // The row: closed at the wall-clock end of the last segment, sized like its files.
    let last = playlist.segments.last().expect("segments");
    let pdt = last.program_date_time.expect("program date time");
    let end = pdt + chrono::Duration::microseconds((last.duration_secs * 1e6).round() as i64);
    let row_end = r.end.expect("row closed");
    assert!(
        (row_end - end).num_milliseconds().abs() <= 1,
        "row end {row_end} vs playlist end {end}"
    );
    assert_eq!(
        r.start,
        playlist.segments[0].program_date_time.expect("pdt"),
        "row start is the first segment's time"
    );
    assert_eq!(r.bytes, folder_bytes(dir), "row bytes = bytes of its files");
    checked
}

/// Bytes of the regular files in a folder.
pub fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum()
}

/// Asserts that rows and recording folders of `stream` match exactly, and that each folder
/// holds exactly its playlist and the segments it lists.
pub async fn assert_rows_match_files(store: &dyn Store, layout: &MediaLayout, stream: StreamId) {
    let rows = store
        .list_recordings(ListQuery::stream(stream))
        .await
        .expect("list");
    let row_ids: BTreeSet<String> = rows.iter().map(|r| r.id.to_string()).collect();
    let stream_dir = layout.stream_dir(stream);
    let folders: BTreeSet<String> = match std::fs::read_dir(&stream_dir) {
        Ok(entries) => entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.parse::<uuid::Uuid>().is_ok())
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    assert_eq!(row_ids, folders, "rows and recording folders");
    for r in &rows {
        let (path, playlist) = playlist_of(layout, r);
        let dir = path.parent().expect("folder");
        let mut expected: BTreeMap<String, ()> = playlist
            .segments
            .iter()
            .map(|s| (s.uri.clone(), ()))
            .collect();
        expected.insert("index.m3u8".into(), ());
        let present: BTreeMap<String, ()> = std::fs::read_dir(dir)
            .expect("read folder")
            .map(|e| {
                (
                    e.expect("entry").file_name().to_string_lossy().into_owned(),
                    (),
                )
            })
            .collect();
        assert_eq!(
            present.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "files of recording {}",
            r.id
        );
    }
}

/// Writes a VOD playlist of `recordings` at the media root (URIs relative to it).
pub fn write_vod(layout: &MediaLayout, recordings: &[Recording]) -> PathBuf {
    let vod = MediaPlaylist::vod_from_recordings(recordings.iter().map(|r| {
        let (_, p) = playlist_of(layout, r);
        let prefix = r.location.rsplit_once('/').expect("folder").0.to_owned();
        p.segments
            .into_iter()
            .map(|mut s| {
                s.uri = format!("{prefix}/{}", s.uri);
                s
            })
            .collect()
    }));
    let path = layout.root().join("vod.m3u8");
    std::fs::write(&path, vod.render()).expect("write VOD playlist");
    path
}

/// Video packets and duration of a whole playlist, by ffprobe.
pub fn count_video_packets(path: &Path) -> usize {
    let packets = ffprobe_json(
        path,
        &["-select_streams", "v:0", "-show_entries", "packet=pts"],
    );
    packets["packets"].as_array().expect("packets").len()
}
