#!/usr/bin/env bash
# Installs the system packages the test suites need, if they are missing.
# As root it uses apt-get; otherwise sudo -n if available; otherwise it names what to install.
set -euo pipefail

# Debian packages the suites use: PostgreSQL (store tests), curl and jq (the README's API
# examples), ffmpeg (media checks), GStreamer's RTSP server with x264/x265/AAC encoders and
# its Python bindings (third-party camera for interop tests), Chromium (dashboard, WebRTC and
# hls.js tests, driven by playwright-core from npm).
PACKAGES=(
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
  chromium
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
command -v npm >/dev/null 2>&1 || { echo "install-deps: npm (Node.js) is not installed" >&2; exit 1; }

# The browser tests' driver (exact versions from package-lock.json).
npm ci --prefix vas-server/tests/browser --no-audit --no-fund --loglevel=error
