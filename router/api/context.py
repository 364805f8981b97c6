"""What every route needs, handed over once at start-up, and who is calling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from router.access import Credential, Role
from router.api.schemas import TicketOut, ticket_out
from router.domain.errors import InvalidTransition, NotYourTicket, UnknownReport
from router.domain.tickets import Ticket
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


# The dependencies are coroutines though they never wait: FastAPI runs a plain function
# dependency on a thread of its pool, a hop per request that cost more than the work.
async def context(request: Request) -> ApiContext:
    return _context_of(request)


def _context_of(request: Request) -> ApiContext:
    found: ApiContext = request.app.state.context
    return found


async def credential(request: Request,
                     authorization: Annotated[str | None, Header()] = None) -> Credential:
    """The credential that came with the request; 401 without a valid, unexpired one."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    found = _context_of(request).components.unit_tokens.credential_of(token) if token else None
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "a valid, unexpired unit token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return found


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
Caller = Annotated[Credential, Depends(credential)]
Holder = Caller


def is_centre(ctx: ApiContext, caller: Credential) -> bool:
    return caller.unit == ctx.centre and not caller.is_manager


def require_centre(ctx: ApiContext, caller: Credential) -> None:
    """The dispatch centre's staff (agents and dispatchers) only: managers read, never act."""
    if not is_centre(ctx, caller):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the dispatch centre may do this")


def require_dispatcher(ctx: ApiContext, caller: Credential) -> None:
    """The centre's dispatchers only: the desk's decisions on a ticket's life (派单, 审定,
    延期, 回访, merging, splitting, 督办), not its call-takers (agents)."""
    if not is_centre(ctx, caller) or caller.role is not Role.STAFF:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only the dispatch centre's dispatchers may do this")


def require_reader(ctx: ApiContext, caller: Credential) -> None:
    """Who may read across units: the dispatch centre and managers."""
    if not (is_centre(ctx, caller) or caller.is_manager):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only the dispatch centre and managers see every unit")


def require_unit(ctx: ApiContext, caller: Credential, unit: str, *, to_work: bool = False
                 ) -> None:
    """The caller may look at this unit's queue (the unit, the centre, a manager), or with
    `to_work` sign for, acknowledge and work its tickets (the unit's staff alone)."""
    if unit not in ctx.components.config.routing.units:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no unit {unit!r}")
    if to_work:
        allowed = caller.unit == unit and caller.role is Role.STAFF
    else:
        allowed = caller.unit == unit or is_centre(ctx, caller) or caller.is_manager
    if not allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only the unit itself works its queue" if to_work
                            else "a unit sees only its own queue")


def shown(ctx: ApiContext, ticket: Ticket) -> TicketOut:
    """A ticket as the API shows it, its clocks as they stand now."""
    return ticket_out(ticket, ctx.components.config.sla.policy)


async def changed(ctx: ApiContext, action: Awaitable[Ticket]) -> TicketOut:
    """The ticket after a desk action, or the HTTP answer to why it could not be done."""
    from router.ticket_desk import UnknownTarget, UnknownTicket

    try:
        ticket = await action
    except (UnknownTicket, UnknownReport) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except UnknownTarget as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except NotYourTicket as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except InvalidTransition as exc:
        raise conflict(exc) from None
    return shown(ctx, ticket)


def conflict(exc: InvalidTransition) -> HTTPException:
    """409 with the ticket's current status, so the client can tell why."""
    return HTTPException(status.HTTP_409_CONFLICT,
                         {"reason": str(exc), "current_status": exc.current})
