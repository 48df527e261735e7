"""The pipeline's four stages as detached processes the chaos run can kill and restart.

Flows in: the run's environment (endpoints, topics, consumer groups, Redis prefix — all
private to the run) and a directory for pid files and logs.
Flows out: ``topolog producer|processor|projector|gateway`` processes tracked by
``platform.process.ServiceProcess``; ``supervise()`` restarts any that died, like a
Deployment's restart policy, and counts those restarts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from topolog.platform.process import ServiceProcess

STAGES = ("producer", "processor", "projector", "gateway")


def command(stage: str, *, gateway_port: int) -> list[str]:
    """The command line of one stage (the same ``topolog`` commands users run)."""
    base = [sys.executable, "-m", "topolog.cli.main", stage]
    if stage == "gateway":
        return [*base, "--port", str(gateway_port), "--log-level", "warning"]
    if stage == "processor":
        return [*base, "--session-timeout", "6", "--log-level", "warning"]
    if stage == "producer":
        return [*base, "--log-level", "INFO"]
    return [*base, "--log-level", "WARNING"]


@dataclass(slots=True)
class Stages:
    """The running stages; ``paused`` ones are left down by ``supervise``."""

    run_dir: Path
    env: Mapping[str, str]
    gateway_port: int
    paused: set[str] = field(default_factory=set)
    #: Restarts ``supervise`` made because a stage died on its own (not killed by a fault).
    crash_restarts: dict[str, int] = field(default_factory=dict)

    def process(self, stage: str) -> ServiceProcess:
        return ServiceProcess(f"stage-{stage}", self.run_dir)

    def start(self, stage: str) -> int:
        return self.process(stage).start(
            command(stage, gateway_port=self.gateway_port), env=dict(self.env)
        )

    def start_all(self) -> None:
        for stage in STAGES:
            self.start(stage)

    def kill(self, stage: str) -> None:
        """SIGKILL the stage's process group: no flush, no commit, no goodbye."""
        self.process(stage).kill()

    def restart(self, stage: str) -> None:
        self.kill(stage)
        self.start(stage)

    def freeze(self, stage: str) -> None:
        """SIGSTOP: the process keeps its sockets but does nothing (an outage it survives)."""
        self._signal(stage, signal.SIGSTOP)

    def thaw(self, stage: str) -> None:
        self._signal(stage, signal.SIGCONT)

    def _signal(self, stage: str, sig: signal.Signals) -> None:
        pid = self.process(stage).pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)

    def supervise(self) -> list[str]:
        """Start every stage that is down and not paused; returns the ones restarted."""
        restarted = []
        for stage in STAGES:
            if stage in self.paused or self.process(stage).running():
                continue
            self.start(stage)
            self.crash_restarts[stage] = self.crash_restarts.get(stage, 0) + 1
            restarted.append(stage)
        return restarted

    def stop_all(self) -> None:
        for stage in reversed(STAGES):
            self.thaw(stage)
            self.process(stage).stop(timeout=15)

    def log_tail(self, stage: str, lines: int = 40) -> str:
        return self.process(stage).log_tail(lines)
