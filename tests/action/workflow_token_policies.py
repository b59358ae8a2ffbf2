#!/usr/bin/env python3
"""Every example workflow step that runs the action with the workflow token names a policy whose
packages are named exactly: the workflow token cannot list an owner's packages, so a glob or an
exclusion there fails on the first run with 403 (docs/action.md, "Tokens").

Usage: workflow_token_policies.py WORKFLOW... (run from the repository root). Prints one line per
step checked; exits 1 when a step pairs the workflow token with a policy that is not exact.
"""
import re
import sys

try:
    import yaml

    def load(path):
        with open(path) as f:
            return yaml.safe_load(f)
except ImportError:  # check-jsonschema brings ruamel.yaml
    from ruamel.yaml import YAML

    def load(path):
        with open(path) as f:
            return YAML(typ="safe").load(f)

WORKFLOW_TOKENS = {None, "", "${{ github.token }}", "${{ secrets.GITHUB_TOKEN }}"}
EXPR = re.compile(r"^\$\{\{\s*(env|inputs)\.([A-Za-z0-9_-]+)\s*\}\}$")


def resolve(value, workflow, job):
    """A literal, or `${{ env.X }}` / `${{ inputs.X }}` resolved to the env value or the input's default."""
    m = EXPR.match(value or "")
    if not m:
        return value
    kind, name = m.groups()
    if kind == "env":
        return (job.get("env") or {}).get(name, (workflow.get("env") or {}).get(name))
    on = workflow.get("on") or workflow.get(True) or {}
    inputs = ((on.get("workflow_dispatch") or {}) if isinstance(on, dict) else {}).get("inputs") or {}
    return (inputs.get(name) or {}).get("default")


def main(paths):
    bad = 0
    for path in paths:
        workflow = load(path) or {}
        for job_name, job in (workflow.get("jobs") or {}).items():
            for step in job.get("steps") or []:
                uses = step.get("uses") or ""
                if not (re.search(r"/retention@", uses) or uses == "./"):
                    continue
                inputs = step.get("with") or {}
                if inputs.get("mode") == "restore" or inputs.get("token") not in WORKFLOW_TOKENS:
                    continue
                policy = resolve(inputs.get("policy"), workflow, job)
                where = f"{path}: job {job_name}"
                if not policy:
                    print(f"FAILED: {where}: the workflow token with no policy that can be read here")
                    bad += 1
                    continue
                try:
                    names = ((load(policy) or {}).get("packages") or {}).get("names") or []
                except OSError as e:
                    print(f"FAILED: {where}: policy {policy}: {e}")
                    bad += 1
                    continue
                names = [names] if isinstance(names, str) else names
                loose = [n for n in names if re.search(r"[*?\[\]{}]", str(n)) or str(n).startswith("!")]
                if loose or not names:
                    print(f"FAILED: {where}: the workflow token cannot list packages, but {policy} names them by {', '.join(map(str, loose)) or 'nothing'}")
                    bad += 1
                else:
                    print(f"ok: {where}: the workflow token with {policy}, which names {', '.join(map(str, names))} exactly")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
