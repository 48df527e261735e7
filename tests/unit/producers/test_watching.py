"""The reflector against an in-memory API: list, watch, resume, relist and reconcile."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest

from producers import kube, reconciling, watching
from topolog.core import envelope
from topolog.core.resources import Resource, by_kind

C = "test"
PODS = by_kind()["Pod"]


class Done(Exception):
    """The scripted API has nothing more to say (ends the endless reflector)."""


def pod(name: str, uid: str, rv: int, **labels: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": str(rv)}
    return {"metadata": {**meta, "labels": labels}, "spec": {}}


class FakeApi:
    """Serves ``objects`` as lists (paginated) and scripted watch streams."""

    def __init__(self, objects: list[dict[str, Any]], rv: int, streams: list[Any]) -> None:
        self.objects = objects
        self.rv = rv
        self.streams = streams
        self.lists: list[tuple[str, Sequence[tuple[str, str]]]] = []
        self.watches: list[dict[str, str]] = []
        self.accepts: list[str] = []
        self.list_error: kube.ApiError | None = None

    async def get(
        self, path: str, *, query: Sequence[tuple[str, str]] = (), accept: str = kube.JSON
    ) -> Any:
        self.accepts.append(accept)
        if self.list_error is not None:
            raise self.list_error
        self.lists.append((path, query))
        q = dict(query)
        start = int(q.get("continue") or 0)
        limit = int(q["limit"])
        page = self.objects[start : start + limit]
        more = start + limit < len(self.objects)
        meta = {"resourceVersion": str(self.rv), "continue": str(start + limit) if more else ""}
        return {"items": page, "metadata": meta}

    async def lines(
        self, path: str, *, query: Sequence[tuple[str, str]], accept: str, read_timeout: float
    ) -> AsyncIterator[bytes]:
        self.accepts.append(accept)
        self.watches.append(dict(query))
        if not self.streams:
            raise Done
        script = self.streams.pop(0)
        if isinstance(script, BaseException):
            raise script
        for item in script:
            if isinstance(item, BaseException):
                raise item
            if callable(item):
                item(self)
                continue
            yield orjson.dumps(item) + b"\n"


def reflector(
    api: FakeApi,
    published: reconciling.Published | None = None,
    resource: Resource = PODS,
    watch_lasts: float = 0.0,
) -> watching.Reflector:
    ticks = iter(range(1_000_000))
    return watching.Reflector(
        client=api,  # type: ignore[arg-type]
        resource=resource,
        cluster=C,
        published={} if published is None else published,
        page_size=2,
        backoff=watching.Backoff(base=0.0),
        clock=lambda: 1000.0,
        monotonic=lambda: next(ticks) * watch_lasts,
    )


async def drain(r: watching.Reflector) -> list[envelope.Envelope]:
    out: list[envelope.Envelope] = []
    with pytest.raises(Done):
        async for event in r.events():
            out.append(event)
    return out


def summary(events: list[envelope.Envelope]) -> list[tuple[str, str]]:
    return [(e.type.value, e.name) for e in events]


async def test_initial_list_then_watch_events_in_order() -> None:
    api = FakeApi(
        [pod("a", "ua", 1), pod("b", "ub", 2), pod("c", "uc", 3)],
        rv=3,
        streams=[
            [
                {"type": "MODIFIED", "object": pod("a", "ua", 4, tier="web")},
                {"type": "DELETED", "object": pod("b", "ub", 5)},
                {"type": "ADDED", "object": pod("d", "ud", 6)},
            ]
        ],
    )
    events = await drain(reflector(api))
    assert summary(events) == [
        ("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("SYNCED", ""),
        ("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "d"),
    ]  # fmt: skip
    assert len(api.lists) == 2  # paginated: two pages of two
    assert api.watches[0]["resourceVersion"] == "3"
    assert api.watches[0]["allowWatchBookmarks"] == "true"
    assert all(e.cluster == C for e in events)


async def test_dropped_connection_resumes_from_the_last_bookmark_without_relisting() -> None:
    api = FakeApi(
        [pod("a", "ua", 1)],
        rv=1,
        streams=[
            [
                {"type": "MODIFIED", "object": pod("a", "ua", 7)},
                {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "20"}}},
                TimeoutError(),  # a half-open connection: no byte for read_timeout
            ],
            [{"type": "MODIFIED", "object": pod("a", "ua", 21)}],
        ],
    )
    events = await drain(reflector(api))
    assert summary(events) == [("ADDED", "a"), ("SYNCED", ""), ("MODIFIED", "a"), ("MODIFIED", "a")]
    assert [w["resourceVersion"] for w in api.watches] == ["1", "20", "21"]
    assert len(api.lists) == 1


async def test_gone_relists_and_reports_what_changed_while_away() -> None:
    def meanwhile(api: FakeApi) -> None:
        # While the watch was down: b deleted, c changed, d created; etcd compacted.
        api.objects = [pod("a", "ua", 1), pod("c", "uc", 30), pod("d", "ud", 31)]
        api.rv = 31

    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}}
    api = FakeApi(
        [pod("a", "ua", 1), pod("b", "ub", 2), pod("c", "uc", 3)],
        rv=3,
        streams=[[meanwhile, gone]],
    )
    events = await drain(reflector(api))
    assert summary(events) == [
        ("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("SYNCED", ""),
        ("DELETED", "b"), ("MODIFIED", "c"), ("ADDED", "d"), ("SYNCED", ""),
    ]  # fmt: skip
    deleted = events[4]
    assert (deleted.uid, deleted.resource_version) == ("ub", "31")
    assert api.watches[-1]["resourceVersion"] == "31"


async def test_restart_with_published_memory_rewrites_nothing() -> None:
    objects = [pod("a", "ua", 1), pod("b", "ub", 2)]
    memory = {reconciling.key_of(C, "Pod", o): reconciling.Seen(
        o["metadata"]["uid"], o["metadata"]["resourceVersion"]) for o in objects}  # fmt: skip
    api = FakeApi(objects, rv=2, streams=[])
    events = await drain(reflector(api, memory))
    assert summary(events) == [("SYNCED", "")]


@pytest.mark.parametrize("status", [403, 404])
async def test_forbidden_or_missing_kind_is_skipped(status: int) -> None:
    api = FakeApi([], rv=1, streams=[])
    api.list_error = kube.ApiError(status, "nope")
    events = [e async for e in reflector(api).events()]
    assert events == []
    assert len(api.accepts) == 1  # reported once, never retried


async def test_transient_errors_are_retried() -> None:
    api = FakeApi([pod("a", "ua", 1)], rv=1, streams=[kube.ApiError(500, "boom"), []])
    events = await drain(reflector(api))
    assert summary(events) == [("ADDED", "a"), ("SYNCED", "")]
    assert [w["resourceVersion"] for w in api.watches] == ["1", "1", "1"]


async def test_a_watch_closed_at_once_and_empty_is_retried_with_growing_backoff() -> None:
    api = FakeApi([pod("a", "ua", 1)], rv=1, streams=[[], [], []])
    r = reflector(api)
    await drain(r)
    assert r.backoff.attempt == 3  # each empty, instant close counted as a failure
    assert len(api.lists) == 1


async def test_a_watch_ending_normally_resumes_at_once_and_progress_resets_backoff() -> None:
    # Watches the server ends at timeoutSeconds (here: "lasting" 400 s) are not failures.
    quiet = FakeApi([pod("a", "ua", 1)], rv=1, streams=[[], []])
    r = reflector(quiet, watch_lasts=400.0)
    await drain(r)
    assert r.backoff.attempt == 0
    # Nor is an instant close after events, and an event resets earlier failures.
    busy = FakeApi(
        [pod("a", "ua", 1)], rv=1, streams=[[], [{"type": "MODIFIED", "object": pod("a", "ua", 2)}]]
    )
    r = reflector(busy)
    await drain(r)
    assert r.backoff.attempt == 0
    assert [w["resourceVersion"] for w in busy.watches] == ["1", "1", "2"]


async def test_secrets_are_asked_for_as_metadata_only() -> None:
    secret = {"metadata": {"name": "s", "namespace": "ns", "uid": "us", "resourceVersion": "1"}}
    api = FakeApi([secret], rv=1, streams=[[]])
    events = await drain(reflector(api, resource=by_kind()["Secret"]))
    assert set(api.accepts) == {kube.PARTIAL_LIST, kube.PARTIAL}
    assert events[0].kind == "Secret" and events[0].object["kind"] == "Secret"


def test_watch_resumes_from_the_last_seen_version_and_lists_without_one() -> None:
    assert watching.watch_from(None) is None
    assert watching.watch_from("") is None
    assert watching.watch_from("42") == "42"


def test_backoff_grows_is_capped_and_resets() -> None:
    backoff = watching.Backoff(base=1.0, cap=4.0)
    ceilings = [1.0, 2.0, 4.0, 4.0]
    for ceiling in ceilings:
        assert 0.0 <= backoff.next_delay() <= ceiling
    backoff.reset()
    assert backoff.attempt == 0


async def test_a_quiet_watch_is_watched_again_at_once_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The apiserver sends no bookmark for a kind nothing happens to: its watch is silent
    until the read timeout. That is the end of a watch, not an error."""
    api = FakeApi(
        [pod("a", "ua", 1)],
        rv=1,
        streams=[
            [kube.QuietStream("no byte for 120s")],
            [kube.QuietStream("no byte for 120s")],
            [{"type": "MODIFIED", "object": pod("a", "ua", 5)}],
        ],
    )
    r = reflector(api, watch_lasts=120.0)
    with caplog.at_level(logging.DEBUG, logger="producers.watching"):
        events = await drain(r)
    assert summary(events) == [("ADDED", "a"), ("SYNCED", ""), ("MODIFIED", "a")]
    assert [w["resourceVersion"] for w in api.watches] == ["1", "1", "1", "5"]
    assert len(api.lists) == 1
    assert r.backoff.attempt == 0  # no backoff: nothing went wrong
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert any("no event for 120s" in rec.getMessage() for rec in caplog.records)


async def test_a_stream_that_does_not_open_in_time_is_still_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeApi([pod("a", "ua", 1)], rv=1, streams=[TimeoutError(), []])
    r = reflector(api, watch_lasts=120.0)
    await drain(r)
    assert r.backoff.attempt == 1
    assert any(rec.levelno == logging.WARNING for rec in caplog.records)
