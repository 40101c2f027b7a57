"""What the tests of the source formats share."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The route tests run on asyncio, as the collector does."""
    return "asyncio"
