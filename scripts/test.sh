#!/usr/bin/env bash
# The test command (README): installs what the tests need on a bare Debian machine with a Rust
# toolchain and Python 3, then runs every check and test. Safe to run again: it installs only
# what is missing.
#
#   - Debian: docker-registry (the CNCF distribution registry: the real OCI registry of the
#     end-to-end tests), buildah (builds the Dockerfile without a Docker daemon), apache2-utils,
#     jq (benchmark baseline), curl; rustc-web and cargo-web at the declared minimum Rust version
#     (Cargo.toml's rust-version) when no rustup toolchain of that version is installed and the
#     Debian archive has them;
#   - PyPI: check-jsonschema (validates action.yml and the workflows offline), by validate.sh.
#
# Then, in order: `cargo fmt --check`, the module map and the function length
# (scripts/module_map.py, scripts/long_functions.py) and `cargo clippy --all-targets -- -D
# warnings` (fmt and clippy each skipped with a message when its rustup component is not
# installed); a build on the minimum Rust version (skipped with a message when no such
# toolchain can be had: the GitHub workflow always runs it); the image is built and its binary
# run (scripts/build-image.sh); the action metadata and workflows are validated
# (tests/action/validate.sh); the README's commands are run (scripts/doc_test.py); and
# `cargo test -- --include-ignored` runs every Rust test, last, so that its summary closes the
# output.
# SKIP_IMAGE=1 skips the image build, SKIP_MSRV=1 the minimum-version build.
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

echo "== cargo fmt --check" >&2
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --check || {
    echo "test.sh: error: the code is not formatted" >&2
    echo "  help: run \`cargo fmt\` and commit the result" >&2
    exit 1
  }
else
  echo "test.sh: skipping cargo fmt --check: rustfmt is not installed (rustup component add rustfmt)" >&2
fi

echo "== module map (ARCHITECTURE.md): no cycle, no upward arrow" >&2
python3 scripts/module_map.py

echo "== function length: none over 120 lines unless a \`// Long:\` comment says why" >&2
python3 scripts/long_functions.py

echo "== cargo clippy --all-targets -- -D warnings" >&2
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --locked --all-targets -- -D warnings
else
  echo "test.sh: skipping cargo clippy: clippy is not installed (rustup component add clippy)" >&2
fi

# The minimum Rust version (Cargo.toml's rust-version; the image builds with it): the library
# and binary must build there with the locked dependencies. A rustup toolchain of that version is
# used when installed; otherwise Debian's rustc-web/cargo-web of that version, installed from
# the Debian archive when it has them (no toolchain is downloaded from anywhere else).
msrv="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)"
msrv_skip() {
  echo "test.sh: skipping the build on Rust $msrv: $1" >&2
  echo "  help: \`rustup toolchain install $msrv\` makes it run here; the GitHub workflow always runs it" >&2
}
msrv_build() {
  local toolchain want sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  toolchain="$(rustup toolchain list 2>/dev/null | awk '{print $1}' | grep -E "^${msrv//./\\.}(\.[0-9]+)?-" | head -n 1 || true)"
  if [ -n "$toolchain" ]; then
    echo "== build on Rust $msrv (rustup toolchain $toolchain)" >&2
    cargo "+$toolchain" build --locked --target-dir target/msrv
    return
  fi
  if ! command -v apt-cache >/dev/null 2>&1; then
    msrv_skip "no rustup toolchain $msrv, and no apt to install Debian's"
    return
  fi
  # The newest Debian rustc-web whose upstream version is $msrv.x (e.g. 1.85.0+dfsg3-1~deb12u3).
  debian_version() {
    apt-cache madison rustc-web 2>/dev/null \
      | awk -F'|' -v v="$msrv" '{gsub(/ /, "", $2)} index($2, v ".") == 1 {print $2; exit}'
  }
  want="$(debian_version)"
  if [ -z "$want" ]; then
    $sudo apt-get update -qq || true
    want="$(debian_version)"
  fi
  if [ -z "$want" ]; then
    msrv_skip "no rustup toolchain $msrv, and the Debian archive has no rustc-web $msrv"
    return
  fi
  if [ "$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null)" != "$want" ] \
    || [ "$(dpkg-query -W -f='${Version}' cargo-web 2>/dev/null)" != "$want" ]; then
    echo "test.sh: installing Debian's rustc-web and cargo-web $want for the build on Rust $msrv" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends --allow-downgrades \
      "rustc-web=$want" "cargo-web=$want" "libstd-rust-web-dev=$want" >/dev/null
  fi
  echo "== build on Rust $msrv (Debian rustc-web $want: $(/usr/bin/rustc --version))" >&2
  RUSTC=/usr/bin/rustc /usr/bin/cargo build --locked --target-dir target/msrv
}
if [ "${SKIP_MSRV:-0}" = 1 ]; then
  echo "test.sh: SKIP_MSRV=1: skipping the build on Rust $msrv" >&2
else
  msrv_build
fi

if [ "${SKIP_IMAGE:-0}" != 1 ]; then
  echo "== image (buildah)" >&2
  bash scripts/build-image.sh
fi
echo "== action.yml and workflows" >&2
bash tests/action/validate.sh
# validate.sh built target/debug/retention: run the README's commands with it (the
# `cargo install` block too, unless DOC_TEST_SKIP_SLOW=1).
echo "== the README's commands (scripts/doc_test.py)" >&2
python3 scripts/doc_test.py README.md
# The registry tests are #[ignore = "needs docker-registry"] (a plain `cargo test` lists them as
# ignored); they run here, and with CI=true a missing registry fails them. The two benchmarks
# (bench/apply_throughput.sh) are ignored too and stay skipped.
echo "== cargo test (with the tests that need docker-registry)" >&2
cargo test --locked --all-targets -- --include-ignored \
  --skip github_bench::apply_throughput --skip github_bench::apply_cold_cache --skip github_bench::apply_pacing
