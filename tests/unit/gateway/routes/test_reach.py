"""/api/v1/reach: verdicts with the deciding policies, from the graph's policy edges."""

from __future__ import annotations

from typing import Any


async def reach(client: Any, **params: Any) -> Any:
    return await client.get("/api/v1/reach", params={k.rstrip("_"): v for k, v in params.items()})


async def test_allowed_peer_on_an_open_port_names_the_allowing_policy(client: Any) -> None:
    body = (await reach(client, from_="shop/web", to="shop/db", port=5432)).json()
    assert body["allowed"] is True
    assert body["ingress"] == {
        "allowed": True,
        "isolated": True,
        "isolating": ["shop/db-ingress"],
        "allowing": ["shop/db-ingress"],
    }
    assert body["egress"]["isolated"] is False


async def test_closed_port_or_other_peer_is_denied_by_isolation(client: Any) -> None:
    for src, port, proto in [
        ("shop/web", 80, "TCP"),
        ("shop/web", 5432, "UDP"),
        ("other/spy", 5432, "TCP"),
    ]:
        body = (await reach(client, from_=src, to="shop/db", port=port, protocol=proto)).json()
        assert body["allowed"] is False, (src, port, proto)
        assert body["ingress"]["isolating"] == ["shop/db-ingress"]
        assert body["ingress"]["allowing"] == []


async def test_unisolated_destination_is_reachable(client: Any) -> None:
    body = (await reach(client, from_="shop/db", to="other/spy", port=1)).json()
    assert body["allowed"] is True
    assert body["ingress"]["isolated"] is False


async def test_bad_arguments(client: Any) -> None:
    assert (await reach(client, from_="web", to="shop/db", port=1)).status_code == 400
    assert (await reach(client, from_="shop/web", to="shop/db", port=70000)).status_code == 422
    assert (
        await reach(client, from_="shop/web", to="shop/db", port=1, protocol="ICMP")
    ).status_code == 400
    assert (await reach(client, from_="shop/nope", to="shop/db", port=1)).status_code == 404
