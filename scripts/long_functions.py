#!/usr/bin/env python3
"""The longest functions of src/, and a check that none is over the limit (ARCHITECTURE.md).

A function's length is the lines from its `fn` to its closing brace, counted with the braces of
strings, characters and comments blanked out (a `{` in a format string is not a block). Tests
count too: a 300-line test is as hard to read as a 300-line function.

A function may be longer than the limit when the line right above its `fn` (or above its
attributes) is a comment starting with `// Long:` that says why; it is then listed, not failed.

    python3 scripts/long_functions.py            # check: exit 1 when a function is over 120 lines
    python3 scripts/long_functions.py --top 10   # also print the ten longest
    python3 scripts/long_functions.py --root DIR # another checkout (a before/after comparison)
"""
import argparse
import pathlib
import re
import sys

LIMIT = 120

RAW = re.compile(r'b?r(#*)"')
CHAR = re.compile(r"b?'(\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'\n])'")
FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z_0-9]*)")


def blank(text: str) -> str:
    """The text with every string, character and comment turned into spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def skip(j: int) -> None:
        nonlocal i
        out.append(re.sub(r"[^\n]", " ", text[i:j]))
        i = j

    while i < n:
        word_before = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
        if text.startswith("//", i):
            end = text.find("\n", i)
            skip(n if end < 0 else end)
        elif text.startswith("/*", i):
            depth, j = 0, i
            while j < n:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                    if depth == 0:
                        break
                else:
                    j += 1
            skip(j)
        elif not word_before and (m := RAW.match(text, i)):
            end = text.find('"' + m.group(1), m.end())
            skip(n if end < 0 else end + 1 + len(m.group(1)))
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            skip(min(j + 1, n))
        elif not word_before and (m := CHAR.match(text, i)):
            skip(m.end())
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def functions(path: pathlib.Path):
    """(lines, first line, name, justified) of every function with a body in one file."""
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")
    text = blank(raw)
    for m in FN.finditer(text):
        j = m.end()
        while j < len(text) and text[j] not in "{;":
            j += 1
        if j >= len(text) or text[j] == ";":
            continue  # a declaration without a body (a trait's)
        depth = 0
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        first = text.count("\n", 0, m.start()) + 1
        last = text.count("\n", 0, j) + 1
        above = first - 2
        while above >= 0 and lines[above].strip().startswith(("#[", "///")):
            above -= 1
        justified = above >= 0 and lines[above].strip().startswith("// Long:")
        yield last - first + 1, first, m.group(1), justified


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--limit", type=int, default=LIMIT)
    args = parser.parse_args()
    root = pathlib.Path(args.root)
    found = []
    for path in sorted((root / "src").rglob("*.rs")):
        rel = path.relative_to(root)
        found += [(n, f"{rel}:{line}", name, ok) for n, line, name, ok in functions(path)]
    found.sort(key=lambda f: -f[0])
    for n, where, name, _ in found[: args.top]:
        print(f"{n:5}  {name}  {where}")
    over = [f for f in found if f[0] > args.limit]
    for n, where, name, ok in over:
        if ok:
            print(f"long_functions.py: {name} ({where}) is {n} lines, justified by its `// Long:` comment")
    failing = [f for f in over if not f[3]]
    for n, where, name, _ in failing:
        print(f"long_functions.py: error: {name} ({where}) is {n} lines, over {args.limit}",
              file=sys.stderr)
    if failing:
        print("  help: split it into named steps, or say why it must stay whole in a `// Long:` "
              "comment on the line above it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
