#!/usr/bin/env python3
"""The import graph of vas and vas-server has no cycles (part of `make test`).

Reads every `.rs` file under each crate's `src/`, takes the module paths it names
(`use crate::…`, `use super::…`, `crate::a::b` in code, and for the server `vas_server::…`),
and builds two graphs:

* files: an edge from a file to each file whose module it names. A module and its own
  ancestors are exempt (a `mod.rs` declares and re-exports its children, and children use
  what their parent defines), everything else counts: siblings, cousins, other top-level
  modules;
* top-level modules: an edge from `crate::a…` to `crate::b…` whenever a file under `a` names
  `b`, for `a != b`.

Test code is left out: the crate's scenario folder (`src/tests/`) and everything from a file's
first `#[cfg(test)]` module on. Any cycle in either graph fails the check, printed as a path.

    python3 scripts/import-graph.py          # check
    python3 scripts/import-graph.py --dot    # the file graph in Graphviz form
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = {"vas": "vas/src", "vas-server": "vas-server/src"}

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{", re.S)
TEST_MOD = re.compile(r"^\s*#\[cfg\(test\)\]\s*\n\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*(;|\{)", re.M)


def module_of(rel):
    """`ingest/relay.rs` -> ('ingest', 'relay'); `ingest/mod.rs` -> ('ingest',); lib.rs -> ()."""
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def group_paths(text, start):
    """The paths inside a `use x::{…}` group starting at `start` (just after the brace)."""
    depth, i, out, cur = 1, start, [], ""
    stack = [""]
    while i < len(text) and depth:
        c = text[i]
        if c == "{":
            stack.append(cur.strip().rstrip(":"))
            cur = ""
            depth += 1
        elif c == "}":
            if cur.strip():
                out.append("::".join(p for p in stack if p) + "::" + cur.strip())
            cur = ""
            stack.pop()
            depth -= 1
        elif c == ",":
            if cur.strip():
                out.append("::".join(p for p in stack if p) + "::" + cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    return out


def resolve(base, head, rest, here, is_mod_file):
    """The absolute module path a reference names, as a tuple."""
    parts = [p for p in rest.split("::") if p]
    if head == "crate":
        path = []
    elif head == "self":
        path = list(here) if is_mod_file else list(here[:-1]) + ([here[-1]] if here else [])
        path = list(here)
    else:  # super
        path = list(here[:-1])
        while parts and parts[0] == "super":
            parts.pop(0)
            path = path[:-1]
    return tuple(path + parts)


def scan(crate, src):
    files = {}
    for dirpath, _, names in os.walk(os.path.join(ROOT, src)):
        for n in names:
            if not n.endswith(".rs"):
                continue
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, os.path.join(ROOT, src))
            if rel.startswith("tests/") or rel.startswith("bin/"):
                continue
            files[module_of(rel)] = os.path.relpath(full, ROOT)
    edges = {m: set() for m in files}
    for mod, path in files.items():
        text = open(os.path.join(ROOT, path), encoding="utf-8").read()
        m = TEST_MOD.search(text)
        if m:
            text = text[: m.start()]
        text = strip_comments(text)
        is_mod_file = path.endswith(("mod.rs", "lib.rs", "main.rs"))
        refs = []
        for g in USE_GROUP.finditer(text):
            for p in group_paths(text, g.end()):
                refs.append((g.group(1), g.group(2) + "::" + p))
        for r in PATH.finditer(text):
            refs.append((r.group(1), r.group(2)))
        if crate == "vas-server":
            for r in re.finditer(r"\bvas_server((?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
                refs.append(("crate", r.group(1)))
        for head, rest in refs:
            target = resolve(crate, head, rest, mod, is_mod_file)
            # The longest known module the path starts with.
            while target and target not in files:
                target = target[:-1]
            if target == mod:
                continue
            # A module and its ancestors are exempt.
            if mod[: len(target)] == target or target[: len(mod)] == mod:
                continue
            edges[mod].add(target)
    return files, edges


def find_cycle(edges):
    """One cycle as a list of nodes, or None (iterative DFS, colours)."""
    colour = {n: 0 for n in edges}
    for start in sorted(edges):
        if colour[start]:
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            if nxt not in colour:
                continue
            if colour[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            if colour[nxt] == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(edges[nxt]))))
                path.append(nxt)
    return None


def all_cycles(edges):
    """Every cycle found by removing one edge of each found cycle (bounded)."""
    edges = {k: set(v) for k, v in edges.items()}
    out = []
    for _ in range(100):
        c = find_cycle(edges)
        if not c:
            break
        out.append(c)
        edges[c[-2]].discard(c[-1])
    return out


def name(crate, mod):
    return crate + "::" + "::".join(mod) if mod else crate


def main():
    failed = False
    for crate, src in CRATES.items():
        files, edges = scan(crate, src)
        if "--dot" in sys.argv:
            print("digraph %s {" % crate.replace("-", "_"))
            for a, bs in sorted(edges.items()):
                for b in sorted(bs):
                    print('  "%s" -> "%s";' % (name(crate, a), name(crate, b)))
            print("}")
            continue
        top = {}
        for a, bs in edges.items():
            for b in bs:
                if a and b and a[0] != b[0]:
                    top.setdefault((a[0],), set()).add((b[0],))
        for t in list(top):
            for b in top[t]:
                top.setdefault(b, set())
        n_edges = sum(len(v) for v in edges.values())
        for what, graph in (("files", edges), ("top-level modules", top)):
            for c in all_cycles(graph):
                failed = True
                print("import-graph: %s: a cycle of %s: %s" % (
                    crate, what, " -> ".join(name(crate, m) for m in c)), file=sys.stderr)
        print("import-graph: %s: %d files, %d edges between them" % (crate, len(files), n_edges))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
