#!/usr/bin/env bash
# Benchmark: `retention plan` on a 200,000-version inventory against `jq -c .` on the same file.
#
#   bench/plan_vs_jq.sh                      # 200,000 versions in 100 packages
#   VERSIONS=20000 PACKAGES=10 bench/plan_vs_jq.sh
#
# Targets (issue 2): plan wall time <= jq wall time (ratio <= 1.0, measured in the same run), and
# retention's peak RSS < 4x the inventory's size. Issue 11: `plan --base bench/policy-base.yml`
# (two policies evaluated on the inventory read once, and the diff) under 2x `plan`. Each time is the best of 3 runs. Needs python3,
# jq, cargo and GNU time (/usr/bin/time; `apt-get install -y time`).
#
# Issue 11, same machine under load: plan 2.86 s, plan --base 4.45 s (1.56 x; 6,400 versions
# newly deleted by bench/policy.yml against bench/policy-base.yml). Again 2026-11-25, quieter:
# jq 5.36 s, plan 2.09 s (ratio 0.39), plan --base 2.19 s (1.05 x plan).
# Measured 2026 on a shared 2-core machine: 267.2 MB inventory, 98,300 deletions; jq 6.04 s,
# retention 1.34 s (ratio 0.22); peak RSS 485 MB = 1.86 x the file size. Again 2026-11-25, after
# tags got their own fate (70,700 deletions, 9,200 tags removed): jq 5.99 s, retention 1.84 s
# (ratio 0.31, a busier machine: bench/plan_vs_commit.sh puts it at 1.01-1.04x the code before).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSIONS=${VERSIONS:-200000}
PACKAGES=${PACKAGES:-100}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/retention-bench}
FILE="$DIR/inventory-$VERSIONS-$PACKAGES.json"
PLAN="$DIR/plan.json"
RUNS=${RUNS:-3}
mkdir -p "$DIR"

for tool in python3 jq cargo; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: GNU time is required (apt-get install -y time)" >&2; exit 1; }

if [ ! -s "$FILE" ] || [ bench/gen_inventory.py -nt "$FILE" ]; then
  echo "generating $FILE ..." >&2
  python3 bench/gen_inventory.py --output "$FILE" --versions "$VERSIONS" --packages "$PACKAGES"
fi
echo "building the release binary ..." >&2
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/retention

# Best wall time of $RUNS runs of a command, in seconds.
best_of() {
  local best="" start end t
  for _ in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  printf '%.3f' "$best"
}

run_jq() { jq -c . "$FILE" >/dev/null; }
run_plan() {
  "$BIN" plan --policy bench/policy.yml --inventory "$FILE" --now 2026-11-20T00:00:00Z \
    --format json --output "$PLAN"
}

run_base() {
  "$BIN" plan --policy bench/policy.yml --base bench/policy-base.yml --inventory "$FILE" \
    --now 2026-11-20T00:00:00Z --format json --output "$DIR/diff.json"
}

# Warm the page cache once for both.
cat "$FILE" >/dev/null

jq_s=$(best_of run_jq)
plan_s=$(best_of run_plan)
base_s=$(best_of run_base)
rss_kb=$(/usr/bin/time -v "$BIN" plan --policy bench/policy.yml --inventory "$FILE" \
  --now 2026-11-20T00:00:00Z --format json --output "$PLAN" 2>&1 >/dev/null \
  | awk -F': ' '/Maximum resident set size/ {print $2}')
size=$(stat -c %s "$FILE")
deletions=$(jq '.summary.delete' "$PLAN")
untags=$(jq '.summary.untag // 0' "$PLAN")

calc() { awk "BEGIN { print $1 }"; }
ratio=$(calc "$plan_s / $jq_s")
rss_ratio=$(calc "$rss_kb * 1024 / $size")
printf 'inventory       %s (%d versions, %d packages, %.1f MB)\n' "$FILE" "$VERSIONS" "$PACKAGES" "$(calc "$size / 1000000")"
printf 'plan            %d deletions, %d tags removed\n' "$deletions" "$untags"
printf 'jq -c .         %ss (best of %d)\n' "$jq_s" "$RUNS"
printf 'retention plan  %ss (best of %d)\n' "$plan_s" "$RUNS"
printf 'ratio           %.2f  (retention / jq; target <= 1.0)\n' "$ratio"
printf 'plan --base     %ss (best of %d): %.2f x plan (target < 2); %s versions newly deleted\n' "$base_s" "$RUNS" "$(calc "$base_s / $plan_s")" "$(jq '.diff.summary.newly_deleted' "$DIR/diff.json")"
printf 'peak RSS        %.1f MB = %.2f x file size (target < 4)\n' "$(calc "$rss_kb / 1000")" "$rss_ratio"
