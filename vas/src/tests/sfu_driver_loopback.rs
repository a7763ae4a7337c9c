//! Scenario: the real driver over loopback UDP. A str0m client (real ICE, DTLS, SRTP over a
//! socket) asks for a stream published through a real hub and receives it; sends are
//! batched; the egress delay is measured; shutdown disconnects the viewer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::hub::{Hub, HubConfig};
use crate::sfu::{Sfu, SfuConfig, SfuEvent};
use crate::tests::sfu_support::*;
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output};
use tokio::net::UdpSocket;

const STREAM: &str = "cam-loop/main";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_client_receives_the_stream_over_loopback() {
    let sfu = Sfu::start(SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..SfuConfig::default()
    })
    .await
    .expect("sfu starts");
    let server = sfu.local_addr();
    assert_eq!(sfu.candidates()[0], server, "loopback advertises 127.0.0.1");
    let mut events = sfu.events();

    // A camera publishing into a hub, 30 fps, keyframe every second.
    let hub = Hub::new(HubConfig::default());
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut cam = Device::new();
            let mut tick = tokio::time::interval(Duration::from_millis(33));
            loop {
                tick.tick().await;
                let mut f = cam.next();
                f.wallclock = chrono::Utc::now();
                hub.publish(f);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await; // a GOP is cached

    // Garbage on the media port, before and during the session: ignored.
    let junk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..500usize {
        let len = (i * 37) % 3000;
        let data: Vec<u8> = (0..len).map(|k| (k * 31 + i) as u8).collect();
        junk.send_to(&data, server).await.unwrap();
    }

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let mut rtc = chromium_like_config().build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let (viewer, answer) = sfu
        .add_viewer(STREAM, &hub, &offer.to_sdp_string())
        .await
        .expect("admitted");
    assert_eq!(sfu.viewer_count(STREAM), 1);
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();

    let mut buf = vec![0u8; 2048];
    let mut markers = 0usize;
    let mut packets = 0usize;
    let mut first_payload: Option<Vec<u8>> = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while markers < 45 && Instant::now() < deadline {
        let timeout = loop {
            match rtc.poll_output().unwrap() {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    socket.send_to(&t.contents, t.destination).await.unwrap();
                }
                Output::Event(Event::RtpPacket(p)) => {
                    packets += 1;
                    markers += usize::from(p.header.marker);
                    first_payload.get_or_insert_with(|| p.payload.to_vec());
                }
                Output::Event(_) => {}
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let (n, source) = r.unwrap();
                let input = Input::Receive(Instant::now(), Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: local,
                    contents: buf[..n].try_into().unwrap(),
                });
                rtc.handle_input(input).unwrap();
            }
            _ = tokio::time::sleep(wait) => {
                rtc.handle_input(Input::Timeout(Instant::now())).unwrap();
            }
        }
    }
    assert!(markers >= 45, "got {markers} frames in {packets} packets");
    let first = first_payload.expect("a packet");
    assert_eq!(first[0] & 0x1f, 24, "starts with a STAP-A of SPS+PPS");

    let stats = sfu.stats();
    assert!(stats.datagrams_sent > packets as u64 / 2, "{stats:?}");
    assert!(
        stats.send_calls < stats.datagrams_sent,
        "sends are batched: {stats:?}"
    );
    assert!(
        stats.egress_delay_samples > 0 && stats.egress_delay_p50_us.is_some(),
        "{stats:?}"
    );
    let connected = loop {
        match events.try_recv() {
            Ok(SfuEvent::ViewerConnected { viewer: v, .. }) => break v,
            Ok(_) => continue,
            Err(e) => panic!("no connected event: {e:?}"),
        }
    };
    assert_eq!(connected, viewer);

    assert!(stats.core.garbage_datagrams >= 400, "{stats:?}");

    sfu.shutdown().await;
    assert_eq!(sfu.viewer_count(STREAM), 0);
    let e = sfu
        .add_viewer(STREAM, &hub, &offer.to_sdp_string())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
    publisher.abort();
}

#[test]
fn the_service_handle_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Sfu>();
}

#[tokio::test]
async fn candidates_follow_the_bind_address_and_public_ips() {
    let public: std::net::IpAddr = "203.0.113.9".parse().unwrap();
    let sfu = Sfu::start(SfuConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        public_ips: vec![public],
        ice_tcp: false,
        ..SfuConfig::default()
    })
    .await
    .expect("sfu starts");
    let port = sfu.local_addr().port();
    assert_eq!(
        sfu.candidates(),
        vec![
            SocketAddr::new("127.0.0.1".parse().unwrap(), port),
            SocketAddr::new(public, port),
        ],
        "0.0.0.0 advertises 127.0.0.1, then the public IP"
    );
    sfu.shutdown().await;
}
