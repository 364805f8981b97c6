"""未诉先办 through the running worker on the real services: a surge of calls in many phrasings
becomes one incident and a hotspot, across a SIGKILL in the middle of it; then the incident
as the centre, its unit and another unit see it over HTTP, and a dispatcher's split."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from router.demo_surge import SURGE_AREA, night_records
from router.domain.hotspots import PROACTIVE_CHANNEL
from router.embedded import stop_process
from router.persistence.schema import reports, surges, tickets
from tests.conftest import Services, worker_config
from tests.integration.conftest import Worker, start_worker
from tests.integration.test_http_api import request_with
from tests.integration.test_resilience import observer, own_streams

pytestmark = pytest.mark.integration
CENTRE = "dispatch-center"
SURGE = 300


def accounted(watch: Worker, call_ids: list[str]) -> tuple[set[str], set[str]]:
    """The calls that made tickets, and those counted on an incident's lead ticket."""
    ticketed = set(watch.repository.find_by_call_ids(call_ids))
    counted = {c for c, r in watch.repository.reported_calls(call_ids).items()
               if r.kind == "incident"}
    return ticketed, counted


def wait_until_accounted(watch: Worker, call_ids: list[str], at_least: int,
                         timeout: float = 120) -> tuple[set[str], set[str]]:
    deadline = time.monotonic() + timeout
    while True:
        ticketed, counted = accounted(watch, call_ids)
        if len(ticketed | counted) >= at_least or time.monotonic() > deadline:
            return ticketed, counted
        time.sleep(0.2)


def raised_at(watch: Worker) -> dict[str, datetime | None]:
    """When each surge key of this deployment was raised, as stored."""
    engine = watch.repository._engine
    with engine.connect() as connection:
        return {row.key: row.raised_at for row in connection.execute(
            select(surges.c.key, surges.c.raised_at).where(
                surges.c.origin == watch.env["HOTLINE_KAFKA_APP_ID"]))}


