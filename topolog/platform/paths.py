"""Where the repository's platform assets and the per-user build cache live."""

from __future__ import annotations

from pathlib import Path

from topolog.settings import get_settings


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def deploy_dir() -> Path:
    """``deploy/local`` of this checkout (POM, Go module, kwok stages, scripts)."""
    return repo_root() / "deploy" / "local"


def cache_dir() -> Path:
    path = get_settings().cache_dir
    path.mkdir(parents=True, exist_ok=True)
    return path
