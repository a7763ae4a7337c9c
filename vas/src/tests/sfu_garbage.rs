//! Scenario: garbage on the media port — random bytes, STUN with unknown usernames, forged
//! packets from a connected viewer's own address, oversized datagrams — is dropped without
//! panics or state growth, and the connected viewer keeps receiving.

use std::net::SocketAddr;
use std::time::Duration;

use crate::sfu::CoreConfig;
use crate::tests::sfu_support::*;
use rand::{Rng, SeedableRng};
use str0m::net::Protocol;

const STREAM: &str = "cam-5/main";

fn stun_request(username: &[u8]) -> Vec<u8> {
    let mut m = vec![0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42];
    m.extend_from_slice(&[9; 12]);
    m.extend_from_slice(&[0x00, 0x06]);
    m.extend_from_slice(&(username.len() as u16).to_be_bytes());
    m.extend_from_slice(username);
    while m.len() % 4 != 0 {
        m.push(0);
    }
    let len = (m.len() - 20) as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

#[test]
fn garbage_is_ignored() {
    let mut w = World::new(CoreConfig::default());
    let mut cam = Device::new();
    let params = cam.params.clone();
    let v = w
        .connect_client(STREAM, Some(&params), None)
        .expect("admitted");
    assert!(w.run_until(Duration::from_secs(5), |w| w.clients[v].connected));
    let demux_before = w.sfu.demux_entries();
    let viewer_addr = w.clients[v].addr;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let server = w.server;
    let mut sent = 0u64;
    for round in 0..60 {
        for _ in 0..200 {
            let len = rng.random_range(0..3000);
            let mut data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let kind = rng.random_range(0..5);
            let source: SocketAddr = match kind {
                // From the viewer's own address: looks like its SRTP/DTLS, is not.
                0 => viewer_addr,
                _ => format!(
                    "192.0.2.{}:{}",
                    rng.random_range(1..250),
                    rng.random_range(1024..65535)
                )
                .parse()
                .expect("addr"),
            };
            if kind == 1 {
                data = stun_request(format!("nobody:{}", rng.random::<u32>()).as_bytes());
            }
            if kind == 2 && !data.is_empty() {
                data[0] = 0x80 | (data[0] & 0x3f); // RTP-looking
            }
            w.sfu
                .handle_receive(w.now, Protocol::Udp, source, server, &data);
            sent += 1;
        }
        let f = cam.next();
        w.publish(STREAM, &f);
        w.run_for(Duration::from_millis(33));
        if round % 10 == 0 {
            assert!(
                w.sfu.demux_entries() <= demux_before + 8,
                "demux tables stay bounded"
            );
        }
    }
    let stats = w.sfu.stats();
    assert!(
        stats.garbage_datagrams + stats.rejected_datagrams >= sent * 9 / 10,
        "{stats:?} of {sent}"
    );
    assert!(w.sfu.demux_entries() <= demux_before + 8);
    assert_eq!(w.sfu.viewer_count(STREAM), 1);
    assert_eq!(w.clients[v].frames(), 60, "the real viewer is unaffected");
    assert_eq!(w.clients[v].video_gaps(), 0);
}
