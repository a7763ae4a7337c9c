//! Print the engine's events as a camera comes and goes.
//!
//! ```text
//! cargo run --release --example events -- [rtsp://user:pass@camera/stream] [seconds]
//! ```
//!
//! With a URL it watches that camera for `seconds` (default 10) and prints every event. Without
//! one it starts VAS's synthetic camera, records it, and takes the camera away and back, so
//! each kind of event shows up; it exits 0 only if the stream went live, noticed the camera
//! leaving (reconnecting), and went live again.
#![allow(clippy::print_stdout)] // printing is the point of the example

use std::time::{Duration, Instant};

use vas::StreamState;
use vas::{Event, Vas};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source = vas_examples::Camera::from_args().await?;
    let seconds = source.seconds.unwrap_or(10);
    let camera = source.synthetic.as_ref();

    let dir = tempfile::tempdir()?;
    let vas = Vas::builder().data_dir(dir.path()).build().await?;
    // Subscribe first: the subscription sees everything from here on.
    let mut events = vas.events();
    let (device, stream) = vas_examples::add_camera(&vas, "camera", &source.url).await?;
    vas.set_recording(stream, true).await?;
    vas.start_stream(stream).await?;
    println!("watching {} (stream {stream})", device.rtsp_url);

    let start = Instant::now();
    let mut lives = 0;
    let mut reconnecting = false;
    let mut camera_away = false;
    let deadline = start + Duration::from_secs(seconds.max(1) + 20);
    while Instant::now() < deadline {
        let event = match tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
            Ok(e) => e?,
            Err(_) if camera.is_none() && start.elapsed() >= Duration::from_secs(seconds) => break,
            Err(_) => continue,
        };
        let t = start.elapsed().as_secs_f64();
        match &event {
            Event::StreamState { state, error, .. } => {
                let why = error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                println!("{t:6.2}s stream {}{why}", state.as_str());
                match state {
                    StreamState::Live => lives += 1,
                    StreamState::Reconnecting => reconnecting = true,
                    _ => {}
                }
            }
            Event::Recorder {
                state,
                recording_id,
                ..
            } => {
                let rec = recording_id
                    .map(|r| format!(" into recording {r}"))
                    .unwrap_or_default();
                println!("{t:6.2}s recorder {}{rec}", state.as_str());
            }
            Event::ViewerJoined { viewer, .. } => println!("{t:6.2}s viewer {} joined", viewer.0),
            Event::ViewerLeft { viewer, reason, .. } => {
                println!("{t:6.2}s viewer {} left: {reason}", viewer.0);
            }
            Event::Missed { events } => println!("{t:6.2}s (missed {events} events)"),
            other => println!("{t:6.2}s {other:?}"),
        }
        // With the synthetic camera: take it away once it is live, bring it back once the
        // engine noticed, and finish once it is live again.
        if let Some(cam) = camera {
            if lives == 1 && !camera_away {
                println!("{t:6.2}s -- taking the camera away");
                cam.stop().await;
                camera_away = true;
            } else if camera_away && reconnecting && lives == 1 && !cam.is_running().await {
                println!("{t:6.2}s -- bringing the camera back");
                cam.restart().await?;
            } else if lives >= 2 {
                break;
            }
        }
    }
    vas.stop_stream(stream).await?;
    vas.close().await;
    // What is left, up to `Closed`.
    while let Ok(event) = events.try_recv() {
        let Some(event) = event else { break };
        println!("after stop: {event:?}");
    }
    if camera.is_some() && !(lives >= 2 && reconnecting) {
        return Err(format!(
            "expected live, reconnecting, live; saw {lives} live, reconnecting={reconnecting}"
        )
        .into());
    }
    Ok(())
}
