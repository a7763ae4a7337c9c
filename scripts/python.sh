#!/usr/bin/env bash
# The Python package (part of `make test`): builds and installs vas-py with pip into a fresh
# virtualenv, as a user would (`pip install ./vas-py`, maturin as the PEP 517 backend),
# checks the shipped stubs against the built module (mypy's stubtest) and type-checks the
# package and the examples, then runs pytest on the installed package (over SQLite and the
# PostgreSQL in VAS_TEST_POSTGRES_URL) and the examples in examples/python/.
#
# The wheel is built with cargo's dev profile (MATURIN_PEP517_ARGS), which reuses the
# optimised dependencies `cargo test` just built; pip's default, release, would build the
# whole engine a second time. VAS_PY_PROFILE=release builds what users get (the benchmark
# in vas-py/benches uses that).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fail() { echo "python: $*" >&2; exit 1; }

venv=$(mktemp -d -t vas-py-XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
py=$venv/bin/python
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
# The test tools, pinned.
"$py" -m pip install --quiet --disable-pip-version-check pytest==9.2.0 mypy==2.4.1

profile=${VAS_PY_PROFILE:-dev}
echo "python: pip install ./vas-py (cargo profile $profile)"
MATURIN_PEP517_ARGS="--profile $profile --locked" \
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
  "$root/examples/python/motion.py" "$root/examples/python/webapp.py") \
  || fail "mypy --strict on the examples"

echo "python: pytest on the installed package"
(cd vas-py/tests && "$py" -m pytest -q -p no:cacheprovider -o tmp_path_retention_policy=failed) \
  || fail "pytest failed"
echo "python: all passed"
