//! The parity scenario in Rust (see `tests/parity/README.md`): the engine used directly.
//!
//! `parity --url RTSP_URL --data DIR` prints one JSON document on standard output. Records
//! and events are printed in their serde form (the REST API's JSON); the driver
//! (`tests/parity/run.py`) normalises that form with the description, as it does the REST
//! API's. `calls` is the description's own list: the description is made from the engine's
//! `impl Vas` blocks, so the Rust shell has every call by construction (the compiler checks
//! every call this program makes).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vas::{
    EngineOptions, Event, EventSubscription, FrameOptions, ListQuery, NewBookmark, NewDevice,
    Order, PixelFormat, RecorderState, RecordingId, SnapshotOptions, StreamId, StreamState, Vas,
};

/// How long any one wait of the scenario may take.
const DEADLINE: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error>;

fn args() -> Result<(String, std::path::PathBuf), BoxError> {
    let mut url = None;
    let mut data = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--url" => url = it.next(),
            "--data" => data = it.next().map(Into::into),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok((
        url.ok_or("--url RTSP_URL is required")?,
        data.ok_or("--data DIR is required")?,
    ))
}

/// Receives events (keeping each in `seen`) until one satisfies `want`.
async fn wait_for(
    events: &mut EventSubscription,
    seen: &mut Vec<Value>,
    what: &str,
    want: impl Fn(&Event) -> bool,
) -> Result<Event, BoxError> {
    let until = Instant::now() + DEADLINE;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, events.recv())
            .await
            .map_err(|_| format!("no event {what} within {DEADLINE:?}"))??;
        seen.push(serde_json::to_value(&event)?);
        if want(&event) {
            return Ok(event);
        }
    }
}

fn recorder_of(stream: StreamId, state: RecorderState) -> impl Fn(&Event) -> bool {
    move |e| {
        matches!(e, Event::Recorder { stream_id, state: s, recording_id, .. }
            if *stream_id == stream && *s == state
                && (state != RecorderState::Recording || recording_id.is_some()))
    }
}

fn recording_of(e: &Event) -> Option<RecordingId> {
    match e {
        Event::Recorder { recording_id, .. } => *recording_id,
        _ => None,
    }
}

async fn scenario(url: String, data: std::path::PathBuf) -> Result<Value, BoxError> {
    let vas = Vas::open(EngineOptions {
        data_dir: Some(data),
        ..EngineOptions::default()
    })
    .await?;
    let mut events = vas.events();
    let mut seen = Vec::new();

    let device = vas.add_device(NewDevice::new("parity", url)).await?;
    let stream = device.main_stream_id;
    vas.start_stream(stream).await?;
    wait_for(&mut events, &mut seen, "live", |e| {
        matches!(e, Event::StreamState { stream_id, state: StreamState::Live, .. } if *stream_id == stream)
    })
    .await?;

    vas.set_recording(stream, true).await?;
    let first = wait_for(
        &mut events,
        &mut seen,
        "recording",
        recorder_of(stream, RecorderState::Recording),
    )
    .await?;
    vas.set_recording(stream, false).await?;
    wait_for(
        &mut events,
        &mut seen,
        "stopped",
        recorder_of(stream, RecorderState::Stopped),
    )
    .await?;
    vas.set_recording(stream, true).await?;
    let first = recording_of(&first);
    wait_for(&mut events, &mut seen, "a second recording", |e| {
        recorder_of(stream, RecorderState::Recording)(e) && recording_of(e) != first
    })
    .await?;

    let mut options = FrameOptions::new(PixelFormat::Bgr24);
    options.max_width = Some(320);
    let mut frames = vas.frames(stream, options).await?;
    let frame = tokio::time::timeout(DEADLINE, frames.recv())
        .await
        .map_err(|_| "no decoded frame within the deadline")??;
    drop(frames);

    let snapshot = vas
        .save_snapshot(stream, SnapshotOptions::new(), Some("parity".into()))
        .await?;
    let snapshots = vas
        .saved_snapshots(ListQuery::stream(stream).newest())
        .await?;
    let bookmark = vas
        .add_bookmark(NewBookmark::new(stream).label("parity"))
        .await?;
    let streams = vas.streams(Some(device.id), Order::Oldest).await?;
    let recordings = vas.recordings(ListQuery::stream(stream).newest()).await?;
    vas.close().await;
    // Whatever arrived until the engine closed.
    while let Ok(Some(e)) = events.try_recv() {
        seen.push(serde_json::to_value(&e)?);
    }

    let calls: Vec<&str> = vas::description::description()
        .calls
        .iter()
        .map(|c| c.name)
        .collect();
    Ok(json!({
        "shell": "rust",
        "form": "json",
        "calls": calls,
        "device": device,
        "streams": streams,
        "frame": frame.info(),
        "snapshot": snapshot,
        "snapshots": snapshots,
        "bookmark": bookmark,
        "recordings": recordings,
        "events": seen,
    }))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match args() {
        Ok((url, data)) => scenario(url, data).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(doc) => {
            #[allow(clippy::print_stdout)] // the program's output
            {
                println!("{doc}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parity (rust): {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
