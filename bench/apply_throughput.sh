#!/bin/sh
# The apply benchmarks.
#
# apply_pacing (issues 16, 21): 249 deletions (BENCH_N) against the local GitHub server (100 ms
# latency) for each of the pacing targets, side by side: the documented limit (900 points a
# minute), servers that allow 80 and 40 deletions a minute (400 and 200 points; retry-after 60,
# or none), and a limit that changes mid-run (900 -> 300 -> 900); at the default pace (60 a
# minute) and at --deletions-per-minute 180; a second run with the same cache directory where it
# matters. Prints per run: the true floor (N at the lower of the configured pace and the
# server's limit), the wall time, their ratio, the refusals (secondary-limit answers) and what was
# left undone, in GitHub seconds; time compressed by BENCH_SCALE (default 0.02: a minute lasts
# 1.2 s). BENCH_ONLY=text runs only the scenarios whose name contains it.
#
# apply_throughput: N deletions (BENCH_N, default 1000) at --deletions-per-minute 180 against
# the server enforcing 900 points a minute per endpoint, time compressed by BENCH_SCALE (default
# 0.05: a minute lasts 3 s). Prints elapsed vs the floor N/180 minutes, secondary-limit answers,
# and requests used vs the minimum.
#
# apply_cold_cache: container images whose manifests come from a stand-in registry, the API and
# the registry answering after 100 ms (scaled), with a warm then a cold manifest cache
# (BENCH_PACKAGES packages, default 1), at --deletions-per-minute 180. Prints each run's ratio to
# the floor, the pacing-alone ratio, and a timeline (listing done, first and last manifest read,
# first and last DELETE, exit). BENCH_BIN=path/to/retention runs another build (a baseline)
# under the same harness.
set -eu
cd "$(dirname "$0")/.."
cargo test --release --test it -- --ignored --nocapture --test-threads 1 github_bench::apply_pacing
cargo test --release --test it -- --ignored --nocapture --test-threads 1 github_bench::apply_throughput
cargo test --release --test it -- --ignored --nocapture --test-threads 1 github_bench::apply_cold_cache
