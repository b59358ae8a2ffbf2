#!/usr/bin/env bash
# The action's offline checks:
#  1. action.yml and every workflow (examples/workflows, .github/workflows) against GitHub's
#     schemas, with check-jsonschema's vendored copies (installed with pip when missing);
#  2. action/install.sh against a fake release server (file://): version from Cargo.toml,
#     checksum verified, tool cache reused, a bad checksum refused, the build provenance
#     verified with a fake `gh` (and a failed verification refused), none without `gh`;
#  3. action/run.sh with the runner's environment: the outputs file's exact content, inputs that
#     look like shell code stay data (policy, vars), bad inputs fail with an ::error, `vars`
#     reach the binary as --var (and only they: not the environment).
# Needs cargo (builds the debug binary), python3 with pip, curl, tar. Ends with "N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
ko() { failed=$((failed + 1)); echo "FAILED: $*"; }

# ---- 1. schemas -------------------------------------------------------------------------------
if ! command -v check-jsonschema >/dev/null 2>&1; then
    echo "installing check-jsonschema (pip)" >&2
    python3 -m pip install --quiet check-jsonschema >&2 \
        || python3 -m pip install --quiet --break-system-packages check-jsonschema >&2 \
        || { echo "error: cannot install check-jsonschema; run: pip install check-jsonschema" >&2; exit 1; }
    export PATH="$PATH:$HOME/.local/bin"
fi
if check-jsonschema --builtin-schema vendor.github-actions action.yml; then
    ok "action.yml is valid action metadata"
else
    ko "action.yml is not valid action metadata"
