from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.processors.harness import Run
from topolog.platform.state import Endpoints


@pytest.fixture
def run(platform: Endpoints, tmp_path: Path) -> Iterator[Run]:
    r = Run(bootstrap=platform.kafka, logs=tmp_path)
    try:
        yield r
    finally:
        r.stop_all()
