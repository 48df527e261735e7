"""Dead letters: resource records the processors cannot use, and why.

Flows in: a consumed record (key, raw value, its ``graph.Source``) and a reason.
Flows out: ``DeadLetter`` values; ``processors.app`` publishes them unchanged (same key
and value bytes, so a fixed record can be re-published as it was) on the dead-letter
topic with the reason and the source position in headers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from topolog.core import graph


class Reason(enum.StrEnum):
    """Why a record was dead-lettered (the ``topolog-reason`` header, a metric label)."""

    #: Not JSON, not a JSON object, or a JSON object that is not an envelope.
    UNDECODABLE = "undecodable"
    #: A well-formed record with a schema version this processor does not know.
    SCHEMA_VERSION = "schema-version"
    #: An envelope of a kind the deriver has no rules for (or a derived kind).
    UNKNOWN_KIND = "unknown-kind"
    #: A record larger than any object the Kubernetes API can store (see routing).
    TOO_LARGE = "too-large"
    #: An object version older than one already derived for the same object (same uid).
    OUT_OF_ORDER = "out-of-order"
    #: A valid envelope on which the deriver raised (a bug in a rule; see the detail).
    DERIVE_ERROR = "derive-error"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    reason: Reason
    #: Human-readable explanation (the validation message or the exception).
    detail: str
    key: bytes | None
    value: bytes | None
    source: graph.Source

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka record headers: the reason, its detail, and where the record came from."""
        return [
            ("topolog-reason", self.reason.value.encode()),
            ("topolog-detail", self.detail.encode()[:1024]),
            ("topolog-source-topic", self.source.topic.encode()),
            ("topolog-source-partition", str(self.source.partition).encode()),
            ("topolog-source-offset", str(self.source.offset).encode()),
        ]
