"""The envelope's wire form: what ``from_dict`` accepts, and why it rejects the rest."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from topolog.core.envelope import Envelope, EnvelopeError, EventType


def _env(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(
        Envelope(
            cluster="east",
            api_version="v1",
            kind="Pod",
            namespace="default",
            name="web-0",
            uid="u-1",
            type=EventType.MODIFIED,
            resource_version="42",
            observed_at=1_700_000_000.5,
            object={"metadata": {"name": "web-0"}},
        ).to_json()
    )
    data.update(changes)
    return {k: v for k, v in data.items() if v is not _DROP}


_DROP = object()


def test_an_envelope_round_trips_through_its_wire_form() -> None:
    env = Envelope.from_dict(_env())
    assert Envelope.from_json(env.to_json()) == env
    assert env.type is EventType.MODIFIED
    assert env.key == "east/Pod/default/web-0"


def test_an_integer_time_and_a_missing_object_are_accepted() -> None:
    env = Envelope.from_dict(_env(observedAt=1_700_000_000, object=_DROP))
    assert env.observed_at == 1_700_000_000.0 and isinstance(env.observed_at, float)
    assert env.object == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "envelope must be a JSON object, got list"),
        (_env(v=2), "unknown schema version 2"),
        (_env(v=_DROP), "unknown schema version None"),
        (_env(type="UPSERTED"), "bad or missing event type: 'UPSERTED'"),
        (_env(type=["ADDED"]), "bad or missing event type: ['ADDED']"),
        (_env(type=_DROP), "bad or missing event type: None"),
        (_env(kind=3, uid=_DROP), "missing or non-string fields: kind, uid"),
        (_env(resourceVersion=42), "missing or non-string fields: resourceVersion"),
        (_env(object=[]), "field 'object' must be a JSON object"),
        (_env(observedAt="now"), "field 'observedAt' must be a number"),
        (_env(observedAt=True), "field 'observedAt' must be a number"),
        (_env(observedAt=_DROP), "field 'observedAt' must be a number"),
    ],
)
def test_an_invalid_envelope_is_rejected_with_the_reason(data: Any, message: str) -> None:
    with pytest.raises(EnvelopeError, match="^" + message.replace("[", r"\[")):
        Envelope.from_dict(data)
