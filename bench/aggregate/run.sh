#!/usr/bin/env bash
# The pure aggregation path (sessions + windows), no Kafka: events/s and bytes per open view.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python bench/aggregate/pure.py "$@"
