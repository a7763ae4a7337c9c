#!/usr/bin/env bash
# The C ABI from C (part of `make test`): the header compiles as C11 and C++17 with
# -Wall -Wextra -Werror; the C test program, the examples in examples/c/ and the parity
# scenario (tests/parity/parity.c) run under AddressSanitizer + UndefinedBehaviorSanitizer +
# LeakSanitizer against a synthetic camera (the `vas-synth` program) and a GStreamer camera,
# with zero sanitizer reports; what they wrote is checked with ffprobe; the pkg-config file
# and the README's snippet build programs that run.
#
# Run alone after `cargo build --workspace --all-features` (which builds target/debug/vas-synth),
# or from scripts/test.sh, which exports VAS_SHELL_FEATURES so that the library is built with
# the workspace build's features and nothing the engine depends on compiles again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fail() { echo "c-abi: $*" >&2; exit 1; }

profile=${VAS_C_PROFILE:-debug}
build=(cargo build --quiet --locked -p vas-ffi)
[ -n "${VAS_SHELL_FEATURES:-}" ] && build+=(--features "$VAS_SHELL_FEATURES")
[ "$profile" = debug ] || build+=(--release)
started=$(date +%s)
"${build[@]}"
echo "c-abi: ${build[*]}: $(( $(date +%s) - started )) s"
lib=target/$profile/libvas_ffi.a
[ -f "$lib" ] || fail "no $lib"
synth_bin=target/debug/vas-synth
[ -x "$synth_bin" ] || cargo build --quiet --locked -p vas-synth --bin vas-synth
[ -x "$synth_bin" ] || fail "no $synth_bin"

