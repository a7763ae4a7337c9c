#!/usr/bin/env bash
# `make test`: installs what is missing, starts a throwaway PostgreSQL, runs every check and
# test suite, and removes the cluster on exit (also on failure or Ctrl-C). Prints how long
# each step took at the end.
#
# One compilation serves clippy and the tests: clippy's driver wraps rustc for the workspace's
# own crates (RUSTC_WORKSPACE_WRAPPER, as `cargo clippy` does it) while `cargo build` compiles
# every target once, so the lints run during the build that the suites then use. Every later
# cargo command (nextest, doc tests, the shells' scripts, maturin) runs with the same
# environment and finds those artifacts fresh.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
step_started=$started
step_name=""
timings=()
step() {
  local now
  now=$(date +%s)
  [ -n "$step_name" ] && timings+=("$(printf '%5d s  %s' $((now - step_started)) "$step_name")")
  step_name=$1
  step_started=$now
  echo "test: $1"
}
report() {
  step ""
  echo "test: time per step"
  printf '  %s\n' "${timings[@]}"
  echo "  $(( $(date +%s) - started )) s in all"
}

step "install what is missing"
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

clippy_driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)
[ -x "$clippy_driver" ] || { echo "test: clippy-driver is missing (rustup component add clippy)" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER=$clippy_driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "cargo fmt --check"
cargo fmt --all -- --check
step "the import graph has no cycles"
python3 scripts/import-graph.py
step "build every target, with clippy's lints (-D warnings)"
# In the test profile, which is what cargo nextest builds: the workspace's crates are then
# compiled once for clippy, the binaries and the suites (the dev profile would be a second
# set of units, and nextest would compile vas and everything above it again).
cargo build --profile test --workspace --all-targets --all-features --locked
step "the files made from the engine's description are current (make generate)"
# The binary the workspace build just made: `cargo run -p vas-gen` alone would resolve
# features for vas-gen only and build vas and sqlx a second time (about two minutes).
target/debug/vas-gen check
step "vas without its test-only feature: no warning (dead code shows here)"
cargo build -p vas --lib --locked --features tokio/test-util
rm -rf target/parity   # the parity test's documents, written by the steps below
# The shells' scripts build their crate with these features too, so that cargo finds the
# engine and its dependencies built above with the same features instead of building them
# again (a package built alone gets only its own dependencies' features; the workspace build
# unifies the test-only ones in).
export VAS_SHELL_FEATURES="vas/_internal_test_exports,tokio/test-util"
# uniffi.sh builds its two variants in the workspace build's own graph (cheaper still; see
# scripts/workspace-features.py).
export VAS_WORKSPACE_BUILT=1
step "Rust suites (cargo nextest, a process per test)"
cargo nextest run --workspace --all-features --locked --no-fail-fast
step "doc tests"
cargo test --workspace --all-features --locked --doc
step "examples"
bash scripts/examples.sh
step "the C ABI from C, under sanitizers"
bash scripts/c-abi.sh
step "the Python package, pip-installed into a fresh virtualenv"
bash scripts/python.sh
step "the uniffi bindings: generated, run from Kotlin (JVM) and Python"
bash scripts/uniffi.sh
step "the parity test: Rust and REST, then the five shells compared"
python3 tests/parity/run.py shell rust -- target/debug/examples/parity
python3 tests/parity/run.py rest
python3 tests/parity/run.py compare
step "fuzz targets, ${FUZZ_SMOKE_SECONDS:-6} s each"
bash scripts/fuzz.sh smoke "${FUZZ_SMOKE_SECONDS:-6}"
step "the public API of vas is the committed one"
bash scripts/public-api.sh
report
echo "test: all suites passed"
