//! Embed VAS in your own axum server and serve live view to browsers over WebRTC (WHEP).
//!
//! ```text
//! cargo run --release --example embed_live -- [rtsp://user:pass@camera/stream] [seconds]
//! ```
//!
//! Open the printed address in a browser: the page plays the camera. Without a URL it shows
//! VAS's synthetic camera. It serves until Ctrl-C, or for `seconds` if given. The routes are
//! yours; VAS only answers the SDP offer:
//! * `GET /` — a page that plays the stream with a few lines of WHEP in JavaScript;
//! * `POST /whep` (body: an SDP offer, `application/sdp`) — `201` with the SDP answer and a
//!   `Location` to end the session;
//! * `DELETE /whep/{viewer}` — ends it.
#![allow(clippy::print_stdout)] // printing the address is the point

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use vas::ViewerId;
use vas::config::WebRtcConfig;
use vas::{ErrorKind, StreamId, Vas};

/// What the handlers share: the engine and the stream they show.
struct App {
    vas: Vas,
    stream: StreamId,
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>VAS live view</title>
<video id="v" autoplay muted playsinline controls style="width:100%;max-width:960px"></video>
<script>
(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (e) => { document.getElementById("v").srcObject = e.streams[0] || new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  // VAS is ICE-lite and puts its candidates in the answer: no trickle needed.
  const r = await fetch("/whep", { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  if (r.status !== 201) { document.body.append("WHEP failed: " + await r.text()); return; }
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
  addEventListener("pagehide", () => fetch(r.headers.get("Location"), { method: "DELETE", keepalive: true }));
})();
</script>
"#;

/// VAS errors as HTTP answers: one mapping, by kind.
fn error(e: &vas::Error) -> Response {
    let status = match e.kind() {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::FailedPrecondition => StatusCode::CONFLICT,
        ErrorKind::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable | ErrorKind::Closed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, format!("{}: {}\n", e.kind(), e.message())).into_response()
}

async fn whep_offer(State(app): State<Arc<App>>, headers: HeaderMap, offer: Bytes) -> Response {
    let is_sdp = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/sdp"));
    if !is_sdp {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the offer as application/sdp\n",
        )
            .into_response();
    }
    let Ok(offer) = std::str::from_utf8(&offer) else {
        return (StatusCode::BAD_REQUEST, "the offer is not UTF-8\n").into_response();
    };
    match app.vas.webrtc_answer(app.stream, offer.to_owned()).await {
        Ok(session) => (
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, "application/sdp".to_owned()),
                (header::LOCATION, format!("/whep/{}", session.viewer.0)),
            ],
            session.answer_sdp,
        )
            .into_response(),
        Err(e) => error(&e),
    }
}

async fn whep_delete(State(app): State<Arc<App>>, Path(viewer): Path<u64>) -> StatusCode {
    match app.vas.webrtc_close(ViewerId(viewer)).await {
        Ok(true) => StatusCode::OK,
        Ok(false) => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let camera = vas_examples::Camera::from_args().await?;
    let seconds = camera.seconds;

    // The engine, with WebRTC on one UDP port (and ICE-TCP) for every viewer.
    let dir = tempfile::tempdir()?;
    let vas = Vas::builder()
        .data_dir(dir.path())
        .webrtc(WebRtcConfig {
            bind: "127.0.0.1:0".parse()?,
            ..WebRtcConfig::default()
        })
        .build()
        .await?;
    let (device, stream) = vas_examples::add_camera(&vas, "camera", &camera.url).await?;
    vas.start_stream(stream).await?;

    // Your router: VAS is one handler among yours.
    let app = Arc::new(App {
        vas: vas.clone(),
        stream,
    });
    let router = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/whep", post(whep_offer))
        .route("/whep/{viewer}", delete(whep_delete))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "live view of {} at http://{}/",
        device.rtsp_url,
        listener.local_addr()?
    );
    let stop = async move {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await?;
    vas.close().await;
    Ok(())
}
