#!/bin/sh
# The apply throughput benchmark: N deletions (BENCH_N, default 1000) against the local GitHub
# server enforcing 900 points a minute per endpoint, time compressed by BENCH_SCALE (default 0.05:
# a minute lasts 3 s). Prints elapsed vs the floor N/180 minutes, secondary-limit answers, and
# requests used vs the minimum.
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --test github_bench -- --ignored --nocapture apply_throughput
