"""The deployment files are what their tools accept: every Kubernetes object against the
Kubernetes API's schemas (kubernetes-validate, strict: no unknown field), the compose file
against the Compose Specification (ops/deploy/schemas/compose-spec.json, vendored), and the
Prometheus configurations with promtool. No container engine or cluster is needed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "ops" / "deploy"
PROMETHEUS = DEPLOY.parent / "prometheus"
KUBERNETES_VERSION = "1.30"


def documents(name: str) -> list[dict[str, Any]]:
    with (DEPLOY / name).open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


@pytest.mark.parametrize("name", ["kubernetes.yaml", "kubernetes-services.yaml"])
def test_every_kubernetes_object_is_valid(name: str) -> None:
    objects = documents(name)
    assert objects
    for found in objects:
        kubernetes_validate.validate(found, KUBERNETES_VERSION, strict=True)


def test_the_workers_leave_the_migration_to_its_job() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in documents("kubernetes.yaml")}
    config = objects[("ConfigMap", "hotline-router")]["data"]
    assert config["HOTLINE_DATABASE_MIGRATE_ON_START"] == "false"
    [job] = objects[("Job", "hotline-router-migrate")]["spec"]["template"]["spec"]["containers"]
    assert job["args"] == ["migrate"]
    compose = documents("compose.yaml")[0]
    worker = compose["services"]["worker"]
    assert worker["environment"]["HOTLINE_DATABASE_MIGRATE_ON_START"] == "false"
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text(encoding="utf-8"))
    [compose] = documents("compose.yaml")
    jsonschema.Draft202012Validator(schema).validate(compose)
    assert {"kafka", "redis", "postgres", "migrate", "worker", "prometheus",
            "grafana"} <= set(compose["services"])


@pytest.mark.parametrize("name", ["prometheus-compose.yml", "prometheus-kubernetes.yml"])
def test_the_prometheus_configurations_pass_promtool(name: str, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    config = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
    token = tmp_path / "metrics-token"
    token.write_text("a-token", encoding="utf-8")
    for job in config["scrape_configs"]:
        job["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for rules in config["rule_files"]:
        shutil.copy(PROMETHEUS / rules, tmp_path / rules)
    done = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
