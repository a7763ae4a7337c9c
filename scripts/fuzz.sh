#!/usr/bin/env bash
# Fuzzing the parsers VAS owns (targets in fuzz/fuzz_targets, each checking invariants).
#
#   scripts/fuzz.sh smoke SECONDS [TARGET…]   `make test`: coverage-guided libFuzzer runs of
#       SECONDS each, built with the suite's own artifacts (the workspace crates recompiled with
#       coverage instrumentation through RUSTC_WORKSPACE_WRAPPER; no sanitizer), about a minute
#       of build instead of a full instrumented rebuild.
#   scripts/fuzz.sh full SECONDS [TARGET…]    `make fuzz`: cargo-fuzz with AddressSanitizer
#       and debug assertions, everything instrumented (a cold build takes about 15 minutes).
#
# Both start from the committed seeds in fuzz/corpus/<target> (inputs taken from the tests)
# plus what earlier runs found (target/fuzz-corpus/<target>, not committed). A crash, a failed
# invariant or a timeout fails the run; the input is kept under target/fuzz-artifacts/<target>/
# (smoke) or fuzz/artifacts/<target>/ (full) and printed. The stable toolchain accepts
# cargo-fuzz's nightly-only flags with RUSTC_BOOTSTRAP=1 (only in full mode, in its own
# target dir).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: scripts/fuzz.sh smoke|full SECONDS [TARGET...]}
seconds=${2:?usage: scripts/fuzz.sh smoke|full SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz/fuzz_targets | sed -n 's/\.rs$//p' | sort)
fi
flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)

case "$mode" in
  smoke)
    echo "fuzz: building ${#targets[@]} targets with coverage instrumentation"
    # The whole workspace is selected, and with it one test target (fuzz/tests/layout.rs,
    # std only), so that cargo resolves features as `cargo test` did (dev-dependencies
    # included: tokio's test-util and others) and reuses every dependency the suite built;
    # without a test target it would rebuild tokio and all that depends on it (three minutes
    # on two cores). Only the fuzz binaries and that test are built.
    bins=()
    for t in "${targets[@]}"; do bins+=(--bin "$t"); done
    RUSTC_WORKSPACE_WRAPPER="$PWD/scripts/fuzz-rustc.sh" \
      cargo build --workspace --all-features --locked --quiet "${bins[@]}" --test layout
    run() {
      local t=$1 work=$2 seeds=$3 log=$4
      mkdir -p "target/fuzz-artifacts/$t"
      "target/debug/$t" "${flags[@]}" -artifact_prefix="target/fuzz-artifacts/$t/" \
        "$work" "$seeds" >"$log" 2>&1
    }
    ;;
  full)
    command -v cargo-fuzz >/dev/null 2>&1 || { echo "fuzz: cargo-fuzz is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
    export RUSTC_BOOTSTRAP=1
    export CARGO_TARGET_DIR="$PWD/target/fuzz"
    echo "fuzz: building ${#targets[@]} targets with cargo-fuzz (AddressSanitizer)"
    cargo fuzz build --fuzz-dir fuzz --debug-assertions
    run() {
      local t=$1 work=$2 seeds=$3 log=$4
      cargo fuzz run --fuzz-dir fuzz --debug-assertions "$t" "$work" "$seeds" -- "${flags[@]}" >"$log" 2>&1
    }
    ;;
  *)
    echo "fuzz: unknown mode $mode (smoke or full)" >&2
    exit 2
    ;;
esac

# Two targets at a time (the machine's cores; FUZZ_JOBS to change): each libFuzzer run is
# one process on one core, so the smoke run's wall time halves.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$mode" = full ] && jobs=1   # cargo fuzz run builds as it goes: one at a time
one() {
  local t=$1 work="target/fuzz-corpus/$1" seeds="fuzz/corpus/$1" log="target/fuzz-corpus/$1.log"
  mkdir -p "$work" "$seeds"
  if ! run "$t" "$work" "$seeds" "$log"; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t FAILED (log: $log)" >&2
    return 1
  fi
  local runs added
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  added=$(grep -o 'stat::new_units_added: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz: $t: $runs runs in ${seconds} s, $added new inputs"
}
pids=()
stop_runs() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_runs EXIT
i=0
while [ "$i" -lt "${#targets[@]}" ]; do
  pids=()
  for ((j = 0; j < jobs && i < ${#targets[@]}; j++, i++)); do
    one "${targets[$i]}" &
    pids+=($!)
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  pids=()
  [ "$failed" -eq 0 ] || exit 1
done
