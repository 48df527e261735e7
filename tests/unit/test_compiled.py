"""The compiled domain modules (``topolog.compiled``): used when built, never stale, and
deriving exactly what their sources derive."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from topolog import compiled

REPO = Path(__file__).resolve().parents[2]


def derivation_digest(pods: int = 1000, steps: int = 60) -> str:
    """sha1 of every changeset and alert a ``Deriver`` makes of a simulated cluster's sync
    and ``steps`` churn steps (deletes, recreations, label and status changes)."""
    from producers import simulation
    from topolog.core import graph, simulate
    from topolog.core.derive.engine import Deriver

    t0 = 1_700_000_000.0
    sim = simulate.Simulator(seed=11, pods=pods, now=t0)
    events = [simulation.to_envelope(e, cluster="c", now=t0) for e in sim.initial()]
    for step in range(steps):
        t = t0 + 1 + step
        events += [simulation.to_envelope(e, cluster="c", now=t) for e in sim.churn(t)]
    deriver = Deriver("c")
    total = hashlib.sha1()
    for i, env in enumerate(events):
        result = deriver.apply(env, source=graph.Source("t", 0, i))
        total.update(graph.ChangeSet(env.observed_at, result.changes).to_json())
        for alert in result.alerts:
            total.update(alert.to_json())
    return f"{len(events)}:{total.hexdigest()}"


@pytest.mark.skipif(os.environ.get(compiled.SWITCH) == "0", reason="TOPOLOG_COMPILED=0")
def test_the_domain_modules_run_compiled() -> None:
    import importlib

    assert compiled.active(), (
        f"no build of the current sources in {compiled.build_dir()}: "
        f"run `topolog dev compile` (its output: {compiled.build_log()})"
    )
    for name in compiled.MODULES:
        module = importlib.import_module(name)
        assert str(module.__file__).startswith(str(compiled.build_dir())), name


@pytest.mark.skipif(not compiled.active(), reason="the modules run from source")
def test_compiled_modules_derive_byte_for_byte_what_their_sources_derive() -> None:
    from topolog.core.derive import engine

    assert not str(engine.__file__).endswith(".py")
    source = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.unit.test_compiled import derivation_digest as d; print(d())",
        ],
        cwd=REPO,
        env={**os.environ, compiled.SWITCH: "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert derivation_digest() == source


def _copy_sources(root: Path) -> None:
    for module in compiled.MODULES:
        target = compiled.source_path(module, root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(compiled.source_path(module), target)


def test_a_build_is_named_by_its_sources(tmp_path: Path) -> None:
    _copy_sources(tmp_path)
    assert compiled.digest(tmp_path) == compiled.digest()

    engine = compiled.source_path("topolog.core.derive.engine", tmp_path)
    engine.write_bytes(engine.read_bytes() + b"\n# edited\n")
    assert compiled.digest(tmp_path) != compiled.digest()


def test_an_edited_source_runs_from_source_until_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build dir for the digest of the edited sources does not exist: nothing is served."""
    _copy_sources(tmp_path)
    monkeypatch.setenv("TOPOLOG_CACHE_DIR", str(tmp_path / "cache"))
    built = compiled.cachedir.current() / "mypyc" / compiled.digest(tmp_path)
    _fake_build(built)
    assert compiled.files_of(built)

    selectors = compiled.source_path("topolog.core.selectors", tmp_path)
    selectors.write_text(selectors.read_text() + "\n# edited\n")
    assert not compiled.build_dir(tmp_path).exists()
    assert not compiled.files_of(compiled.build_dir(tmp_path))


def test_an_incomplete_build_is_not_used(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    (tmp_path / compiled.COMPLETE).unlink()
    assert compiled.files_of(tmp_path) == {}

    _fake_build(tmp_path)
    next(tmp_path.rglob("engine*")).unlink()  # a module missing
    assert compiled.files_of(tmp_path) == {}


def test_turned_off_nothing_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled.SWITCH, "0")
    monkeypatch.setattr(compiled, "_installed", None)
    before = list(sys.meta_path)
    assert compiled.install() is False
    assert sys.meta_path == before


def _fake_build(build: Path) -> None:
    """The files a build has (empty: only ``files_of`` reads them here)."""
    for name in compiled.extension_names():
        path = compiled.extension_path(build, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    (build / compiled.COMPLETE).write_text("\n".join(compiled.MODULES))
