#!/usr/bin/env bash
# The aggregation benchmarks.
#   run.sh pure [args]   the pure aggregation path (sessions + windows), no Kafka: events/s
#                        and bytes per open view (bench/aggregate/pure.py)
#   run.sh kafka [args]  with Kafka, side by side with the same job in Quix Streams and
#                        Kafka Streams (bench/aggregate/kafka.py; starts its own Kafka
#                        unless --bootstrap-servers is given; installs the `bench` extra
#                        and builds bench/aggregate/kstreams with Maven once)
#   run.sh               both, with their defaults
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
mode=${1:-all}
[ $# -gt 0 ] && shift

kafka() {
  "$PY" -c 'import quixstreams' 2>/dev/null || .venv/bin/pip install -q -e '.[bench]'
  if [[ " $* " != *" --skip-kstreams "* && ! -f bench/aggregate/kstreams/target/qoe-kstreams.jar ]]; then
    echo "building the Kafka Streams job (Maven, once)" >&2
    mvn -B -q -f bench/aggregate/kstreams/pom.xml package
  fi
  "$PY" -m bench.aggregate.kafka "$@"
}

case "$mode" in
  pure) exec "$PY" bench/aggregate/pure.py "$@" ;;
  kafka) kafka "$@" ;;
  all) "$PY" bench/aggregate/pure.py && kafka ;;
  *) echo "usage: $0 [pure|kafka] [args]" >&2; exit 2 ;;
esac
