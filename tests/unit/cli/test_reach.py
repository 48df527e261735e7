from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from topolog.cli import reach

BOOKINFO = Path(__file__).parents[2] / "fixtures" / "netpol" / "bookinfo"
WEB = {"TCP": [[9080, 9080]], "UDP": [], "SCTP": []}


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test host for the reach command."""

    reach.register(app)
    return app


def test_bookinfo_json_allows_exactly_the_calls_the_policies_name(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["reach", "--manifests", str(BOOKINFO), "--json"])
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    assert doc["endpoints"] == [
        {
            "id": f"bookinfo/{name}",
            "namespace": "bookinfo",
            "pod": name,
            "workload": f"bookinfo/{name}",
            "workload_kind": "Deployment",
        }
        for name in (
            "details-v1",
            "productpage-v1",
            "ratings-v1",
            "reviews-v1",
            "reviews-v2",
            "reviews-v3",
        )
    ]
    allowed = [
        ("productpage-v1", "details-v1"),
        ("productpage-v1", "reviews-v1"),
        ("productpage-v1", "reviews-v2"),
        ("productpage-v1", "reviews-v3"),
        ("reviews-v1", "ratings-v1"),
        ("reviews-v2", "ratings-v1"),
        ("reviews-v3", "ratings-v1"),
    ]
    assert doc["connections"] == [
        {"src": f"bookinfo/{s}", "dst": f"bookinfo/{d}", "protocols": WEB} for s, d in allowed
    ]


def test_without_policies_every_pair_is_open_on_every_port(
    app: typer.Typer, tmp_path: Path
) -> None:
    (tmp_path / "apps.yaml").write_text((BOOKINFO / "bookinfo.yaml").read_text())
    result = CliRunner().invoke(app, ["reach", "--manifests", str(tmp_path), "--json"])
    doc = orjson.loads(result.stdout)
    assert len(doc["connections"]) == 6 * 5
    full = [[1, 65535]]
    assert all(
        c["protocols"] == {"TCP": full, "UDP": full, "SCTP": full} for c in doc["connections"]
    )


def test_table_lists_the_allowed_connections(app: typer.Typer) -> None:
    result = CliRunner().invoke(
        app, ["reach", "--manifests", str(BOOKINFO)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "bookinfo/reviews-v2" in result.stdout and "9080" in result.stdout
    assert "7 of 30 ordered pod pairs can connect." in result.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            "kind: Pod\napiVersion: v1\nmetadata: {name: a}\n---\nkind: [\n",
            "(document 2): invalid YAML",
        ),
        (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
            "spec: {podSelector: {}, ingress: [{from: [{}]}]}\n",
            "(document 1): networkpolicy default/p: a peer needs",
        ),
        ("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "(document 1): Pod has no metadata.name"),
    ],
)
def test_bad_manifests_exit_2_naming_file_and_document(
    app: typer.Typer, tmp_path: Path, content: str, fragment: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    result = CliRunner().invoke(app, ["reach", "--manifests", str(tmp_path), "--json"])
    assert result.exit_code == 2
    assert f"{bad} {fragment}" in result.stderr
    assert result.stdout == ""


def test_missing_directory_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reach", "--manifests", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.stderr


def test_reach_is_a_topolog_command() -> None:
    from topolog.cli import main

    result = CliRunner().invoke(main.app, ["reach", "--manifests", str(BOOKINFO), "--json"])
    assert result.exit_code == 0, result.output
    assert len(orjson.loads(result.stdout)["connections"]) == 7
