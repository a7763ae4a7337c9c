#!/usr/bin/env bash
# The uniffi bindings (Kotlin, Swift, Python), generated into the build tree and tested there.
#
#   scripts/uniffi.sh generate   (make bindings) builds vas-uniffi (the library with the demo
#                                feature, and its own uniffi-bindgen: the same uniffi version)
#                                and writes target/bindings/{kotlin,swift,python}/: build
#                                output, never committed.
#   scripts/uniffi.sh            (make test) does that, then tests the bindings there:
#     - the library built without the demo feature: SyntheticCamera throws Unsupported;
#     - pytest (and mypy --strict) through uniffi's Python module: tests/python/test_uniffi.py;
#     - Kotlin on the JVM through JNA: vas-uniffi/tests/kotlin/Main.kt, and the parity scenario
#       tests/parity/Parity.kt run through tests/parity/run.py. Both are compiled with the
#       generated bindings by one kotlinc run (JetBrains' compiler from npm, installed by
#       install-deps) into one jar with two main classes, kept in target/uniffi-jar/ under the
#       hash of its sources: an unchanged program is not compiled again. kotlinc runs in the
#       background while the Python part runs, with the JIT's first tier only.
# Swift is generated only: no Swift toolchain can be installed here, so it is not compiled.
#
# Inside make test (VAS_WORKSPACE_BUILT=1) the library is built in the graph of make test's
# workspace build; alone, with "demo,$VAS_SHELL_FEATURES".
# Prints the time of each part at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=${1:-test}
case $mode in
  generate | test) ;;
  *) echo "usage: scripts/uniffi.sh [generate|test] (got '$mode')" >&2; exit 2 ;;
esac

fail() { echo "uniffi: $*" >&2; exit 1; }
t0=$(date +%s)
timings=()
lap() { local now; now=$(date +%s); timings+=("$(printf '%4d s  %s' $((now - t0)) "$1")"); t0=$now; }

out=$root/target/bindings
lib=$root/target/debug/libvas_uniffi.so
features=${VAS_SHELL_FEATURES:-}

