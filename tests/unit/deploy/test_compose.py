"""docker-compose.yml is a valid compose file that runs every topolog process."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def test_compose_file_is_valid_for_docker_compose() -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (deploy/local/bootstrap.sh installs it)")
    out = subprocess.run(
        [compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr


def test_compose_runs_each_pipeline_process_against_its_kafka_and_redis() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"kafka", "redis", "producer", "processor", "projector", "gateway"} <= set(services)
    for name in ("producer", "processor", "projector", "gateway"):
        env = services[name]["environment"]
        assert env["TOPOLOG_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["TOPOLOG_REDIS_URL"].startswith("redis://redis:")
        assert services[name]["command"][0] == name
    assert services["gateway"]["ports"] == ["127.0.0.1:8082:8082"]
