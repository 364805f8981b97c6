"""What managers and operators see, proven against a real Prometheus (Debian's package): it
scrapes a running worker fed with calls and lifecycle actions, evaluates the shipped rules,
and every query of every dashboard panel, every recording rule and every series an alert
reads returns data; every metric a panel or rule names is one the worker exports."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from router.access import Role
from router.domain.sla import ClockName
from router.embedded import _spawn, free_port, stop_process, wait_for_port
from tests.conftest import Services
from tests.integration.conftest import Worker, start_worker
from tests.integration.test_resilience import calls, observer, own_streams, wait_for_committed
from tests.integration.test_ticket_life import as_person, short_sign_clock

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
CENTRE = "dispatch-center"
_KEYWORDS = {"by", "on", "and", "or", "unless", "without", "bool", "offset", "group_left",
             "group_right", "ignoring"}


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    return found


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) of every panel target, template variables set to all."""
    found = []
    for path in sorted((OPS / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                expr = re.sub(r"\$\w+", ".*", target["expr"])
                found.append((path.stem, panel["title"], expr))
    return found


def rules() -> list[dict[str, Any]]:
    found = []
    for name in ("rules.yml", "alerts.yml"):
        doc = yaml.safe_load((OPS / "prometheus" / name).read_text(encoding="utf-8"))
        found += [rule for group in doc["groups"] for rule in group["rules"]]
    return found


def selectors(expr: str) -> list[str]:
    """The instant-vector selectors of an expression: metric or recorded name with its
    matchers (range brackets dropped)."""
    found = []
    for match in re.finditer(r"(?<![\w:\"])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?", expr):
        name, matchers = match.group(1), match.group(2) or ""
        after = expr[match.end():].lstrip()
        if name in _KEYWORDS or after.startswith("("):
            continue
        if name.startswith(("hotline_", "hotline:")) or (name == "up" and matchers):
            found.append(name + matchers)
    return found


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(address, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


@pytest.fixture(scope="module")
def fed(services: Services, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[tuple[Worker, Prometheus]]:
    """A worker on a 5 s sign-for policy, fed calls and lifecycle actions, and a Prometheus
    scraping it every second with the shipped rules."""
    binary = prometheus_binary()
    tmp = tmp_path_factory.mktemp("observability")
    env = own_streams(services, tmp, "observe",
                      HOTLINE_CONFIG_DIR=str(short_sign_clock(tmp, 5)),
                      HOTLINE_KAFKA_TICKET_EVENTS_TOPIC=f"{services.run_id}.observe.events",
                      HOTLINE_SLA_POLL_SECONDS="0.2", HOTLINE_SLA_CITY_GAUGES_SECONDS="1",
                      HOTLINE_SLA_METRICS_REFRESH_SECONDS="1")
    log_path = tmp / "worker.log"
    process = start_worker(env, log_path)
    watch = observer(services, env, services.redis_url, log_path)
    prometheus = None
    try:
        prometheus, url = start_prometheus(binary, tmp, int(env["HOTLINE_API_PORT"]),
                                           env["HOTLINE_API_METRICS_TOKEN"])
        feed(watch, services)
        yield watch, Prometheus(url)
    finally:
        if prometheus is not None:
            stop_process(prometheus, timeout=20)
        stop_process(process, timeout=20)
        watch.redis.close()
        print(f"worker log: {log_path}")


def start_prometheus(binary: str, tmp: Path, worker_port: int, token: str
                     ) -> tuple[subprocess.Popen[bytes], str]:
    """The shipped prometheus.yml, pointed at the test worker, scraping every second."""
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    (tmp / "token").write_text(token, encoding="utf-8")
    config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(OPS / "prometheus" / name) for name in config["rule_files"]]
    [job] = config["scrape_configs"]
    job.update({"scrape_interval": "1s", "scrape_timeout": "1s"})
    job["authorization"]["credentials_file"] = str(tmp / "token")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{worker_port}"]}]
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    process = _spawn([binary, f"--config.file={tmp / 'prometheus.yml'}",
                      f"--storage.tsdb.path={tmp / 'tsdb'}",
                      f"--web.listen-address=127.0.0.1:{port}"], tmp / "prometheus.log")
    wait_for_port(port, 60, process, "prometheus", tmp / "prometheus.log")
    return process, f"http://127.0.0.1:{port}"


def feed(watch: Worker, services: Services) -> None:
    """Calls of every kind, then the lifecycle actions every panel counts."""
    prefix = f"{services.run_id}-observe"
    records = calls(prefix, 12)
    records.append((f"{prefix}-fire", json.dumps({
        "call_id": f"{prefix}-fire", "hotline": "12345",
        "text": "我家楼下着火了，火很大，有人被困，快来救火！"}, ensure_ascii=False).encode()))
    records.append((f"{prefix}-vague", json.dumps({
        "call_id": f"{prefix}-vague", "hotline": "12345", "text": "我想咨询一下"},
        ensure_ascii=False).encode()))
    records.append((None, b"{not json"))
    watch.publish(records)
    created = wait_for_committed(watch, [k for k, _ in records if k], at_least=len(records) - 1)
    queued = [t for t in created.values() if t.clock(ClockName.SIGN)]
    by_unit: dict[str, list[str]] = {}
    for ticket in queued:
        by_unit.setdefault(ticket.unit, []).append(ticket.ticket_id)
    units = sorted(by_unit)
    # the first unit leaves its tickets unsigned: they warn and breach on the 5 s policy
    for unit in units[1:]:
        claimed = as_person(watch, "POST", f"/api/v1/units/{unit}/claims", {"count": 50},
                            unit, "staff")[1]
        signed = [c["ticket"]["ticket_id"] for c in claimed if c["ticket"]]
        for index, ticket_id in enumerate(signed):
            base = f"/api/v1/units/{unit}/tickets/{ticket_id}"
            as_person(watch, "POST", f"{base}/contact", {"note": "已联系"}, unit, "staff")
            if index == 1:
                as_person(watch, "POST", f"{base}/extension-request", {
                    "reason": "需现场勘查", "due_at": "2030-01-01T09:00:00+08:00"}, unit, "staff")
                as_person(watch, "POST", f"/api/v1/tickets/{ticket_id}/escalate",
                          {"reason": "督办"}, CENTRE, "dispatcher")
                continue
            if index == 2:
                as_person(watch, "POST", f"{base}/return", {"reason_code": "wrong_place"},
                          unit, "staff")
                continue
            as_person(watch, "POST", f"{base}/resolve", {"reply": "已处理"}, unit, "staff")
            satisfaction = "unsatisfied" if index == 3 else "satisfied"
            as_person(watch, "POST", f"/api/v1/tickets/{ticket_id}/callback", {
                "reached": True, "solved": satisfaction == "satisfied",
                "satisfaction": satisfaction}, CENTRE, "dispatcher")
    assert as_person(watch, "GET", "/api/v1/rates", None, "office", "m", Role.MANAGER)[0] == 200
    time.sleep(12)  # the unsigned ones breach; Prometheus scrapes and evaluates


def exported_metrics(watch: Worker) -> set[str]:
    request = urllib.request.Request(watch.api + "/metrics", headers={
        "Authorization": f"Bearer {watch.env['HOTLINE_API_METRICS_TOKEN']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            if kind == "counter":
                names.add(f"{name}_total" if not name.endswith("_total") else name)
    return names


def eventually_data(prometheus: Prometheus, expr: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if prometheus.query(expr):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(1)


def test_every_dashboard_panel_query_returns_data(fed: tuple[Worker, Prometheus]) -> None:
    _, prometheus = fed
    queries = dashboard_queries()
    assert len(queries) >= 20
    empty = [(board, panel, expr) for board, panel, expr in queries
             if not eventually_data(prometheus, expr)]
    assert not empty, "\n".join(f"{b} / {p}: {e}" for b, p, e in empty)


def test_every_recording_rule_and_every_series_an_alert_reads_has_data(
        fed: tuple[Worker, Prometheus]) -> None:
    _, prometheus = fed
    empty = []
    for rule in rules():
        if "record" in rule:
            if not eventually_data(prometheus, rule["record"]):
                empty.append(f"record {rule['record']}")
            continue
        for selector in selectors(rule["expr"]):
            if not eventually_data(prometheus, selector):
                empty.append(f"alert {rule['alert']}: {selector}")
    assert not empty, "\n".join(empty)


def test_every_metric_a_panel_or_rule_names_is_exported(fed: tuple[Worker, Prometheus]
                                                        ) -> None:
    watch, _ = fed
    exported = exported_metrics(watch)
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    named = {selector.split("{")[0] for _, _, expr in dashboard_queries()
             for selector in selectors(expr)}
    named |= {selector.split("{")[0] for rule in rules() for selector in selectors(rule["expr"])}
    unknown = sorted(n for n in named - recorded - {"up"} if n not in exported)
    assert not unknown


def test_the_dashboards_are_what_their_code_builds() -> None:
    if importlib.util.find_spec("grafana_foundation_sdk") is None:
        pytest.skip("grafana-foundation-sdk is not installed")
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", OPS / "grafana" / "build_dashboards.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.render().items():
        assert (OPS / "grafana" / "dashboards" / name).read_text(encoding="utf-8") == text, (
            f"{name} differs from build_dashboards.py: run python ops/grafana/build_dashboards.py")
