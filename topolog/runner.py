"""Run every pipeline process in the foreground as one unit (``topolog run``, the demo).

Flows in: which processes to run and the endpoints they share (passed to each child as
``TOPOLOG_*`` environment, so each reads them through ``Settings`` as in production).
Flows out: child processes ``topolog producer|processor|projector|gateway`` whose output
is prefixed with their name; when any of them dies, or on Ctrl-C / SIGTERM, all the
others are stopped (SIGTERM, then SIGKILL after a grace period) and the reason is
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


async def supervise(
    specs: Sequence[ProcessSpec],
    *,
    emit: Callable[[str, str], None],
    ready: Callable[[], None] | None = None,
) -> Exit:
    """Run until the first child exits or a stop signal arrives; stop the rest.

    Returns which child ended the run (``returncode`` None when a signal stopped it).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    procs: dict[str, asyncio.subprocess.Process] = {}
    pumps: list[asyncio.Task[None]] = []
    try:
        for spec in specs:
            proc = await asyncio.create_subprocess_exec(
                *spec.args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **spec.env},
                start_new_session=True,
            )
            procs[spec.name] = proc
            assert proc.stdout is not None
            pumps.append(asyncio.create_task(_pump(spec.name, proc.stdout, emit)))
        if ready:
            ready()
        waits = {asyncio.create_task(p.wait()): name for name, p in procs.items()}
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*waits, stopper], return_when=asyncio.FIRST_COMPLETED)
        ended = Exit("signal", None)
        for task in done:
            if task in waits:
                ended = Exit(waits[task], task.result())
                break
        stopper.cancel()
        return ended
    finally:
        await _stop_all(procs)
        for pump in pumps:
            with contextlib.suppress(asyncio.CancelledError):
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
