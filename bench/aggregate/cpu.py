"""CPU per event of `playpipe aggregate`'s two stages on a Kafka backlog, by thread.

Prepares ``--events`` dictionary events (the generator of ``pure.py``, 6 partitions, as
``kafka.py`` does) unless ``--source`` names a topic already holding them, then runs the
aggregator and the window merger in this process as ``playpipe aggregate`` does (gc tuning
included), each on its own thread, from the start of the topic until the aggregator's group
committed every input offset. Prints the process CPU time per event (librdkafka's threads
included) and each stage thread's share, with the load average: on a shared machine, CPU
time is steadier than wall time. Topics made here are deleted at the end.

    python -m bench.aggregate.cpu --bootstrap-servers HOST:PORT [--events 300000]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid

from bench.aggregate import feed
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from playpipe.config import Config, KafkaSettings
from playpipe.kafka.topics import apply_topics
from playpipe.streams import runner as runner_module
from playpipe.streams.aggregator import Aggregator
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.merger import WindowMerger
from playpipe.streams.runner import StreamRunner

HOUR_MS = 3_600_000


def _config(bootstrap: str, prefix: str) -> Config:
    config = Config(kafka=KafkaSettings(bootstrap_servers=bootstrap))
    config.topics.prefix = prefix
    config.streams = AggregationSettings(
        windows=["10s"], dimension_sets=[["cdn", "country", "device_type"]]
    )
    apply_topics(config)
    time.sleep(3)  # partition leaders of new topics
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--views", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--source", help="an events topic already prepared (kept)")
    args = parser.parse_args()
    boot = args.bootstrap_servers
    prefix = f"aggcpu{uuid.uuid4().hex[:6]}"
    config = _config(boot, prefix)
    source = args.source or f"{prefix}.events"
    try:
        if not args.source:
            base = int(time.time() * 1000) - 4 * HOUR_MS
            feed.prepare(boot, source, args.events, args.views, args.seed, base)
        run(config, prefix, source)
    finally:
        admin = AdminClient({"bootstrap.servers": boot})
        mine = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix + ".")]
        for future in admin.delete_topics(mine).values() if mine else ():
            future.result(30)


def run(config: Config, prefix: str, source: str) -> None:
    settings = config.streams
    aggregator = Aggregator(config, settings)
    aggregator.input_topic = source
    merger = WindowMerger(config, settings)
    runners = [
        StreamRunner(config, aggregator, f"{prefix}-aggregator", [source]),
        StreamRunner(config, merger, f"{prefix}-merger", [merger.input_topic], poll_timeout_s=0.05),
    ]
    monitor = Consumer({"bootstrap.servers": config.kafka.bootstrap_servers, "group.id": "-"})
    meta = monitor.list_topics(source, timeout=10).topics[source]
    tps = [TopicPartition(source, p) for p in meta.partitions]
    ends = {tp.partition: monitor.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
    total = sum(ends.values())
    thread_cpu: dict[str, float] = {}

    def work(runner: StreamRunner) -> None:
        runner.run()
        thread_cpu[runner.stage.name] = time.thread_time()

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    tune_gc = getattr(runner_module, "tune_gc", None)  # absent before it was introduced
    if tune_gc is not None:
        tune_gc()
    load_before = os.getloadavg()[0]
    cpu0, wall0 = time.process_time(), time.monotonic()
    for thread in threads:
        thread.start()
    group = Consumer(
        {"bootstrap.servers": config.kafka.bootstrap_servers, "group.id": f"{prefix}-aggregator"}
    )
    while True:
        time.sleep(0.25)
        committed = group.committed(tps, timeout=10)
        if all(tp.offset >= ends[tp.partition] for tp in committed):
            break
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    load_after = os.getloadavg()[0]
    for runner in runners:
        runner.stop.set()
    for thread in threads:
        thread.join(60)
    group.close()
    monitor.close()
    per = {name: f"{s / total * 1e6:.1f}" for name, s in sorted(thread_cpu.items())}
    print(f"events          {total:>10,}")
    print(f"cpu             {cpu:>10.2f} s   (wall {wall:.2f} s)")
    print(
        f"per event       {cpu / total * 1e6:>10.1f} us cpu  ({total / cpu:,.0f} events/s per core)"
    )
    print(f"  by thread     {per} us (until the threads stopped)")
    print(f"load average    {load_before:.2f} -> {load_after:.2f}")


if __name__ == "__main__":
    main()
