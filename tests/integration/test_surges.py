"""Surges in the database, shared by workers and kept across restarts, on SQLite and the
environment's database (PostgreSQL in CI)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select

from router.domain.hotspots import Report, SurgePolicy
from router.persistence.errors import StoreUnavailable
from router.persistence.schema import surges
from router.persistence.surges import SurgeStore
from tests.conftest import Services
from tests.integration.conftest import engine_on

pytestmark = pytest.mark.integration
START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "environment"])
def engine(request: pytest.FixtureRequest, services: Services, tmp_path: Path
           ) -> Iterator[Engine]:
    yield from engine_on(request.param, services, tmp_path)


def reports(rng: random.Random, area: str, per_minute: float, start: datetime, minutes: int
            ) -> list[Report]:
    found: list[Report] = []
    at = 0.0
    while True:
        at += rng.expovariate(per_minute)
        if at >= minutes:
            return found
        found.append(Report("交通运输", area, start + timedelta(minutes=at)))


def test_two_workers_share_one_surge_and_a_restart_keeps_it(engine: Engine,
                                                              services: Services) -> None:
    origin = f"{services.run_id}-surge-{id(engine)}"
    first, second = (SurgeStore(engine, SurgePolicy(), origin=origin) for _ in range(2))
    rng = random.Random(5)
    quiet = reports(rng, "county", 0.3, START, 120)
    snow = reports(rng, "county", 40, START + timedelta(minutes=120), 20)
    other = reports(rng, "city", 0.3, START, 140)
    stream = sorted(quiet + snow + other, key=lambda r: r.received_at)
    raised = []
    for index in range(0, len(stream), 40):  # the two workers take turns with the batches
        store = first if (index // 40) % 2 == 0 else second
        raised += [c for c in store.count(stream[index:index + 40]) if c.change.raised]
    assert [(c.category, c.area) for c in raised] == [("交通运输", "county")]
    surge = raised[0].change.raised
    assert surge is not None
    assert surge.raised_at - snow[0].received_at <= timedelta(minutes=2)
    # a restarted worker finds it where it was
    restarted = SurgeStore(engine, SurgePolicy(), origin=origin)
    [active] = restarted.active()
    assert (active.area, active.surge.raised_at) == ("county", surge.raised_at)
    # another deployment sharing the database sees none of it
    assert SurgeStore(engine, SurgePolicy(), origin=origin + "-other").active() == []
    # the snow stops; ordinary reports elsewhere move time on and it clears
    later = reports(rng, "city", 0.5, START + timedelta(minutes=145), 60)
    cleared = [c for c in restarted.count(later) if c.change.cleared]
    assert [(c.category, c.area) for c in cleared] == [("交通运输", "county")]
    assert restarted.active() == []


def test_a_key_row_gone_under_a_worker_is_refused_once_and_made_again(
        engine: Engine, services: Services) -> None:
    """A worker makes a key's row once and then only locks it; a row gone from under it (a
    database restored from before the key existed) is a transient refusal, and the next
    batch makes it again instead of counting into nothing."""
    origin = f"{services.run_id}-gone-{id(engine)}"
    store = SurgeStore(engine, SurgePolicy(), origin=origin)
    batch = reports(random.Random(7), "county", 6.0, START, 4)  # within one window
    assert len(batch) >= 20
    store.count(batch[:10])
    with engine.begin() as connection:
        connection.execute(delete(surges).where(surges.c.origin == origin))
    with pytest.raises(StoreUnavailable):
        store.count(batch[10:20])
    store.count(batch[10:20])
    with engine.connect() as connection:
        [state] = connection.execute(select(surges.c.state)
                                     .where(surges.c.origin == origin)).scalars()
    assert sum(count for _bucket, count in state["buckets"]) == 10
