"""The managers' view: the three rates (三率) per unit, per category or overall, over any
period. The dispatch centre and managers see every unit; a unit sees its own figures."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from classifiers.text import mask_personal_data
from router.api.context import ApiContext, Caller, Context, is_centre, require_reader
from router.domain.calendars import CHINA_STANDARD_TIME
from router.domain.hotspots import ActiveSurge, top_terms
from router.domain.trends import TrendPolicy, periods, rising
from router.sla_reports import Grouping

router = APIRouter(prefix="/api/v1", tags=["managers"])


class RateGroupOut(BaseModel):
    key: str | None = Field(description="the unit or category; null for all together")
    tickets: int = Field(description="tickets created in the period")
    response_rate: float | None = Field(description="响应率: signed and contacted in time")
    resolution_rate: float | None = Field(description="解决率: solved by the citizen's word")
    satisfaction_rate: float | None = Field(description="满意率, 基本满意 weighted")
    responded_in_time: int
    responded_late: int
    solved: int
    not_solved: int
    satisfied: int
    basically_satisfied: int
    unsatisfied: int
    open_overdue: int = Field(description="unresolved and past the resolution target")


class HotspotOut(BaseModel):
    category: str
    area: str
    raised_at: datetime = Field(description="event time of the minute that raised it")
    reports_when_raised: int = Field(description="reports in the 10-minute window then")
    expected: float = Field(description="what the baseline expected in such a window")
    tail_probability: float = Field(description="chance of that many under the baseline")
    peak: int = Field(description="the most reports in one window since")
    reports_now: int = Field(description="in the window as of the latest report")
    top_terms: list[tuple[str, int]] = Field(
        default_factory=list, description="the words most of its recent reports use, with how"
                                          " many reports use each")
    sample_reports: list[str] = Field(
        default_factory=list, description="its latest reports' words, phone and ID numbers"
                                          " masked")


class RatesOut(BaseModel):
    since: datetime
    until: datetime
    grouping: Grouping
    basically_satisfied_weight: float
    count_open_overdue: bool
    groups: list[RateGroupOut]


@router.get("/rates", response_model=RatesOut,
            responses={422: {"description": "a time without an offset, or since ≥ until"}})
async def rates(caller: Caller, ctx: Context,
                since: Annotated[AwareDatetime | None, Query(
                    description="from (inclusive), ISO 8601 with offset; default: the"
                                " configured period before `until`")] = None,
                until: Annotated[AwareDatetime | None, Query(
                    description="to (exclusive); default: now")] = None,
                by: Annotated[Grouping, Query(description="unit, category or overall")] = (
                    Grouping.UNIT)) -> RatesOut:
    """The three rates of the tickets created in [since, until). Open tickets already past
    their target count against the unit (as configured in sla.toml [rates])."""
    reports = ctx.components.reports
    default_since, default_until = reports.default_period()
    until = until or default_until
    try:
        since = since or until - (default_until - default_since)
    except OverflowError:  # `until` in the first days of year 1
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "until is too early to count a period before it") from None
    if since >= until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since must be before until")
    everyone = is_centre(ctx, caller) or caller.is_manager
    groups = await asyncio.to_thread(reports.rates, since, until, by,
                                     None if everyone else caller.unit)
    definitions = reports.definitions
    return RatesOut(
        since=since, until=until, grouping=by,
        basically_satisfied_weight=definitions.basically_satisfied_weight,
        count_open_overdue=definitions.count_open_overdue,
        groups=[RateGroupOut(
            key=g.key, tickets=g.counts.tickets, response_rate=g.rates.response,
            resolution_rate=g.rates.resolution, satisfaction_rate=g.rates.satisfaction,
            responded_in_time=g.counts.responded_in_time,
            responded_late=g.counts.responded_late, solved=g.counts.solved,
            not_solved=g.counts.not_solved, satisfied=g.counts.satisfied,
            basically_satisfied=g.counts.basically_satisfied,
            unsatisfied=g.counts.unsatisfied, open_overdue=g.counts.open_overdue)
            for g in groups])


@router.get("/hotspots", response_model=list[HotspotOut])
async def hotspots(caller: Caller, ctx: Context) -> list[HotspotOut]:
    """未诉先办: the surges raised now, by category × area, with their evidence: the counts
    against the baseline, the words most of the recent reports use, and a few of the latest
    reports with phone and ID numbers masked. The dispatch centre and managers see them."""
    require_reader(ctx, caller)
    active = await asyncio.to_thread(ctx.components.surges.active)
    return [await asyncio.to_thread(_with_evidence, ctx, a) for a in active]


_EVIDENCE_REPORTS = 200  # the latest reports a hotspot's top terms are counted from
_SAMPLES = 5


def _with_evidence(ctx: ApiContext, found: ActiveSurge) -> HotspotOut:
    surge = found.surge
    since = surge.raised_at - ctx.components.surges.policy.window
    texts = [text for _, text in ctx.components.repository.texts_about(
        found.category, found.area, since, _EVIDENCE_REPORTS)]
    terms = top_terms(ctx.components.classifier.tokenise(texts), 10)
    return HotspotOut(
        category=found.category, area=found.area, raised_at=surge.raised_at,
        reports_when_raised=surge.reports, expected=round(surge.expected, 3),
        tail_probability=surge.tail_probability, peak=surge.peak,
        reports_now=found.reports_now, top_terms=terms,
        sample_reports=[mask_personal_data(text) for text in texts[:_SAMPLES]])


class RisingOut(BaseModel):
    category: str
    area: str
    recent: int = Field(description="reports in the recent days")
    baseline: int = Field(description="reports in the baseline days before them")
    expected: float = Field(description="what the baseline's daily rate gives for the recent"
                                        " days")
    ratio: float = Field(description="(recent + 1) / (expected + 1)")
    tail_probability: float = Field(description="chance of that many under the baseline")


class TrendsOut(BaseModel):
    until: date = Field(description="the last recent day (China's calendar)")
    recent_days: int
    baseline_days: int
    rising: list[RisingOut] = Field(description="the rising problems, the most improbable"
                                                " first")


@router.get("/trends", response_model=TrendsOut,
            responses={422: {"description": "a period out of range"}})
async def trends(caller: Caller, ctx: Context,
                 until: Annotated[date | None, Query(
                     description="the last recent day; default: today in China")] = None,
                 recent_days: Annotated[int, Query(ge=1, le=90)] = 7,
                 baseline_days: Annotated[int, Query(ge=1, le=365)] = 28,
                 limit: Annotated[int, Query(ge=1, le=200)] = 20) -> TrendsOut:
    """主动治理: the problems (category × area) rising over days — their recent days'
    reports against the days before them — for the managers' weekly view."""
    require_reader(ctx, caller)
    policy = TrendPolicy(recent_days=recent_days, baseline_days=baseline_days)
    last = until or datetime.now(CHINA_STANDARD_TIME).date()
    try:
        first, _, after = periods(last, policy)
        since = datetime.combine(first, time(), CHINA_STANDARD_TIME)
        end = datetime.combine(after, time(), CHINA_STANDARD_TIME)
    except OverflowError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "the period runs off the calendar") from None
    daily = await asyncio.to_thread(ctx.components.repository.daily_counts, since, end)
    found = rising(daily, last, policy, limit)
    return TrendsOut(until=last, recent_days=recent_days, baseline_days=baseline_days,
                     rising=[RisingOut(category=r.key.split("|", 1)[0],
                                       area=r.key.split("|", 1)[1], recent=r.recent,
                                       baseline=r.baseline, expected=r.expected,
                                       ratio=r.ratio, tail_probability=r.tail_probability)
                             for r in found])
