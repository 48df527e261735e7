from __future__ import annotations

from typing import Any

import pytest

from tests.unit.core.query import sample
from topolog.core.query import Limits, memory, run


@pytest.fixture(scope="module")
def history() -> memory.MemoryHistory:
    return sample.history()


@pytest.fixture
def q(history: memory.MemoryHistory) -> Any:
    """``q(text)`` runs a query on the sample graph at ``sample.NOW``."""

    def query(text: str, limits: Limits = Limits()) -> Any:
        return run(text, source=history, now=sample.NOW, limits=limits)

    return query
