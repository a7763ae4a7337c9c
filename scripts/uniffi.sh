#!/usr/bin/env bash
# The uniffi bindings (part of `make test`): builds vas-uniffi (the library and its own
# uniffi-bindgen, the same uniffi version), checks that the committed Kotlin, Swift and
# Python sources in vas-ffi/bindings/ are what generation gives now (`make bindings`
# rewrites them), then exercises them for real: a Kotlin program compiled with kotlinc
# (JetBrains' compiler from npm, installed by install-deps) and run on the JVM through JNA,
# and pytest through uniffi's Python module. Swift is generated and checked for currency
# only: no Swift toolchain can be installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fail() { echo "uniffi: $*" >&2; exit 1; }

work=$(mktemp -d -t vas-uniffi-XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --quiet --locked -p vas-uniffi
lib=$root/target/debug/libvas_uniffi.so
[ -f "$lib" ] || fail "no $lib"

generate() { # out-dir
  local lang
  for lang in kotlin swift python; do
    "$root/target/debug/uniffi-bindgen" generate --no-format --library "$lib" \
      --language "$lang" --out-dir "$1/$lang" >/dev/null || fail "generating $lang failed"
  done
}

if [ "${VAS_UPDATE_BINDINGS:-0}" = 1 ]; then
  rm -rf vas-ffi/bindings
  generate vas-ffi/bindings
  echo "uniffi: wrote vas-ffi/bindings/"
  exit 0
fi

echo "uniffi: the committed bindings are current"
generate "$work/bindings"
diff -r "$work/bindings" vas-ffi/bindings >"$work/diff" \
  || { head -n 40 "$work/diff" >&2; fail "vas-ffi/bindings/ is stale: run make bindings"; }

echo "uniffi: Kotlin on the JVM (JNA)"
kt=$root/vas-ffi/uniffi/tests/kotlin/node_modules/kotlin-compiler
[ -x "$kt/bin/kotlinc" ] || fail "no kotlinc under $kt (install-deps installs it: npm ci --prefix vas-ffi/uniffi/tests/kotlin)"
jna=/usr/share/java/jna.jar
[ -f "$jna" ] || fail "no $jna (Debian package libjna-java)"
cp="$jna:$kt/lib/kotlinx-coroutines-core-jvm.jar"
"$kt/bin/kotlinc" -nowarn vas-ffi/uniffi/tests/kotlin/Main.kt vas-ffi/bindings/kotlin/org/vas/vas_uniffi.kt \
  -cp "$cp" -d "$work/main.jar" 2>"$work/kotlinc.err" || { cat "$work/kotlinc.err" >&2; fail "kotlinc failed"; }
out=$(cd "$work" && timeout 120 java -Djna.library.path="$root/target/debug" \
  -cp "$work/main.jar:$cp:$kt/lib/kotlin-stdlib.jar" MainKt 2>&1) || fail "the Kotlin program failed: $out"
echo "$out"
grep -q '^kotlin: ok' <<<"$out" || fail "the Kotlin program printed: $out"

echo "uniffi: pytest through uniffi's Python module"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check pytest==9.2.0
mkdir -p "$work/py"
cp vas-ffi/bindings/python/vas_uniffi.py "$lib" "$work/py/"
(cd "$work" && VAS_UNIFFI_DIR="$work/py" "$work/venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$root/vas-ffi/uniffi/tests/python/test_uniffi.py") || fail "pytest through the uniffi bindings failed"
echo "uniffi: all passed"
