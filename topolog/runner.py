"""Run every pipeline process in the foreground as one unit (``topolog run``, the demo).

Flows in: which processes to run and the endpoints they share (passed to each child as
``TOPOLOG_*`` environment, so each reads them through ``Settings`` as in production).
Flows out: child processes ``topolog producer|processor|projector|gateway`` whose output
is prefixed with their name. A stage that crashes (a broker restart ends a consumer, say)
is restarted with backoff; when one gives up (``RestartPolicy``), or on Ctrl-C / SIGTERM,
all the others are stopped (SIGTERM, then SIGKILL after a grace period) and the reason is
reported — one orchestrator owns every lifecycle, as in kopf's ``reactor/running.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

GRACE_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: str
    args: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Exit:
    name: str
    returncode: int | None


def topolog_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "topolog.cli.main", *args]


async def _pump(name: str, stream: asyncio.StreamReader, emit: Callable[[str, str], None]) -> None:
    while line := await stream.readline():
        emit(name, line.decode(errors="replace").rstrip())


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """A crashed stage is restarted after a backoff (doubling up to ``max_backoff_s``);
    more than ``max_restarts`` crashes of one stage within ``window_s`` end the run.
    Every stage is at-least-once and idempotent downstream, so a restart loses nothing.
    """

    max_restarts: int = 5
    window_s: float = 120.0
    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0


NO_RESTARTS = RestartPolicy(max_restarts=0)


async def _spawn(
    spec: ProcessSpec, emit: Callable[[str, str], None], pumps: list[asyncio.Task[None]]
) -> tuple[asyncio.subprocess.Process, asyncio.Task[None]]:
    proc = await asyncio.create_subprocess_exec(
        *spec.args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **spec.env},
        start_new_session=True,
    )
    assert proc.stdout is not None
    pump = asyncio.create_task(_pump(spec.name, proc.stdout, emit))
    pumps.append(pump)
    return proc, pump


async def _keep_running(
    spec: ProcessSpec,
    procs: dict[str, asyncio.subprocess.Process],
    emit: Callable[[str, str], None],
    policy: RestartPolicy,
    started: asyncio.Event,
    pumps: list[asyncio.Task[None]],
) -> Exit:
    """Run one stage, restarting it per ``policy``; returns when it gives up."""
    loop = asyncio.get_running_loop()
    crashes: list[float] = []
    backoff = policy.first_backoff_s
    while True:
        proc, pump = await _spawn(spec, emit, pumps)
        procs[spec.name] = proc
        started.set()
        code = await proc.wait()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(pump, timeout=2)
        now = loop.time()
        crashes = [t for t in crashes if now - t < policy.window_s] + [now]
        if code == 0 or len(crashes) > policy.max_restarts:
            return Exit(spec.name, code)
        emit(
            spec.name,
            f"exited with code {code}; restarting in {backoff:.0f}s "
            f"({len(crashes)}/{policy.max_restarts} in {policy.window_s:.0f}s)",
        )
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, policy.max_backoff_s)


async def supervise(
    specs: Sequence[ProcessSpec],
    *,
    emit: Callable[[str, str], None],
    ready: Callable[[], None] | None = None,
    policy: RestartPolicy = RestartPolicy(),
) -> Exit:
    """Run the stages until a stop signal, or until one stage exits for good (exit code 0,
    or too many crashes); then stop the rest.

    Returns which stage ended the run (``returncode`` None when a signal stopped it).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    procs: dict[str, asyncio.subprocess.Process] = {}
    keepers: list[asyncio.Task[Exit]] = []
    pumps: list[asyncio.Task[None]] = []
    try:
        for spec in specs:
            started = asyncio.Event()
            keepers.append(
                asyncio.create_task(_keep_running(spec, procs, emit, policy, started, pumps))
            )
            await started.wait()
        if ready:
            ready()
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*keepers, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        ended = Exit("signal", None)
        for task in done:
            if task is not stopper:
                ended = task.result()  # type: ignore[assignment]
                break
        return ended
    finally:
        for keeper in keepers:
            keeper.cancel()
        await asyncio.gather(*keepers, return_exceptions=True)
        await _stop_all(procs)
        for pump in pumps:  # the children's output ends with them
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(pump, timeout=2)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _stop_all(procs: Mapping[str, asyncio.subprocess.Process]) -> None:
    alive = [p for p in procs.values() if p.returncode is None]
    for proc in alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in alive)), GRACE_SECONDS)
    except TimeoutError:
        for proc in alive:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.gather(*(p.wait() for p in alive))
