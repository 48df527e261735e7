"""FastAPI dependencies as ``Annotated`` aliases: the app state, the caller, the backend.

Flows in: the request (its app's ``AppState``, its headers). Flows out: ``StateDep``,
``BackendDep``, ``PrincipalDep`` for the routes; tests override ``get_backend`` or
build the app with a ``MemoryBackend``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request

from gateway import auth
from gateway.backend import Backend
from gateway.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState | None = getattr(request.app.state, "gateway", None)
    if state is None:
        raise HTTPException(status_code=503, detail="the gateway is starting")
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_backend(state: StateDep) -> Backend:
    return state.backend


BackendDep = Annotated[Backend, Depends(get_backend)]


def get_principal(
    state: StateDep,
    authorization: Annotated[str | None, Header()] = None,
    access_token: Annotated[
        str | None, Query(description="The bearer token, for clients that cannot send headers")
    ] = None,
) -> auth.Principal:
    return auth.authenticate(state.settings, authorization, access_token)


PrincipalDep = Annotated[auth.Principal, Depends(get_principal)]
