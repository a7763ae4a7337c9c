//! The engine's one event stream, through the engine, with the synthetic camera over real
//! RTSP and a real WebRTC viewer (str0m over loopback UDP): stream states, the recorder and
//! viewers arrive in order on one subscription, a blocking reader on a plain thread sees the
//! same, and closing the engine ends every subscription.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::events::EventSubscription;
use crate::ingest::{BackoffPolicy, IngestConfig};
use crate::model::NewDevice;
use crate::model::RecorderState;
use crate::model::StreamState;
use crate::sfu::SfuConfig;
use crate::tests::sfu_support::chromium_like_config;
use crate::{ErrorKind, Event, StreamId, Vas};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, Output};
use tokio::net::UdpSocket;
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

async fn next(events: &mut EventSubscription) -> Event {
    tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .expect("an event within 20 s")
        .expect("the engine is open")
}

/// Reads events of `stream` until `want` matches one; returns everything read on the way.
async fn until(
    events: &mut EventSubscription,
    stream: StreamId,
    want: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let e = next(events).await;
        assert_ne!(e, Event::Missed { events: 0 });
        if e.stream() != Some(stream) {
            continue;
        }
        let done = want(&e);
        seen.push(e);
        if done {
            return seen;
        }
    }
}

fn is_state(e: &Event, want: StreamState) -> bool {
    matches!(e, Event::StreamState { state, .. } if *state == want)
}

/// A str0m viewer over UDP, driven until its media flows.
async fn watch(vas: &Vas, stream: StreamId) -> (crate::sfu::ViewerId, tokio::task::JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let mut rtc = chromium_like_config().build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let session = vas
        .webrtc_answer(stream, offer.to_sdp_string())
        .await
        .unwrap();
    assert_eq!(session.stream_id, stream);
    let (viewer, answer) = (session.viewer, session.answer_sdp);
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let timeout = loop {
                match rtc.poll_output() {
                    Ok(Output::Timeout(t)) => break t,
                    Ok(Output::Transmit(t)) => {
                        let _ = socket.send_to(&t.contents, t.destination).await;
                    }
                    Ok(Output::Event(_)) => {}
                    Err(_) => return,
                }
            };
            let wait = timeout
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            tokio::select! {
                r = socket.recv_from(&mut buf) => {
                    let Ok((n, source)) = r else { return };
                    let Ok(contents) = buf[..n].try_into() else { continue };
                    let _ = rtc.handle_input(Input::Receive(Instant::now(), Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: local,
                        contents,
                    }));
                }
                _ = tokio::time::sleep(wait) => {
                    let _ = rtc.handle_input(Input::Timeout(Instant::now()));
                }
            }
        }
    });
    (viewer, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stream_of_events_in_order_for_a_camera_that_comes_and_goes() {
    let cam = SyntheticCamera::start(CameraConfig {
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
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
                initial: Duration::from_millis(100),
                max: Duration::from_millis(300),
                stable_period: Duration::from_millis(500),
                ..Default::default()
            },
            ..Default::default()
        })
        .webrtc(SfuConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..SfuConfig::default()
        })
        .build()
        .await
        .unwrap();
    let mut events = vas.events();
    // A second reader, blocking, on a plain thread: it sees the same events.
    let mut blocking = vas.events();
    let plain = std::thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            match blocking.recv_timeout(Duration::from_secs(60)) {
                Ok(e) => seen.push(e),
                Err(e) => return (seen, e.kind()),
            }
        }
    });

    let d = vas
        .add_device(NewDevice::new("cam", cam.url()))
        .await
        .unwrap();
    let id = vas.streams(None, crate::Order::Oldest).await.unwrap()[0].id;
    assert_eq!(
        vas.streams(None, crate::Order::Oldest).await.unwrap()[0].device_id,
        d.id
    );
    vas.set_recording(id, true).await.unwrap();
    vas.start_stream(id).await.unwrap();

    let seen = until(&mut events, id, |e| is_state(e, StreamState::Live)).await;
    assert!(is_state(&seen[0], StreamState::Connecting), "{seen:?}");
    let seen = if seen.iter().any(|e| {
        matches!(
            e,
            Event::Recorder {
                recording_id: Some(_),
                ..
            }
        )
    }) {
        seen
    } else {
        until(&mut events, id, |e| {
            matches!(
                e,
                Event::Recorder {
                    recording_id: Some(_),
                    ..
                }
            )
        })
        .await
    };
    let Some(Event::Recorder { state, .. }) =
        seen.iter().find(|e| matches!(e, Event::Recorder { .. }))
    else {
        panic!("{seen:?}")
    };
    assert_eq!(*state, RecorderState::Recording);

    // A viewer joins and leaves.
    let (viewer, client) = watch(&vas, id).await;
    let seen = until(&mut events, id, |e| matches!(e, Event::ViewerJoined { .. })).await;
    assert!(matches!(seen.last(), Some(Event::ViewerJoined { viewer: v, .. }) if *v == viewer));
    assert!(vas.webrtc_close(viewer).await.unwrap());
    let seen = until(&mut events, id, |e| matches!(e, Event::ViewerLeft { .. })).await;
    let Some(Event::ViewerLeft {
        viewer: v, reason, ..
    }) = seen.last()
    else {
        panic!()
    };
    assert_eq!((*v, reason.as_str()), (viewer, "closed"));
    client.abort();

    // The camera goes away: reconnecting, with the reason; it comes back: live again.
    cam.stop().await;
    let seen = until(&mut events, id, |e| is_state(e, StreamState::Reconnecting)).await;
    let Some(Event::StreamState { error, .. }) = seen.last() else {
        panic!()
    };
    assert!(error.is_some(), "the reason comes with the state: {seen:?}");
    cam.restart().await.unwrap();
    until(&mut events, id, |e| is_state(e, StreamState::Live)).await;

    // Stopped by the caller: the recorder stops, then the stream.
    vas.stop_stream(id).await.unwrap();
    let seen = until(&mut events, id, |e| is_state(e, StreamState::Stopped)).await;
    let stopped_rec = seen.iter().position(|e| {
        matches!(
            e,
            Event::Recorder {
                state: RecorderState::Stopped,
                ..
            }
        )
    });
    assert!(
        stopped_rec.is_some(),
        "the recorder said it stopped: {seen:?}"
    );

    vas.close().await;
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Err(e) = events.recv().await {
                return e;
            }
        }
    })
    .await
    .expect("closing ends the subscription");
    assert_eq!(end.kind(), ErrorKind::Closed);
    let (plain_seen, plain_end) = tokio::task::spawn_blocking(move || plain.join().unwrap())
        .await
        .unwrap();
    assert_eq!(plain_end, ErrorKind::Closed);
    let states: Vec<StreamState> = plain_seen
        .iter()
        .filter_map(|e| match e {
            Event::StreamState { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(states.first(), Some(&StreamState::Connecting), "{states:?}");
    assert_eq!(states.last(), Some(&StreamState::Stopped), "{states:?}");
    let live = states.iter().filter(|s| **s == StreamState::Live).count();
    assert!(
        live >= 2,
        "live, then live again after the camera returned: {states:?}"
    );
    assert!(
        plain_seen
            .iter()
            .any(|e| matches!(e, Event::ViewerJoined { .. }))
    );
    assert!(
        plain_seen
            .iter()
            .any(|e| matches!(e, Event::ViewerLeft { .. }))
    );
}
