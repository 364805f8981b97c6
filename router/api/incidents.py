"""未诉先办: incidents, one parent for many callers about the same matter. The dispatch centre
and managers see every incident; a unit sees those its own tickets lead. The centre splits a
wrongly attached report off; merging two incidents is the merge of their lead tickets
(POST /api/v1/tickets/{lead}/merge)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from router.api.context import (
    Caller,
    Context,
    actor,
    changed,
    require_dispatcher,
    require_reader,
    require_unit,
)
from router.api.schemas import ActorId, TicketOut
from router.persistence.incidents import IncidentRecord, IncidentStore

router = APIRouter(tags=["incidents"])


class IncidentReportOut(BaseModel):
    call_id: str
    received_at: datetime
    hotline: str
    channel: str
    text: str
    caller_contact: str | None
    place_text: str | None
    urgency: str | None
    share: float = Field(description="of the report's 3-grams found in the incident's profile"
                                     " when it was attached")
    kind: str = Field(description="'incident': counted on the lead ticket; 'linked': an"
                                  " emergency, transfer or agent's choice with a ticket of"
                                  " its own, linked to the incident")
    ticket_id: str = Field(description="the lead ticket, or the linked report's own ticket")


class IncidentOut(BaseModel):
    incident_id: str
    status: str = Field(description="open, closed (its lead ticket closed), or merged")
    merged_into: str | None
    lead_ticket_id: str = Field(description="the ticket of the first report; the unit works it")
    unit: str
    lead_status: str
    area: str
    category: str
    opened_at: datetime = Field(description="event time of the first report")
    last_report_at: datetime
    report_count: int = Field(description="reports, the lead ticket's call included")
    pressing_reports: int = Field(description="reports of an emergency or 2 h urgency")
    priority: str = Field(description="routine, high or critical (with the lead's 督办 level)")
    reports: list[IncidentReportOut] = Field(
        default_factory=list, description="the attached reports, oldest first (a page)")


class SplitIn(BaseModel):
    dispatcher_id: ActorId = None


def _store(ctx: Context) -> IncidentStore:
    store = ctx.components.incidents
    if store is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "incidents are turned off")
    return store


def _out(record: IncidentRecord) -> IncidentOut:
    incident = record.incident
    return IncidentOut(
        incident_id=incident.incident_id, status=record.status,
        merged_into=record.merged_into, lead_ticket_id=incident.lead_ticket_id,
        unit=record.unit, lead_status=record.lead_status, area=incident.area,
        category=incident.category, opened_at=incident.opened_at,
        last_report_at=incident.last_report_at, report_count=incident.reports,
        pressing_reports=incident.pressing_reports, priority=incident.priority.value)


@router.get("/api/v1/incidents/{incident_id}", response_model=IncidentOut,
            responses={403: {"description": "another unit's incident"},
                       404: {"description": "no such incident"}})
async def get_incident(incident_id: str, caller: Caller, ctx: Context,
                       limit: Annotated[int, Query(ge=0, le=1000)] = 100,
                       offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> IncidentOut:
    """An incident with its report count and a page of its reports: the centre and managers
    see any, a unit the ones its tickets lead."""
    store = _store(ctx)
    record = await asyncio.to_thread(store.get, incident_id)
    if record is None or record.unit != caller.unit or caller.is_manager:
        require_reader(ctx, caller)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    found = await asyncio.to_thread(store.reports, incident_id, limit, offset)
    out = _out(record)
    out.reports = [IncidentReportOut.model_validate(r, from_attributes=True) for r in found]
    return out


@router.get("/api/v1/incidents", response_model=list[IncidentOut])
async def open_incidents(caller: Caller, ctx: Context,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100
                         ) -> list[IncidentOut]:
    """Every open incident, the most reported first (the centre and managers)."""
    require_reader(ctx, caller)
    found = await asyncio.to_thread(_store(ctx).open_for_unit, None, limit)
    return [_out(record) for record in found]


@router.get("/api/v1/units/{unit}/incidents", response_model=list[IncidentOut])
async def unit_incidents(unit: str, caller: Caller, ctx: Context,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100
                         ) -> list[IncidentOut]:
    """The open incidents the unit's tickets lead, the most reported first: the unit sees
    each incident once, as its lead ticket in its queue, with the report count here."""
    require_unit(ctx, caller, unit)
    found = await asyncio.to_thread(_store(ctx).open_for_unit, unit, limit)
    return [_out(record) for record in found]


@router.post("/api/v1/incidents/{incident_id}/reports/{call_id}/split",
             response_model=TicketOut, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "not the dispatch centre's staff"},
                        404: {"description": "no such incident or report"}})
async def split_report(incident_id: str, call_id: str, body: SplitIn, caller: Caller,
                       ctx: Context) -> TicketOut:
    """A report wrongly attached: it becomes a ticket of its own in the dispatchers' queue,
    and the incident counts one report fewer."""
    require_dispatcher(ctx, caller)
    _store(ctx)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.split_report(incident_id, call_id, who))
