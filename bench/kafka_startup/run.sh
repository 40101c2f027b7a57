#!/usr/bin/env bash
# Local Kafka start-up time, 1 vs 3 nodes.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python bench/kafka_startup/startup.py "$@"
