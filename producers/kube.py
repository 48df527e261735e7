"""A small generic Kubernetes API client on ``kubernetes.aio`` (the official async client).

Flows in: a kubeconfig; API paths of any kind (built-in or custom, see
``topolog.core.resources``), query parameters and an ``Accept`` header.
Flows out: decoded JSON bodies, or the lines of a watch stream; API errors as
``ApiError`` with the HTTP status.

The official client's ``ApiClient`` does configuration, authentication and TLS; this
module only builds generic requests (the typed per-kind methods cannot ask for
PartialObjectMetadata, and know nothing of custom kinds).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from kubernetes.aio import client as kclient
from kubernetes.aio import config as kconfig

JSON = "application/json"
#: Secrets are listed/watched in this form: the API sends metadata, never values.
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


class QuietStream(TimeoutError):
    """An open streaming response sent nothing for its read timeout: quiet, or a
    half-open connection (indistinguishable from here)."""


class ApiError(Exception):
    """The API answered with an error status (or a watch ERROR event)."""

    def __init__(self, status: int, reason: str, body: Any = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.body = body


class Kube:
    """Generic requests against one API server."""

    def __init__(self, api: Any) -> None:
        self._api = api

    async def close(self) -> None:
        await self._api.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        accept: str = JSON,
        body: Any = None,
        content_type: str = JSON,
        client_timeout: aiohttp.ClientTimeout | None = None,
    ) -> Any:
        method_, url, headers, body_, post = await self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query),
            header_params={"Accept": accept, "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        return await self._api.call_api(
            method_,
            url,
            header_params=headers,
            body=body_,
            post_params=post,
            _request_timeout=client_timeout or aiohttp.ClientTimeout(total=120, sock_connect=10),
        )

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        accept: str = JSON,
        body: Any = None,
        content_type: str = JSON,
    ) -> Any:
        resp = await self._request(
            method, path, query=query, accept=accept, body=body, content_type=content_type
        )
        raw = await resp.read()
        data = _loads(raw)
        if resp.status >= 400:
            raise _error(resp.status, resp.reason or "", data)
        return data

    async def get(
        self, path: str, *, query: Sequence[tuple[str, str]] = (), accept: str = JSON
    ) -> Any:
        return await self.request_json("GET", path, query=query, accept=accept)

    async def lines(
        self,
        path: str,
        *,
        query: Sequence[tuple[str, str]],
        accept: str,
        read_timeout: float,
    ) -> AsyncIterator[bytes]:
        """The lines of a streaming response; ``QuietStream`` after ``read_timeout``
        seconds without a byte once it is open (a half-open connection looks exactly like
        a quiet one), ``TimeoutError`` when it does not open in time."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout)
        resp = await self._request("GET", path, query=query, accept=accept, client_timeout=timeout)
        response = resp.response
        try:
            if resp.status >= 400:
                raise _error(resp.status, resp.reason or "", _loads(await resp.read()))
            while True:
                try:
                    async with asyncio.timeout(read_timeout):
                        line = await response.content.readline()
                except TimeoutError:
                    raise QuietStream(f"no byte for {read_timeout:.0f}s") from None
                if not line:
                    return
                if line.strip():
                    yield line
        finally:
            response.release()


@asynccontextmanager
async def connect(kubeconfig: Path | None) -> AsyncIterator[Kube]:
    """A client from ``kubeconfig`` (else in-cluster configuration)."""
    configuration = kclient.Configuration()
    if kubeconfig is not None:
        await kconfig.load_kube_config(  # type: ignore[no-untyped-call, unused-ignore]
            config_file=str(kubeconfig), client_configuration=configuration
        )
    else:
        kconfig.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call, unused-ignore]
    api = kclient.ApiClient(configuration)
    kube = Kube(api)
    try:
        yield kube
    finally:
        await kube.close()


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def _error(status: int, reason: str, body: Any) -> ApiError:
    if isinstance(body, dict) and body.get("message"):
        reason = f"{body.get('reason') or reason}: {body['message']}"
    return ApiError(status, reason, body)
