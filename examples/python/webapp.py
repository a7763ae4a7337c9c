#!/usr/bin/env python3
"""A small web app that shows a camera live in the browser, over WebRTC.

    python examples/python/webapp.py [RTSP_URL] [--port 8080] [--bind 127.0.0.1]

Without a URL it shows VAS's synthetic camera (`vas.SyntheticCamera`, in packages built with
the `demo` feature). Open http://127.0.0.1:8080/ : the page sends its WebRTC offer to
POST /offer, which answers with `Vas.webrtc_answer`; the video then flows from VAS to the
browser directly (UDP, the engine's WebRTC port). Uses only the standard library's HTTP
server; any framework works the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import vas

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>VAS live view</title>
<style>body{margin:0;background:#111;color:#ddd;font:14px sans-serif}
video{width:100vw;max-height:90vh;background:#000}</style>
<video id="v" autoplay muted playsinline></video>
<div id="s">connecting…</div>
<script>
const pc = new RTCPeerConnection();
pc.addTransceiver("video", {direction: "recvonly"});
pc.ontrack = (e) => { document.getElementById("v").srcObject = e.streams[0] || new MediaStream([e.track]); };
pc.onconnectionstatechange = () => { document.getElementById("s").textContent = pc.connectionState; };
(async () => {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === "complete") r();
    else { pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r(); setTimeout(r, 1000); } });
  const res = await fetch("/offer", {method: "POST", headers: {"Content-Type": "application/sdp"},
                                     body: pc.localDescription.sdp});
  if (!res.ok) { document.getElementById("s").textContent = await res.text(); return; }
  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
})();
</script>
"""

# Most bytes of an SDP offer this app reads (browsers send a few kilobytes).
MAX_OFFER = 64 * 1024


def make_handler(v: vas.Vas, stream_id: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            if self.path == "/":
                self.reply(HTTPStatus.OK, PAGE, "text/html; charset=utf-8")
            elif self.path == "/status":
                s = v.stream(stream_id)
                body = json.dumps({"state": s.state, "fps": s.fps, "viewers": s.viewers})
                self.reply(HTTPStatus.OK, body, "application/json")
            else:
                self.reply(HTTPStatus.NOT_FOUND, "not found\n", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/offer":
                self.reply(HTTPStatus.NOT_FOUND, "not found\n", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_OFFER:
                self.reply(HTTPStatus.BAD_REQUEST, "an SDP offer of 1 byte to 64 KiB\n", "text/plain")
                return
            offer = self.rfile.read(length).decode("utf-8", "replace")
            try:
                session = v.webrtc_answer(stream_id, offer)
            except vas.InvalidInput as e:
                self.reply(HTTPStatus.BAD_REQUEST, f"{e}\n", "text/plain")
            except vas.ResourceExhausted as e:
                self.reply(HTTPStatus.SERVICE_UNAVAILABLE, f"{e}\n", "text/plain")
            else:
                self.reply(HTTPStatus.CREATED, session.answer_sdp, "application/sdp")

        def reply(self, status: HTTPStatus, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="rtsp:// URL (default: the synthetic camera)")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (0: any free one)")
    parser.add_argument("--bind", default="127.0.0.1", help="address for HTTP and WebRTC")
    args = parser.parse_args()

    with ExitStack() as stack:
        url = args.url or stack.enter_context(vas.SyntheticCamera(640, 360, 30)).url
        data = stack.enter_context(tempfile.TemporaryDirectory(prefix="vas-webapp-"))
        v = stack.enter_context(vas.Vas(data_dir=data, webrtc_bind=f"{args.bind}:0"))
        camera = v.add_device("live", url)
        stream_id = camera.main_stream_id
        v.start_stream(stream_id)
        server = ThreadingHTTPServer((args.bind, args.port), make_handler(v, stream_id))
        print(f"live view of {camera.rtsp_url} at http://{args.bind}:{server.server_port}/",
              flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