work=$(mktemp -d -t vas-c-abi-XXXXXX)
gst=""
synth=""
readme=""
cleanup() {
  # A camera the test froze (SIGSTOP) must be continued to see its SIGTERM.
  [ -n "$synth" ] && { kill -CONT "$synth" 2>/dev/null; kill "$synth" 2>/dev/null; } || true
  exec 7>&- || true
  [ -n "$gst" ] && kill "$gst" 2>/dev/null || true
  [ -n "$readme" ] && kill -- -"$readme" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

warn=(-Wall -Wextra -Werror)
san=(-g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87
export LSAN_OPTIONS=exitcode=88

# Starts `vas-synth` on a free loopback port: sets `synth` (its pid) and `synth_url`. Its
# standard input is a fifo this script holds open (fd 7), so it also ends when the script
# ends, however that happens.
start_synth() {
  mkfifo "$work/synth.in"
  "$synth_bin" --bind 127.0.0.1:0 --until-stdin-closes <"$work/synth.in" \
    >"$work/synth.out" 2>"$work/synth.err" &
  synth=$!
  exec 7>"$work/synth.in"
  local deadline=$((SECONDS + 30))
  until IFS= read -r synth_url 2>/dev/null <"$work/synth.out"; do
    kill -0 "$synth" 2>/dev/null || fail "vas-synth exited: $(cat "$work/synth.err")"
    [ "$SECONDS" -lt "$deadline" ] || fail "vas-synth printed no URL within 30 s"
    sleep 0.1
  done
  [[ $synth_url == rtsp://* ]] || fail "vas-synth printed $synth_url"
}

echo "c-abi: the header as C11 and C++17"
cc -std=c11 -pedantic "${warn[@]}" -fsyntax-only -x c include/vas.h
c++ -std=c++17 -pedantic "${warn[@]}" -fsyntax-only -x c++ include/vas.h
c++ -std=c++17 "${warn[@]}" "${san[@]}" -Iinclude vas-ffi/tests/c/header.cpp "$lib" -lstdc++ -lpthread -ldl -lm -o "$work/header_cpp"
"$work/header_cpp" 2>"$work/cpp.err" || fail "the C++ program failed: $(cat "$work/cpp.err")"
[ "$(grep -c synthetic include/vas.h)" -eq 0 ] || fail "include/vas.h mentions a synthetic camera"

echo "c-abi: building the C programs with sanitizers"
for prog in vas-ffi/tests/c/abi_test.c examples/c/frames.c examples/c/live_view.c tests/parity/parity.c; do
  cc -std=c11 "${warn[@]}" "${san[@]}" -Iinclude "$prog" "$lib" -lstdc++ -lpthread -ldl -lm \
    -o "$work/$(basename "$prog" .c)"
done

# Runs a sanitized program; fails on a non-zero status or any sanitizer report.
run() {
  local name=$1; shift
  local status=0
  "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer' "$work/$name.err"; then
    cat "$work/$name.err" >&2
    fail "$name: sanitizer report"
  fi
  if [ "$status" -ne 0 ]; then
    cat "$work/$name.out" "$work/$name.err" >&2
    fail "$name exited with $status"
  fi
  cat "$work/$name.out"
}

check_jpeg() { # file width
  local got
  got=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width -of csv=p=0 "$1") \
    || fail "$1 is not a decodable JPEG"
  [ "$got" = "mjpeg,$2" ] || fail "$1: $got, expected mjpeg,$2"
  ffmpeg -v error -i "$1" -f null - || fail "$1 does not decode"
}

check_clip() { # file
  local codec duration
  [ -n "$1" ] || fail "no clip= line"
  codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "$1")
  duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$1")
  [ "$codec" = h264 ] || fail "clip $1: codec $codec"
  awk -v d="$duration" 'BEGIN { exit !(d >= 1.5 && d <= 2.6) }' || fail "clip $1 lasts $duration s, expected about 2"
  ffmpeg -v error -i "$1" -f null - || fail "clip $1 does not decode"
}

frames_lines() { # name count
  local n
  n=$(grep -cE '^t=[0-9]+s frames=[1-9][0-9]* size=640x360 mean_luma=[0-9]+ newest_age_ms=-?[0-9]+$' "$work/$1.out" || true)
  [ "$n" -eq "$2" ] || fail "$1 printed $n good lines of $2"
}

offer=vas/src/sfu/testdata/chromium-recvonly-offer.sdp

start_synth
echo "c-abi: abi_test on vas-synth ($synth_url), frozen and thawed once"
mkdir -p "$work/synth"
run abi_synth "$work/abi_test" "$work/synth" "$offer" "$synth_url" "$synth"
check_jpeg "$work/synth/snapshot.jpg" 640
check_clip "$(sed -n 's/^clip=//p' "$work/abi_synth.out")"

echo "c-abi: frames.c on vas-synth"
run frames_synth "$work/frames" "$synth_url" 3 "$work/frames-synth.jpg"
frames_lines frames_synth 3
check_jpeg "$work/frames-synth.jpg" 640

echo "c-abi: live_view.c answers a WHEP offer from stdin"
run live_view "$work/live_view" "$synth_url" 1 <"$offer"
grep -q '^m=video' "$work/live_view.out" && grep -q '^a=ice-lite' "$work/live_view.out" \
  && grep -q '^a=candidate' "$work/live_view.out" || fail "live_view's answer: $(cat "$work/live_view.out")"
status=0
echo "hello" | "$work/live_view" "$synth_url" >/dev/null 2>"$work/garbage.err" || status=$?
[ "$status" -eq 1 ] && grep -q invalid_input "$work/garbage.err" || fail "a garbage offer: status $status, $(cat "$work/garbage.err")"

echo "c-abi: the parity scenario (tests/parity/run.py shell c)"
# The driver starts its own camera and keeps the program's output; sanitizer reports go to
# files, so they are seen whatever the driver does with standard error.
mkdir -p "$work/san"
ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$work/san/parity" UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$work/san/parity" \
  python3 tests/parity/run.py shell c -- "$work/parity" || fail "the parity scenario failed"
if compgen -G "$work/san/parity*" >/dev/null; then
  cat "$work"/san/parity* >&2
  fail "parity: sanitizer report"
fi

echo "c-abi: a GStreamer camera (x264 High profile)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 scripts/gst-rtsp-camera.py "$port" >"$work/gst.out" 2>"$work/gst.err" &
gst=$!
deadline=$((SECONDS + 60))
until grep -q '^READY' "$work/gst.out"; do
  kill -0 "$gst" 2>/dev/null || fail "the GStreamer camera exited: $(cat "$work/gst.err")"
  [ "$SECONDS" -lt "$deadline" ] || fail "the GStreamer camera was not ready within 60 s"
  sleep 0.2
done
mkdir -p "$work/gst"
run abi_gst "$work/abi_test" "$work/gst" "$offer" "rtsp://127.0.0.1:$port/high"
check_jpeg "$work/gst/snapshot.jpg" 640
check_clip "$(sed -n 's/^clip=//p' "$work/abi_gst.out")"
run frames_gst "$work/frames" "rtsp://127.0.0.1:$port/high" 3 "$work/frames-gst.jpg"
frames_lines frames_gst 3
check_jpeg "$work/frames-gst.jpg" 640
kill "$gst"; wait "$gst" 2>/dev/null || true
gst=""

echo "c-abi: pkg-config (make vas.pc) and an installed copy (make install)"
make --no-print-directory vas.pc PROFILE="$profile" >/dev/null
PKG_CONFIG_PATH=$root/target/pkgconfig cc -std=c11 "${warn[@]}" examples/c/frames.c \
  $(PKG_CONFIG_PATH=$root/target/pkgconfig pkg-config --cflags --libs vas) -o "$work/frames_pc"
(cd "$work" && ./frames_pc "$synth_url" 1 "$work/pc.jpg" >"$work/frames_pc.out") || fail "frames via pkg-config failed"
grep -q '^t=1s frames=[1-9]' "$work/frames_pc.out" || fail "frames via pkg-config: $(cat "$work/frames_pc.out")"
make --no-print-directory install PROFILE="$profile" PREFIX="$work/prefix" >/dev/null
cc -std=c11 "${warn[@]}" examples/c/live_view.c \
  $(PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig pkg-config --cflags --libs vas) \
  -Wl,-rpath,"$work/prefix/lib" -o "$work/live_view_installed"
"$work/live_view_installed" "$synth_url" <"$offer" | grep -q '^a=ice-lite' || fail "the installed library's live_view"

echo "c-abi: the README's C snippet, as written (target/release is this build, port 8554 a free one)"
snippet=$(awk '/<!-- c-snippet -->/{on=1; next} /<!-- \/c-snippet -->/{on=0} on' README.md | sed '/^```/d')
[ -n "$snippet" ] || fail "the README has no C snippet"
grep -q '^cargo build' <<<"$snippet" || fail "the README's snippet does not build the library"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
snippet=$(grep -v '^cargo build' <<<"$snippet" | sed "s/127\.0\.0\.1:8554/127.0.0.1:$port/g")
mkdir -p "$work/readme/target/release"
ln -s "$root/include" "$work/readme/include"
ln -s "$root/examples" "$work/readme/examples"
ln -s "$root/$lib" "$work/readme/target/release/libvas_ffi.a"
ln -s "$root/$synth_bin" "$work/readme/target/release/vas-synth"
# In a session of its own, so that what it starts in the background ends with it.
(cd "$work/readme" && exec setsid bash -euo pipefail -c "$snippet") >"$work/readme.out" 2>&1 &
readme=$!
status=0
wait "$readme" || status=$?
[ "$status" -eq 0 ] || { cat "$work/readme.out" >&2; fail "the README's snippet failed ($status)"; }
readme=""
grep -q '^t=1s frames=[1-9]' "$work/readme.out" || fail "the README's snippet printed: $(cat "$work/readme.out")"
[ -s "$work/readme/snapshot.jpg" ] || fail "the README's snippet wrote no snapshot.jpg"
echo "c-abi: all passed"
