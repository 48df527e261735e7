"""``topolog projector`` / ``rebuild`` / ``trim``: run and maintain the Redis projection.

Flows in: settings (``TOPOLOG_KAFKA_BOOTSTRAP``, ``TOPOLOG_REDIS_URL``, the graph topic;
the local platform's endpoints when unset) and the store's ``TOPOLOG_STORE_*`` settings.
Flows out: ``projector`` consumes the graph topic into Redis until interrupted (with the
retention trimmer in the background); ``rebuild`` drops the projection and replays the
topic, printing a JSON summary; ``trim`` runs one retention pass.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

import orjson
import typer

from topolog import tuning
from topolog.settings import Settings, get_settings


def register(app: typer.Typer) -> None:
    app.command("projector")(projector_command)
    app.command("rebuild")(rebuild_command)
    app.command("trim")(trim_command)


class EndpointError(RuntimeError):
    pass


def _endpoints(settings: Settings) -> tuple[str, str]:
    """(Kafka bootstrap, Redis URL): from settings, else the local platform's state."""
    kafka, redis_url = settings.kafka_bootstrap, settings.redis_url
    if kafka is None or redis_url is None:
        from topolog.platform import local

        eps = local.endpoints()
        if eps is None:
            raise EndpointError("no Kafka/Redis configured and no local platform (topolog dev up)")
        kafka, redis_url = kafka or eps.kafka, redis_url or eps.redis
    return kafka, redis_url


def _resolve() -> tuple[Settings, str, str]:
    settings = get_settings()
    try:
        kafka, redis_url = _endpoints(settings)
    except EndpointError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    return settings, kafka, redis_url


def projector_command(log_level: str = typer.Option("INFO", "--log-level")) -> None:
    """Consume the graph topic into Redis (at-least-once, idempotent), trimming history."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings, kafka, redis_url = _resolve()
    tuning.tune_gc()
    asyncio.run(_project(settings, kafka, redis_url))


async def _project(settings: Settings, kafka: str, redis_url: str) -> None:
    import redis.asyncio as aioredis

    from producers import topics
    from store import projector, trimmer
    from store.config import StoreSettings
    from store.keys import Keys

    conf = StoreSettings()
    keys = Keys(conf.prefix)
    # A consumer that joins its group before the topic exists is assigned nothing until
    # its next metadata refresh (minutes): create the graph topic first, as every stage
    # does for the topics it reads (same spec, idempotent).
    await topics.ensure(
        kafka, [s for s in topics.specs(settings) if s.name == settings.topic_graph]
    )
    client = aioredis.Redis.from_url(redis_url)
    try:
        async with (
            trimmer.Trimmer(
                client,
                keys,
                window_ms=conf.hot_window_ms,
                interval_s=conf.trim_interval_s,
                batch=conf.trim_batch,
            ),
            projector.Projector(
                client=client,
                keys=keys,
                bootstrap=kafka,
                topic=settings.topic_graph,
                group_id=conf.group_id,
                batch_records=conf.batch_records,
            ) as running,
        ):
            # SIGTERM/SIGINT end the loop between batches: nothing is cut half-way.
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, running.request_stop)
            await running.run()
    finally:
        await client.aclose()


def rebuild_command() -> None:
    """Drop the Redis projection and replay the graph topic from its beginning.

    Stop the projector first; it resumes after the rebuilt high-water marks.
    """
    settings, kafka, redis_url = _resolve()
    summary = asyncio.run(_rebuild(settings, kafka, redis_url))
    typer.echo(orjson.dumps(summary).decode())


async def _rebuild(settings: Settings, kafka: str, redis_url: str) -> dict[str, Any]:
    import redis.asyncio as aioredis

    from store import rebuild
    from store.config import StoreSettings
    from store.keys import Keys

    conf = StoreSettings()
    client = aioredis.Redis.from_url(redis_url)
    started = time.monotonic()
    try:
        done = await rebuild.rebuild(
            client,
            Keys(conf.prefix),
            bootstrap=kafka,
            topic=settings.topic_graph,
            window_ms=conf.hot_window_ms,
            now=int(time.time() * 1000),
        )
    finally:
        await client.aclose()
    return {
        "dropped_keys": done.dropped,
        "records": done.records,
        "revisions": done.revisions,
        "trimmed_versions": done.trimmed,
        "seconds": round(time.monotonic() - started, 3),
    }


def trim_command() -> None:
    """Remove history and feed entries older than the hot window, once."""
    _, _, redis_url = _resolve()
    typer.echo(orjson.dumps(asyncio.run(_trim(redis_url))).decode())


async def _trim(redis_url: str) -> dict[str, int]:
    import redis.asyncio as aioredis

    from store import trimmer
    from store.config import StoreSettings
    from store.keys import Keys

    conf = StoreSettings()
    client = aioredis.Redis.from_url(redis_url)
    try:
        cutoff = trimmer.wall_clock_ms() - conf.hot_window_ms
        done = await trimmer.trim(client, Keys(conf.prefix), cutoff=cutoff, batch=conf.trim_batch)
    finally:
        await client.aclose()
    return {"cutoff": cutoff, "versions": done.history, "feed": done.feed, "steps": done.steps}
