#!/usr/bin/env python3
"""Lists the public API of the `vas` crate from its rustdoc HTML (target/doc/vas), one line
per item: every public module, type, trait, function, constant and macro, and for each type
its fields, variants and inherent methods (trait impls are left out). Items hidden with
#[doc(hidden)] are not in rustdoc's output, so not here.

Usage: public-api.py DOC_DIR  (prints the list, sorted)
"""
import os
import re
import sys

KINDS = ("struct", "enum", "trait", "fn", "constant", "type", "macro", "static", "union")
MEMBER = re.compile(r'id="(method|tymethod|variant|structfield|associatedconstant|associatedtype)\.([A-Za-z0-9_]+)"')
# Where a page's own API ends: trait implementations follow.
END = re.compile(r'id="(trait-implementations|synthetic-implementations|blanket-implementations|implementors)"')


def main(root):
    out = set()
    for folder, _, files in os.walk(root):
        rel = os.path.relpath(folder, os.path.dirname(root))
        module = "::".join(rel.split(os.sep))
        if "index.html" in files:
            out.add(f"mod {module}")
        for name in files:
            parts = name.split(".")
            if len(parts) != 3 or parts[0] not in KINDS or parts[2] != "html":
                continue
            kind, item = parts[0], parts[1]
            path = f"{module}::{item}"
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                html = f.read()
            if "<title>Redirection</title>" in html:
                # A re-export's old address (a private module's page pointing at the item).
                continue
            out.add(f"{kind} {path}")
            cut = END.search(html)
            own = html[: cut.start()] if cut else html
            for member_kind, member in MEMBER.findall(own):
                out.add(f"{member_kind} {path}::{member}")
    for line in sorted(out):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1])
