"""The graph topic's wire form: ``ChangeSet.to_json`` is read by the store's decoder.

``to_json`` is built for speed; it must stay byte for byte what ``orjson.dumps`` of the
documented dict form (``Change.to_dict``) gives, and read back to equal changes.
"""

from __future__ import annotations

from typing import Any

import orjson

from topolog.core import graph


def _reference(cs: graph.ChangeSet) -> bytes:
    return orjson.dumps(
        {"v": graph.SCHEMA_VERSION, "time": cs.time, "changes": [c.to_dict() for c in cs.changes]}
    )


def _changeset() -> graph.ChangeSet:
    a = graph.Source("topolog.resources", 3, 1042)
    b = graph.Source("topolog.resources", 5, 7)
    meta: dict[str, Any] = {"Type": "pod", "K8s": {"Labels": {"app": "x"}}, "RootCause": []}
    node = graph.Node("n1", meta)
    edge = graph.Edge("e1", "n0", "n1", {"Manager": "k8s", "RelationType": "ownership"})
    return graph.ChangeSet(
        1_700_000_000.25,
        [
            graph.Change(graph.Op.NODE_UPSERT, "n1", node=node, source=a),
            graph.Change(graph.Op.EDGE_UPSERT, "e1", edge=edge, source=a),
            graph.Change(graph.Op.EDGE_DELETE, "e2", source=b),
            # an equal but distinct Source object
            graph.Change(graph.Op.NODE_DELETE, "n2", source=graph.Source(b.topic, 5, 7)),
            graph.Change(graph.Op.NODE_DELETE, "n3"),
        ],
    )


def test_to_json_is_the_documented_dict_form_byte_for_byte() -> None:
    cs = _changeset()
    assert cs.to_json() == _reference(cs)


def test_to_json_reads_back_to_the_same_changes() -> None:
    cs = _changeset()
    back = graph.ChangeSet.from_json(cs.to_json())
    assert back == cs
    assert orjson.loads(cs.to_json())["changes"][0]["op"] == "node.upsert"


def test_an_empty_changeset() -> None:
    cs = graph.ChangeSet(1.0, [])
    assert cs.to_json() == _reference(cs) == b'{"v":1,"time":1.0,"changes":[]}'
