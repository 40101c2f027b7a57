#!/usr/bin/env bash
# Collector events/s and latency vs a bare decode-and-produce ceiling (needs wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python bench/collector/bench.py "$@"
