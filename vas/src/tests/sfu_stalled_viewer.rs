//! Scenario: an ICE-TCP viewer stops reading (its TCP window closes). The driver drops what
//! that viewer cannot take (bounded per-connection queue) and a UDP viewer of the same
//! stream keeps receiving every frame on time.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::hub::{Hub, HubConfig};
use crate::sfu::{Sfu, SfuConfig};
use crate::tests::sfu_support::net::NetClient;
use crate::tests::sfu_support::*;

const STREAM: &str = "cam-stall/main";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_does_not_hold_up_the_others() {
    let sfu = Sfu::start(SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ice_tcp: true,
        ..SfuConfig::default()
    })
    .await
    .expect("sfu starts");
    let hub = Hub::new(HubConfig::default());
    let published = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let camera = {
        let (hub, published) = (hub.clone(), published.clone());
        tokio::spawn(async move {
            let mut cam = Device::new();
            cam.key_bytes = 60_000;
            cam.delta_bytes = 50_000; // ≈12 Mbit/s: fills a stalled TCP path within a second
            let mut tick = tokio::time::interval(Duration::from_millis(33));
            loop {
                tick.tick().await;
                hub.publish(cam.next());
                published.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut stalled = NetClient::tcp(&sfu, STREAM, &hub, 4096).await;
    let mut healthy = NetClient::udp(&sfu, STREAM, &hub).await;
    let stall = stalled.stall.clone();
    let start = Instant::now();
    let end = start + Duration::from_secs(5);
    let stalled = tokio::spawn(async move {
        stalled.run_until(start + Duration::from_secs(1)).await;
        stall.store(true, Ordering::Relaxed); // stop reading the TCP socket
        stalled.run_until(end).await;
        stalled.seen
    });
    let healthy = tokio::spawn(async move {
        healthy.run_until(end).await;
        healthy.seen
    });
    let stalled = stalled.await.unwrap();
    let healthy = healthy.await.unwrap();
    let published = published.load(Ordering::Relaxed);
    camera.abort();

    assert!(
        stalled.connected && stalled.frames > 0,
        "the TCP viewer worked before stalling"
    );
    assert!(healthy.connected);
    // The healthy viewer got (nearly) every frame published while it was connected, with no
    // unrecovered gap.
    assert!(
        healthy.frames + 10 >= published,
        "healthy viewer got {} of {published} frames",
        healthy.frames
    );
    assert_eq!(healthy.gaps(), 0);
    let stats = sfu.stats();
    assert!(
        stats.send_errors > 0,
        "datagrams for the stalled viewer were dropped: {stats:?}"
    );
    sfu.shutdown().await;
}
