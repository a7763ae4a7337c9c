//! Signaling over real sockets: the WebSocket protocol and WHEP answer every kind of bad
//! input with a clear error (malformed and hostile messages and SDP, oversized messages,
//! floods, unknown or stopped streams), close what a socket opened when it goes away, and
//! leave other viewers alone; garbage on the media port changes nothing.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use vas_server::AppState;
use vas_synth::{CameraConfig, SyntheticCamera};

/// A browser's offer (captured from headless Chromium 156: recvonly video, H.264 profiles).
const CHROMIUM_OFFER: &str =
    include_str!("../../../vas/src/sfu/testdata/chromium-recvonly-offer.sdp");

struct Harness {
    base: String,
    ws_url: String,
    signaling_url: String,
    vas: vas::Vas,
    live: String,
    stopped: String,
    _camera: SyntheticCamera,
    _dir: tempfile::TempDir,
}

async fn harness(token: Option<&str>) -> Harness {
    let camera = SyntheticCamera::start(CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .webrtc(vas::config::WebRtcConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let live_dev = vas
        .add_device(vas::NewDevice::new("live", camera.url()))
        .await
        .unwrap();
    let stopped_dev = vas
        .add_device(vas::NewDevice::new("stopped", "rtsp://10.9.9.9/x"))
        .await
        .unwrap();
    let streams = vas.streams(None, vas::Order::Oldest).await.unwrap();
    let find = |d: vas::DeviceId| streams.iter().find(|s| s.device_id == d).unwrap().id;
    let (live, stopped) = (find(live_dev.id), find(stopped_dev.id));
    vas.start_stream(live).await.unwrap();
    let t = Instant::now();
    while vas.stream(live).await.unwrap().state != vas::StreamState::Live {
        assert!(t.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let state = AppState::with_token(vas.clone(), token);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let signaling = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let signaling_addr = signaling.local_addr().unwrap();
    let signaling_app = vas_server::signaling::signaling_app(state.clone());
    tokio::spawn(async move { axum::serve(listener, vas_server::app(state)).await });
    tokio::spawn(async move { axum::serve(signaling, signaling_app).await });
    Harness {
        base: format!("http://{addr}"),
        ws_url: format!("ws://{addr}/api/v1/ws"),
        signaling_url: format!("ws://{signaling_addr}/"),
        vas,
        live: live.to_string(),
        stopped: stopped.to_string(),
        _camera: camera,
        _dir: dir,
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn ask(ws: &mut Ws, msg: Message) -> Value {
    ws.send(msg).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).unwrap(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no reply: {other:?}"),
        }
    }
}

async fn ask_json(ws: &mut Ws, v: Value) -> Value {
    ask(ws, Message::Text(v.to_string().into())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_protocol_and_its_bad_inputs() {
    let h = harness(None).await;
    let mut ws = connect(&h.ws_url).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let hostile_sdp = format!("v=0\r\n{}", "a=x:".repeat(10_000));
    #[rustfmt::skip]
    let table: Vec<(&str, Message, &str)> = vec![
        ("malformed JSON", Message::Text("{\"type\": ".into()), "invalid_input"),
        ("unknown type", Message::Text(r#"{"type":"subscribe","request_id":"1"}"#.into()), "invalid_input"),
        ("unknown field", Message::Text(r#"{"type":"ping","request_id":"1","x":1}"#.into()), "invalid_input"),
        ("binary", Message::Binary(vec![1, 2, 3].into()), "invalid_input"),
        ("unknown stream", Message::Text(json!({"type":"offer","request_id":"2","stream_id":unknown,"sdp":CHROMIUM_OFFER}).to_string().into()), "not_found"),
        ("non-UUID stream", Message::Text(json!({"type":"offer","request_id":"3","stream_id":"../x","sdp":CHROMIUM_OFFER}).to_string().into()), "invalid_input"),
        ("stopped stream", Message::Text(json!({"type":"offer","request_id":"4","stream_id":h.stopped,"sdp":CHROMIUM_OFFER}).to_string().into()), "failed_precondition"),
        ("garbage SDP", Message::Text(json!({"type":"offer","request_id":"5","stream_id":h.live,"sdp":"hello"}).to_string().into()), "invalid_input"),
        ("hostile SDP", Message::Text(json!({"type":"offer","request_id":"6","stream_id":h.live,"sdp":hostile_sdp}).to_string().into()), "invalid_input"),
        ("close unknown session", Message::Text(r#"{"type":"close","request_id":"7","session_id":"nope"}"#.into()), "not_found"),
    ];
    let mut failures = Vec::new();
    for (what, msg, kind) in table {
        let reply = ask(&mut ws, msg).await;
        let ok = reply["type"] == "error"
            && (reply["kind"] == kind || (what == "hostile SDP" && reply["kind"] == "too_large"))
            && reply["message"].as_str().is_some_and(|m| !m.is_empty());
        if !ok {
            failures.push(format!("{what}: {reply}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // The same socket still works: a real offer gets an answer, and closing it works.
    let pong = ask_json(&mut ws, json!({"type":"ping","request_id":"p"})).await;
    assert_eq!(pong, json!({"type":"pong","request_id":"p"}));
    let answer = ask_json(
        &mut ws,
        json!({"type":"offer","request_id":"a","stream_id":h.live,"sdp":CHROMIUM_OFFER}),
    )
    .await;
    assert_eq!(answer["type"], "answer", "{answer}");
    assert_eq!(answer["request_id"], "a");
    assert!(
        answer["sdp"].as_str().unwrap().contains("a=ice-lite"),
        "{answer}"
    );
    let live: vas::StreamId = h.live.parse().unwrap();
    assert_eq!(h.vas.viewer_count(live), 1);
    let session = answer["session_id"].as_str().unwrap().to_owned();
    let closed = ask_json(
        &mut ws,
        json!({"type":"close","request_id":"c","session_id":session}),
    )
    .await;
    assert_eq!(closed["type"], "closed");
    assert_eq!(h.vas.viewer_count(live), 0);

    // A second socket's viewer survives a flooding, then oversized, socket; it goes away
    // with its own socket.
    let mut keeper = connect(&h.ws_url).await;
    let a = ask_json(
        &mut keeper,
        json!({"type":"offer","stream_id":h.live,"sdp":CHROMIUM_OFFER}),
    )
    .await;
    assert_eq!(a["type"], "answer");
    let mut flood = connect(&h.ws_url).await;
    for i in 0..200 {
        if flood
            .send(Message::Text(
                format!(r#"{{"type":"ping","request_id":"{i}"}}"#).into(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut saw_limit = false;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), flood.next()).await {
        if let Message::Text(t) = m
            && t.contains("resource_exhausted")
        {
            saw_limit = true;
        }
    }
    assert!(saw_limit, "the flood was stopped with a clear error");
    let mut big = connect(&h.ws_url).await;
    let _ = big.send(Message::Text("x".repeat(200 * 1024).into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), big.next())
        .await
        .unwrap();
    assert!(
        !matches!(ended, Some(Ok(Message::Text(_)))),
        "oversized message refused: {ended:?}"
    );
    assert_eq!(
        h.vas.viewer_count(live),
        1,
        "the other socket's viewer is unaffected"
    );
    drop(keeper);
    let t = Instant::now();
    while h.vas.viewer_count(live) != 0 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "viewer not released with its socket"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Garbage on the media port: ignored; the service keeps serving.
    let media = h.vas.webrtc_addresses().unwrap().local;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..2_000u32 {
        let junk: Vec<u8> = (0..(i % 1400)).map(|b| (b * 31 + i) as u8).collect();
        udp.send_to(&junk, media).await.unwrap();
    }
    let mut again = connect(&h.ws_url).await;
    let a = ask_json(
        &mut again,
        json!({"type":"offer","stream_id":h.live,"sdp":CHROMIUM_OFFER}),
    )
    .await;
    assert_eq!(a["type"], "answer", "still serving after garbage: {a}");
    h.vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whep_sessions_and_their_bad_inputs() {
    let h = harness(None).await;
    let client = |method: &str, path: &str, ct: &str, body: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new("curl")
            .args(["-s", "-D", "-", "-X", method, &format!("{}{path}", h.base)])
            .args(["-H", &format!("content-type: {ct}"), "--data-binary", "@-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let whep = format!("/api/v1/streams/{}/whep", h.live);
    let status = |resp: &str| resp.split_whitespace().nth(1).unwrap_or("").to_owned();
    let unknown = uuid::Uuid::new_v4();
    for (what, path, ct, body, want) in [
        (
            "wrong content type",
            whep.clone(),
            "application/json",
            CHROMIUM_OFFER.to_owned(),
            "415",
        ),
        (
            "garbage SDP",
            whep.clone(),
            "application/sdp",
            "not sdp".to_owned(),
            "400",
        ),
        (
            "oversized SDP",
            whep.clone(),
            "application/sdp",
            "v=0\r\n".repeat(40_000),
            "413",
        ),
        (
            "unknown stream",
            format!("/api/v1/streams/{unknown}/whep"),
            "application/sdp",
            CHROMIUM_OFFER.to_owned(),
            "404",
        ),
        (
            "stopped stream",
            format!("/api/v1/streams/{}/whep", h.stopped),
            "application/sdp",
            CHROMIUM_OFFER.to_owned(),
            "409",
        ),
    ] {
        let resp = tokio::task::block_in_place(|| client("POST", &path, ct, &body));
        assert_eq!(status(&resp), want, "{what}: {resp}");
        assert!(
            resp.contains(r#""error":{"kind""#),
            "{what}: JSON error body: {resp}"
        );
    }
    let resp =
        tokio::task::block_in_place(|| client("POST", &whep, "application/sdp", CHROMIUM_OFFER));
    assert_eq!(status(&resp), "201", "{resp}");
    let lower = resp.to_lowercase();
    assert!(lower.contains("content-type: application/sdp"), "{resp}");
    let location = lower
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        location.starts_with("/api/v1/whep/") && location.len() > 40,
        "{location}"
    );
    assert!(resp.contains("a=ice-lite"));
    let live: vas::StreamId = h.live.parse().unwrap();
    assert_eq!(h.vas.viewer_count(live), 1);
    let patch = tokio::task::block_in_place(|| {
        client("PATCH", &location, "application/trickle-ice-sdpfrag", "a=x")
    });
    assert_eq!(
        status(&patch),
        "405",
        "no trickle ICE (ICE-lite, candidates in the answer): {patch}"
    );
    let del = tokio::task::block_in_place(|| client("DELETE", &location, "text/plain", ""));
    assert_eq!(status(&del), "204", "{del}");
    assert_eq!(h.vas.viewer_count(live), 0);
    let again = tokio::task::block_in_place(|| client("DELETE", &location, "text/plain", ""));
    assert_eq!(status(&again), "404", "{again}");
    h.vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_needs_the_token_when_one_is_set() {
    let h = harness(Some("tok-ws")).await;
    let refused = tokio_tungstenite::connect_async(&h.ws_url).await;
    assert!(refused.is_err(), "no token, no socket");
    let mut ws = connect(&format!("{}?token=tok-ws", h.ws_url)).await;
    let pong = ask_json(&mut ws, json!({"type":"ping"})).await;
    assert_eq!(pong["type"], "pong");
    // The dedicated signaling port speaks the same protocol at `/`.
    assert!(
        tokio_tungstenite::connect_async(&h.signaling_url)
            .await
            .is_err()
    );
    let mut ws = connect(&format!("{}?token=tok-ws", h.signaling_url)).await;
    let answer = ask_json(
        &mut ws,
        json!({"type":"offer","request_id":"x","stream_id":h.live,"sdp":CHROMIUM_OFFER}),
    )
    .await;
    assert_eq!(answer["type"], "answer", "{answer}");
    h.vas.close().await;
}
