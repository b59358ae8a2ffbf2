#!/usr/bin/env bash
# The test command (README): installs what the tests need on a bare Debian machine with a Rust
# toolchain and Python 3, then runs every test. Safe to run again: it installs only what is missing.
#
#   - Debian: docker-registry (the CNCF distribution registry: the real OCI registry of the
#     end-to-end tests), buildah (builds the Dockerfile without a Docker daemon), apache2-utils,
#     jq (benchmark baseline), curl;
#   - PyPI: check-jsonschema (validates action.yml and the workflows offline), by validate.sh.
#
# Then: the image is built and its binary run (scripts/build-image.sh), the action metadata and
# workflows are validated (tests/action/validate.sh), and `cargo test` runs every Rust test,
# last, so that its summary closes the output. SKIP_IMAGE=1 skips the image build.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v buildah >/dev/null 2>&1 || [ "${SKIP_IMAGE:-0}" = 1 ] || missing+=(buildah)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The registry tests must run, not skip, here.
export CI="${CI:-true}"

if [ "${SKIP_IMAGE:-0}" != 1 ]; then
  echo "== image (buildah)" >&2
  bash scripts/build-image.sh
fi
echo "== action.yml and workflows" >&2
bash tests/action/validate.sh
echo "== cargo test" >&2
cargo test --locked --all-targets
