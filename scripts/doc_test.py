#!/usr/bin/env python3
"""Run the README's commands, so that what a newcomer copies works.

A fenced block is run when the line before it (blank lines aside) is a marker comment:

    <!-- runnable -->          a shell block: run by bash (set -euo pipefail) from the
                               repository's root, with this build's `retention` first on PATH;
                               it must exit 0
    <!-- runnable: slow -->    the same, skipped when DOC_TEST_SKIP_SLOW=1 (`cargo install`, run
                               with CARGO_INSTALL_ROOT in a temporary directory)
    <!-- runnable: policy -->  a YAML block: written to a file and checked with `retention check`
    <!-- expect -->            a text block after a run: each of its lines but `…` and blank ones
                               must appear in the run's output (stdout then stderr), in order

Other blocks are left alone, but a `sh` block without a marker is an error: every command the
README shows is run (mark one that must not run `<!-- not runnable: why -->`).

Usage: python3 scripts/doc_test.py [FILE.md ...]  (default README.md). Needs `cargo build` done
(uses target/debug/retention, or RETENTION_BIN). Prints one line per block; exit 1 on a failure.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = re.compile(r"^<!--\s*(runnable(?::\s*(\w+))?|expect|not runnable:[^>]*)\s*-->\s*$")
FENCE = re.compile(r"^(```+)\s*(\S*)")


def blocks(text):
    """(line number, marker or None, marker kind, language, body) of every fenced block."""
    lines = text.split("\n")
    out, marker, kind, i = [], None, None, 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line.strip())
        if m:
            marker, kind = m.group(1).split(":")[0].strip(), m.group(2)
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            fence, lang, start = f.group(1), f.group(2), i + 1
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            out.append((start, marker, kind, lang, "\n".join(body) + "\n"))
            marker, kind = None, None
        elif line.strip():
            marker, kind = None, None
        i += 1
    return out


def main(paths):
    binary = os.environ.get("RETENTION_BIN", os.path.join(ROOT, "target", "debug", "retention"))
    if not os.access(binary, os.X_OK):
        print(f"error: {binary} is not there\n  help: run `cargo build` first", file=sys.stderr)
        return 1
    bindir = tempfile.mkdtemp(prefix="doc-test-bin-")
    os.symlink(binary, os.path.join(bindir, "retention"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), NO_COLOR="1")
    for var in ("GITHUB_ACTIONS", "GITHUB_TOKEN", "GITHUB_REPOSITORY_OWNER", "RUST_LOG"):
        env.pop(var, None)
    failed = ran = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            found = blocks(f.read())
        last_output = None
        for line, marker, kind, lang, body in found:
            where = f"{os.path.relpath(path, ROOT)}:{line}"
            if marker is None and lang in ("sh", "bash", "shell"):
                print(f"FAILED: {where}: a shell block that is not marked <!-- runnable -->")
                failed += 1
                continue
            if marker == "runnable":
                if kind == "slow" and os.environ.get("DOC_TEST_SKIP_SLOW") == "1":
                    print(f"skipped: {where}: {body.strip()} (DOC_TEST_SKIP_SLOW=1)")
                    last_output = None
                    continue
                run_env = dict(env)
                tmp = tempfile.mkdtemp(prefix="doc-test-")
                if kind == "policy":
                    policy = os.path.join(tmp, "policy.yml")
                    with open(policy, "w", encoding="utf-8") as f:
                        f.write(body)
                    args = [binary, "check", policy]
                    shown = "retention check <the block>"
                else:
                    run_env["CARGO_INSTALL_ROOT"] = os.path.join(tmp, "install")
                    args = ["bash", "-c", "set -euo pipefail\n" + body]
                    shown = " ".join(body.split())
                r = subprocess.run(args, cwd=ROOT, env=run_env, capture_output=True, text=True)
                ran += 1
                last_output = r.stdout + r.stderr
                if r.returncode != 0:
                    print(f"FAILED: {where}: {shown}: exit {r.returncode}\n{last_output}")
                    failed += 1
                else:
                    print(f"ok: {where}: {shown}")
            elif marker == "expect":
                if last_output is None:
                    print(f"FAILED: {where}: an expected output with no run before it")
                    failed += 1
                    continue
                at, missing = 0, None
                for want in body.split("\n"):
                    want = want.rstrip()
                    if not want.strip() or want.strip() == "…":
                        continue
                    found_at = last_output.find(want, at)
                    if found_at < 0:
                        missing = want
                        break
                    at = found_at + len(want)
                if missing is not None:
                    print(f"FAILED: {where}: the output lacks (in order): {missing}\n--- output:\n{last_output}")
                    failed += 1
                else:
                    print(f"ok: {where}: the output shows what the README says")
    print(f"{ran} blocks run, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or [os.path.join(ROOT, "README.md")]))
