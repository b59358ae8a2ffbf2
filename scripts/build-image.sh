#!/usr/bin/env bash
# Build the retention image from the Dockerfile with buildah (no Docker daemon), and prove that it
# works by running the binary from the image: `--version`, then a `plan` on a fixture inventory
# inside a simulated GitHub Actions runner, checking the outputs file it writes.
#
# Uses the Dockerfile's `prebuilt` target: a static binary built on this host (or given with
# RETENTION_BIN) plus the host's CA bundle. This machine cannot pull base images, and `prebuilt`
# needs none (FROM scratch, no RUN). The `source` target (FROM rust:alpine) is what a machine with
# Docker Hub access builds; the release workflow uses `prebuilt` with native ARM and x86 binaries.
#
# Environment:
#   RETENTION_BIN   a static linux/amd64 binary to put in the image (default: build one, reusing
#                   target/x86_64-unknown-linux-gnu/release/retention when it is up to date)
#   IMAGE           the image name (default localhost/retention:dev)
#   KEEP_IMAGE=1    keep the image afterwards (default: remove it)
# Prints the binary size, the image size and the build times.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${IMAGE:-localhost/retention:dev}"
cd "$root"

command -v buildah >/dev/null || { echo "error: buildah is not installed; run: apt-get install -y buildah" >&2; exit 1; }

# Root in a container without an overlay-capable kernel: vfs storage and chroot isolation work
# everywhere; a normal machine may override them.
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"

t0=$SECONDS
if [[ -n "${RETENTION_BIN:-}" ]]; then
    bin="$RETENTION_BIN"
else
    # A static glibc binary: the host toolchain has only x86_64-unknown-linux-gnu (no musl target
    # here). glibc >= 2.34 resolves host names through its built-in `files` and `dns` NSS
    # modules, so a static binary resolves names on `scratch` too. A no-op when up to date.
    echo "== building the static release binary (cargo; a no-op when up to date)" >&2
    RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --release --locked --target x86_64-unknown-linux-gnu >&2
    bin="target/x86_64-unknown-linux-gnu/release/retention"
fi
t_binary=$((SECONDS - t0))
[[ -x "$bin" ]] || { echo "error: $bin is not an executable" >&2; exit 1; }
if ldd "$bin" 2>&1 | grep -q '=>'; then
    echo "error: $bin is dynamically linked; an image FROM scratch needs a static binary" >&2
    echo "  help: build with RUSTFLAGS='-C target-feature=+crt-static' and --target x86_64-unknown-linux-gnu" >&2
    exit 1
fi

ctx="$(mktemp -d)"
container=""
cleanup() {
    if [[ -n "$container" ]]; then buildah rm "$container" >/dev/null 2>&1 || true; fi
    if [[ -z "${KEEP_IMAGE:-}" ]]; then buildah rmi "$image" >/dev/null 2>&1 || true; fi
    rm -rf "$ctx"
}
trap cleanup EXIT

mkdir -p "$ctx/dist/linux-amd64"
cp "$bin" "$ctx/dist/linux-amd64/retention"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/dist/ca-certificates.crt"
cp Dockerfile "$ctx/Dockerfile"

echo "== buildah bud --target prebuilt --platform linux/amd64" >&2
t1=$SECONDS
buildah bud --quiet --layers=false --target prebuilt --platform linux/amd64 \
    --build-arg TARGETARCH=amd64 -t "$image" -f "$ctx/Dockerfile" "$ctx" >&2
t_image=$((SECONDS - t1))

# Prove it: run the binary from the image.
container="$(buildah from --quiet "$image")"
work="$(mktemp -d "$ctx/work.XXXXXX")"
cp tests/fixtures/action/policy.yml tests/fixtures/action/inventory.json "$work/"
: >"$work/output"
: >"$work/summary"
mkdir -p "$work/temp"

echo "== retention --version (from the image)" >&2
version="$(buildah run "$container" -- /usr/local/bin/retention --version)"
echo "$version"

echo "== retention plan on tests/fixtures/action (from the image, as in a runner)" >&2
buildah run \
    --volume "$work:/github/workspace" \
    --workingdir /github/workspace \
    --env GITHUB_ACTIONS=true \
    --env GITHUB_OUTPUT=/github/workspace/output \
    --env GITHUB_STEP_SUMMARY=/github/workspace/summary \
    --env RUNNER_TEMP=/github/workspace/temp \
    --env GITHUB_WORKSPACE=/github/workspace \
    "$container" -- /usr/local/bin/retention plan --policy policy.yml \
    --inventory inventory.json --now 2026-11-20T00:00:00Z --format text >"$work/stdout"

expected="to-delete=2
plan=/github/workspace/temp/retention-plan.json
bytes-freed=496
report=/github/workspace/temp/retention-plan.md
comment=/github/workspace/temp/retention-comment.md
deleted=0
failed=0
untagged=0"
if [[ "$(cat "$work/output")" != "$expected" ]]; then
    echo "error: unexpected GITHUB_OUTPUT from the image:" >&2
    cat "$work/output" >&2
    exit 1
fi
[[ -s "$work/summary" && -s "$work/temp/retention-plan.json" && -s "$work/stdout" ]] \
    || { echo "error: the image's run wrote no summary, plan file or plan" >&2; exit 1; }
echo "ok: the image's binary planned 2 deletions and wrote the runner outputs"

binary_bytes="$(stat -c %s "$bin")"
image_bytes="$(buildah inspect --type image --format '{{.Docker.Size}}' "$image" 2>/dev/null || true)"
if [[ -z "$image_bytes" || "$image_bytes" == "0" ]]; then
    # Fall back to the sum of the files in the image.
    mnt="$(buildah mount "$container")"
    image_bytes="$(du -sb "$mnt" | cut -f1)"
    buildah umount "$container" >/dev/null
fi
awk -v b="$binary_bytes" -v i="$image_bytes" 'BEGIN {
    printf "binary: %d bytes (%.1f MiB)\nimage:  %d bytes (%.1f MiB)\n", b, b / 1048576, i, i / 1048576 }'
echo "time: binary ${t_binary}s, image ${t_image}s"
if (( image_bytes > 20 * 1024 * 1024 )); then
    echo "error: the image is over 20 MiB" >&2
    exit 1
fi
