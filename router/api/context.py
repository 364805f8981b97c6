"""What every route needs, handed over once at start-up, and who is calling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from router.access import Credential
from router.domain.errors import InvalidTransition
from router.ticket_notices import TicketNotices

if TYPE_CHECKING:
    from router.bootstrap import Components
    from router.ticket_desk import TicketDesk

Submit = Callable[[str, bytes], Awaitable[None]]


@dataclass(frozen=True)
class ApiContext:
    components: Components
    desk: TicketDesk
    submit: Submit  # publishes an accepted call to the intake topic
    readiness_checks: Mapping[str, Callable[[], Awaitable[None]]]
    notices: TicketNotices  # wakes a waiting desktop when this worker commits its ticket

    @property
    def centre(self) -> str:
        return self.components.config.routing.dispatcher_unit


def context(request: Request) -> ApiContext:
    found: ApiContext = request.app.state.context
    return found


def credential(request: Request,
               authorization: Annotated[str | None, Header()] = None) -> Credential:
    """The credential that came with the request; 401 without a valid, unexpired one."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    found = context(request).components.unit_tokens.credential_of(token) if token else None
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "a valid, unexpired unit token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return found


def caller_unit(found: Annotated[Credential, Depends(credential)]) -> str:
    return found.unit


def actor(found: Credential, named_in_body: str | None, what: str) -> str:
    """Who did it, for the audit trail: the person the token was issued to; a token of the
    unit as a whole must name them in the body instead."""
    if found.person:
        return found.person
    if not named_in_body:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{what} is required with a token that names no person")
    return named_in_body


Context = Annotated[ApiContext, Depends(context)]
Caller = Annotated[str, Depends(caller_unit)]
Holder = Annotated[Credential, Depends(credential)]


def require_centre(ctx: ApiContext, caller: str) -> None:
    if caller != ctx.centre:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the dispatch centre may do this")


def require_unit(ctx: ApiContext, caller: str, unit: str, *, to_work: bool = False) -> None:
    """The caller may look at this unit's queue (the unit, or the centre), or with `to_work`
    sign for and acknowledge its tickets (the unit alone)."""
    if unit not in ctx.components.config.routing.units:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no unit {unit!r}")
    allowed = (unit,) if to_work else (unit, ctx.centre)
    if caller not in allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only the unit itself works its queue" if to_work
                            else "a unit sees only its own queue")


def conflict(exc: InvalidTransition) -> HTTPException:
    """409 with the ticket's current status, so the client can tell why."""
    return HTTPException(status.HTTP_409_CONFLICT,
                         {"reason": str(exc), "current_status": exc.current})
