"""Department queues on real Redis Streams: idempotent enqueue, claim, ack, pending."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from connectors.department_queue import DepartmentQueues, QueueGauges
from router.ports import QueueItem
from tests.conftest import Services

pytestmark = pytest.mark.integration


@pytest.fixture
def queues(services: Services, request: pytest.FixtureRequest) -> Iterator[DepartmentQueues]:
    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    yield DepartmentQueues(client, f"{services.run_id}:{request.node.name}:")
    client.close()


def entry(ticket_id: str, unit: str = "transport", lane: str = "normal") -> QueueItem:
    return QueueItem(unit=unit, ticket_id=ticket_id,
                     fields={"category": "交通运输", "lane": lane},
                     dedupe_key=f"{ticket_id}.1.0:{unit}")


def test_enqueueing_a_ticket_again_does_not_add_a_second_entry(queues: DepartmentQueues
                                                               ) -> None:
    assert queues.enqueue([entry("T1"), entry("T2")]) == 2
    assert queues.enqueue([entry("T1"), entry("T2"), entry("T3")]) == 1
    assert [e.ticket_id for e in reversed(queues.entries("transport"))] == ["T1", "T2", "T3"]


def test_claimed_work_stays_pending_until_acknowledged(queues: DepartmentQueues) -> None:
    queues.enqueue([entry("T1"), entry("T2"), entry("T3")])
    first = queues.claim("transport", "staff-a", 2)
    assert [c.ticket_id for c in first] == ["T1", "T2"]
    assert queues.depth("transport") == {"waiting": 1, "pending": 2, "urgent_waiting": 0}
    assert {p.consumer for p in queues.pending("transport")} == {"staff-a"}
    assert queues.acknowledge("transport", [first[0].entry_id]) == 1
    assert queues.depth("transport") == {"waiting": 1, "pending": 1, "urgent_waiting": 0}


def test_work_left_idle_by_a_colleague_can_be_taken_over(queues: DepartmentQueues) -> None:
    queues.enqueue([entry("T1")])
    queues.claim("transport", "staff-a", 1)
    time.sleep(0.05)
    taken = queues.claim("transport", "staff-b", 1, reclaim_idle_seconds=0.01)
    assert [c.ticket_id for c in taken] == ["T1"]
    assert [p.consumer for p in queues.pending("transport")] == ["staff-b"]


def test_each_unit_has_a_queue_of_its_own(queues: DepartmentQueues) -> None:
    queues.enqueue([entry("T1", "transport"), entry("T2", "education")])
    assert [c.ticket_id for c in queues.claim("education", "staff", 10)] == ["T2"]
    assert [c.ticket_id for c in queues.claim("transport", "staff", 10)] == ["T1"]


def test_the_urgent_lane_is_claimed_before_older_normal_work(queues: DepartmentQueues) -> None:
    queues.enqueue([entry("N1"), entry("N2"), entry("U1", lane="urgent")])
    assert queues.depth("transport") == {"waiting": 3, "pending": 0, "urgent_waiting": 1}
    first = queues.claim("transport", "staff-a", 2)
    assert [c.ticket_id for c in first] == ["U1", "N1"]
    assert first[0].entry_id.startswith("u")
    assert queues.acknowledge("transport", [c.entry_id for c in first]) == 2
    assert queues.depth("transport") == {"waiting": 1, "pending": 0, "urgent_waiting": 0}


def test_urgent_work_left_idle_is_taken_over_first(queues: DepartmentQueues) -> None:
    queues.enqueue([entry("N1"), entry("U1", lane="urgent")])
    queues.claim("transport", "staff-a", 2)
    time.sleep(0.05)
    taken = queues.claim("transport", "staff-b", 1, reclaim_idle_seconds=0.01)
    assert [c.ticket_id for c in taken] == ["U1"]
    assert {p.consumer for p in queues.pending("transport")} == {"staff-a", "staff-b"}


def test_the_city_gauges_read_every_units_queue_at_once(queues: DepartmentQueues,
                                                         services: Services) -> None:
    queues.enqueue([entry("N1"), entry("N2"), entry("U1", lane="urgent"),
                    entry("E1", "education")])
    added_ms = int(queues.entries("transport")[-1].entry_id.split("-")[0])
    queues.claim("transport", "staff-a", 2)  # U1 and N1: pending; N2 waits
    found = queues.gauges(["transport", "education", "sanitation"], added_ms + 5000)
    assert (found["transport"].waiting, found["transport"].pending,
            found["transport"].urgent_waiting) == (1, 2, 0)
    assert 4.0 <= found["transport"].oldest_waiting_seconds <= 5.0  # N2, added after N1
    assert (found["education"].waiting, found["education"].pending) == (1, 0)
    # a unit that never had work reads as an empty queue, and reading makes no stream
    assert found["sanitation"] == QueueGauges()
    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    assert not client.exists(queues.stream_key("sanitation"))
    client.close()
