"""Settings from the environment / ``.env`` (pydantic-settings), shared by every stage.

Each field is read from ``TOPOLOG_<FIELD>``. When the Kafka/Redis/kubeconfig endpoints
are not set, commands fall back to the local platform's state (``topolog dev status``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from topolog import cachedir


def _default_state_dir() -> Path:
    """``.state`` in the checkout this package runs from, else a per-user state dir."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / ".state"
    return Path.home() / ".local" / "state" / "topolog"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOPOLOG_", env_file=".env", extra="ignore")

    #: Where the local platform keeps its processes' state, logs and data.
    state_dir: Path = Field(default_factory=lambda: _default_state_dir())
    #: Per-user cache of expensive builds (Go binaries, Kafka jars), shared across clones.
    cache_dir: Path = Field(default_factory=cachedir.default)

    kafka_bootstrap: str | None = None
    redis_url: str | None = None
    kubeconfig: Path | None = None
    cluster_name: str = "local"

    topic_resources: str = "topolog.resources"
    topic_graph: str = "topolog.graph"
    topic_alerts: str = "topolog.alerts"
    topic_deadletter: str = "topolog.deadletter"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
