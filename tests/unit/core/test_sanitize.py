"""Sanitizing is a security boundary: planted canary values must never survive it."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from topolog.core import sanitize

CANARY = "canary-7f3b9c-do-not-leak"


def _containers() -> dict[str, Any]:
    return {
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "env": [
                    {"name": "PLAIN", "value": CANARY},
                    {
                        "name": "FROM_SECRET",
                        "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
                    },
                ],
                "envFrom": [{"secretRef": {"name": "creds"}}],
            }
        ],
        "initContainers": [{"name": "init", "env": [{"name": "INIT", "value": CANARY}]}],
        "ephemeralContainers": [{"name": "debug", "env": [{"name": "DBG", "value": CANARY}]}],
    }


def _meta(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "shop",
        "labels": {"app": name},
        "annotations": {
            sanitize.LAST_APPLIED: orjson.dumps({"data": {"password": CANARY}}).decode(),
            "team": "payments",
        },
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {CANARY: {}}}}],
    }


OBJECTS: dict[str, dict[str, Any]] = {
    "secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta("creds"),
        "type": "Opaque",
        "data": {"password": CANARY},
        "stringData": {"token": CANARY},
    },
    "configmap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("settings"),
        "data": {"LOG_LEVEL": CANARY},
        "binaryData": {"blob": CANARY},
    },
    "pod": {"apiVersion": "v1", "kind": "Pod", "metadata": _meta("web-1"), "spec": _containers()},
    "deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta("web"),
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": _containers()}},
    },
    "cronjob": {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta("nightly"),
        "spec": {"jobTemplate": {"spec": {"template": {"spec": _containers()}}}},
    },
}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_canary_is_gone_from_every_kind(name: str) -> None:
    out = sanitize.sanitize(OBJECTS[name])
    assert CANARY.encode() not in orjson.dumps(out)


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_input_is_not_mutated(name: str) -> None:
    before = copy.deepcopy(OBJECTS[name])
    sanitize.sanitize(OBJECTS[name])
    assert OBJECTS[name] == before


def test_secret_and_configmap_keep_their_keys() -> None:
    secret = sanitize.sanitize(OBJECTS["secret"])
    config = sanitize.sanitize(OBJECTS["configmap"])
    assert secret["dataKeys"] == ["password", "token"]
    assert "data" not in secret and "stringData" not in secret
    assert secret["type"] == "Opaque"
    assert config["dataKeys"] == ["LOG_LEVEL", "blob"]
    assert "data" not in config and "binaryData" not in config


def test_env_keeps_names_and_references() -> None:
    spec = sanitize.sanitize(OBJECTS["cronjob"])["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = spec["containers"][0]["env"]
    assert [e["name"] for e in env] == ["PLAIN", "FROM_SECRET"]
    assert env[1]["valueFrom"] == {"secretKeyRef": {"name": "creds", "key": "password"}}
    assert spec["containers"][0]["envFrom"] == [{"secretRef": {"name": "creds"}}]
    assert spec["initContainers"][0]["env"] == [{"name": "INIT"}]


def test_bookkeeping_is_removed_but_other_metadata_kept() -> None:
    meta = sanitize.sanitize(OBJECTS["pod"])["metadata"]
    assert "managedFields" not in meta
    assert meta["annotations"] == {"team": "payments"}
    assert meta["labels"] == {"app": "web-1"}


def test_a_secret_seen_as_metadata_only_gets_no_invented_keys() -> None:
    partial = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}}
    assert sanitize.sanitize(partial) == partial


def test_malformed_env_entries_are_dropped_not_trusted() -> None:
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "a", "env": [CANARY, {"name": "X"}]}]}}
    assert sanitize.sanitize(pod)["spec"]["containers"][0]["env"] == [{"name": "X"}]