def test_a_surge_becomes_one_incident_and_a_hotspot_across_a_sigkill(
        services: Services, tmp_path: Path) -> None:
    config = worker_config(tmp_path / "night", incidents=True)
    env = own_streams(services, tmp_path, "night", HOTLINE_CONFIG_DIR=str(config))
    log_path = tmp_path / "worker.log"
    process = start_worker(env, log_path)
    watch = observer(services, env, services.redis_url, log_path)
    start = datetime.now(UTC) - timedelta(minutes=10)
    records = night_records(start, SURGE, random.Random(7), f"{services.run_id}-night")
    # the latest report gives a phone number in its words: the evidence masks it
    last = f"{services.run_id}-night-snow-phone"
    records.append((last, json.dumps({
        "call_id": last, "hotline": "12345", "area": SURGE_AREA,
        "received_at": (start + timedelta(minutes=6)).isoformat(),
        "text": "我们在永登收费站，大雪封路被困了，我电话13912345678，什么时候能通车"},
        ensure_ascii=False).encode()))
    call_ids = [call_id for call_id, _ in records]
    half = len(records) // 2
    try:
        # the quiet history and the first caller first, so the incident's lead (whose
        # category the surge counts under) is the call the history taught the detector
        first = next(i for i, (c, _) in enumerate(records) if c.endswith("-snow-0"))
        watch.publish(records[:first + 1])
        wait_until_accounted(watch, call_ids, at_least=first + 1)
        watch.publish(records[first + 1:half])
        wait_until_accounted(watch, call_ids, at_least=half // 2)
        os.killpg(process.pid, signal.SIGKILL)  # mid-stream: no chance to commit or clean up
        process.wait(10)
        before = raised_at(watch)
        watch.publish(records[half:])
        process = start_worker(env, log_path)
        ticketed, counted = wait_until_accounted(watch, call_ids, at_least=len(call_ids))

        # every call exactly once: a ticket of its own or a report on a lead ticket
        assert ticketed | counted == set(call_ids)
        assert not ticketed & counted
        # the hotspot: raised once, kept across the restart
        deadline = time.monotonic() + 30
        while not (hotspot := [h for h in watch.request("GET", "/api/v1/hotspots", unit=CENTRE)[1]
                               if h["area"] == SURGE_AREA]):
            assert time.monotonic() < deadline, "no hotspot raised"
            time.sleep(0.5)
        evidence = max(hotspot, key=lambda h: h["reports_now"])
        assert {"永登", "高速"} & {term for term, _ in evidence["top_terms"][:5]}, evidence
        assert evidence["sample_reports"]
        assert not any("13912345678" in text for text in evidence["sample_reports"])
        assert any("139****5678" in text for text in evidence["sample_reports"])
        after = raised_at(watch)
        kept = {k: v for k, v in before.items() if v is not None}
        assert all(after[k] == v for k, v in kept.items()), (before, after)
        # and one proactive ticket per raised hotspot, to the responsible unit: committed
        # just after its raise, or by the restarted worker if the kill fell between the two
        raised_count = sum(1 for v in after.values() if v is not None)
        deadline = time.monotonic() + 30
        while True:
            with watch.repository._engine.connect() as connection:
                proactive = connection.execute(select(tickets.c.area, tickets.c.unit).where(
                    tickets.c.origin == env["HOTLINE_KAFKA_APP_ID"],
                    tickets.c.channel == PROACTIVE_CHANNEL)).all()
            if len(proactive) >= raised_count or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(proactive) == raised_count
        assert (SURGE_AREA, CENTRE) not in proactive

        # one main incident, its count exactly its stored reports plus its lead's call
        status, found = watch.request("GET", "/api/v1/incidents?limit=50", unit=CENTRE)
        assert status == 200, found
        main = max((i for i in found if i["area"] == SURGE_AREA),
                   key=lambda i: i["report_count"])
        engine = watch.repository._engine
        with engine.connect() as connection:
            stored = Counter(connection.execute(select(reports.c.kind).where(
                reports.c.incident_id == main["incident_id"])).scalars())
        assert main["report_count"] == 1 + sum(stored.values())
        on_main = sum(stored.values()) + 1
        assert on_main > SURGE / 2, (on_main, stored)
        print(f"surge {SURGE}: {on_main} on the main incident ({dict(stored)}),"
              f" {len(counted)} counted on lead tickets, {len(ticketed)} tickets;"
              f" its lead in {main['unit']}")
        assert main["priority"] == "critical"

        # who sees it. Which incident grows most depends on how the calls fall into batches:
        # when its lead was one of the calls the model left to triage, a dispatcher sends
        # it to the unit first (人工分拨), and the incident follows its lead there.
        if main["unit"] == CENTRE:
            status, sent = watch.request(
                "POST", f"/api/v1/tickets/{main['lead_ticket_id']}/dispatch",
                {"unit": "transport", "category": "交通运输", "dispatcher_id": "dispatcher-9"},
                unit=CENTRE)
            assert status == 200, sent
            main = watch.request("GET", f"/api/v1/incidents/{main['incident_id']}?limit=1",
                                 unit=CENTRE)[1]
            assert main["unit"] == "transport", main
        unit = main["unit"]
        assert unit != CENTRE
        path = f"/api/v1/incidents/{main['incident_id']}?limit=5"
        status, detail = watch.request("GET", path, unit=unit)
        assert status == 200, detail
        assert len(detail["reports"]) == 5
        status, listed = watch.request("GET", f"/api/v1/units/{unit}/incidents", unit=unit)
        assert status == 200, listed
        assert main["incident_id"] in [i["incident_id"] for i in listed]
        other = "education" if unit != "education" else "transport"
        assert watch.request("GET", path, unit=other)[0] == 403
        assert watch.request("GET", f"/api/v1/units/{unit}/incidents", unit=other)[0] == 403
        # the unit sees the incident once: its reports made no queue entries of the lead
        assert watch.queued(unit).count(main["lead_ticket_id"]) <= 1

        # a dispatcher splits one report off: a triage ticket of its own, one report fewer
        attached = next(r for r in detail["reports"] if r["kind"] == "incident")
        token = watch.tokens.issue(CENTRE, person="dispatcher-9")
        status, split = request_with(
            watch, token, "POST",
            f"/api/v1/incidents/{main['incident_id']}/reports/{attached['call_id']}/split", {})
        assert status == 201, split
        assert (split["call_id"], split["status"]) == (attached["call_id"], "awaiting_triage")
        status, again = watch.request("GET", path, unit=CENTRE)
        assert again["report_count"] == main["report_count"] - 1
        assert watch.request("POST", f"/api/v1/incidents/{main['incident_id']}/reports/"
                             f"{attached['call_id']}/split", {}, unit=unit)[0] == 403
    finally:
        stop_process(process, timeout=20)
        watch.redis.close()
