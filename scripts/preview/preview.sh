#!/bin/sh
# Look at a Markdown report as a reviewer would: render it to HTML with GitHub's stylesheet,
# `marked` and `mermaid` (from the npm registry, installed once under target/preview), then
# screenshot it with headless Chromium (Debian package `chromium`).
#
#   retention plan ... --format markdown > report.md
#   sh scripts/preview/preview.sh report.md report.png
#   OPEN=1 HEIGHT=3000 sh scripts/preview/preview.sh report.md report.png   # sections open
#
# Not part of the tests: GitHub's own renderer is the reference; this only shows that the
# `mermaid` block parses and how the tables, alerts and collapsed sections read.
set -eu
md=$(realpath "$1")
png=$(realpath -m "${2:-${1%.md}.png}")
root=$(cd "$(dirname "$0")/../.." && pwd)
work="$root/target/preview"
mkdir -p "$work"
cd "$work"
if [ ! -d node_modules/mermaid ]; then
    npm init -y >/dev/null
    npm install --no-audit --no-fund mermaid marked github-markdown-css >/dev/null
fi
NODE_PATH="$work/node_modules" node "$root/scripts/preview/render.js" "$md" "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chromium" --allow-file-access-from-files \
    --virtual-time-budget=5000 --window-size="1100,${HEIGHT:-1600}" \
    --screenshot="$png" "file://$work/report.html" 2>/dev/null
echo "$png"
