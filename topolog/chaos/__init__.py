"""``topolog chaos``: a bounded fault-injection run of the whole pipeline, loopback only.

Modules, in the order a run uses them:

- ``stages``: the four pipeline stages as detached processes (kill -9, restart, supervise).
- ``load``: churn while faults happen — the seeded simulator straight to Kafka, and real
  objects created, patched and deleted in the local control plane.
- ``faults``: the fault types and how each is injected and healed.
- ``watcher``: an SSE client that resumes with ``Last-Event-ID`` and checks ids.
- ``verify``: the end-of-run comparisons (log vs cluster, Redis vs a clean replay,
  history vs a rebuild, SSE mirror vs Redis) as lost / duplicated / wrong counts.
- ``run``: the orchestrator; ``run.run(options) -> run.Report``.

See docs/reliability.md for the fault model and measured figures.
"""
