#!/usr/bin/env bash
# Benchmark: `retention plan` on chains of N nested untagged indexes, N and 4N. Linear work
# gives a ratio t(4N)/t(N) near 4 (plus the fixed start-up); the walk per version it replaces
# gave ~50 (cubic: each version walked its chain with a linear cycle check).
#
#   bench/nested_indexes.sh            # N = 1000 (and 4000), the release build
#   N=2000 BIN=target/debug/retention bench/nested_indexes.sh
#
# Measured 2026 on a shared 2-core machine, debug build (N = 1000, 2000, 4000):
#   before 3.73 s, 28.04 s, 186.29 s;  after 0.20 s, 0.30 s, 0.67 s (278x faster at 4000).
# This script, debug build, N=1000: before 2.28 s and 108.99 s, ratio 47.78; after 0.17 s and
# 0.73 s, ratio 4.34.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
BIN=${BIN:-target/release/retention}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/retention-bench-nested}
mkdir -p "$DIR"
[ -x "$BIN" ] || cargo build --release
cat > "$DIR/policy.yml" <<'YAML'
version: 1
owner: acme
packages: { type: container, names: ["api"] }
rules:
  - name: untagged leftovers
    delete: { untagged: true, older_than: 1d }
safety: { keep_newest: 0, min_age: 0s }
YAML
time_of() {
  local n=$1
  (cd "$DIR" && [ -s "nested-$n.json" ] || python3 "$OLDPWD/bench/gen_nested_indexes.py" "$n")
  local start end
  start=$(date +%s.%N)
  "$BIN" plan --policy "$DIR/policy.yml" --inventory "$DIR/nested-$n.json" \
    --now 2026-11-20T00:00:00Z --format json >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
t1=$(time_of "$N")
t4=$(time_of $((N * 4)))
echo "nested indexes: N=$N ${t1} s, N=$((N * 4)) ${t4} s, ratio $(echo "scale=2; $t4 / $t1" | bc) (linear: ~4)"
