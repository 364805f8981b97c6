"""The responsible units (承办单位): each sees and works its own queue only."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from router.api.context import Caller, Context, Holder, actor, require_unit
from router.api.schemas import AckIn, ClaimedTicket, ClaimIn, QueueOut, ticket_out

router = APIRouter(prefix="/api/v1/units", tags=["units"])


@router.get("/{unit}/queue", response_model=QueueOut)
async def unit_queue(unit: str, caller: Caller, ctx: Context,
                     count: Annotated[int, Query(ge=1, le=1000)] = 50) -> QueueOut:
    """How much is waiting and pending in the unit's queue, and the newest entries."""
    require_unit(ctx, caller, unit)
    queues = ctx.components.queues
    depth = await asyncio.to_thread(queues.depth, unit)
    pending = await asyncio.to_thread(queues.pending, unit, count)
    recent = await asyncio.to_thread(queues.entries, unit, count)
    return QueueOut(
        unit=unit, waiting=depth["waiting"], urgent_waiting=depth["urgent_waiting"],
        pending=depth["pending"],
        pending_entries=[{"entry_id": p.entry_id, "consumer": p.consumer,
                          "idle_seconds": p.idle_seconds, "deliveries": p.deliveries}
                         for p in pending],
        recent_entries=[{"entry_id": e.entry_id, **e.fields} for e in recent])


@router.post("/{unit}/claims", response_model=list[ClaimedTicket])
async def claim(unit: str, body: ClaimIn, holder: Holder, ctx: Context
                ) -> list[ClaimedTicket]:
    """签收: take the next tickets from the unit's queue; they stay pending until acked.
    An entry whose ticket is no longer this unit's comes back without the ticket."""
    require_unit(ctx, holder.unit, unit, to_work=True)
    consumer = actor(holder, body.consumer, "consumer")
    entries = await asyncio.to_thread(ctx.components.queues.claim, unit, consumer,
                                      body.count, body.reclaim_idle_seconds)
    signed = await ctx.desk.sign_for(unit, consumer,
                                     [(e.entry_id, e.ticket_id) for e in entries])
    return [ClaimedTicket(entry_id=s.entry_id,
                          ticket=ticket_out(s.ticket) if s.ticket else None) for s in signed]


@router.post("/{unit}/acks")
async def acknowledge(unit: str, body: AckIn, caller: Caller, ctx: Context) -> dict[str, int]:
    """Done with these entries: they leave the unit's pending list."""
    require_unit(ctx, caller, unit, to_work=True)
    return {"acknowledged": await asyncio.to_thread(ctx.components.queues.acknowledge, unit,
                                                    body.entry_ids)}
