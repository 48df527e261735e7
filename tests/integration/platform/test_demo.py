"""The demo loader: the seed's scenarios in the cluster, and safe to run again."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client, config

from topolog.platform import demo
from topolog.platform.state import Endpoints

pytestmark = pytest.mark.integration


def password(kubeconfig: str) -> str:
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    secret = core.read_namespaced_secret("mysql-pass", "default")
    return base64.b64decode(secret.data["password"]).decode()


def test_rerunning_the_demo_keeps_the_rotated_secret(platform: Endpoints) -> None:
    applied = demo.load(platform.kubeconfig)
    assert any(a.startswith("Deployment/default/wordpress") for a in applied)
    demo.rotate_secret(platform.kubeconfig)  # True the first time in this cluster
    assert password(platform.kubeconfig) == demo.ROTATED_PASSWORD

    again = demo.load(platform.kubeconfig)
    assert "Secret/default/mysql-pass" not in again
    assert password(platform.kubeconfig) == demo.ROTATED_PASSWORD
    assert demo.rotate_secret(platform.kubeconfig) is False
