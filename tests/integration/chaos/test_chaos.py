"""``topolog chaos`` with every fault type once: nothing lost, duplicated or wrong.

The run starts its own platform (it restarts the broker, Redis and the apiserver, which
would break other tests sharing the session's ``platform``), in ``.state/test-chaos``,
stopped at the end unless ``TOPOLOG_TEST_KEEP_PLATFORM=1``. About 2 minutes (1:44
measured, the platform's start included).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from topolog.chaos import faults, run

pytestmark = pytest.mark.integration

STATE = Path(__file__).resolve().parents[3] / ".state" / "test-chaos"


def test_every_fault_type_once_loses_duplicates_and_corrupts_nothing() -> None:
    options = run.Options(
        faults=len(faults.Fault),
        state_dir=Path(os.environ.get("TOPOLOG_TEST_CHAOS_STATE_DIR", STATE)),
        interval=1.0,
        pods=40,
        converge_timeout=120,
        settle_timeout=120,
        keep_platform=os.environ.get("TOPOLOG_TEST_KEEP_PLATFORM") == "1",
    )
    lines: list[str] = []
    report = asyncio.run(run.run(options, say=lines.append))
    summary = report.summary()
    print("\n".join(lines))
    assert set(report.by_fault) == {f.value for f in faults.Fault}
    assert report.unconverged == 0, summary
    # Lost counts the SSE client's gaps and resyncs too: show both halves in full (pytest
    # would truncate a long message).
    evidence = json.dumps({"checks": summary["checks"], "sse": summary["sse"]}, default=str)
    assert (report.lost, report.duplicated, report.wrong) == (0, 0, 0), evidence
    # The checks compared real data, and the faults did what they claim.
    assert summary["checks"]["records"]["nodes"] > 100
    assert report.sse["events"] > 0
    assert report.sse["connections"] >= 2, "the SSE client should have resumed after the gateway"
    assert report.relists_410 > 0, "the etcd compaction should have sent the producer a 410"
