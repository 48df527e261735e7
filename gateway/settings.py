"""Gateway settings (``TOPOLOG_GATEWAY_<FIELD>``), behind a cached ``get_settings()``.

Flows in: the environment / ``.env``. Flows out: ``GatewaySettings`` for the app (bind
address, CORS, tokens, query and stream limits) and for the CLI clients (``url``,
``token``).

Tokens are a JSON object, token → namespaces it may see (``["*"]`` = everything)::

    TOPOLOG_GATEWAY_TOKENS='{"s3cr3t": ["*"], "team-a": ["shop", "shop-staging"]}'

No tokens configured = the API is open (the local default, bound to loopback).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Longest wait for a Redis reply before the gateway's client gives up (redis-py's own
#: default is 5 s in recent versions; it is set explicitly so the feed's blocking read
#: can stay below it).
REDIS_SOCKET_TIMEOUT_S = 10.0

ALL_NAMESPACES = "*"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        # ``none`` sets an optional setting to None (``…_FEED_SETTLE_QUIET_S=none``).
        env_prefix="TOPOLOG_GATEWAY_",
        env_file=".env",
        extra="ignore",
        env_parse_none_str="none",
    )

    #: Bind address: loopback unless configured otherwise.
    host: str = "127.0.0.1"
    #: Skydive's port.
    port: int = 8082
    #: Origins allowed by CORS; empty = no CORS headers at all (closed).
    cors_origins: list[str] = Field(default_factory=list)

    #: token → namespaces it may see (``"*"`` = all, cluster-scoped objects included).
    tokens: dict[str, list[str]] = Field(default_factory=dict)

    #: Largest request body (bytes); bigger ones are a 413 before they are read.
    max_body_bytes: int = 256 * 1024
    #: Most elements a query result may hold.
    max_results: int = 100_000
    #: Most units of work a query may do (see topolog.core.query.limits).
    max_steps: int = 5_000_000
    #: Wall-clock limit of one query (seconds); beyond it the answer is a 400.
    query_timeout_s: float = 30.0
    #: Worker threads evaluating queries (the evaluator's protocols are synchronous).
    query_workers: int = 4

    #: Events a stream client may have pending before it is told to resync and dropped.
    sse_queue_size: int = 10_000
    #: Seconds between heartbeats (SSE comments) on idle streams.
    sse_ping_s: float = 15.0
    #: Concurrent streams per token (per anonymous user when no tokens are configured).
    sse_max_connections: int = 16
    #: Seconds the live feed reader blocks waiting for new revisions (an XREAD BLOCK):
    #: below the Redis client's socket timeout (``REDIS_SOCKET_TIMEOUT_S``), or an idle
    #: feed makes every read a time-out error and a retry pause.
    feed_block_s: float = Field(2.0, gt=0, lt=REDIS_SOCKET_TIMEOUT_S)
    #: Seconds without any stream after which the live reader stops following the feed
    #: and drops its mirror of the graph (the next stream loads the graph first); None
    #: (the default): follow always, so every stream's Sync comes from the live mirror at
    #: once. Parking saves the following cost of bursts nobody watches, but the first
    #: stream after it waits for the load (~4 s at 10k pods, tens of seconds at 100k).
    feed_idle_s: float | None = None
    #: While no stream is open, the live reader follows the feed without reading the
    #: versions it names (deletes applied, upserts deferred) and reads them once the
    #: feed has been quiet this long (seconds), or when a stream opens (which then waits
    #: for them). A sync nobody watches then costs the gateway and Redis next to nothing
    #: while it runs. None (``none``): read every version at once.
    feed_settle_quiet_s: float | None = Field(1.0, gt=0)

    #: Where the CLI finds the gateway, and the token it sends.
    url: str = "http://127.0.0.1:8082"
    token: str | None = None


@lru_cache(maxsize=1)
def get_settings() -> GatewaySettings:
    return GatewaySettings()
