#!/usr/bin/env bash
# `make test`: installs what is missing, starts a throwaway PostgreSQL, runs every check and
# test suite, and removes the cluster on exit (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

work=$(mktemp -d -t vas-test-XXXXXX)
chmod 0755 "$work"   # the PostgreSQL server may run as another user
cleanup() {
  bash scripts/pg.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash scripts/pg.sh start "$work/pg" "$port"
export VAS_TEST_POSTGRES_URL
VAS_TEST_POSTGRES_URL=$(bash scripts/pg.sh url "$work/pg" "$port")
unset VAS_SKIP_POSTGRES
echo "test: PostgreSQL for the suites at $VAS_TEST_POSTGRES_URL"

echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: cargo clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
echo "test: cargo test"
cargo test --workspace --all-features --locked
echo "test: examples"
bash scripts/examples.sh
echo "test: the C ABI from C, under sanitizers"
bash scripts/c-abi.sh
echo "test: the Python package, pip-installed into a fresh virtualenv"
bash scripts/python.sh
echo "test: the uniffi bindings: generated, current, and run from Kotlin (JVM) and Python"
bash scripts/uniffi.sh
echo "test: fuzz targets, ${FUZZ_SMOKE_SECONDS:-6} s each"
bash scripts/fuzz.sh smoke "${FUZZ_SMOKE_SECONDS:-6}"
echo "test: the public API of vas is the committed one"
bash scripts/public-api.sh
echo "test: all suites passed"
