#!/usr/bin/env python3
"""The module map of src/ (ARCHITECTURE.md): which top-level module uses which.

Reads every `crate::` path in src/ (use declarations, including `use crate::{a, b::c}` groups,
and inline paths), outside `#[cfg(test)]` test files (`tests.rs`, `tests/`), and reduces it to
top-level modules (`src/x.rs` or `src/x/`). Prints the arrows, then fails (exit 1) when the
graph has a cycle or an arrow that ARCHITECTURE.md's layer order does not allow.

    python3 scripts/module_map.py          # print the map, check it
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "src"

# Lower layers first: a module may only use modules listed before it (ARCHITECTURE.md).
LAYERS = [
    "env", "secret", "digest", "manifest", "backoff", "response", "plural", "sync", "outcome", "printer",
    "inventory", "testkit", "inuse", "policy", "plan", "graph", "space",
    "evaluate", "diff", "render", "init",
    "registry", "github", "fill", "verify", "apply",
    "actions", "cli", "commands",
]


def top_module(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".rs")


def crate_paths(text: str):
    """Top-level module names after every `crate::`."""
    i = 0
    while True:
        i = text.find("crate::", i)
        if i < 0:
            return
        i += len("crate::")
        if text.startswith("{", i):
            depth, j = 0, i
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            group = text[i + 1 : j]
            # top-level items of the group: split on commas at depth 0
            depth, start = 0, 0
            for k, ch in enumerate(group + ","):
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                elif ch == "," and depth == 0:
                    m = re.match(r"\s*(\w+)", group[start:k])
                    if m:
                        yield m.group(1)
                    start = k + 1
            i = j
        else:
            m = re.match(r"\w+", text[i:])
            if m:
                yield m.group(0)


def strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def main() -> int:
    edges: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.rs")):
        if path.name == "tests.rs" or "tests" in path.relative_to(ROOT).parts[:-1]:
            continue
        src = top_module(path)
        if src in ("lib", "main"):
            continue
        text = strip_comments(path.read_text())
        # inline test modules are not part of the map
        text = text.split("#[cfg(test)]\nmod tests {")[0]
        for dst in crate_paths(text):
            if dst != src and ((ROOT / f"{dst}.rs").exists() or (ROOT / dst).is_dir()):
                edges.setdefault(src, set()).add(dst)
    failed = False
    for src in sorted(edges):
        print(f"{src} -> {', '.join(sorted(edges[src]))}")
    modules = {top_module(p) for p in ROOT.iterdir() if p.suffix == ".rs" or p.is_dir()} - {"lib", "main"}
    unknown = sorted(modules - set(LAYERS))
    if unknown:
        print(f"error: modules missing from the layer order: {', '.join(unknown)}", file=sys.stderr)
        print("help: add them to LAYERS in scripts/module_map.py and to ARCHITECTURE.md", file=sys.stderr)
        failed = True
    rank = {m: i for i, m in enumerate(LAYERS)}
    for src, dsts in sorted(edges.items()):
        for dst in sorted(dsts):
            if src in rank and dst in rank and rank[dst] >= rank[src]:
                print(f"error: upward arrow {src} -> {dst}", file=sys.stderr)
                failed = True
    # cycles (independent of the layer order)
    state: dict[str, int] = {}

    def visit(n, stack):
        nonlocal failed
        state[n] = 1
        for d in sorted(edges.get(n, ())):
            if state.get(d) == 1:
                cyc = stack[stack.index(d):] + [d] if d in stack else [n, d]
                print(f"error: cycle {' -> '.join(cyc)}", file=sys.stderr)
                failed = True
            elif d not in state:
                visit(d, stack + [d])
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n, [n])
    if failed:
        print("help: move the shared item down a layer (ARCHITECTURE.md, \"Module map\")", file=sys.stderr)
        return 1
    print("ok: no cycle, no upward arrow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
