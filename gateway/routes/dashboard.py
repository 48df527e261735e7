"""The web dashboard: ``/`` and its built assets, from the package (no separate server).

Flows in: GET requests for ``/`` and its assets (``/app.js``, ``/app.css``).
Flows out: ``index.html`` and the assets built by ``dashboard/build.mjs`` into
``gateway/static/dashboard/`` (committed, and shipped as package data, so ``pip
install`` + the gateway is enough). The page then talks to the API on the same origin.

The page is static: it carries no data and no token, so it needs no authentication (the
API it calls does, on the same origin).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

#: Where the built dashboard lives (``npm run build`` in dashboard/ writes it).
STATIC = Path(__file__).resolve().parent.parent / "static" / "dashboard"

#: The files ``/`` may serve besides ``index.html`` (the build's whole output).
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "app.js.LEGAL.txt": "text/plain; charset=utf-8",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _index() -> FileResponse:
    path = STATIC / "index.html"
    if not path.is_file():
        raise HTTPException(
            status_code=404,
            detail="the dashboard is not built: run `npm ci && npm run build` in dashboard/",
        )
    # Always revalidated: a new build must reach the browser on the next load.
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=_NO_CACHE)


_NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/")
async def index() -> FileResponse:
    return _index()


def _serve(name: str, media_type: str) -> None:
    async def serve() -> FileResponse:
        path = STATIC / name
        if not path.is_file():
            raise HTTPException(status_code=404, detail="not found")
        return FileResponse(path, media_type=media_type, headers=_NO_CACHE)

    # One fixed route per file (no catch-all that could shadow an API route, and no
    # path from the request ever reaches the filesystem).
    router.add_api_route(f"/{name}", serve, methods=["GET"])


for _name, _media_type in ASSETS.items():
    _serve(_name, _media_type)
