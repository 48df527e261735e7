"""The dashboard router serves the built page and its assets, and nothing else."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.routes import dashboard

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
async def client() -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(dashboard.router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_root_serves_the_built_page_that_loads_the_bundle(client: httpx.AsyncClient) -> None:
    resp = await client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert 'src="app.js"' in resp.text and 'href="app.css"' in resp.text


@pytest.mark.parametrize("asset", ["app.js", "app.css"])
async def test_the_page_assets_are_served_with_their_types(
    client: httpx.AsyncClient, asset: str
) -> None:
    resp = await client.get(f"/{asset}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == dashboard.ASSETS[asset]
    assert resp.content == (dashboard.STATIC / asset).read_bytes()


@pytest.mark.parametrize("path", ["/index.htm", "/../pyproject.toml", "/app.js/x", "/secret.txt"])
async def test_nothing_but_the_build_is_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


def test_every_built_file_is_package_data() -> None:
    """`pip install` ships the build: pyproject's package-data covers every file of it."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["gateway"]
    package = ROOT / "gateway"
    built = sorted(p for p in dashboard.STATIC.iterdir() if p.is_file())
    assert built
    for path in built:
        rel = path.relative_to(package)
        assert any(rel.match(p) for p in patterns), f"{rel} is not package data"
    assert {p.name for p in built} == {"index.html", *dashboard.ASSETS}
