#!/usr/bin/env bash
# Time `make demo` to a live dashboard with every chart filled: from a fresh clone (new
# venv, pip and Maven downloads, Kafka jars fetched, storage formatted), then again from the
# same, now warm, clone (its .playpipe/ data removed first, so no chart is filled by the
# previous run). Needs ports 8080, 8088, 9092-9093 and 9100-9104 of 127.0.0.1 free; stops
# the demo's Kafka afterwards. Not part of `make bench` (it downloads everything once).
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
python=${PYTHON:-$repo/.venv/bin/python}
for port in 8080 8088 9092 9093 9100 9101 9102 9103 9104; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use: make demo needs it" >&2
    exit 1
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/playpipe"
cd "$work/playpipe"
# A new machine: empty pip and playpipe caches (XDG_CACHE_HOME), an empty Maven repository.
export XDG_CACHE_HOME="$work/cache" MAVEN_OPTS="-Dmaven.repo.local=$work/m2"
timer="$python $repo/bench/demo/time_to_dashboard.py --log $work/demo.log"
stop() { .venv/bin/playpipe kafka stop >/dev/null 2>&1 || true; }
fresh=$($timer -- make demo) || { stop; echo "fresh: $fresh"; tail -30 "$work/demo.log"; exit 1; }
stop
rm -rf .playpipe
warm=$($timer -- make demo) || { stop; echo "warm: $warm"; tail -30 "$work/demo.log"; exit 1; }
stop
echo "fresh clone: $fresh"
echo "warm clone:  $warm"
"$python" - "$fresh" "$warm" <<'PY'
import json, sys
fresh, warm = (json.loads(a)["seconds"] for a in sys.argv[1:])
for mark in ("collector_up", "dashboard_up", "first_chart", "every_chart_filled"):
    f, w = fresh.get(mark), warm.get(mark)
    ratio = f"{f / w:.1f}x" if f and w else "-"
    print(f"{mark:20} fresh {f} s  warm {w} s  fresh/warm {ratio}")
PY
