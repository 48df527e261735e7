"""``topolog bench SCENARIO --pods N``: the scenarios of issue 9, one entry point.

Flows in: a scenario name, a size and its options.
Flows out: one result dict (``stats.Result``): the figures of the scenario, and for the
scenarios that run the pipeline, the machine's raw limits measured in the same run
(``limits``) and the pipeline as a ratio to them. ``all`` runs every scenario over one
pipeline (sync → queries → churn → memory → fanout, then reach, growth, limits).

Scenarios: ``sync``, ``churn``, ``queries``, ``memory``, ``fanout`` (each loads the
cluster with ``sync`` first, on a stack of their own: ``stack.Stack``), ``reach`` and
``growth`` (in-process, pure core), ``limits`` (Kafka perf tools, redis-benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.scenarios import stats

PIPELINE = ("sync", "churn", "queries", "memory", "fanout")
SCENARIOS = (*PIPELINE, "reach", "growth", "limits", "all")


@dataclass(frozen=True, slots=True)
class Options:
    pods: int
    rate: float = 1000.0
    seconds: float = 20.0
    #: churn: seconds of unmeasured churn before the measured window.
    warmup: float = 30.0
    subscribers: int = 1000
    policies: int = 100
    growth_steps: int = 300
    within: float | None = None


async def run(scenario: str, options: Options) -> stats.Result:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    if scenario == "reach":
        from bench.scenarios import reach

        return reach.run(options.pods, policies=options.policies)
    if scenario == "growth":
        from bench.scenarios import growth

        return growth.run(options.pods, steps=options.growth_steps)
    if scenario == "limits":
        return await _limits_only(options)
    return await _pipeline(scenario, options)


async def _limits_only(options: Options) -> stats.Result:
    from bench.scenarios import limits, stack, sync

    _, envs = sync.simulated(min(options.pods, 2000), 0.0)
    size = round(sum(len(e.to_json()) for e in envs) / len(envs))
    async with stack.Stack(stages=False) as st:
        out: stats.Result = {"scenario": "limits", "pods": options.pods}
        out |= await limits.kafka_limits(st.kafka, records=200_000, record_bytes=size)
        out |= limits.redis_limits(st.redis_port)
    return out


async def _pipeline(scenario: str, options: Options) -> stats.Result:
    from bench.scenarios import churn, fanout, limits, memory, queries, stack, sync

    args = ("--within", str(options.within)) if options.within is not None else ()
    every = scenario == "all"
    async with stack.Stack(processor_args=args) as st:
        synced, loaded = await sync.run(st, options.pods)
        parts: list[stats.Result] = [synced]
        seq = 1
        if every or scenario == "memory":
            parts.append(await memory.run(st, when="after-sync"))
        if every or scenario == "queries":
            parts.append(await queries.run(st, loaded))
        if every or scenario in ("churn", "memory"):
            churned, seq = await churn.run(
                st,
                loaded,
                rate=options.rate,
                seconds=options.seconds,
                warmup=options.warmup,
                first_seq=seq,
            )
            parts.append({**churned, "pods": options.pods})
        if every or scenario == "memory":
            after = await memory.run(st, when="after-churn")
            # the warm-up's churn is history too
            after["churn_events_before"] = churned["churn_events"] + churned["warmup_churn_events"]
            parts.append(after)
        if every or scenario == "fanout":
            fanned, seq = await fanout.run(
                st, subscribers=options.subscribers, seconds=options.seconds, first_seq=seq
            )
            parts.append(fanned)
        rss = st.rss()
        st.stop()  # free the cores for the raw measurements
        raw = await limits.kafka_limits(
            st.kafka,
            records=min(max(len(loaded.envelopes), 50_000), 200_000),
            record_bytes=int(synced["mean_envelope_bytes"]),
        )
    raw |= await _redis_raw()
    changes_per_event = loaded.changes / max(len(loaded.envelopes), 1)
    bound = stats.combined_rate(
        (raw["kafka_raw_consume_events_per_s"], 1.0),
        (raw["redis_raw_write_ops_per_s"], changes_per_event),
    )
    synced |= {
        "kafka_raw_events_per_s": raw["kafka_raw_consume_events_per_s"],
        "raw_bound_events_per_s": bound,
        "pipeline_vs_kafka_consume": stats.ratio(
            synced["events_per_s"], raw["kafka_raw_consume_events_per_s"]
        ),
        "pipeline_vs_raw_bound": stats.ratio(synced["events_per_s"], bound),
    }
    if not every:
        wanted = next(p for p in parts if p["scenario"] == scenario)
        result: stats.Result = {**wanted, "pods": options.pods, "limits": raw, "rss_at_end": rss}
        if wanted is not synced:
            result["sync"] = synced
        return result
    return {
        "scenario": "all",
        "pods": options.pods,
        "limits": raw,
        "rss_at_end": rss,
        "results": parts,
    }


async def _redis_raw() -> stats.Result:
    from bench.scenarios import limits, stack

    async with stack.Stack(stages=False) as st:
        return limits.redis_limits(st.redis_port)
