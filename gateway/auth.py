"""Bearer tokens from settings: who is calling and which namespaces it may see.

Flows in: the ``Authorization: Bearer <token>`` header (or ``access_token`` query
parameter, for browsers' EventSource, which cannot set headers) and the configured
tokens. Flows out: a ``Principal`` (its scope), or HTTP 401 when tokens are configured
and the request has none or a wrong one. With no tokens configured everyone is an
unrestricted anonymous principal.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import HTTPException, status

from gateway.scope import EVERYTHING, Scope
from gateway.settings import ALL_NAMESPACES, GatewaySettings

ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    #: A name for limits and logs (never the token itself).
    name: str
    scope: Scope


def scope_of(namespaces: list[str]) -> Scope:
    if ALL_NAMESPACES in namespaces:
        return EVERYTHING
    return Scope(frozenset(namespaces))


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=message,
        headers={"WWW-Authenticate": "Bearer"},
    )


def authenticate(
    settings: GatewaySettings, authorization: str | None, access_token: str | None
) -> Principal:
    if not settings.tokens:
        return Principal(ANONYMOUS, EVERYTHING)
    presented = access_token
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise _unauthorized("expected 'Authorization: Bearer <token>'")
        presented = credentials.strip()
    if not presented:
        raise _unauthorized("a bearer token is required")
    for index, (token, namespaces) in enumerate(sorted(settings.tokens.items())):
        if hmac.compare_digest(token.encode(), presented.encode()):
            return Principal(f"token-{index}", scope_of(namespaces))
    raise _unauthorized("unknown token")
