"""``topolog query|watch|rootcause|at``: HTTP clients of a running gateway.

Flows in: the gateway URL and token (``TOPOLOG_GATEWAY_URL``, ``TOPOLOG_GATEWAY_TOKEN``,
or ``--url``/``--token``). Flows out: JSON on stdout — exactly the API's body, so
Skydive-era pipelines keep working::

    topolog query "G.V().Has('Name','mysql-pass').In().Has('Type','pod')" \\
      | jq '.[] | .Metadata.Name' | xargs -n 1 kubectl delete pod

``watch`` prints the live stream with rich. Errors go to stderr with a non-zero exit:
1 for an error answer of the gateway, 2 when it cannot be reached.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import typer

URL_HELP = "Gateway URL (default TOPOLOG_GATEWAY_URL or http://127.0.0.1:8082)."
TOKEN_HELP = "Bearer token (default TOPOLOG_GATEWAY_TOKEN)."


def register(app: typer.Typer) -> None:
    app.command("query")(query_command)
    app.command("watch")(watch_command)
    app.command("rootcause")(rootcause_command)
    app.command("at")(at_command)


def _client(url: str | None, token: str | None, *, timeout: float | None = 60.0) -> httpx.Client:
    from gateway.settings import get_settings

    settings = get_settings()
    headers = {}
    bearer = token or settings.token
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    return httpx.Client(base_url=url or settings.url, headers=headers, timeout=timeout)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def _answer(response: httpx.Response) -> bytes:
    """The body of a successful answer; an error answer exits 1 with its message."""
    if response.is_success:
        return response.content
    try:
        body = orjson.loads(response.content)
        message = body.get("error") or body.get("detail") or response.text
        position = body.get("position")
    except (orjson.JSONDecodeError, AttributeError):
        message, position = response.text, None
    where = f" (column {position})" if position else ""
    raise _fail(f"{response.status_code}: {message}{where}", 1)


def request(method: str, path: str, *, url: str | None, token: str | None, **kw: Any) -> bytes:
    """One gateway call for a CLI command: the body, or exit 1 (error answer) / 2 (no gateway)."""
    try:
        with _client(url, token) as client:
            return _answer(client.request(method, path, **kw))
    except httpx.TransportError as exc:
        raise _fail(f"cannot reach the gateway: {exc}", 2) from exc


def print_json(raw: bytes) -> None:
    sys.stdout.buffer.write(raw.rstrip(b"\n") + b"\n")
    sys.stdout.flush()


def query_command(
    gremlin: str = typer.Argument(..., help="A Gremlin query in Skydive's dialect."),
    at: str = typer.Option(None, "--at", help="Evaluate at a past time (like G.At)."),
    url: str = typer.Option(None, "--url", help=URL_HELP),
    token: str = typer.Option(None, "--token", help=TOKEN_HELP),
) -> None:
    """Run a Gremlin query; print the JSON answer (an array, or a number for Count())."""
    text = gremlin
    if at is not None:
        text = _with_at(gremlin, at)
    print_json(request("POST", "/api/topology", url=url, token=token, json={"GremlinQuery": text}))


def _with_at(gremlin: str, at: str) -> str:
    """``G.V()...`` → ``G.At('<at>').V()...`` (a query with its own At is an error)."""
    stripped = gremlin.lstrip()
    if not stripped[:2].upper() == "G.":
        raise _fail("--at needs a query starting with G.", 1)
    if stripped[2:].lstrip().lower().startswith(("at(", "context(")):
        raise _fail("the query already travels in time (G.At); drop --at", 1)
    quoted = at.replace("\\", "\\\\").replace("'", "\\'")
    return f"G.At('{quoted}').{stripped[2:].lstrip()}"


def rootcause_command(
    node_id: str = typer.Argument(..., help="A node id."),
    at: str = typer.Option(None, "--at", help="At a past time."),
    url: str = typer.Option(None, "--url", help=URL_HELP),
    token: str = typer.Option(None, "--token", help=TOKEN_HELP),
) -> None:
    """Print why a node is DOWN: its root causes and the events that produced them."""
    params = {"at": at} if at is not None else {}
    print_json(
        request("GET", f"/api/v1/nodes/{node_id}/rootcause", url=url, token=token, params=params)
    )


def at_command(
    time: str = typer.Argument(..., help="Epoch seconds, an RFC 3339 date, '-1h' or now."),
    url: str = typer.Option(None, "--url", help=URL_HELP),
    token: str = typer.Option(None, "--token", help=TOKEN_HELP),
) -> None:
    """Print the whole graph at a time: {"Nodes": [...], "Edges": [...]}."""
    print_json(request("GET", "/api/topology", url=url, token=token, params={"at": time}))


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, str | None, Any]]:
    """(event, id, data) from SSE lines; comments (heartbeats) are skipped."""
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event, event_id, orjson.loads("\n".join(data))
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            event = value
        elif key == "id":
            event_id = value
        elif key == "data":
            data.append(value)


def watch_command(
    filter_: str = typer.Option(None, "--filter", help="A selecting Gremlin query."),
    since: str = typer.Option(None, "--since", help="Replay every change from this time."),
    alerts: bool = typer.Option(False, "--alerts", help="Only state changes (alerts)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per event."),
    url: str = typer.Option(None, "--url", help=URL_HELP),
    token: str = typer.Option(None, "--token", help=TOKEN_HELP),
) -> None:
    """Follow the graph's changes live (reconnecting after the last event seen)."""
    from rich.console import Console

    console = Console()
    params = {k: v for k, v in {"filter": filter_, "since": since}.items() if v is not None}
    path = "/api/v1/alerts" if alerts else "/api/v1/stream"
    last_id: str | None = None
    try:
        with _client(url, token, timeout=None) as client:
            while True:
                headers = {"Last-Event-ID": last_id} if last_id else {}
                with client.stream("GET", path, params=params, headers=headers) as response:
                    if not response.is_success:
                        response.read()
                        if response.status_code == 410 and last_id is not None:
                            # That point is gone (trimmed, or another history after a
                            # rebuild of the projection): start over from a fresh sync.
                            typer.echo(
                                f"note: cannot resume after {last_id} (410): starting over",
                                err=True,
                            )
                            last_id = None
                            continue
                        _answer(response)
                    for event, event_id, data in parse_sse(response.iter_lines()):
                        last_id = event_id or last_id
                        if event == "Resync":
                            last_id = None  # start over from a fresh sync
                        if as_json:
                            print_json(orjson.dumps({"event": event, "id": event_id, "data": data}))
                        else:
                            console.print(_describe(event, event_id, data), highlight=False)
                params.pop("since", None)  # reconnect with Last-Event-ID, not since
    except KeyboardInterrupt:
        return
    except httpx.TransportError as exc:
        raise _fail(f"cannot reach the gateway: {exc}", 2) from exc


