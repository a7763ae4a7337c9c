#!/usr/bin/env python3
"""Prints every feature of every workspace member as `package/feature,...`, less the ones
named as arguments (`scripts/workspace-features.py vas-uniffi/demo`).

`cargo build --profile test --workspace --all-targets --features "$(scripts/workspace-features.py
X/f)"` resolves the dependency graph exactly as make test's `--all-features` build did, so only the
crate whose feature is left out is compiled again: the shells' scripts build their library
without its demo feature this way instead of in a graph of their own (which recompiles most
dependencies, since a package built alone unifies fewer features).
"""
import json
import subprocess
import sys

meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
members = set(meta["workspace_members"])
leave_out = set(sys.argv[1:])
known = set()
chosen = []
for pkg in meta["packages"]:
    if pkg["id"] not in members:
        continue
    for feature in sorted(pkg["features"]):
        name = f"{pkg['name']}/{feature}"
        known.add(name)
        if feature != "default" and name not in leave_out:
            chosen.append(name)
unknown = leave_out - known
if unknown:
    sys.exit(f"workspace-features: no such feature: {', '.join(sorted(unknown))}")
print(",".join(chosen))
