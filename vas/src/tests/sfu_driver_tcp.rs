//! Scenario: ICE-TCP on the SFU's port. A str0m client with only an active TCP candidate
//! connects over loopback TCP (RFC 4571 framing) and receives the stream.

use std::time::{Duration, Instant};

use crate::hub::{Hub, HubConfig};
use crate::sfu::{Sfu, SfuConfig};
use crate::tests::sfu_support::*;
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event, Input, Output};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STREAM: &str = "cam-tcp/main";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_receives_the_stream_over_ice_tcp() {
    let sfu = Sfu::start(SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ice_tcp: true,
        ..SfuConfig::default()
    })
    .await
    .expect("sfu starts");
    let server = sfu.local_addr();
    let hub = Hub::new(HubConfig::default());
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut cam = Device::new();
            let mut tick = tokio::time::interval(Duration::from_millis(33));
            loop {
                tick.tick().await;
                hub.publish(cam.next());
            }
        })
    };

    let stream = TcpStream::connect(server).await.expect("ICE-TCP port open");
    let local = stream.local_addr().unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let mut rtc = chromium_like_config().build(Instant::now());
    let candidate = Candidate::builder()
        .tcp()
        .host(local)
        .tcptype(TcpType::Active)
        .build()
        .unwrap();
    rtc.add_local_candidate(candidate).expect("tcp candidate");
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let (_, answer) = sfu
        .add_viewer(STREAM, &hub, &offer.to_sdp_string())
        .await
        .expect("admitted");
    assert!(answer.contains("tcptype passive"), "{answer}");
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1024);
    tokio::spawn(async move {
        loop {
            let mut len = [0u8; 2];
            if rd.read_exact(&mut len).await.is_err() {
                return;
            }
            let mut data = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if rd.read_exact(&mut data).await.is_err() || tx.send(data).await.is_err() {
                return;
            }
        }
    });

    let mut markers = 0;
    let mut connected = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while markers < 30 && Instant::now() < deadline {
        let timeout = loop {
            match rtc.poll_output().unwrap() {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    assert_eq!(t.proto, Protocol::Tcp);
                    let mut framed = (t.contents.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&t.contents);
                    wr.write_all(&framed).await.unwrap();
                }
                Output::Event(Event::Connected) => connected = true,
                Output::Event(Event::RtpPacket(p)) => markers += usize::from(p.header.marker),
                Output::Event(_) => {}
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        tokio::select! {
            Some(data) = rx.recv() => {
                let input = Input::Receive(Instant::now(), Receive {
                    proto: Protocol::Tcp,
                    source: server,
                    destination: local,
                    contents: data.as_slice().try_into().unwrap(),
                });
                rtc.handle_input(input).unwrap();
            }
            _ = tokio::time::sleep(wait) => {
                rtc.handle_input(Input::Timeout(Instant::now())).unwrap();
            }
        }
    }
    assert!(connected, "ICE+DTLS over TCP completed");
    assert!(markers >= 30, "received {markers} frames over TCP");
    assert_eq!(sfu.viewer_count(STREAM), 1);
    sfu.shutdown().await;
    publisher.abort();
}
