"""Where Kafka and the Kubernetes API are: configured settings first, else the local platform.

Flows in: ``topolog.settings.Settings`` and the local platform's state (``topolog dev up``).
Flows out: a Kafka bootstrap address and a kubeconfig path.
"""

from __future__ import annotations

from pathlib import Path

from topolog.platform import local
from topolog.settings import Settings


class EndpointError(RuntimeError):
    """Neither settings nor a local platform say where a service is."""


def kafka(settings: Settings) -> str:
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    found = local.endpoints(settings.state_dir)
    if found is None:
        raise EndpointError("no Kafka: set TOPOLOG_KAFKA_BOOTSTRAP or run `topolog dev up`")
    return found.kafka


def kubeconfig(settings: Settings) -> Path:
    if settings.kubeconfig is not None:
        return settings.kubeconfig
    found = local.endpoints(settings.state_dir)
    if found is None:
        raise EndpointError("no cluster: set TOPOLOG_KUBECONFIG or run `topolog dev up`")
    return Path(found.kubeconfig)
