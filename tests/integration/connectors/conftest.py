"""Fixtures of the connector tests: a PostgreSQL server for the session, HTTP receivers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.integration.connectors.pg import PostgresServer, binary


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL started for this session (skips if PostgreSQL is not installed)."""
    if not binary("initdb"):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run should have installed it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer()
    server.start()
    try:
        yield server.dsn
    finally:
        server.stop()
