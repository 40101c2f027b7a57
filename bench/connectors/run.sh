#!/usr/bin/env bash
# Connector events/s (PostgreSQL, Parquet, webhook) and p99 latency at 20k events/s, each
# next to a plain peer, then CPU per event stage by stage (cpu.py, no Kafka). Starts its own
# Kafka (ports from 39792) unless BENCH_BOOTSTRAP is set.
# Arguments go to bench.py, e.g. --events 1000000 --rate 20000 --duration 20.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
if [ -z "${BENCH_BOOTSTRAP:-}" ]; then
  data=$(mktemp -d -t playpipe-bench-kafka-XXXX)
  trap '.venv/bin/playpipe kafka stop --data-dir "$data" >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
  .venv/bin/playpipe kafka start --data-dir "$data" --port-base 39792 >/dev/null
  BENCH_BOOTSTRAP=127.0.0.1:39792
fi
"$PY" -m bench.connectors.bench --bootstrap "$BENCH_BOOTSTRAP" "$@"
"$PY" -m bench.connectors.cpu