work=$(mktemp -d -t vas-uniffi-XXXXXX)
kotlinc_pid=
cleanup() {
  # kotlinc runs in a process group of its own (its java is a child of its shell script).
  if [ -n "$kotlinc_pid" ]; then kill -- "-$kotlinc_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ "${VAS_WORKSPACE_BUILT:-}" = 1 ]; then
  # Inside make test, after its one `--profile test --workspace --all-targets --all-features`
  # build: both
  # variants are built in that build's dependency graph (see scripts/workspace-features.py),
  # so only vas-uniffi itself is compiled again. Built alone (`-p vas-uniffi`), its graph
  # unifies fewer features and most dependencies would be compiled a second time.
  if [ "$mode" = test ]; then
    cargo build --quiet --locked --profile test --workspace --all-targets \
      --features "$(python3 scripts/workspace-features.py vas-uniffi/demo)"
    mkdir -p "$work/nodemo"
    cp "$lib" "$work/nodemo/"
    lap "build without demo"
  fi
  cargo build --quiet --locked --profile test --workspace --all-targets --all-features
else
  if [ "$mode" = test ]; then
    # Without the demo feature first (the library only), so that the demo build below is
    # the one left in target/debug.
    cargo build --quiet --locked -p vas-uniffi --lib --features "$features"
    mkdir -p "$work/nodemo"
    cp "$lib" "$work/nodemo/"
    lap "build without demo"
  fi
  cargo build --quiet --locked -p vas-uniffi --lib --bin uniffi-bindgen --features "demo,$features"
fi
[ -f "$lib" ] || fail "no $lib"
lap "build"

rm -rf "$out"
for lang in kotlin swift python; do
  "$root/target/debug/uniffi-bindgen" generate --no-format --library "$lib" \
    --language "$lang" --out-dir "$out/$lang" >/dev/null || fail "generating $lang failed"
done
# The Python module loads the library from its own folder.
ln -s "$lib" "$out/python/libvas_uniffi.so"
lap "generate"
if [ "$mode" = generate ]; then
  echo "uniffi: wrote target/bindings/{kotlin,swift,python}/ (Swift is not compiled here)"
  exit 0
fi

# kotlinc, in the background unless its jar is kept from an earlier run.
kt=$root/vas-uniffi/tests/kotlin/node_modules/kotlin-compiler
[ -x "$kt/bin/kotlinc" ] || fail "no kotlinc under $kt (install-deps installs it: npm ci --prefix vas-uniffi/tests/kotlin)"
jna=/usr/share/java/jna.jar
[ -f "$jna" ] || fail "no $jna (Debian package libjna-java)"
cp="$jna:$kt/lib/kotlinx-coroutines-core-jvm.jar"
sources=(vas-uniffi/tests/kotlin/Main.kt tests/parity/Parity.kt "$out/kotlin/org/vas/vas_uniffi.kt")
key=$(cat "${sources[@]}" "$kt/package.json" | sha256sum | cut -c1-16)
jar=$root/target/uniffi-jar/$key.jar
if [ ! -f "$jar" ]; then
  # The JIT's first tier only: kotlinc runs too briefly to gain from the optimising tier, and
  # compiles in about half the time without it.
  JAVA_OPTS="${JAVA_OPTS:-} -XX:TieredStopAtLevel=1" setsid "$kt/bin/kotlinc" -nowarn "${sources[@]}" -cp "$cp" -d "$work/tests.jar" \
    >"$work/kotlinc.out" 2>&1 &
  kotlinc_pid=$!
fi

echo "uniffi: without the demo feature, SyntheticCamera throws Unsupported"
cp "$out/python/vas_uniffi.py" "$work/nodemo/"
(cd "$work/nodemo" && python3 - <<'EOF') || fail "the build without demo has a synthetic camera"
import vas_uniffi as v
try:
    v.SyntheticCamera(640, 360, 30)
except v.VasError.Unsupported as e:
    assert "demo" in str(e), e
else:
    raise SystemExit("SyntheticCamera started in a build without the demo feature")
EOF
lap "without demo"

echo "uniffi: pytest through uniffi's Python module"
# A virtualenv with the pinned test tools, kept in the build tree while the pins are the same.
pins="pytest==9.2.0 mypy==2.4.1"
venv=$root/target/uniffi-venv
if [ "$(cat "$venv/pins" 2>/dev/null)" != "$pins" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins
  echo "$pins" >"$venv/pins"
fi
# The test is checked strictly; uniffi's generated module is not (it is not typed throughout).
printf '[mypy]\nstrict = True\n[mypy-vas_uniffi]\nignore_errors = True\n' >"$work/mypy.ini"
(cd "$work" && MYPYPATH="$out/python" "$venv/bin/python" -m mypy --config-file "$work/mypy.ini" \
  --no-incremental "$root/vas-uniffi/tests/python/test_uniffi.py") || fail "mypy --strict on test_uniffi.py"
(cd "$work" && VAS_UNIFFI_DIR="$out/python" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$root/vas-uniffi/tests/python/test_uniffi.py") || fail "pytest through the uniffi bindings failed"
lap "pytest"

echo "uniffi: Kotlin on the JVM (JNA)"
if [ -n "$kotlinc_pid" ]; then
  wait "$kotlinc_pid" || { cat "$work/kotlinc.out" >&2; kotlinc_pid=; fail "kotlinc failed"; }
  kotlinc_pid=
  mkdir -p "$(dirname "$jar")"
  rm -f "$(dirname "$jar")"/*.jar
  mv "$work/tests.jar" "$jar"
fi
lap "kotlinc (what the Python part did not overlap)"
java=(java -Djna.library.path="$root/target/debug" -cp "$jar:$cp:$kt/lib/kotlin-stdlib.jar")
result=$(cd "$work" && timeout 180 "${java[@]}" MainKt 2>&1) || fail "the Kotlin program failed: $result"
echo "$result"
grep -q '^kotlin: ok' <<<"$result" || fail "the Kotlin program printed: $result"
lap "Main.kt"

echo "uniffi: the parity scenario from Kotlin"
python3 tests/parity/run.py shell kotlin -- "${java[@]}" ParityKt || fail "the Kotlin parity scenario failed"
lap "Parity.kt"

echo "uniffi: time per part"
printf '  %s\n' "${timings[@]}"
echo "uniffi: all passed"