_STYLES = {"Added": "green", "Updated": "yellow", "Deleted": "red"}


def _describe(event: str, event_id: str | None, data: Any) -> str:
    from rich.markup import escape

    prefix = f"[dim]{event_id or '-'}[/dim] "
    if event == "Sync":
        return f"{prefix}[bold]sync[/bold] {len(data['Nodes'])} nodes, {len(data['Edges'])} edges"
    if event == "Alert":
        colour = "red" if data.get("newState") == "DOWN" else "green"
        causes = ", ".join(escape(c) for c in data.get("rootCause") or []) or "-"
        where = f"{data.get('namespace', '')}/{data.get('name', '')}"
        return (
            f"{prefix}[{colour}]{data.get('oldState')} → {data.get('newState')}[/{colour}] "
            f"{escape(data.get('kind', ''))} {escape(where)} ({escape(data.get('reason', ''))}) "
            f"root cause: {causes}"
        )
    if event == "Resync":
        return f"{prefix}[bold red]resync[/bold red] {escape(str(data.get('reason', '')))}"
    colour = next((c for suffix, c in _STYLES.items() if event.endswith(suffix)), "white")
    metadata = data.get("Metadata") or {}
    what = metadata.get("Type") or metadata.get("RelationType") or ""
    name = metadata.get("Name") or f"{data.get('Parent', '')} → {data.get('Child', '')}"
    state = metadata.get("State", "")
    return f"{prefix}[{colour}]{event}[/{colour}] {escape(str(what))} {escape(str(name))} {state}"
