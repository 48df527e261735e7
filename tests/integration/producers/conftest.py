"""Fixtures of the producer integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from topolog.platform.state import Endpoints

from . import support
from .support import Run


@pytest.fixture()
def run(platform: Endpoints) -> Iterator[Run]:
    """Topics and a cluster name of the test's own, deleted afterwards."""
    r = support.new_run(platform)
    yield r
    support.delete_topics(r)
