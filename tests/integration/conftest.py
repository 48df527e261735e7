"""Integration tier: the real local platform (Kafka, Redis, kube-apiserver + kwok).

The session fixture ``platform`` starts it through the same code as ``topolog dev up``,
in a state directory of its own (``.state/test``, its own ports) so a developer's
running platform is never touched, and stops it at the end of the session unless
``TOPOLOG_TEST_KEEP_PLATFORM=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from topolog.platform import local, state


@pytest.fixture(scope="session")
def platform_state_dir() -> Path:
    configured = os.environ.get("TOPOLOG_TEST_STATE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".state" / "test"


@pytest.fixture(scope="session")
def platform(platform_state_dir: Path) -> Iterator[state.Endpoints]:
    """Endpoints of a running local platform: ``.kafka``, ``.redis``, ``.kubeconfig``, ``.etcd``."""
    st = local.up(directory=platform_state_dir)
    yield st.endpoints
    if os.environ.get("TOPOLOG_TEST_KEEP_PLATFORM") != "1":
        local.down(directory=platform_state_dir)


@pytest.fixture(scope="session")
def kubeconfig(platform: state.Endpoints) -> Path:
    return Path(platform.kubeconfig)
