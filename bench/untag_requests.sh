#!/bin/sh
# The cost of removing tags: UNTAG_N tags (default 20) removed from one image in one run, against
# the local GitHub server and its ghcr.io face. Prints API requests per untag (the issue's bound:
# 2, one listing page and one DELETE; ratio against a deletion's 2, its re-read and its DELETE)
# and registry requests per untag (HEAD of the tag, HEAD of a tag the plan keeps on the image, PUT of the
# placeholder; the push token and the empty blob once per run and repository).
set -eu
cd "$(dirname "$0")/.."
cargo test --test it untag_api::requests_per_untag -- --nocapture 2>&1 | grep '^untag cost'
