#!/usr/bin/env bash
# Checks that the public API of `vas` is what vas/public-api.txt says (part of `make test`):
# a change to the public face must be intended, and shows up in review as a change to that
# file. `make public-api` (this script with --update) rewrites the file after an intended change.
# The default features: what a user of the crate can reach (the test-only feature
# `_internal_test_exports` is not API).
set -euo pipefail
cd "$(dirname "$0")/.."

# rustdoc never deletes pages of items that went away: start from an empty folder, and make
# cargo document the crate again.
rm -rf target/doc/vas
touch vas/src/lib.rs
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --locked -p vas --no-deps
python3 scripts/public-api.py target/doc/vas >target/public-api.txt
if [ "${1:-}" = "--update" ]; then
  cp target/public-api.txt vas/public-api.txt
  echo "public-api: vas/public-api.txt updated ($(wc -l <vas/public-api.txt) items)"
  exit 0
fi
if ! diff -u vas/public-api.txt target/public-api.txt; then
  echo "public-api: the public API of vas changed (diff above: - committed, + now)." >&2
  echo "public-api: if that is intended, run 'make public-api' and commit vas/public-api.txt." >&2
  exit 1
fi
echo "public-api: unchanged ($(wc -l <vas/public-api.txt) items)"
