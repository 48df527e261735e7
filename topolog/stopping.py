"""Stopping asyncio tasks without swallowing one's own cancellation.

The common ``task.cancel()`` + ``with suppress(CancelledError): await task`` has a trap:
if the *caller* is cancelled while it waits (Ctrl-C, a shutdown, a timeout around it),
the ``CancelledError`` meant for the caller is suppressed too, and the caller goes on as
if nothing happened — a benchmark that ignores Ctrl-C and a stop that never ends.
``cancel_and_wait`` waits with ``asyncio.wait`` (which never raises the task's own
outcome) so a cancellation of the caller still propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any, TextIO


async def cancel_and_wait(task: asyncio.Future[Any] | None) -> None:
    """Cancel ``task`` and wait until it finished; its result or error is dropped (an
    error is still retrieved, so asyncio does not log it as never retrieved). A
    cancellation of the caller while it waits propagates."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()


def dump_tasks(out: TextIO = sys.stderr) -> None:
    """Print where every task of the running loop waits (for a hang: SIGUSR1)."""
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()}: {task.get_coro()!r}", file=out)
        with contextlib.suppress(Exception):
            task.print_stack(file=out)
    out.flush()
