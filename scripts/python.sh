#!/usr/bin/env bash
# The Python package (part of `make test`): builds and installs vas-py with pip into a fresh
# virtualenv, as a user would (`pip install ./vas-py`, maturin as the PEP 517 backend, with
# the `demo` feature for the synthetic camera the tests use), checks the shipped stubs
# against the built module (mypy's stubtest) and type-checks the package, the examples and
# the parity program, runs pytest on the installed package (over SQLite and the PostgreSQL in
# VAS_TEST_POSTGRES_URL, the examples in examples/python/, and the extension built without
# `demo`), then the parity scenario (tests/parity/parity_py.py through tests/parity/run.py).
#
# The wheel is built with cargo's dev profile (MATURIN_PEP517_ARGS), which reuses the
# optimised dependencies `cargo test` just built; pip's default, release, would build the
# whole engine a second time. VAS_PY_PROFILE=release builds what users get (the benchmark
# in vas-py/benches uses that). VAS_SHELL_FEATURES (a comma-separated cargo feature list,
# set by scripts/test.sh) is added to every build so that it reuses the workspace build's
# artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}

fail() { echo "python: $*" >&2; exit 1; }
extra=${VAS_SHELL_FEATURES:-}
with_demo="demo${extra:+,$extra}"

work=$(mktemp -d -t vas-py-XXXXXX)
trap 'rm -rf "$work"' EXIT
venv=$work/venv
python3 -m venv "$venv"
py=$venv/bin/python
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
# The test tools, pinned.
"$py" -m pip install --quiet --disable-pip-version-check pytest==9.2.0 mypy==2.4.1

# The extension without `demo` (what a plain `pip install ./vas-py` ships), for the test
# that its synthetic camera answers `unsupported`: just the cdylib, loaded from a copy,
# instead of a second wheel. Copied at once: the wheel's build below rewrites the file.
echo "python: cargo build -p vas-py (without demo)"
started=$(date +%s)
cargo build --locked --quiet -p vas-py ${extra:+--features "$extra"} \
  || fail "cargo build -p vas-py (without demo) failed"
nodemo=$work/nodemo/_vas.abi3.so
mkdir -p "$work/nodemo"
cp "$target/debug/lib_vas.so" "$nodemo"
echo "python: the extension without demo took $(( $(date +%s) - started )) s"

profile=${VAS_PY_PROFILE:-dev}
echo "python: pip install ./vas-py (cargo profile $profile, features $with_demo)"
MATURIN_PEP517_ARGS="--profile $profile --locked --features $with_demo" \
  "$py" -m pip install --quiet --disable-pip-version-check ./vas-py \
  || fail "pip install ./vas-py failed"
# The installed package, not the source tree, is what the suite imports.
(cd "$venv" && "$py" -c 'import vas, sys; assert "site-packages" in vas.__file__, vas.__file__') \
  || fail "vas does not import from the virtualenv's site-packages"

echo "python: stubtest and mypy --strict"
(cd "$venv" && "$py" -m mypy.stubtest vas) || fail "the stubs disagree with the built module"
(cd "$venv" && "$py" -m mypy --strict --no-incremental -p vas) \
  || fail "mypy --strict on the package"
(cd "$venv" && "$py" -m mypy --strict --no-incremental \
  "$root/examples/python/motion.py" "$root/examples/python/webapp.py" \
  "$root/tests/parity/parity_py.py") \
  || fail "mypy --strict on the examples and the parity program"

echo "python: pytest on the installed package"
(cd vas-py/tests && VAS_PY_NODEMO_LIB=$nodemo \
  "$py" -m pytest -q -p no:cacheprovider -o tmp_path_retention_policy=failed) \
  || fail "pytest failed"

echo "python: the parity scenario"
python3 tests/parity/run.py shell python -- "$py" tests/parity/parity_py.py \
  || fail "the parity scenario failed"
echo "python: all passed"