fi
workflows=(examples/workflows/*.yml .github/workflows/*.yml)
# The ghcr.io ground-truth workflow must be among them.
if [[ -f .github/workflows/e2e-ghcr.yml ]]; then
    ok ".github/workflows/e2e-ghcr.yml is present"
else
    ko ".github/workflows/e2e-ghcr.yml is missing"
fi
if check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"; then
    ok "${#workflows[@]} workflows are valid"
else
    ko "some workflow is not valid"
fi
# The workflow token cannot list an owner's packages: every example that uses it must name a
# policy whose packages are named exactly (the quick start works on the first run).
if python3 tests/action/workflow_token_policies.py examples/workflows/*.yml; then
    ok "every example workflow using the workflow token names a policy with exact package names"
else
    ko "an example workflow pairs the workflow token with a policy that lists packages by glob"
fi
# ... and the check catches the pairing that fails with 403.
tokdir="$(mktemp -d)"
sed 's|policies/quickstart.yml|policies/nightly-ghcr.yml|' examples/workflows/nightly-apply.yml >"$tokdir/globs.yml"
if ! python3 tests/action/workflow_token_policies.py "$tokdir/globs.yml" >"$tokdir/log" 2>&1 \
    && grep -q "names them by \*" "$tokdir/log"; then
    ok "the workflow-token check refuses the workflow token with names: [\"*\"]"
else
    ko "the workflow-token check accepted a glob policy: $(cat "$tokdir/log")"
fi
rm -rf "$tokdir"
# Inputs must never be interpolated into shell code (`run:` lines with ${{ inputs.* }}).
if grep -nE '^\s*run:.*\$\{\{' action.yml; then
    ko "action.yml interpolates an expression into a shell script"
else
    ok "action.yml passes inputs through env only"
fi

# ---- 2. install.sh against a fake release server -----------------------------------------------
cargo build --locked --quiet --bin retention || { ko "cargo build"; echo "$passed passed, $failed failed"; exit 1; }
bin="$root/target/debug/retention"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
version="v$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)"
release="$tmp/server/acme/retention/releases/download/$version"
mkdir -p "$release" "$tmp/stage"
cp "$bin" "$tmp/stage/retention"
tar -czf "$release/retention-x86_64-unknown-linux-musl.tar.gz" -C "$tmp/stage" retention
(cd "$release" && sha256sum retention-x86_64-unknown-linux-musl.tar.gz >retention-x86_64-unknown-linux-musl.tar.gz.sha256)

# A runner without the GitHub CLI: only the tools install.sh uses (whatever this machine has).
nogh="$tmp/nogh"
mkdir -p "$nogh"
for tool in bash sed head cut curl sha256sum shasum mkdir tar gzip chmod mktemp rm cat uname env; do
    if command -v "$tool" >/dev/null 2>&1; then ln -sf "$(command -v "$tool")" "$nogh/$tool"; fi
done
install() { # $1: output file; the rest: extra env
    local out="$1"; shift
    : >"$out"
    env -i PATH="$nogh" GITHUB_ACTION_PATH="$root" GITHUB_OUTPUT="$out" \
        RUNNER_OS_NAME=Linux RUNNER_ARCH_NAME=X64 SERVER_URL="file://$tmp/server" \
        ACTION_REPOSITORY=acme/retention RUNNER_TOOL_CACHE="$tmp/toolcache" RUNNER_TEMP="$tmp" \
        "$@" bash action/install.sh
}
if install "$tmp/install.out" >"$tmp/install.log" 2>&1 \
    && [[ "$(cat "$tmp/install.out")" == "bin=$tmp/toolcache/retention/${version#v}/x86_64-unknown-linux-musl/retention" ]] \
    && "$tmp/toolcache/retention/${version#v}/x86_64-unknown-linux-musl/retention" --version >/dev/null; then
    ok "install.sh downloads $version (from Cargo.toml), verifies it and sets the output bin"
else
    ko "install.sh: $(cat "$tmp/install.out" "$tmp/install.log")"
fi
if install "$tmp/install2.out" >"$tmp/install2.log" 2>&1 && grep -q "from the tool cache" "$tmp/install2.log"; then
    ok "install.sh reuses the tool cache"
else
    ko "install.sh did not reuse the tool cache: $(cat "$tmp/install2.log")"
fi
# The repository from GITHUB_ACTION_PATH when github.action_repository is empty (composite actions).
mkdir -p "$tmp/runner/_actions/acme/retention/v1"
cp Cargo.toml "$tmp/runner/_actions/acme/retention/v1/"
cp -r action "$tmp/runner/_actions/acme/retention/v1/"
: >"$tmp/install3.out"
if env -i PATH="$PATH" GITHUB_ACTION_PATH="$tmp/runner/_actions/acme/retention/v1" GITHUB_OUTPUT="$tmp/install3.out" \
    RUNNER_OS_NAME=Linux RUNNER_ARCH_NAME=X64 SERVER_URL="file://$tmp/server" ACTION_REPOSITORY= \
    RUNNER_TOOL_CACHE="$tmp/toolcache3" RUNNER_TEMP="$tmp" \
    bash "$tmp/runner/_actions/acme/retention/v1/action/install.sh" >"$tmp/install3.log" 2>&1 \
    && grep -q "^bin=$tmp/toolcache3/" "$tmp/install3.out"; then
    ok "install.sh finds the action's repository from GITHUB_ACTION_PATH"
else
    ko "install.sh without ACTION_REPOSITORY: $(cat "$tmp/install3.log")"
fi
echo "0000000000000000000000000000000000000000000000000000000000000000  x" \
    >"$release/retention-x86_64-unknown-linux-musl.tar.gz.sha256"
if ! install "$tmp/install4.out" RUNNER_TOOL_CACHE="$tmp/toolcache4" >"$tmp/install4.log" 2>&1 \
    && grep -q "::error title=retention action::checksum mismatch" "$tmp/install4.log"; then
    ok "install.sh refuses a binary whose checksum does not match"
else
    ko "install.sh accepted a bad checksum: $(cat "$tmp/install4.log")"
fi
# With the GitHub CLI (a fake one that records its arguments): the attestation is verified, and
# a failure installs nothing.
(cd "$release" && sha256sum retention-x86_64-unknown-linux-musl.tar.gz >retention-x86_64-unknown-linux-musl.tar.gz.sha256)
mkdir -p "$tmp/withgh"
cat >"$tmp/withgh/gh" <<'GH'
#!/usr/bin/env bash
echo "$*" >>"$FAKE_GH_LOG"
[[ "${FAKE_GH_FAIL:-}" != 1 ]] || { echo "Error: verifying with issuer \"sigstore.dev\": no matching attestation" >&2; exit 1; }
echo "Loaded digest sha256:... for file://$2"
GH
chmod +x "$tmp/withgh/gh"
if install "$tmp/install7.out" PATH="$tmp/withgh:$nogh" FAKE_GH_LOG="$tmp/gh7.log" \
    RUNNER_TOOL_CACHE="$tmp/toolcache7" >"$tmp/install7.log" 2>&1 \
    && grep -q "^attestation verify $tmp/.*/retention-x86_64-unknown-linux-musl.tar.gz --repo acme/retention --signer-workflow acme/retention/.github/workflows/release.yml$" "$tmp/gh7.log" \
    && grep -q "Verified the build provenance" "$tmp/install7.log" && grep -q "^bin=" "$tmp/install7.out"; then
    ok "install.sh verifies the build provenance with gh attestation verify when gh is there"
else
    ko "install.sh with gh: $(cat "$tmp/install7.log" "$tmp/gh7.log")"
fi
if ! install "$tmp/install8.out" PATH="$tmp/withgh:$nogh" FAKE_GH_LOG="$tmp/gh8.log" FAKE_GH_FAIL=1 \
    RUNNER_TOOL_CACHE="$tmp/toolcache8" >"$tmp/install8.log" 2>&1 \
    && grep -q "::error title=retention action::the build provenance of retention-x86_64-unknown-linux-musl.tar.gz does not verify" "$tmp/install8.log" \
    && grep -q "no matching attestation" "$tmp/install8.log" \
    && [[ ! -e "$tmp/toolcache8" ]] && [[ ! -s "$tmp/install8.out" ]]; then
    ok "install.sh fails closed when the attestation does not verify"
else
    ko "install.sh accepted a binary whose attestation fails: $(cat "$tmp/install8.log")"
fi
# A GitHub Enterprise Server (the fake release served over http on a loopback port): the
# attestations live on github.com, so gh is not asked and the step says so.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
(cd "$tmp/server" && exec python3 -m http.server "$port" --bind 127.0.0.1) >/dev/null 2>&1 &
ghes_pid=$!
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
if install "$tmp/install9.out" PATH="$tmp/withgh:$nogh" FAKE_GH_LOG="$tmp/gh9.log" FAKE_GH_FAIL=1 \
    SERVER_URL="http://127.0.0.1:$port" RUNNER_TOOL_CACHE="$tmp/toolcache9" >"$tmp/install9.log" 2>&1 \
    && grep -q "on 127.0.0.1 the build provenance of retention-x86_64-unknown-linux-musl.tar.gz (attested on github.com) is not verified here" "$tmp/install9.log" \
    && [[ ! -e "$tmp/gh9.log" ]] && grep -q "^bin=" "$tmp/install9.out"; then
    ok "install.sh on GitHub Enterprise Server installs from it and says the provenance is verified by hand"
else
    ko "install.sh on GHES: $(cat "$tmp/install9.log")"
fi
kill "$ghes_pid" 2>/dev/null
if grep -q "gh is not on this runner: the build provenance" "$tmp/install.log"; then
    ok "install.sh says when it cannot verify the provenance (no gh)"
else
    ko "install.sh without gh: $(cat "$tmp/install.log")"
fi
if ! install "$tmp/install5.out" RUNNER_OS_NAME=Windows >"$tmp/install5.log" 2>&1 \
    && grep -q "no retention binary for Windows/X64" "$tmp/install5.log"; then
    ok "install.sh says which platforms it supports"
else
    ko "install.sh on Windows: $(cat "$tmp/install5.log")"
fi
if ! install "$tmp/install6.out" INPUT_VERSION='v1; touch pwned' >"$tmp/install6.log" 2>&1 \
    && grep -q "must be a release tag" "$tmp/install6.log" && [[ ! -e pwned ]]; then
    ok "install.sh refuses a version that is not a tag"
else
    ko "install.sh accepted a bad version: $(cat "$tmp/install6.log")"
fi

# ---- 3. run.sh as the action's second step -----------------------------------------------------
run() { # $1: workspace; the rest: extra env
    local ws="$1"; shift
    mkdir -p "$ws/temp"
    : >"$ws/output"
    : >"$ws/summary"
    (cd "$ws" && env -i PATH="$PATH" GITHUB_ACTIONS=true GITHUB_ACTION_PATH="$root" \
        GITHUB_OUTPUT="$ws/output" GITHUB_STEP_SUMMARY="$ws/summary" RUNNER_TEMP="$ws/temp" \
        GITHUB_WORKSPACE="$ws" RETENTION_BIN="$bin" INPUT_MODE=plan "$@" bash "$root/action/run.sh")
}
ws="$tmp/ws1"
mkdir -p "$ws/policies"
cp tests/fixtures/action/policy.yml "$ws/policies/"
cp tests/fixtures/action/inventory.json "$ws/"
if run "$ws" INPUT_POLICY=policies/policy.yml INPUT_INVENTORY=inventory.json \
    INPUT_NOW=2026-11-20T00:00:00Z >"$ws/log" 2>&1 \
    && [[ "$(cat "$ws/output")" == "to-delete=2
plan=$ws/temp/retention-plan.json
bytes-freed=496
report=$ws/temp/retention-plan.md
comment=$ws/temp/retention-comment.md
deleted=0
failed=0
untagged=0" ]] && grep -q '^::group::Plan' "$ws/log" && grep -q '^::stop-commands::' "$ws/log" \
    && [[ -s "$ws/summary" ]]; then
    ok "run.sh plans, writes the outputs and prints the plan in a group"
else
    ko "run.sh plan: $(cat "$ws/output" "$ws/log")"
fi
ws="$tmp/ws1b"
mkdir -p "$ws/policies"
cp tests/fixtures/action/policy.yml "$ws/policies/"
cp tests/fixtures/action/policy.yml "$ws/base.yml"
cp tests/fixtures/action/inventory.json "$ws/"
if run "$ws" INPUT_POLICY=policies/policy.yml INPUT_INVENTORY=inventory.json INPUT_BASE_POLICY=base.yml \
    INPUT_NOW=2026-11-20T00:00:00Z >"$ws/log" 2>&1 \
    && grep -q 'this change does not change what is deleted' "$ws/temp/retention-plan.md" \
    && grep -q '"diff"' "$ws/temp/retention-plan.json"; then
    ok "run.sh with base-policy reports the policy diff"
else
    ko "run.sh base-policy: $(cat "$ws/output" "$ws/log")"
fi
ws="$tmp/ws2"
mkdir -p "$ws"
if ! run "$ws" INPUT_POLICY='$(touch pwned).yml' >"$ws/log" 2>&1 \
    && grep -q "policy file '\$(touch pwned).yml' not found" "$ws/log" && [[ ! -e "$ws/pwned" && ! -e pwned ]]; then
    ok "run.sh keeps an input that looks like shell code as data"
else
    ko "run.sh with a hostile policy input: $(cat "$ws/log")"
fi
ws="$tmp/ws3"
mkdir -p "$ws"
cp tests/fixtures/action/policy.yml "$ws/"
if ! run "$ws" INPUT_POLICY=policy.yml INPUT_MODE=destroy >"$ws/log" 2>&1 \
    && grep -q "::error title=retention action::the input 'mode' must be 'plan', 'apply' or 'restore'; got 'destroy'" "$ws/log"; then
    ok "run.sh refuses an unknown mode"
else
    ko "run.sh with mode destroy: $(cat "$ws/log")"
fi
ws="$tmp/ws4"
mkdir -p "$ws"
cp tests/fixtures/action/bad-policy.yml "$ws/"
if ! run "$ws" INPUT_POLICY=bad-policy.yml INPUT_INVENTORY="$root/tests/fixtures/action/inventory.json" >"$ws/log" 2>&1 \
    && grep -q "^::error file=bad-policy.yml,line=8,col=43," "$ws/log"; then
    ok "run.sh passes the binary's annotations through"
else
    ko "run.sh with a bad policy: $(cat "$ws/log")"
fi

ws="$tmp/ws5"
mkdir -p "$ws"
sed 's/"pr-\*"/"pr-${PR_NUMBER}"/' tests/fixtures/action/policy.yml >"$ws/policy.yml"
if run "$ws" INPUT_POLICY=policy.yml INPUT_INVENTORY="$root/tests/fixtures/action/inventory.json" \
    INPUT_NOW=2026-11-20T00:00:00Z INPUT_VARS="$(printf '  PR_NUMBER=2  \n\n# a comment\n')" >"$ws/log" 2>&1 \
    && grep -q '^to-delete=1$' "$ws/output" && grep -q 'pr-2 ' "$ws/temp/retention-plan.txt"; then
    ok "run.sh passes the input vars to the binary as --var, one a line"
else
    ko "run.sh with vars: $(cat "$ws/output" "$ws/log")"
fi
ws="$tmp/ws6"
mkdir -p "$ws"
sed 's/"pr-\*"/"pr-${PR_NUMBER}"/' tests/fixtures/action/policy.yml >"$ws/policy.yml"
if ! run "$ws" INPUT_POLICY=policy.yml INPUT_INVENTORY="$root/tests/fixtures/action/inventory.json" \
    INPUT_VARS='PR_NUMBER=$(touch pwned)' >"$ws/log" 2>&1 \
    && grep -q "the value of PR_NUMBER contains '\$'" "$ws/log" && [[ ! -e "$ws/pwned" && ! -e pwned ]]; then
    ok "run.sh keeps a var that looks like shell code as data, and the binary refuses it"
else
    ko "run.sh with a hostile var: $(cat "$ws/log")"
fi
ws="$tmp/ws7"
mkdir -p "$ws"
sed 's/"pr-\*"/"pr-${PR_NUMBER}"/' tests/fixtures/action/policy.yml >"$ws/policy.yml"
if ! run "$ws" INPUT_POLICY=policy.yml INPUT_INVENTORY="$root/tests/fixtures/action/inventory.json" \
    PR_NUMBER=2 >"$ws/log" 2>&1 \
    && grep -q "^::error file=policy.yml,line=11,col=.*the variable \`PR_NUMBER\` is not set" "$ws/log"; then
    ok "run.sh: a variable missing from vars is an error, even when the environment has it"
else
    ko "run.sh without vars: $(cat "$ws/log")"
fi

ws="$tmp/ws8"
mkdir -p "$ws"
if ! run "$ws" INPUT_MODE=restore >"$ws/log" 2>&1 \
    && grep -q "::error title=retention action::the input 'journal' is required in restore mode" "$ws/log"; then
    ok "run.sh in restore mode asks for the journal (and no policy)"
else
    ko "run.sh restore without a journal: $(cat "$ws/log")"
fi

# The journal input reaches GITHUB_OUTPUT through the binary's one writer: a value with a line
# break is delimited, so it cannot add an output of its own (issue 17, item 14).
ws="$tmp/ws9"
mkdir -p "$ws"
cp tests/fixtures/action/policy.yml "$ws/"
run "$ws" INPUT_POLICY=policy.yml INPUT_MODE=apply INPUT_JOURNAL="$(printf 'j.jsonl\nto-delete=999')" >"$ws/log" 2>&1
# The output names as the runner reads them: `name=value` lines and `name<<DELIMITER` blocks.
names="$(awk 'd != "" { if ($0 == d) d = ""; next } /<</ { split($0, a, "<<"); print a[1]; d = a[2]; next } { split($0, a, "="); print a[1] }' "$ws/output" | tr '\n' ' ')"
if [[ "$names" == "deleted failed untagged journal " ]] && grep -q "^journal<<ghadelimiter" "$ws/output" \
    && grep -q "^deleted=0$" "$ws/output" && grep -q "^::error title=Apply failed::" "$ws/log" \
    && grep -q "^### Apply failed: " "$ws/summary"; then
    ok "run.sh apply: a journal input with a line break adds no output; a refused apply says 'Apply failed'"
else
    ko "run.sh apply with a journal holding a line break: $(cat "$ws/output" "$ws/log")"
fi

# in-use: one list path a line, each an --in-use argument (issue 19); a path that looks like
# shell code stays data (the binary cannot read it and says so).
ws="$tmp/ws-in-use"
mkdir -p "$ws"
sed 's/^rules:$/rules:\n  - name: what runs stays\n    keep: { in_use: true }/' tests/fixtures/action/policy.yml >"$ws/policy.yml"
echo "ghcr.io/acme/api:pr-2" >"$ws/running images.txt"
if run "$ws" INPUT_POLICY=policy.yml INPUT_INVENTORY="$root/tests/fixtures/action/inventory.json" \
    INPUT_NOW=2026-11-20T00:00:00Z INPUT_IN_USE="$(printf '  running images.txt \n\n# a comment\n')" >"$ws/log" 2>&1 \
    && grep -q '^to-delete=1$' "$ws/output" && grep -q 'in use: running images.txt:1' "$ws/temp/retention-plan.txt"; then
    ok "run.sh passes the input in-use to the binary as --in-use, one a line"
else
    ko "run.sh with in-use: $(cat "$ws/output" "$ws/log")"
fi
if ! run "$ws" INPUT_POLICY=policy.yml INPUT_INVENTORY="$root/tests/fixtures/action/inventory.json" \
    INPUT_IN_USE='$(touch pwned).txt' >"$ws/log" 2>&1 \
    && grep -q 'in_use: cannot read $(touch pwned).txt' "$ws/log" && [[ ! -e "$ws/pwned" && ! -e pwned ]]; then
    ok "run.sh keeps an in-use path that looks like shell code as data, and the binary refuses it"
else
    ko "run.sh with a hostile in-use path: $(cat "$ws/log")"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
