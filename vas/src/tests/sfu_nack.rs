//! Scenario: a lossy viewer NACKs what it missed and gets it back over RTX, from the shared
//! payloads in the retransmit cache; a clean viewer of the same stream is unaffected.
//! (Every 7th first transmission is lost; resends on the RTX SSRC get through.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sfu::CoreConfig;
use crate::tests::sfu_support::*;

const STREAM: &str = "cam-2/main";

fn is_srtp_media(d: &[u8]) -> bool {
    // RTP version 2, and not RTCP (payload types 200..=206 with the marker bit set).
    d.len() > 300 && d[0] >> 6 == 2 && !(200..=206).contains(&d[1])
}

#[test]
fn lost_packets_are_retransmitted() {
    let mut w = World::new(CoreConfig::default());
    let mut cam = Device::new();
    let params = cam.params.clone();
    let lossy = w
        .connect_client(STREAM, Some(&params), None)
        .expect("admitted");
    let clean = w
        .connect_client(STREAM, Some(&params), None)
        .expect("admitted");
    assert!(w.run_until(Duration::from_secs(5), |w| {
        w.clients.iter().all(|c| c.connected)
    }));

    // Drop every 7th media datagram to the lossy viewer.
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = dropped.clone();
    let mut media = 0u64;
    let mut primary: Option<[u8; 4]> = None;
    w.clients[lossy].drop_in = Some(Box::new(move |_, d| {
        if !is_srtp_media(d) {
            return false;
        }
        // The SSRC is in the clear: lose first transmissions only, never the RTX resends.
        let ssrc: [u8; 4] = d[8..12].try_into().expect("rtp header");
        if *primary.get_or_insert(ssrc) != ssrc {
            return false;
        }
        media += 1;
        let drop = media.is_multiple_of(7);
        if drop {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        drop
    }));
    for _ in 0..90 {
        let f = cam.next();
        w.publish(STREAM, &f);
        w.run_for(Duration::from_millis(33));
    }
    // Stop losing (a few more frames reveal losses at the very end), let resends settle.
    w.clients[lossy].drop_in = None;
    for _ in 0..5 {
        let f = cam.next();
        w.publish(STREAM, &f);
        w.run_for(Duration::from_millis(33));
    }
    w.run_for(Duration::from_millis(500));

    let total_sent = w.clients[clean].video_seqs().len() as u64;
    let lossy_seqs = w.clients[lossy].video_seqs();
    assert!(total_sent > 300, "{total_sent}");
    assert!(dropped.load(Ordering::Relaxed) > 40, "{dropped:?}");
    assert_eq!(
        w.clients[lossy].video_gaps(),
        0,
        "every lost packet came back"
    );
    assert_eq!(lossy_seqs.len() as u64, total_sent);
    assert_eq!(w.clients[clean].video_gaps(), 0);
    assert_eq!(w.clients[clean].frames(), 95);
    assert_eq!(w.clients[lossy].frames(), 95);
}
