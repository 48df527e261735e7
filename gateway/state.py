"""What the app's lifespan owns and the routes share: one ``AppState`` per app.

Flows in: settings and the backend built by ``app.lifespan``. Flows out: the shared
hub, the query thread pool, metrics and the per-principal stream counters.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from gateway.backend import Backend
from gateway.hub import Hub
from gateway.metrics import Metrics
from gateway.settings import GatewaySettings


@dataclass
class AppState:
    settings: GatewaySettings
    backend: Backend
    hub: Hub
    executor: ThreadPoolExecutor
    metrics: Metrics = field(default_factory=Metrics)
    #: Open streams per principal name.
    streams: Counter[str] = field(default_factory=Counter)
