from __future__ import annotations

import pytest

from playpipe.kafka.local import LocalCluster

pytestmark = [pytest.mark.kafka, pytest.mark.cluster3]


def test_three_nodes_up_with_one_controller(kafka_cluster3: LocalCluster) -> None:
    statuses = kafka_cluster3.status()
    assert [s.up for s in statuses] == [True, True, True]
    assert sum(s.controller for s in statuses) == 1


def test_starting_twice_does_not_start_a_second_cluster(kafka_cluster3: LocalCluster) -> None:
    pids = [n.pid for n in kafka_cluster3.nodes]
    again = LocalCluster(kafka_cluster3.settings, kafka_cluster3.root)
    assert again.start(nodes=3) == kafka_cluster3.bootstrap_servers
    assert [n.pid for n in again.nodes] == pids
