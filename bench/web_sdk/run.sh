#!/usr/bin/env bash
# The web SDK in a real browser: bundle sizes (min+gzip), then the page's CPU per heartbeat
# while hls.js plays real media, with and without the SDK, next to mux-embed as a peer.
# Needs Node 20, ffmpeg and Chromium (Debian's). Arguments go to bench/cpu.mjs, e.g.
# --seconds 60 --rounds 2 --heartbeat-ms 10000.
set -euo pipefail
cd "$(dirname "$0")/../../sdk/web"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
node bench/size.mjs
node bench/cpu.mjs "$@"
