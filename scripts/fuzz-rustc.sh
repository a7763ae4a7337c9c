#!/usr/bin/env bash
# RUSTC_WORKSPACE_WRAPPER for `make test`'s fuzz smoke run: compiles the workspace's own
# crates (never the dependencies, whose build the suite has already paid for) with the
# coverage instrumentation libFuzzer is guided by. These are stable -C flags; AddressSanitizer
# (nightly-only) is left to `make fuzz`, which builds through cargo-fuzz. The `layout` test
# (std only, built just so cargo resolves features as `cargo test` does; see fuzz.sh) is
# compiled as it is, since it does not link libFuzzer's runtime; so are proc-macro crates
# (vas-macros) and build scripts, which rustc and cargo load or run on the host without
# libFuzzer: instrumented, a proc macro fails to load and every derive it makes is missing.
for arg in "$@"; do
  if [ "$arg" = layout ] && [ "${prev:-}" = --crate-name ]; then
    exec "$@"
  fi
  if [ "$arg" = build_script_build ] && [ "${prev:-}" = --crate-name ]; then
    exec "$@"
  fi
  if [ "$arg" = proc-macro ] && [ "${prev:-}" = --crate-type ]; then
    exec "$@"
  fi
  prev=$arg
done
exec "$@" \
  -Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares
