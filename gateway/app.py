"""The FastAPI app: routers, middleware, and a lifespan that owns the store client.

Flows in: ``GatewaySettings`` and, for tests, a ready ``Backend`` (otherwise the lifespan
connects to Redis: ``TOPOLOG_REDIS_URL`` or the local platform, key prefix from
``TOPOLOG_STORE_PREFIX``; with a Kafka bootstrap, times before the hot window are
answered by replaying the graph topic).
Flows out: the ASGI app. ``create_app()`` is what ``topolog gateway`` serves.

Startup order: backend → hub (loads the live graph in the background; ``/readyz`` says
when it is ready) → query threads. Shutdown in reverse; every step idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware

from gateway.backend import Backend
from gateway.hub import Hub
from gateway.limits import BodyLimit, validation_error
from gateway.observe import Observe
from gateway.routes import alerts, dashboard, health, nodes, reach, stream, topology
from gateway.settings import GatewaySettings, get_settings
from gateway.state import AppState
from topolog import stopping

log = logging.getLogger(__name__)


def create_app(
    settings: GatewaySettings | None = None, *, backend: Backend | None = None
) -> FastAPI:
    conf = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            store = backend if backend is not None else await stack.enter_async_context(_redis())
            hub = Hub(
                store,
                block_s=conf.feed_block_s,
                idle_s=conf.feed_idle_s,
                settle_quiet_s=conf.feed_settle_quiet_s,
            )
            await hub.start()
            stack.push_async_callback(hub.stop)
            executor = ThreadPoolExecutor(conf.query_workers, thread_name_prefix="gremlin")
            stack.callback(executor.shutdown, wait=False, cancel_futures=True)
            app.state.gateway = AppState(settings=conf, backend=store, hub=hub, executor=executor)
            yield
            app.state.gateway = None

    app = FastAPI(
        title="topolog gateway",
        summary="The Kubernetes topology as an event log: Skydive queries, SSE, time travel",
        version="1",
        lifespan=lifespan,
    )
    app.state.gateway = None
    if conf.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=conf.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(Observe)
    app.add_middleware(BodyLimit, max_bytes=conf.max_body_bytes)
    app.add_exception_handler(RequestValidationError, validation_error)
    for module in (topology, nodes, reach, stream, alerts, health, dashboard):
        app.include_router(module.router)
    return app


@contextlib.asynccontextmanager
async def _redis() -> AsyncIterator[Backend]:
    from gateway.redis_backend import RedisBackend, redis_client
    from store.config import StoreSettings
    from store.keys import Keys
    from store.view import ColdSlice
    from topolog import settings as topolog_settings

    common = topolog_settings.get_settings()
    redis_url, kafka = common.redis_url, common.kafka_bootstrap
    if redis_url is None:
        from topolog.platform import local

        eps = local.endpoints()
        if eps is None:
            raise RuntimeError("no TOPOLOG_REDIS_URL and no local platform (topolog dev up)")
        redis_url, kafka = eps.redis, kafka or eps.kafka
    cold: ColdSlice | None = None
    if kafka:
        from store import cold as cold_history

        bootstrap, topic = kafka, common.topic_graph

        async def cold_slice(t0: int, t1: int) -> object:
            return await cold_history.graph_between(bootstrap, topic, t0, t1)

        cold = cold_slice  # type: ignore[assignment]
    client = redis_client(redis_url)
    indexing: asyncio.Task[None] | None = None
    try:
        backend = RedisBackend(
            client,
            Keys(StoreSettings().prefix),
            loop=asyncio.get_running_loop(),
            cold=cold,
        )
        indexing = asyncio.create_task(backend.index_times(), name="feed-time-index")
        yield backend
    finally:
        await stopping.cancel_and_wait(indexing)
        await client.aclose()
