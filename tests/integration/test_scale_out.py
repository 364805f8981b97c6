"""Scale-out: one consumer group over four partitions, a second worker added in the middle of
the stream and the first one stopped (SIGTERM) a little later. Every call becomes one ticket,
queued once, and every unsigned ticket's sign clock breaches once, whichever worker held it."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from router.domain.sla import ClockName
from router.embedded import stop_process
from tests.conftest import Services
from tests.integration.conftest import start_worker
from tests.integration.test_resilience import (
    calls,
    observer,
    own_streams,
    tickets_once_each,
    wait_for_committed,
)
from tests.integration.test_ticket_life import short_sign_clock, sla_events

pytestmark = pytest.mark.integration


def calls_received(env: dict[str, str]) -> float:
    """The worker's own count of the calls it took (its /metrics)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['HOTLINE_API_PORT']}/metrics",
        headers={"Authorization": f"Bearer {env['HOTLINE_API_METRICS_TOKEN']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("hotline_calls_received_total{"))


def test_a_worker_added_and_one_removed_mid_stream_lose_nothing_and_double_nothing(
        services: Services, tmp_path: Path) -> None:
    sign_seconds = 8
    settings = {"HOTLINE_CONFIG_DIR": str(short_sign_clock(tmp_path, sign_seconds)),
                "HOTLINE_KAFKA_PARTITIONS": "4", "HOTLINE_SLA_POLL_SECONDS": "0.2",
                "HOTLINE_KAFKA_TICKET_EVENTS_TOPIC": f"{services.run_id}.scale.events"}
    env = own_streams(services, tmp_path / "first", "scale", **settings)
    second_env = own_streams(services, tmp_path / "second", "scale", **settings)
    first = start_worker(env, tmp_path / "worker-1.log")
    second = None
    watch = observer(services, env, services.redis_url, tmp_path / "worker-1.log")
    records = calls(f"{services.run_id}-scale", 400)
    call_ids = [k for k, _ in records if k]
    try:
        watch.publish(records[:200])
        wait_for_committed(watch, call_ids, at_least=60)
        second = start_worker(second_env, tmp_path / "worker-2.log")  # the group rebalances
        # the rest a little at a time, until the second worker has taken some calls while
        # the first still runs; then the first leaves the group in the middle of the stream
        rest, sent, before_leaving = records[200:], 0, 0.0
        waited = time.monotonic() + 60
        while sent < len(rest):
            if first.poll() is None and (before_leaving := calls_received(second_env)) > 0:
                stop_process(first, timeout=30)  # its partitions move to the second
            if first.poll() is None and sent >= len(rest) - 60:
                # keep the last records until the second worker has joined and taken some
                assert time.monotonic() < waited, "the second worker never took a call"
                watch.publish(rest[sent:sent + 1])
                sent += 1
                time.sleep(0.5)
                continue
            watch.publish(rest[sent:sent + 20])
            sent += 20
            time.sleep(0.5)
        done, queued = tickets_once_each(watch, call_ids, timeout=120)
        # the second worker took calls while both ran (the group shared the partitions) and
        # the rest once alone
        taken = calls_received(second_env)
        print(f"the second worker took {before_leaving:.0f} calls beside the first and"
              f" {taken - before_leaving:.0f} after it left")
        assert 0 < before_leaving < taken <= len(call_ids)
        assert sorted(queued) == sorted(t.ticket_id for t in done.values())
        # every unsigned ticket breaches once, on whichever worker's timer
        signed_for = [t.ticket_id for t in done.values() if t.clock(ClockName.SIGN)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = sla_events(watch, signed_for)
            if all(("sla_breached", "breach") in levels for levels in found.values()):
                break
            time.sleep(0.5)
        time.sleep(2)  # anything doubled would show by now
        found = sla_events(watch, signed_for)
        breaches = [levels.count(("sla_breached", "breach")) for levels in found.values()]
        print(f"tickets {len(done)}, with a sign clock {len(signed_for)},"
              f" breached once {breaches.count(1)}, not breached {breaches.count(0)},"
              f" breached twice or more {sum(1 for b in breaches if b > 1)}")
        assert breaches == [1] * len(signed_for)
    finally:
        stop_process(first, timeout=20)
        if second is not None:
            stop_process(second, timeout=20)
        watch.redis.close()
