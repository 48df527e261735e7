"""ingress: backends and TLS secrets as dependencies; DOWN when one does not exist."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from topolog.core import status as st
from topolog.core.graph import State
from topolog.core.kinds import ingress, refs

V1: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "ns"},
    "spec": {
        "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
        "tls": [{"hosts": ["a.example"], "secretName": "a-tls"}],
        "rules": [
            {
                "host": "a.example",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"name": "http"}}},
                        },
                        {
                            "path": "/static",
                            "backend": {"resource": {"kind": "Bucket", "name": "b"}},
                        },
                    ]
                },
            }
        ],
    },
}

V1BETA1: dict[str, Any] = {
    "metadata": {"name": "old", "namespace": "ns"},
    "spec": {"backend": {"serviceName": "legacy", "servicePort": 8080}},
}


def test_metadata_has_skydives_fields() -> None:
    meta = ingress.metadata(V1)
    assert meta["DefaultBackend"] == "fallback:80"
    assert meta["TLS"] == [{"Hosts": ["a.example"], "SecretName": "a-tls"}]
    assert meta["Rules"][0]["Host"] == "a.example"
    assert [p["Backend"] for p in meta["Rules"][0]["Paths"]] == ["web:http", ""]
    assert ingress.metadata(V1BETA1)["DefaultBackend"] == "legacy:8080"


@pytest.mark.parametrize(
    ("obj", "services", "secrets"),
    [(V1, {"fallback", "web"}, {"a-tls"}), (V1BETA1, {"legacy"}, set())],
    ids=["v1", "v1beta1"],
)
def test_references_name_every_backend_and_tls_secret(
    obj: dict[str, Any], services: set[str], secrets: set[str]
) -> None:
    named = [r for r in ingress.references(obj) if isinstance(r, refs.ByName)]
    assert {r.name for r in named if r.kind == "Service"} == services
    assert {r.name for r in named if r.kind == "Secret"} == secrets
    for r in named:
        if r.kind in ("Service", "Secret"):
            assert (r.relation, r.dependent, r.required) == ("ingress", refs.End.PARENT, True)


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        (Counter(), (State.UP, "")),
        (Counter(service=1), (State.DOWN, "BackendMissing")),
        (Counter(secret=1), (State.DOWN, "TLSSecretMissing")),
    ],
    ids=["all-there", "backend-missing", "tls-missing"],
)
def test_aggregate(missing: Counter[str], expected: tuple[State, str]) -> None:
    deps = st.Dependencies(total=Counter(service=2, secret=1), down=missing, missing=missing)
    assert ingress.aggregate(V1, ingress.status(V1, 0.0), deps) == expected
