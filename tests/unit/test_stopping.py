"""``stopping.cancel_and_wait``: a stop that waits for a task must not swallow the
cancellation of whoever is stopping (Ctrl-C of a benchmark, a shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest

from topolog import stopping


async def _slow_to_stop(stopped: asyncio.Event) -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)  # cleans up for a while after the cancel
        stopped.set()
        raise


async def test_the_task_is_cancelled_and_finished_before_it_returns() -> None:
    stopped = asyncio.Event()
    task = asyncio.create_task(_slow_to_stop(stopped))
    await asyncio.sleep(0)
    await stopping.cancel_and_wait(task)
    assert task.cancelled() and stopped.is_set()


async def test_the_callers_own_cancellation_propagates() -> None:
    went_on = asyncio.Event()
    inner = asyncio.create_task(_slow_to_stop(asyncio.Event()))

    async def stopper() -> None:
        await asyncio.sleep(0)
        await stopping.cancel_and_wait(inner)
        went_on.set()

    outer = asyncio.create_task(stopper())
    await asyncio.sleep(0.01)  # the stopper waits for the inner task's clean-up
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert not went_on.is_set()


async def test_the_old_pattern_swallowed_it() -> None:
    """Why the helper exists: suppressing CancelledError around ``await task`` also
    suppresses the caller's own cancellation, and the caller goes on."""
    went_on = asyncio.Event()
    inner = asyncio.create_task(_slow_to_stop(asyncio.Event()))

    async def stopper() -> None:
        await asyncio.sleep(0)
        inner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await inner
        went_on.set()

    outer = asyncio.create_task(stopper())
    await asyncio.sleep(0.01)
    outer.cancel()
    await outer
    assert went_on.is_set()


async def test_an_error_of_the_task_is_dropped_and_none_is_accepted() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await stopping.cancel_and_wait(task)  # no error raised, none logged as unretrieved
    await stopping.cancel_and_wait(None)


async def test_dump_tasks_names_where_each_task_waits() -> None:
    task = asyncio.create_task(asyncio.sleep(60), name="sleeper")
    await asyncio.sleep(0)
    out = io.StringIO()
    stopping.dump_tasks(out)
    await stopping.cancel_and_wait(task)
    assert "sleeper" in out.getvalue()
