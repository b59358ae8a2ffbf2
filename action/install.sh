#!/usr/bin/env bash
# Install the retention binary for the runner's platform: the action's first step.
#
# Reads (set by action.yml from contexts and inputs; never interpolated into this script):
#   INPUT_VERSION       release tag to install (v0.1.0), `source` to build with cargo, or empty:
#                       the version in the action's own Cargo.toml, so pinning the action pins it
#   ACTION_REPOSITORY   owner/repo of the action (often empty in composite actions: then taken
#                       from GITHUB_ACTION_PATH, .../_actions/OWNER/REPO/REF)
#   RUNNER_OS_NAME, RUNNER_ARCH_NAME, SERVER_URL, RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_OUTPUT
#   GH_TOKEN            for `gh attestation verify` (the action's token input)
# Writes the output `bin` (the binary's path). Downloads a few MB, verifies its sha256 and, when
# `gh` is on the runner, its build provenance (fail closed); reuses a copy already in the tool
# cache (self-hosted runners keep it between jobs).
set -euo pipefail

fail() {
    # A workflow command, so the reason shows in the run's annotations.
    echo "::error title=retention action::$*"
    exit 1
}

action_path="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: run this through action.yml}"

case "${RUNNER_OS_NAME:-}/${RUNNER_ARCH_NAME:-}" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    *) fail "no retention binary for ${RUNNER_OS_NAME:-?}/${RUNNER_ARCH_NAME:-?}; use a Linux or macOS runner (x64 or ARM64)" ;;
esac

version="${INPUT_VERSION:-}"
if [[ -z "$version" ]]; then
    version="v$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$action_path/Cargo.toml" | head -n 1)"
    [[ "$version" != "v" ]] || fail "cannot read the version from $action_path/Cargo.toml; set the input 'version'"
fi

if [[ "$version" == "source" ]]; then
    echo "Building retention from source (minutes; pin a release to avoid this)" >&2
    command -v cargo >/dev/null || fail "version 'source' needs cargo on the runner"
    cargo build --release --locked --manifest-path "$action_path/Cargo.toml" >&2
    echo "bin=$action_path/target/release/retention" >>"$GITHUB_OUTPUT"
    exit 0
fi
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] \
    || fail "input 'version' must be a release tag such as v0.1.0, or 'source'; got '$version'"

repository="${ACTION_REPOSITORY:-}"
if [[ -z "$repository" ]]; then
    # .../_actions/OWNER/REPO/REF (a published action); empty for `uses: ./`.
    case "$action_path" in
        */_actions/*/*/*)
            rest="${action_path#*/_actions/}"
            repository="$(cut -d/ -f1-2 <<<"$rest")"
            ;;
    esac
fi
[[ -n "$repository" ]] || fail "cannot tell which repository the action comes from (a local 'uses: ./'?); set the input 'version' to 'source' to build it"

cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}"
dir="$cache_root/retention/${version#v}/$target"
bin="$dir/retention"
if [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; then
    echo "Using $("$bin" --version) from the tool cache" >&2
    echo "bin=$bin" >>"$GITHUB_OUTPUT"
    exit 0
fi

archive="retention-$target.tar.gz"
url="${SERVER_URL:-https://github.com}/$repository/releases/download/$version/$archive"
tmp="$(mktemp -d "${RUNNER_TEMP:-/tmp}/retention-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "Downloading $url" >&2
curl --fail --silent --show-error --location --retry 3 --retry-delay 2 \
    --output "$tmp/$archive" "$url" \
    || fail "cannot download $url; is $version a release of $repository? Pin the action to a release tag or set the input 'version'"
curl --fail --silent --show-error --location --retry 3 --retry-delay 2 \
    --output "$tmp/$archive.sha256" "$url.sha256" \
    || fail "cannot download $url.sha256 to verify the binary"

expected="$(cut -d' ' -f1 <"$tmp/$archive.sha256")"
if command -v sha256sum >/dev/null; then
    actual="$(sha256sum "$tmp/$archive" | cut -d' ' -f1)"
else
    actual="$(shasum -a 256 "$tmp/$archive" | cut -d' ' -f1)"
fi
[[ "$expected" == "$actual" ]] || fail "checksum mismatch for $archive: expected $expected, got $actual"

# Provenance: the release workflow attests every archive (actions/attest-build-provenance), so a
# checksum that came from the same place as the binary is not all there is to trust. With the
# GitHub CLI on the runner (GitHub-hosted runners have it), the archive must have been built by
# this repository's release workflow; any failure to show that stops here (fail closed).
# The attestations are made on github.com: on GitHub Enterprise Server the runner's token cannot
# read them, so there the step says so and the provenance is verified by hand (docs/action.md).
host="$(sed -n 's#^https\{0,1\}://\([^/:]*\).*#\1#p' <<<"${SERVER_URL:-}")"
if [[ -n "$host" && "$host" != "github.com" ]]; then
    echo "on $host the build provenance of $archive (attested on github.com) is not verified here (its sha256 is); to verify it by hand see docs/action.md" >&2
elif command -v gh >/dev/null 2>&1; then
    signer="$repository/.github/workflows/release.yml"
    gh_args=(attestation verify "$tmp/$archive" --repo "$repository" --signer-workflow "$signer")
    if ! gh "${gh_args[@]}" >"$tmp/attestation.log" 2>&1; then
        cat "$tmp/attestation.log" >&2
        fail "the build provenance of $archive does not verify (gh attestation verify --repo $repository --signer-workflow $signer): it may not be a binary of $repository's release; nothing was installed"
    fi
    echo "Verified the build provenance of $archive: built by $signer" >&2
else
    echo "gh is not on this runner: the build provenance of $archive is not verified (its sha256 is); to verify by hand see docs/action.md" >&2
fi

mkdir -p "$dir"
tar -xzf "$tmp/$archive" -C "$dir" retention
chmod +x "$bin"
echo "Installed $("$bin" --version) ($target)" >&2
echo "bin=$bin" >>"$GITHUB_OUTPUT"
