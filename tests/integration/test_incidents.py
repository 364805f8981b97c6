"""未诉先办: different callers about the same matter in the same area attach to one incident,
counted on its lead ticket; other matters stay apart. On SQLite (the embedded default) and the
environment's database (PostgreSQL in CI)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from classifiers import DemandClassifier, UrgencyRules, normalise_text
from classifiers.similarity import text_grams, text_similarity
from connectors.intake.json_calls import parse_call_document
from router.config_files import load_router_config
from router.demo_surge import SURGE_AREA, night_records
from router.domain.calendars import CHINA_STANDARD_TIME
from router.domain.calls import CallRecord, Channel
from router.domain.errors import UnknownReport
from router.domain.hotspots import (
    PROACTIVE_CHANNEL,
    KeyChange,
    Report,
    SurgePolicy,
    proactive_call_id,
)
from router.domain.incidents import IncidentPolicy, Priority
from router.domain.tickets import EventKind, TicketStatus
from router.domain.trends import TrendPolicy, periods, rising
from router.intake_service import CallOutcome, IntakeService
from router.persistence.incidents import IncidentStore
from router.persistence.surges import SurgeStore
from router.persistence.tickets import TicketRepository
from router.ticket_desk import TicketDesk
from tests.conftest import Services
from tests.integration.conftest import engine_on

pytestmark = pytest.mark.integration
CONFIG = load_router_config()
CLASSIFIER = DemandClassifier.load()
URGENCY = UrgencyRules.load()
START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
WATER = ["安宁区兰州交通大学家属院停水了，一整天都没有水，什么时候恢复供水",
         "安宁区兰州交通大学家属院从早上开始停水，一整天没有水了，请问什么时候恢复供水",
         "我是兰州交通大学家属院的住户，安宁区这边停水一整天了，什么时候恢复供水啊",
         "安宁区兰州交通大学家属院停水一整天，家里老人孩子没水用，请尽快恢复供水"]
LIGHTS = "安宁区兰州交通大学家属院门口路灯坏了一个多月，晚上很黑，请派人修理路灯"
NOISE = "安宁区兰州交通大学家属院旁边工地晚上十二点还在施工，噪音太大，影响休息"
WATER_CATEGORY = "城乡建设"  # the model's category of WATER (NOISE: 环境保护)


@pytest.fixture(params=["sqlite", "environment"])
def engine(request: pytest.FixtureRequest, services: Services, tmp_path: Path
           ) -> Iterator[Engine]:
    yield from engine_on(request.param, services, tmp_path)


_ORIGINS = itertools.count()


@dataclasses.dataclass
class Desk:
    intake: IntakeService
    repository: TicketRepository
    incidents: IncidentStore
    prefix: str
    calls: itertools.count[int] = dataclasses.field(default_factory=itertools.count)

    def call(self, text: str, minutes: float = 0, area: str | None = None) -> CallRecord:
        # no contact: callers unknown to each other, and never a repeat (催办) of another
        # test's caller on a shared database
        n = next(self.calls)
        return CallRecord(call_id=f"{self.prefix}-{n}", hotline="12345", channel=Channel.PHONE,
                          received_at=START + timedelta(minutes=minutes), text=text,
                          caller_contact=None, area=area)

    def record(self, *calls: CallRecord) -> list[CallOutcome]:
        return self.intake.record(list(calls))


def desk(engine: Engine, services: Services, policy: IncidentPolicy | None = None,
         origin: str | None = None) -> Desk:
    # its own deployment: incidents of other tests sharing the database never take its calls
    origin = origin or f"inc-{services.run_id}-{next(_ORIGINS)}"
    store = IncidentStore(engine, policy or IncidentPolicy(), CONFIG.sla.policy, text_grams,
                          origin=origin)
    repository = TicketRepository(engine, origin=origin, incidents=store)
    intake = IntakeService(CONFIG, CLASSIFIER, URGENCY, repository, normalise=normalise_text,
                           similarity=text_similarity)
    return Desk(intake, repository, store, f"{origin}-call")


def test_other_callers_about_the_same_matter_are_counted_on_one_incident(
        engine: Engine, services: Services) -> None:
    d = desk(engine, services)
    [first] = d.record(d.call(WATER[0]))
    assert first.created
    later = d.record(*(d.call(text, minutes=5 + i) for i, text in enumerate(WATER[1:])))
    assert [(o.created, o.incident) for o in later] == [(False, True)] * 3
    assert {o.ticket.ticket_id for o in later} == {first.ticket.ticket_id}
    record = d.incidents.led_by(first.ticket.ticket_id)
    assert record is not None
    assert record.incident.reports == 4
    assert record.unit == first.ticket.unit
    reports = d.incidents.reports(record.incident.incident_id, limit=10)
    assert [r.call_id for r in reports] == [o.ticket.call_id and c for o, c in zip(
        later, [f"{d.prefix}-{i}" for i in (1, 2, 3)], strict=True)]
    assert all(r.share >= 0.5 for r in reports)
    assert d.repository.find_by_call_ids(r.call_id for r in reports) == {}  # no own tickets
    trail = [e.kind for e in d.repository.events(first.ticket.ticket_id)]
    assert trail.count(EventKind.INCIDENT_REPORTED) == 3


def test_other_matters_in_the_same_area_stay_apart(engine: Engine, services: Services) -> None:
    d = desk(engine, services)
    outcomes = d.record(d.call(WATER[0]), d.call(LIGHTS, 1), d.call(NOISE, 2),
                        d.call(WATER[1], 3))
    assert [o.created for o in outcomes] == [True, True, True, False]
    assert outcomes[3].ticket.ticket_id == outcomes[0].ticket.ticket_id
    led = [d.incidents.led_by(o.ticket.ticket_id) for o in outcomes[:3]]
    assert [r.incident.reports if r else None for r in led] == [2, 1, 1]


def test_the_same_words_in_another_area_are_another_incident(engine: Engine,
                                                             services: Services) -> None:
    d = desk(engine, services)
    here, there = d.record(d.call(WATER[0], area="anning"), d.call(WATER[1], 1, area="xigu"))
    assert here.created
    assert there.created


def test_a_late_report_within_the_window_joins_and_one_after_it_does_not(
        engine: Engine, services: Services) -> None:
    d = desk(engine, services, IncidentPolicy(window=timedelta(hours=1)))
    [first] = d.record(d.call(WATER[0], minutes=30))
    [late] = d.record(d.call(WATER[1], minutes=0))  # arrives after, happened before
    [after] = d.record(d.call(WATER[2], minutes=30 + 61))
    assert (late.incident, late.ticket.ticket_id) == (True, first.ticket.ticket_id)
    assert after.created
    record = d.incidents.led_by(first.ticket.ticket_id)
    assert record is not None
    assert record.incident.opened_at == START


def test_a_replayed_report_is_counted_once(engine: Engine, services: Services) -> None:
    d = desk(engine, services)
    d.record(d.call(WATER[0]))
    report = d.call(WATER[1], 1)
    [once] = d.record(report)
    [again] = d.record(report)
    assert once.incident
    assert not again.incident
    assert not again.created
    assert not again.conflict
    assert again.ticket.ticket_id == once.ticket.ticket_id
    record = d.incidents.led_by(once.ticket.ticket_id)
    assert record is not None
    assert record.incident.reports == 2


def test_an_emergency_keeps_its_own_ticket_and_is_linked_to_the_incident(
        engine: Engine, services: Services) -> None:
    d = desk(engine, services)
    fire = "安宁区兰州交通大学家属院3号楼着火了，火很大，有人被困在楼上，快来救火"
    outcomes = d.record(d.call(fire), d.call(fire + "！", 1))
    assert [o.created for o in outcomes] == [True, True]  # no incident leads an emergency
    first = d.record(d.call(WATER[0], 2))[0]
    [urgent] = d.record(d.call(WATER[0] + "，老人晕倒了", 3))
    assert urgent.ticket.urgency == "emergency"
    assert urgent.created
    assert urgent.ticket.ticket_id != first.ticket.ticket_id
    record = d.incidents.led_by(first.ticket.ticket_id)
    assert record is not None
    assert (record.incident.reports, record.incident.pressing_reports) == (2, 1)
    assert record.incident.priority is Priority.HIGH  # one pressing report is enough
    [linked] = d.incidents.reports(record.incident.incident_id, limit=10)
    assert (linked.kind, linked.ticket_id) == ("linked", urgent.ticket.ticket_id)


def test_a_resolved_lead_takes_no_more_reports(engine: Engine, services: Services) -> None:
    d = desk(engine, services)
    [first] = d.record(d.call(WATER[0]))
    lead = first.ticket
    claimed = lead.claim(lead.unit, "staff-1", START, CONFIG.sla.policy)
    resolved = claimed.ticket.resolve(lead.unit, "staff-1", "供水已恢复", START,
                                      CONFIG.sla.policy)
    d.repository.save([claimed], [])
    d.repository.save([resolved], [])
    [later] = d.record(d.call(WATER[1], 5))
    assert later.created
    assert later.ticket.ticket_id != lead.ticket_id


def test_reports_raise_the_priority_and_the_lead_tickets_supervision_level(
        engine: Engine, services: Services) -> None:
    d = desk(engine, services, IncidentPolicy(high_at=3, critical_at=5))
    texts = [WATER[i % 4] + "。" * (i // 4) for i in range(6)]
    outcomes = d.record(*(d.call(text, i) for i, text in enumerate(texts)))
    lead = outcomes[0].ticket.ticket_id
    record = d.incidents.led_by(lead)
    assert record is not None
    assert (record.incident.reports, record.incident.priority) == (6, Priority.CRITICAL)
    ticket = d.repository.get(lead)
    assert ticket is not None
    assert ticket.escalation_level == 2


def test_workers_sharing_a_database_share_the_incidents(engine: Engine,
                                                        services: Services) -> None:
    origin = f"inc-{services.run_id}-{next(_ORIGINS)}-shared"
    one, two = desk(engine, services, origin=origin), desk(engine, services, origin=origin)
    two.prefix += "-two"
    [first] = one.record(one.call(WATER[0]))
    [seen_by_two] = two.record(two.call(WATER[1], 1))  # two had cached nothing of the area
    [back_at_one] = one.record(one.call(WATER[2], 2))  # one's cache is stale: read again
    assert seen_by_two.incident
    assert back_at_one.incident
    record = one.incidents.led_by(first.ticket.ticket_id)
    assert record is not None
    assert record.incident.reports == 3


def made_up_matters(count: int, seed: int) -> list[str]:
    """Texts sharing no words with each other or with WATER, none urgent (which would stand
    alone): each its own incident."""
    rng = random.Random(seed)
    texts: list[str] = []
    while len(texts) < count:
        text = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(24))
        if URGENCY.assess(text).urgency == "general":
            texts.append(text)
    return texts


def test_a_worker_whose_area_is_stale_reads_back_only_what_changed(engine: Engine,
                                                                   services: Services) -> None:
    origin = f"inc-{services.run_id}-{next(_ORIGINS)}-stale"
    one, two = desk(engine, services, origin=origin), desk(engine, services, origin=origin)
    two.prefix += "-two"
    others = made_up_matters(41, seed=7)
    [first, *_] = one.record(one.call(WATER[0], area="anning"),
                             *(one.call(text, 1, area="anning") for text in others[:40]))
    [joined] = two.record(two.call(WATER[1], 2, area="anning"))  # two reads the area whole
    assert joined.incident
    assert two.incidents.read_back == 41
    # one changes two incidents of the area: counts a report on WATER's, opens another
    one.record(one.call(WATER[2], 3, area="anning"), one.call(others[40], 3, area="anning"))
    [again] = two.record(two.call(WATER[3], 4, area="anning"))
    assert again.incident
    assert two.incidents.read_back == 41 + 2
    record = two.incidents.led_by(first.ticket.ticket_id)
    assert record is not None
    assert record.incident.reports == 4  # nobody's count was lost to a stale cache
    # two's changes reach one the same way
    [last] = one.record(one.call(WATER[0] + "。", 5, area="anning"))
    assert last.ticket.ticket_id == first.ticket.ticket_id
    assert one.incidents.read_back == 0 + 1 + 1  # its first read found nothing; then WATER's, twice


def test_a_merge_made_at_one_worker_reaches_another_workers_cache(engine: Engine,
                                                                  services: Services) -> None:
    origin = f"inc-{services.run_id}-{next(_ORIGINS)}-merge"
    policy = IncidentPolicy(min_share=0.9)  # two incidents to begin with
    one, two = (desk(engine, services, policy, origin=origin),
                desk(engine, services, policy, origin=origin))
    two.prefix += "-two"
    kept, merged = one.record(one.call(WATER[0]), one.call(WATER[2], 1))
    assert merged.created
    [noise] = two.record(two.call(NOISE, 2))  # two caches the area: both incidents open
    assert noise.created
    asyncio.run(desk_for(one).merge(merged.ticket.ticket_id, kept.ticket.ticket_id,
                                    "dispatcher-7"))
    [later] = two.record(two.call(WATER[2] + "。", 3))
    assert later.incident
    assert later.ticket.ticket_id == kept.ticket.ticket_id  # not the merged incident's lead


def desk_for(d: Desk) -> TicketDesk:
    return TicketDesk(CONFIG.routing, CLASSIFIER.categories, d.repository, CONFIG.sla.policy)


def test_a_dispatcher_splits_a_wrong_report_off_into_a_ticket_of_its_own(
        engine: Engine, services: Services) -> None:
    d = desk(engine, services)
    wrong = d.call(WATER[1], 1)
    first, _ = d.record(d.call(WATER[0]), wrong)
    record = d.incidents.led_by(first.ticket.ticket_id)
    assert record is not None
    split = asyncio.run(desk_for(d).split_report(record.incident.incident_id,
                                                 wrong.call_id, "dispatcher-7"))
    assert split.call_id == wrong.call_id
    assert split.status is TicketStatus.AWAITING_TRIAGE
    assert split.unit == CONFIG.routing.dispatcher_unit
    assert split.text == WATER[1]
    after = d.incidents.led_by(first.ticket.ticket_id)
    assert after is not None
    assert after.incident.reports == 1
    assert d.incidents.reports(record.incident.incident_id, limit=10) == []
    trail = d.repository.events(first.ticket.ticket_id)
    assert (trail[-1].kind, trail[-1].actor) == (EventKind.REPORT_SPLIT, "dispatcher-7")
    # a replay of the split call finds its new ticket, and counts nowhere
    [replayed] = d.record(wrong)
    assert (replayed.created, replayed.ticket.ticket_id) == (False, split.ticket_id)
    with pytest.raises(UnknownReport):
        asyncio.run(desk_for(d).split_report(record.incident.incident_id, split.call_id,
                                             "dispatcher-7"))


def test_merging_two_lead_tickets_merges_their_incidents(engine: Engine,
                                                         services: Services) -> None:
    d = desk(engine, services, IncidentPolicy(min_share=0.9))  # two incidents to begin with
    one, one_more, two = d.record(d.call(WATER[0]), d.call(WATER[0] + "!", 1),
                                  d.call(WATER[2], 2))
    assert one_more.incident
    assert two.created
    first = d.incidents.led_by(one.ticket.ticket_id)
    second = d.incidents.led_by(two.ticket.ticket_id)
    assert first is not None
    assert second is not None
    asyncio.run(desk_for(d).merge(two.ticket.ticket_id, one.ticket.ticket_id, "dispatcher-7"))
    merged = d.incidents.get(second.incident.incident_id)
    assert merged is not None
    assert (merged.status, merged.merged_into) == ("merged", first.incident.incident_id)
    kept = d.incidents.led_by(one.ticket.ticket_id)
    assert kept is not None
    assert kept.incident.reports == 3
    # the merged incident's grams now lead to the kept one
    [later] = d.record(d.call(WATER[2] + "。", 3))
    assert later.incident
    assert later.ticket.ticket_id == one.ticket.ticket_id


def test_a_surge_becomes_one_incident_a_hotspot_and_one_proactive_ticket(
        engine: Engine, services: Services) -> None:
    origin = f"inc-{services.run_id}-{next(_ORIGINS)}-night"
    store = IncidentStore(engine, IncidentPolicy(), CONFIG.sla.policy, text_grams,
                          origin=origin)
    repository = TicketRepository(engine, origin=origin, incidents=store)
    raised: list[KeyChange] = []
    intake = IntakeService(CONFIG, CLASSIFIER, URGENCY, repository, normalise=normalise_text,
                           similarity=text_similarity,
                           surges=SurgeStore(engine, SurgePolicy(), origin=origin),
                           on_surge=lambda changes: raised.extend(
                               c for c in changes if c.change.raised), origin=origin)
    records = night_records(START, 200, random.Random(3), origin)
    calls = [parse_call_document(json.loads(body), CONFIG.hotlines, 2000)
             for _, body in records]
    for start in range(0, len(calls), 50):
        intake.record(calls[start:start + 50])
    assert [(c.category, c.area) for c in raised] == [("交通运输", SURGE_AREA)]
    [change] = raised
    call_id = proactive_call_id(origin, change)
    proactive = repository.find_by_call_ids([call_id])[call_id]
    assert proactive.channel == PROACTIVE_CHANNEL
    assert (proactive.area, proactive.category) == (SURGE_AREA, "交通运输")
    assert proactive.unit != CONFIG.routing.dispatcher_unit  # straight to the unit
    assert proactive.status is TicketStatus.DISPATCHED
    assert "热点预警" in proactive.text
    [main] = [r for r in store.open_for_unit(None, 10) if r.incident.reports > 100]
    assert main.incident.priority is Priority.CRITICAL
    # the proactive ticket stands alone: not a report of the incident it is about
    assert all(r.call_id != call_id for r in store.reports(main.incident.incident_id, 1000))


def test_daily_counts_follow_chinas_calendar_day_and_show_a_rising_problem(
        engine: Engine, services: Services) -> None:
    d = desk(engine, services, IncidentPolicy(window=timedelta(minutes=30)))
    until = date(2026, 11, 30)
    # a quiet problem every day for five weeks, then a rising one in the last three days;
    # 23:30 UTC is the next morning in China
    calls = []
    for day in range(35):
        at = datetime.combine(until - timedelta(days=day), datetime.min.time(), UTC)
        calls.append(dataclasses.replace(d.call(NOISE), received_at=at + timedelta(hours=3)))
    for day in range(3):
        at = datetime.combine(until - timedelta(days=day + 1), datetime.min.time(), UTC)
        calls += [dataclasses.replace(d.call(f"{WATER[n % 4]}（{n}号楼）"),
                                      received_at=at + timedelta(hours=23, minutes=30 + n))
                  for n in range(6)]
    d.record(*calls)
    policy = TrendPolicy()
    first, _, after = periods(until, policy)
    daily = d.repository.daily_counts(
        datetime.combine(first, datetime.min.time(), CHINA_STANDARD_TIME),
        datetime.combine(after, datetime.min.time(), CHINA_STANDARD_TIME))
    water = {day: n for key, day, n in daily if key.startswith(WATER_CATEGORY)}
    # every late-evening UTC burst counted on the next day in China, reports included
    assert water == {until - timedelta(days=k): 6 for k in range(3)}
    [found] = rising(daily, until, policy)
    assert (found.key, found.recent) == (f"{WATER_CATEGORY}|anning", 18)


def test_a_hotspot_whose_worker_died_before_its_ticket_gets_one_from_the_next_worker(
        engine: Engine, services: Services) -> None:
    origin = f"inc-{services.run_id}-{next(_ORIGINS)}-killed"
    # what a worker killed between the two commits leaves: the raise, and no ticket
    rng = random.Random(11)
    minutes = [rng.uniform(0, 120) for _ in range(36)]  # a quiet history
    minutes += [120 + rng.uniform(0, 20) for _ in range(800)]  # then the snow
    raised = [c for c in SurgeStore(engine, SurgePolicy(), origin=origin).count(
        [Report("交通运输", SURGE_AREA, START + timedelta(minutes=m)) for m in sorted(minutes)])
        if c.change.raised]
    assert [(c.category, c.area) for c in raised] == [("交通运输", SURGE_AREA)]
    call_id = proactive_call_id(origin, raised[0])
    repository = TicketRepository(engine, origin=origin)
    assert repository.find_by_call_ids([call_id]) == {}

    def next_worker() -> IntakeService:
        return IntakeService(CONFIG, CLASSIFIER, URGENCY, repository, normalise=normalise_text,
                             similarity=text_similarity,
                             surges=SurgeStore(engine, SurgePolicy(), origin=origin),
                             origin=origin)

    ordinary = CallRecord(call_id=f"{origin}-1", hotline="12345", channel=Channel.PHONE,
                          received_at=START + timedelta(minutes=141),
                          text="小区门口路灯不亮已有一周，晚上出行很不方便。")
    next_worker().record([ordinary])
    proactive = repository.find_by_call_ids([call_id])[call_id]
    assert proactive.channel == PROACTIVE_CHANNEL
    assert proactive.status is TicketStatus.DISPATCHED
    # another worker's look finds it there and opens no second one
    next_worker().record([dataclasses.replace(ordinary, call_id=f"{origin}-2")])
    assert [t.ticket_id for t in repository.find_by_call_ids([call_id]).values()] == [
        proactive.ticket_id]
    assert len(repository.events(proactive.ticket_id)) == 1
