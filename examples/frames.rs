//! Pull decoded frames from a camera and print one line per second: frames received, the mean
//! luma of the newest, and its age (capture to hand-over) in milliseconds.
//!
//! ```text
//! cargo run --release --example frames -- [rtsp://user:pass@camera/stream] [seconds]
//! ```
//!
//! Without a URL it starts VAS's synthetic camera. It exits after `seconds` (default 5),
//! having freed everything; the exit status is 0 only if frames arrived every second.
#![allow(clippy::print_stdout)] // printing is the point of the example

use std::time::{Duration, Instant};

use vas::Vas;
use vas::frames::{FrameOptions, PixelFormat};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let camera = vas_examples::Camera::from_args().await?;
    let seconds = camera.seconds.unwrap_or(5);

    // An engine with its database and media in a throwaway folder.
    let dir = tempfile::tempdir()?;
    let vas = Vas::builder().data_dir(dir.path()).build().await?;
    let (device, stream) = vas_examples::add_camera(&vas, "camera", &camera.url).await?;
    println!("camera {}", device.rtsp_url);
    vas.start_stream(stream).await?;

    // Gray frames are enough for a mean luma; the newest one only, never a backlog.
    let mut frames = vas
        .frames(stream, FrameOptions::new(PixelFormat::Gray8))
        .await?;
    let quiet_seconds = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut quiet = 0;
        for second in 1..=seconds {
            let mut count = 0u64;
            let mut newest = None;
            let until = start + Duration::from_secs(second);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match frames.recv_timeout(left) {
                    Ok(f) => {
                        count += 1;
                        newest = Some((f, chrono::Utc::now()));
                    }
                    Err(e) if e.kind() == vas::ErrorKind::Timeout => break,
                    Err(e) => {
                        println!("subscription ended: {e}");
                        return seconds;
                    }
                }
            }
            match newest {
                Some((f, got)) => {
                    let luma = f.data().iter().map(|&b| u64::from(b)).sum::<u64>() / f.data().len() as u64;
                    let age = (got - f.time()).num_milliseconds();
                    println!(
                        "t={second}s frames={count} size={}x{} mean_luma={luma} newest_age_ms={age}",
                        f.width(),
                        f.height()
                    );
                }
                None => {
                    quiet += 1;
                    println!("t={second}s frames=0 (waiting for the camera)");
                }
            }
        }
        quiet
    })
    .await?;
    vas.close().await;
    if quiet_seconds > 0 {
        return Err(format!("{quiet_seconds} second(s) without a frame").into());
    }
    Ok(())
}
