"""Stream stages: the standardizer (raw beacons to dictionary events) and the aggregator
(per-view sessions and windowed QoE metrics), each a consumer group that scales with
partitions."""
