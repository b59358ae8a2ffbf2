#!/bin/sh
# The apply throughput benchmarks: N deletions (BENCH_N, default 1000) against the local GitHub
# server enforcing 900 points a minute per endpoint, time compressed by BENCH_SCALE (default 0.05:
# a minute lasts 3 s). Prints elapsed vs the floor N/180 minutes, secondary-limit answers, and
# requests used vs the minimum.
#
# apply_cold_cache: container images whose manifests come from a stand-in registry, the API and
# the registry answering after 100 ms (scaled), with a warm then a cold manifest cache
# (BENCH_PACKAGES packages, default 1). Prints each run's ratio to the floor, the pacing-alone
# ratio, and a timeline (listing done, first and last manifest read, first and last DELETE, exit).
# BENCH_BIN=path/to/retention runs another build (a baseline) under the same harness. The
# issue's run is BENCH_SCALE=1 BENCH_PACKAGES=1 (about 12 minutes, mostly sleeping); at
# BENCH_SCALE=0.2 the unscaled CPU time weighs 5x more.
set -eu
cd "$(dirname "$0")/.."
cargo test --release --test it -- --ignored --nocapture --test-threads 1 github_bench::apply_throughput
cargo test --release --test it -- --ignored --nocapture --test-threads 1 github_bench::apply_cold_cache
