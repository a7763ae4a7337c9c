//! A camera killed and restarted 50 times: the stream returns to live every time, and no
//! task, socket or memory is left behind across the cycles.
use std::time::{Duration, Instant};

use crate::ingest::{BackoffPolicy, IngestConfig};
use crate::model::NewDevice;
use crate::model::StreamState;
use crate::{StreamId, Vas};
use vas_synth::{CameraConfig, SyntheticCamera};

/// Kill/restart cycles.
const CYCLES: usize = 50;
/// Tasks, file descriptors and resident memory may differ this much from the baseline.
const TASK_SLACK: usize = 2;
const FD_SLACK: usize = 4;
const RSS_SLACK_BYTES: u64 = 32 * 1024 * 1024;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

async fn wait_state(vas: &Vas, id: StreamId, state: StreamState) -> Duration {
    let t = Instant::now();
    loop {
        let s = vas.stream(id).await.unwrap();
        if s.state == state {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "stuck in {s:?}, wanted {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_kill_restart_cycles_return_to_live_without_leaks() {
    let cam = SyntheticCamera::start(CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..CameraConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder()
        .data_dir(dir.path())
        .ingest_config(IngestConfig {
            stall_timeout: Duration::from_secs(2),
            backoff: BackoffPolicy {
                initial: Duration::from_millis(50),
                max: Duration::from_millis(400),
                stable_period: Duration::from_millis(300),
                ..Default::default()
            },
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let d = vas
        .add_device(NewDevice::new("flappy", cam.url()))
        .await
        .unwrap();
    let id = vas.streams(None, crate::Order::Oldest).await.unwrap()[0].id;
    assert_eq!(
        vas.streams(None, crate::Order::Oldest).await.unwrap()[0].device_id,
        d.id
    );
    vas.start_stream(id).await.unwrap();
    let mut sub = vas.encoded_frames(id).await.unwrap();
    let drain = tokio::spawn(async move { while sub.recv().await.is_ok() {} });

    let metrics = tokio::runtime::Handle::current().metrics();
    let mut baseline = None;
    let mut back_to_live = Vec::new();
    for cycle in 0..=CYCLES {
        wait_state(&vas, id, StreamState::Live).await;
        // Let frames flow for longer than the stable period, so backoff resets.
        tokio::time::sleep(Duration::from_millis(350)).await;
        if cycle == 1 {
            // After one full cycle everything lazily created exists: take the baseline.
            baseline = Some((metrics.num_alive_tasks(), open_fds(), rss_bytes()));
        }
        if cycle == CYCLES {
            break;
        }
        cam.stop().await;
        wait_state(&vas, id, StreamState::Reconnecting).await;
        cam.restart().await.unwrap();
        back_to_live.push(wait_state(&vas, id, StreamState::Live).await);
    }
    let (tasks0, fds0, rss0) = baseline.unwrap();
    let (tasks, fds, rss) = (metrics.num_alive_tasks(), open_fds(), rss_bytes());
    let status = vas.stream(id).await.unwrap();
    back_to_live.sort();
    eprintln!(
        "{CYCLES} cycles: back to live median {:?}, max {:?}; reconnects {}; tasks {tasks0}->{tasks}, fds {fds0}->{fds}, rss {:.1}->{:.1} MB",
        back_to_live[back_to_live.len() / 2],
        back_to_live.last().unwrap(),
        status.reconnects,
        rss0 as f64 / 1e6,
        rss as f64 / 1e6
    );
    assert!(status.reconnects >= CYCLES as u64, "{status:?}");
    assert!(
        tasks <= tasks0 + TASK_SLACK,
        "tasks grew {tasks0} -> {tasks}"
    );
    assert!(
        fds <= fds0 + FD_SLACK,
        "file descriptors grew {fds0} -> {fds}"
    );
    assert!(rss <= rss0 + RSS_SLACK_BYTES, "memory grew {rss0} -> {rss}");
    vas.close().await;
    drop(vas);
    drain.await.unwrap();
}
