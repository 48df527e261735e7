"""ingress: routes to services (ingress → service) and terminates TLS (ingress → secret).

Flows in: an Ingress (networking.k8s.io/v1, with v1beta1 backend fields understood).
Flows out: Skydive's DefaultBackend/TLS/Rules; own status UP, and DOWN from its
dependencies when a backend service or a TLS secret does not exist.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Ingress"
NAMESPACED = True


def _backend_service(backend: fields.Obj) -> tuple[str, str]:
    """(service name, port) of a backend; ("", "") for resource backends."""
    service = fields.mapping(backend.get("service"))
    if service:
        port = fields.mapping(service.get("port"))
        return str(service.get("name") or ""), str(port.get("number") or port.get("name") or "")
    # networking.k8s.io/v1beta1
    return str(backend.get("serviceName") or ""), str(backend.get("servicePort") or "")


def _default_backend(obj: fields.Obj) -> fields.Obj:
    spec = fields.spec(obj)
    return fields.mapping(spec.get("defaultBackend") or spec.get("backend"))


def _render(backend: fields.Obj) -> str:
    name, port = _backend_service(backend)
    if not name:
        return ""
    return f"{name}:{port}" if port else name


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec = fields.spec(obj)
    rules = [
        {
            "Host": str(rule.get("host") or ""),
            "Paths": [
                {
                    "Path": str(path.get("path") or ""),
                    "PathType": str(path.get("pathType") or ""),
                    "Backend": _render(fields.mapping(path.get("backend"))),
                }
                for path in fields.items(fields.mapping(rule.get("http")).get("paths"))
            ],
        }
        for rule in fields.items(spec.get("rules"))
    ]
    tls = [
        {"Hosts": fields.strings(t.get("hosts")), "SecretName": str(t.get("secretName") or "")}
        for t in fields.items(spec.get("tls"))
    ]
    return {
        "IngressClassName": str(spec.get("ingressClassName") or ""),
        "DefaultBackend": _render(_default_backend(obj)),
        "TLS": tls,
        "Rules": rules,
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up()


def aggregate(obj: fields.Obj, own: st.Status, deps: st.Dependencies) -> st.Status:
    """DOWN when a backend service or TLS secret it names does not exist."""
    return _backends_exist(own, deps)


def aggregator(obj: fields.Obj) -> st.Aggregate | None:
    """``aggregate`` of ``obj`` without a reference to it (it reads nothing of it)."""
    return _backends_exist


def _backends_exist(own: st.Status, deps: st.Dependencies) -> st.Status:
    if own.is_down:
        return own
    if deps.missing["service"]:
        return st.down("BackendMissing")
    if deps.missing["secret"]:
        return st.down("TLSSecretMissing")
    return own


def service_names(obj: fields.Obj) -> list[str]:
    """Every service the ingress routes to: the default backend and every rule path."""
    backends = [_default_backend(obj)]
    for rule in fields.items(fields.spec(obj).get("rules")):
        for path in fields.items(fields.mapping(rule.get("http")).get("paths")):
            backends.append(fields.mapping(path.get("backend")))
    return sorted({name for b in backends if (name := _backend_service(b)[0])})


def references(obj: fields.Obj) -> list[refs.Reference]:
    ns = fields.namespace(obj)
    out: list[refs.Reference] = [*fields.namespace_owner(obj), *fields.owners(obj)]
    for name in service_names(obj):
        out.append(
            refs.ByName(
                kind="Service",
                namespace=ns,
                name=name,
                relation=refs.Relation.INGRESS,
                dependent=refs.End.PARENT,
            )
        )
    secrets = {t.get("secretName") for t in fields.items(fields.spec(obj).get("tls"))}
    for name in sorted(s for s in secrets if isinstance(s, str) and s):
        out.append(
            refs.ByName(
                kind="Secret",
                namespace=ns,
                name=name,
                relation=refs.Relation.INGRESS,
                dependent=refs.End.PARENT,
            )
        )
    return out
