#!/usr/bin/env bash
# Benchmark: `retention plan` of this tree against the same command built from another commit,
# on the inventory of bench/plan_vs_jq.sh, runs interleaved (old, new, old, new…) so that the
# machine's load hits both alike. Prints every run, the best of each and the ratio new / old.
#
#   bench/plan_vs_commit.sh BASE_COMMIT              # e.g. bench/plan_vs_commit.sh b8c9403
#   RUNS=6 VERSIONS=20000 PACKAGES=10 bench/plan_vs_commit.sh BASE_COMMIT
#
# The base is exported with `git archive` into $BENCH_DIR/base-<commit> and built there (release,
# its own target dir seeded from this tree's, so only the crate itself is compiled). Each side
# runs with its own bench/policy.yml (a policy key added since the base would be refused by it).
#
# Measured 2026-11-25 on the shared 2-core machine, base b8c9403 (before issues 8 and 9's
# evaluator): best of 4, old 1.706 s, new 1.729 s: ratio 1.01 (1.04 in an earlier run).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${1:?usage: bench/plan_vs_commit.sh BASE_COMMIT}
VERSIONS=${VERSIONS:-200000}
PACKAGES=${PACKAGES:-100}
RUNS=${RUNS:-4}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/retention-bench}
FILE="$DIR/inventory-$VERSIONS-$PACKAGES.json"
SHA=$(git rev-parse --short "$BASE")
SRC="$DIR/base-$SHA"
mkdir -p "$DIR"

if [ ! -s "$FILE" ]; then
  echo "generating $FILE ..." >&2
  python3 bench/gen_inventory.py --output "$FILE" --versions "$VERSIONS" --packages "$PACKAGES"
fi
echo "building this tree and $SHA (release) ..." >&2
cargo build --release --quiet
NEW=$(pwd)/${CARGO_TARGET_DIR:-target}/release/retention
if [ ! -d "$SRC" ]; then
  mkdir -p "$SRC"
  git archive "$BASE" | tar -x -C "$SRC"
  [ -d "$SRC/target" ] || { mkdir -p "$SRC/target" && cp -r "${CARGO_TARGET_DIR:-target}/release" "$SRC/target/"; }
fi
(cd "$SRC" && CARGO_TARGET_DIR="$SRC/target" cargo build --release --quiet)
OLD="$SRC/target/release/retention"

cat "$FILE" >/dev/null
seconds() {
  local start end
  start=$(date +%s.%N)
  (cd "$1" && "$2" plan --policy bench/policy.yml --inventory "$FILE" --now 2026-11-20T00:00:00Z \
    --format json --output "$DIR/plan-$3.json")
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
old=(); new=()
for _ in $(seq "$RUNS"); do
  old+=("$(seconds "$SRC" "$OLD" old)")
  new+=("$(seconds "$(pwd)" "$NEW" new)")
done
best() { printf '%s\n' "$@" | sort -g | head -1; }
bo=$(best "${old[@]}"); bn=$(best "${new[@]}")
printf 'inventory  %s\n' "$FILE"
printf 'old %s    %s  best %ss\n' "$SHA" "${old[*]}" "$bo"
printf 'new         %s  best %ss\n' "${new[*]}" "$bn"
awk -v a="$bn" -v b="$bo" 'BEGIN { printf "ratio       %.2f  (new / old)\n", a / b }'
