"""The per-user cache of expensive builds (Go binaries, Kafka jars, compiled modules),
shared by every checkout of one user: ``$TOPOLOG_CACHE_DIR``, else
``$XDG_CACHE_HOME/topolog``, else ``~/.cache/topolog`` — the rule
``deploy/local/bootstrap.sh`` follows too. Standard library only: ``topolog.compiled``
reads it while ``topolog`` itself is being imported."""

from __future__ import annotations

import os
from pathlib import Path


def default() -> Path:
    """Where the cache lives when ``TOPOLOG_CACHE_DIR`` is not set."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "topolog"


def current() -> Path:
    """The cache directory of this process's environment (not created)."""
    explicit = os.environ.get("TOPOLOG_CACHE_DIR")
    return Path(explicit) if explicit else default()
