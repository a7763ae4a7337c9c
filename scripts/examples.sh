#!/usr/bin/env bash
# Runs every example in examples/ against the synthetic camera (as `cargo run --example NAME`
# does from the workspace root) and checks what it printed. Part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "examples: $*" >&2; exit 1; }
# The test profile (the dev profile's settings): make test's one workspace build is in it, so
# the examples and the engine under them are not compiled a second time.

echo "examples: frames"
out=$(timeout 120 cargo run --quiet --locked --profile test --example frames -- 3) || fail "frames exited with $?: $out"
echo "$out"
lines=$(grep -cE '^t=[0-9]+s frames=[1-9][0-9]* size=640x360 mean_luma=[0-9]+ newest_age_ms=-?[0-9]+$' <<<"$out" || true)
[ "$lines" -eq 3 ] || fail "frames printed $lines good lines of 3"
echo "examples: frames from a third-party camera URL (GStreamer, x264 High profile)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 scripts/gst-rtsp-camera.py "$port" >/dev/null &
gst=$!
trap 'kill "$gst" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
out=$(timeout 120 cargo run --quiet --locked --profile test --example frames -- "rtsp://127.0.0.1:$port/high" 3) \
  || fail "frames on the GStreamer camera exited with $?: $out"
echo "$out"
lines=$(grep -cE '^t=[0-9]+s frames=[1-9][0-9]* size=640x360 mean_luma=[0-9]+ newest_age_ms=-?[0-9]+$' <<<"$out" || true)
[ "$lines" -eq 3 ] || fail "frames on the GStreamer camera printed $lines good lines of 3"
kill "$gst"; wait "$gst" 2>/dev/null || true
trap - EXIT

echo "examples: events"
out=$(timeout 120 cargo run --quiet --locked --profile test --example events) || fail "events exited with $?: $out"
echo "$out"
# (When the recorder's first recording starts depends on where the camera's keyframes fall.)
for want in 'stream connecting' 'stream live' 'stream reconnecting' 'Recorder { stream' 'state: Stopped'; do
  grep -q "$want" <<<"$out" || fail "events never printed '$want'"
done

echo "examples: embed_live"
cargo build --quiet --locked --profile test --example embed_live
log=$(mktemp)
target/debug/examples/embed_live 60 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^live view of' "$log" && break; sleep 0.2; done
base=$(sed -n 's/^live view of .* at \(http:[^ ]*\)$/\1/p' "$log")
[ -n "$base" ] || fail "embed_live printed no address: $(cat "$log")"
sleep 2   # the camera's first frames
curl -fsS "$base" | grep -q RTCPeerConnection || fail "the page has no player"
headers=$(mktemp)
answer=$(curl -sS -D "$headers" -H 'Content-Type: application/sdp' --data-binary @vas/src/sfu/testdata/chromium-recvonly-offer.sdp "${base}whep")
grep -q '^HTTP/1.1 201' "$headers" || fail "WHEP offer: $(head -1 "$headers") $answer"
grep -q '^m=video' <<<"$answer" && grep -q '^a=ice-lite' <<<"$answer" && grep -q '^a=candidate' <<<"$answer" \
  || fail "the answer is not an ICE-lite video answer with candidates: $answer"
location=$(sed -n 's/^[Ll]ocation: \([^\r]*\)\r*$/\1/p' "$headers")
[ -n "$location" ] || fail "no Location header"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${base%/}$location")" = 200 ] || fail "DELETE of the session"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${base%/}$location")" = 404 ] || fail "a second DELETE is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data 'x' "${base}whep")" = 415 ] || fail "a non-SDP body is not 415"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/sdp' --data 'hello' "${base}whep")" = 400 ] || fail "a garbage offer is not 400"
rm -f "$headers"
kill "$pid"
wait "$pid" 2>/dev/null || true
echo "examples: all passed"
