"""``topolog run``'s supervisor: crashed stages come back, a stop stops every stage."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from topolog import runner

FAST = runner.RestartPolicy(max_restarts=2, window_s=60, first_backoff_s=0.01)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, name: str, line: str) -> None:
        self.lines.append((name, line))

    def of(self, name: str) -> list[str]:
        return [line for n, line in self.lines if n == name]


SLEEPER = python("import os, time; print(os.getpid(), flush=True); time.sleep(60)")


async def test_a_crashing_stage_is_restarted_until_it_gives_up_then_all_stop() -> None:
    out = Lines()
    specs = [
        runner.ProcessSpec("sleeper", SLEEPER),
        runner.ProcessSpec("crasher", python("print('up', flush=True); raise SystemExit(3)")),
    ]
    ended = await asyncio.wait_for(runner.supervise(specs, emit=out, policy=FAST), 30)
    assert ended == runner.Exit("crasher", 3)
    assert out.of("crasher").count("up") == 3  # the first run and two restarts
    assert sum("restarting" in line for line in out.of("crasher")) == 2
    sleeper_pid = int(out.of("sleeper")[0])
    assert not alive(sleeper_pid), "the other stage was left running"


async def test_a_stage_that_finishes_cleanly_ends_the_run(tmp_path: Path) -> None:
    out = Lines()
    started = tmp_path / "sleeper-started"
    # The one-shot stage ends only once the sleeper is up (and has printed its pid).
    specs = [
        runner.ProcessSpec(
            "sleeper",
            python(
                "import os, pathlib, time; print(os.getpid(), flush=True); "
                f"pathlib.Path({str(started)!r}).touch(); time.sleep(60)"
            ),
        ),
        runner.ProcessSpec(
            "oneshot",
            python(
                "import os, time\n"
                f"while not os.path.exists({str(started)!r}): time.sleep(0.01)\n"
                "print('done')"
            ),
        ),
    ]
    ended = await asyncio.wait_for(runner.supervise(specs, emit=out, policy=FAST), 30)
    assert ended == runner.Exit("oneshot", 0)
    assert out.of("oneshot") == ["done"]
    assert not alive(int(out.of("sleeper")[0]))


async def test_sigterm_stops_every_stage_and_reports_the_signal() -> None:
    out = Lines()
    specs = [runner.ProcessSpec("a", SLEEPER), runner.ProcessSpec("b", SLEEPER)]
    loop = asyncio.get_running_loop()

    def stop_soon() -> None:
        loop.call_later(0.5, os.kill, os.getpid(), signal.SIGTERM)

    ended = await asyncio.wait_for(runner.supervise(specs, emit=out, ready=stop_soon), 30)
    assert ended == runner.Exit("signal", None)
    for name in ("a", "b"):
        assert not alive(int(out.of(name)[0]))
