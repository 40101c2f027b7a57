"""The local cluster's id never starts with "-" (Kafka's storage tool would take it for an
option and refuse to format)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from playpipe.kafka import local


def test_an_id_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: Iterator[uuid.UUID] = iter(
        [uuid.UUID(bytes=b"\xf8" * 16), uuid.UUID(bytes=b"\x01" * 16)]
    )
    monkeypatch.setattr(local.uuid, "uuid4", lambda: next(draws))
    found = local._cluster_id()
    assert not found.startswith("-")
    assert found == "AQEBAQEBAQEBAQEBAQEBAQ"


def test_ids_are_22_url_safe_characters() -> None:
    for _ in range(200):
        found = local._cluster_id()
        assert len(found) == 22 and not found.startswith("-")
