"""Time from `start` to every node answering metadata, for 1 and 3 local Kafka nodes.

Jars are cached and storage formatted by a first, untimed start; then each size is started
and stopped ``--runs`` times and the median printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from playpipe.config import LocalKafkaSettings
from playpipe.kafka.local import LocalCluster


def measure(nodes: int, runs: int, port_base: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = LocalCluster(LocalKafkaSettings(nodes=nodes, port_base=port_base), Path(tmp))
        cluster.start(nodes=nodes)
        cluster.stop()
        times = []
        for _ in range(runs):
            began = time.monotonic()
            cluster.start(nodes=nodes)
            times.append(time.monotonic() - began)
            cluster.stop()
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = {n: measure(n, args.runs, 49092 + 100 * n) for n in (1, 3)}
    print(f"{'nodes':>5} {'median s':>9} {'min s':>7} {'max s':>7}")
    for nodes, times in results.items():
        print(f"{nodes:>5} {statistics.median(times):>9.1f} {min(times):>7.1f} {max(times):>7.1f}")
    ratio = statistics.median(results[3]) / statistics.median(results[1])
    print(f"3 nodes take {ratio:.2f}x the time of 1 node")


if __name__ == "__main__":
    main()
