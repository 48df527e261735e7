"""The gateway: Skydive-compatible REST, the versioned API, SSE live updates, auth.

Flows in: the Redis projection (``store``) through a ``backend.Backend``; HTTP requests.
Flows out: JSON in Skydive's shape (``/api/topology``), the ``/api/v1`` API, Server-Sent
Events (``/api/v1/stream``, ``/api/v1/alerts``), health and Prometheus metrics.

Modules: ``settings`` → ``backend`` (what the gateway reads: ``redis_backend`` in
production, ``memory_backend`` in tests) → ``scope`` (what a token may see) →
``mirror``/``events``/``hub``/``replay``/``sse`` (the live stream) → pure answers
(``reachability``, ``diff``, ``rootcause``) → ``routes/*`` → ``app`` (lifespan, wiring).
"""

import topolog  # noqa: F401  (first: it serves this package's compiled modules, topolog.compiled)
