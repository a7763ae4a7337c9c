#!/usr/bin/env bash
# Installs the system packages the test suites need, if they are missing, then checks that
# every capability the suites use is really there (a GStreamer element, a binary, a Python
# module, an ffmpeg encoder), failing with one line per missing thing that names the package
# providing it. Packages are installed with --no-install-recommends, as on a fresh CI machine,
# so nothing may rely on what a recommends chain would have pulled in.
# As root it uses apt-get; otherwise sudo -n if available; otherwise it names what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the build and the suites use: nasm (openh264's assembly, found by its build
# script when present: the decoder and the synthetic camera's encoder are several times
# faster with it; install it before the first build), PostgreSQL (store tests), curl and jq (the README's API
# examples), ffmpeg (media checks), GStreamer's RTSP server with x264/x265/AAC encoders, the
# pango overlay (timeoverlay, in gstreamer1.0-x) and its Python bindings (third-party camera
# for interop tests), Chromium (dashboard, WebRTC and hls.js tests, driven by playwright-core
# from npm).
PACKAGES=(
  nasm
  gcc
  g++
  pkgconf
  postgresql
  curl
  jq
  ffmpeg
  python3-gi
  gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-tools
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  gstreamer1.0-x
  chromium
  default-jre-headless
  libjna-java
)

# Capabilities, each as "what|how to check|package that provides it". The GStreamer elements
# are every element scripts/gst-rtsp-camera.py builds its pipelines from.
GST_ELEMENTS=(
  "videotestsrc|gstreamer1.0-plugins-base"
  "audiotestsrc|gstreamer1.0-plugins-base"
  "timeoverlay|gstreamer1.0-x"
  "x264enc|gstreamer1.0-plugins-ugly"
  "x265enc|gstreamer1.0-plugins-bad"
  "rtph264pay|gstreamer1.0-plugins-good"
  "rtph265pay|gstreamer1.0-plugins-good"
  "mulawenc|gstreamer1.0-plugins-good"
  "rtppcmupay|gstreamer1.0-plugins-good"
  "rtpmp4gpay|gstreamer1.0-plugins-good"
  "avenc_aac|gstreamer1.0-libav"
  "netsim|gstreamer1.0-plugins-bad"
)
BINARIES=(
  "nasm|nasm (openh264's SIMD kernels; without it openh264 builds as plain C, several times slower)"
  "ffmpeg|ffmpeg"
  "ffprobe|ffmpeg"
  "chromium|chromium"
  "psql|postgresql-client"
  "jq|jq"
  "curl|curl"
  "gst-inspect-1.0|gstreamer1.0-tools"
  "node|nodejs (Node.js 20)"
  "npm|npm (Node.js 20)"
  "taskset|util-linux"
  "cc|gcc (the C ABI's programs)"
  "c++|g++ (the C ABI's C++ check)"
  "pkg-config|pkgconf"
  "java|default-jre-headless (the Kotlin compiler and the JVM check of the uniffi bindings)"
)
FFMPEG_ENCODERS=(
  "libx264|ffmpeg (built with libx264)"
  "libx265|ffmpeg (built with libx265)"
)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-deps: missing packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust components the checks use.
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi
command -v cargo >/dev/null 2>&1 || { echo "install-deps: cargo is not installed" >&2; exit 1; }
# cargo-nextest runs the Rust suites, each test in a process of its own (a test that counts
# threads, descriptors or memory sees only its own). Machines of this kind come with it; the
# pinned version is built only where it is missing.
CARGO_NEXTEST_VERSION=0.9.143
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: installing cargo-nextest $CARGO_NEXTEST_VERSION"
  cargo install cargo-nextest --version "$CARGO_NEXTEST_VERSION" --locked --quiet
fi
# cargo-fuzz, for `make fuzz` only (`make test`'s smoke run needs no more than cargo); pinned
# so every machine fuzzes the same way.
CARGO_FUZZ_VERSION=0.13.2
if [ "${VAS_INSTALL_CARGO_FUZZ:-0}" = 1 ] && ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "install-deps: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi

# Capability checks: what the suites run, not which packages dpkg lists.
problems=()
for entry in "${BINARIES[@]}"; do
  bin=${entry%%|*}
  command -v "$bin" >/dev/null 2>&1 || problems+=("binary '$bin' not found (package: ${entry#*|})")
done
# initdb and pg_ctl live outside PATH on Debian; scripts/pg.sh looks for them the same way.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "${PG_BIN:-}" ] && { [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; } && ! command -v initdb >/dev/null 2>&1; then
  problems+=("binary 'initdb' not found under /usr/lib/postgresql/*/bin (package: postgresql)")
fi
if command -v gst-inspect-1.0 >/dev/null 2>&1; then
  for entry in "${GST_ELEMENTS[@]}"; do
    element=${entry%%|*}
    gst-inspect-1.0 --exists "$element" >/dev/null 2>&1 \
      || problems+=("GStreamer element '$element' not found (package: ${entry#*|})")
  done
fi
if ! /usr/bin/python3 -c '
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
' >/dev/null 2>&1; then
  problems+=("Python module gi with Gst and GstRtspServer not importable by /usr/bin/python3 (packages: python3-gi, gir1.2-gst-rtsp-server-1.0)")
fi
if command -v ffmpeg >/dev/null 2>&1; then
  encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null || true)
  for entry in "${FFMPEG_ENCODERS[@]}"; do
    enc=${entry%%|*}
    grep -qw -- "$enc" <<<"$encoders" || problems+=("ffmpeg encoder '$enc' not found (package: ${entry#*|})")
  done
fi
# The Python package is built and tested in a fresh virtualenv (scripts/python.sh).
if ! python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; then
  problems+=("python3 (3.9 or newer) with the venv and ensurepip modules (Debian: python3-venv)")
fi
# The uniffi bindings' Kotlin check loads the library through JNA.
[ -f /usr/share/java/jna.jar ] || problems+=("/usr/share/java/jna.jar not found (package: libjna-java)")
# The C ABI's programs run under AddressSanitizer + UndefinedBehaviorSanitizer (their runtimes,
# libasan and libubsan, come with gcc).
if command -v cc >/dev/null 2>&1; then
  san_dir=$(mktemp -d)
  if ! printf 'int main(void){return 0;}\n' >"$san_dir/t.c" \
      || ! cc -fsanitize=address,undefined "$san_dir/t.c" -o "$san_dir/t" >/dev/null 2>&1 \
      || ! "$san_dir/t"; then
    problems+=("cc cannot build and run -fsanitize=address,undefined programs (packages: libasan8, libubsan1)")
  fi
  rm -rf "$san_dir"
fi
if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do echo "install-deps: missing: $p" >&2; done
  exit 1
fi

# The browser tests' driver (exact versions from package-lock.json).
npm ci --prefix vas-server/tests/browser --no-audit --no-fund --loglevel=error
# The Kotlin compiler for the uniffi bindings' JVM check (JetBrains' distribution on npm).
npm ci --prefix vas-uniffi/tests/kotlin --no-audit --no-fund --loglevel=error
echo "install-deps: every package and capability the suites use is present"
