"""Two workers, one set of city-wide gauges: the holder of the lease in Redis exports them,
the other exports none, and takes over once the holder lets go or dies."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from connectors.department_queue import DepartmentQueues
from connectors.leadership import RedisLease
from router.city_gauges import CityGauges
from router.domain.rates import RateDefinitions
from router.metrics import RouterMetrics
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.outbox import OutboxRepository
from router.persistence.tickets import TicketRepository
from router.sla_reports import RateReports
from tests.conftest import Services

pytestmark = pytest.mark.integration


def worker_gauges(services: Services, tmp_path: Path, name: str, ttl: float
                  ) -> tuple[CityGauges, RouterMetrics, RedisLease]:
    engine = make_engine(f"sqlite:///{tmp_path / 'city.db'}")
    upgrade_schema(engine)
    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    metrics = RouterMetrics()
    lease = RedisLease(client, f"{services.run_id}:city-test-lease", name, ttl_seconds=ttl)
    reports = RateReports(TicketRepository(engine), RateDefinitions(), metrics)
    gauges = CityGauges(lease, reports, DepartmentQueues(client, f"{services.run_id}:cq:"),
                        ["transport", "education"], metrics, OutboxRepository(engine))
    return gauges, metrics, lease


def exported(metrics: RouterMetrics, name: str, labels: dict[str, str]) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_only_the_lease_holder_exports_the_city_and_the_other_takes_over(
        services: Services, tmp_path: Path) -> None:
    first, first_metrics, first_lease = worker_gauges(services, tmp_path, "w1", ttl=1.0)
    second, second_metrics, _ = worker_gauges(services, tmp_path, "w2", ttl=1.0)
    assert first.collect() is True
    assert second.collect() is False
    queue = {"department": "transport"}
    assert exported(first_metrics, "hotline_queue_waiting", queue) == 0.0
    assert exported(second_metrics, "hotline_queue_waiting", queue) is None
    assert exported(first_metrics, "hotline_city_collector", {}) == 1.0
    assert exported(second_metrics, "hotline_city_collector", {}) == 0.0
    assert first.collect() is True  # renewing keeps it
    assert second.collect() is False

    first_lease.release()  # a clean stop
    assert second.collect() is True
    assert exported(second_metrics, "hotline_queue_waiting", queue) == 0.0
    assert first.collect() is False
    assert exported(first_metrics, "hotline_queue_waiting", queue) is None  # cleared

    time.sleep(1.2)  # the holder dies: its lease runs out without a release
    assert first.collect() is True
    assert second.collect() is False
