"""For the operators and their tools: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from router.api.context import Context
from router.domain.errors import HotlineRouterError

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(response: Response, ctx: Context) -> dict[str, str]:
    """Ready when the database, Redis and the broker answer and intake is not stuck; each
    part says `ok` or what is wrong (its error's type, or how long a batch has been going)."""
    checks = list(ctx.readiness_checks.items())
    outcomes = await asyncio.gather(*(asyncio.wait_for(check(), 10) for _, check in checks),
                                    return_exceptions=True)
    result = {}
    for (name, _), outcome in zip(checks, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            # Our own errors say what is wrong in words; others only by their type.
            result[name] = (str(outcome) if isinstance(outcome, HotlineRouterError)
                            else type(outcome).__name__)
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        else:
            result[name] = "ok"
    return result


@router.get("/metrics", response_class=Response)
async def metrics(ctx: Context, authorization: Annotated[str | None, Header()] = None
                  ) -> Response:
    """Prometheus metrics; needs `Authorization: Bearer <HOTLINE_API_METRICS_TOKEN>`."""
    components = ctx.components
    expected = components.settings.api.metrics_token
    offered = (authorization or "").removeprefix("Bearer ").strip()
    if expected is None or not hmac.compare_digest(offered.encode(),
                                                   expected.get_secret_value().encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the metrics token is required",
                            headers={"WWW-Authenticate": "Bearer"})

    # City-wide gauges are computed on a schedule by one worker (router/city_gauges.py),
    # never on a scrape.
    return Response(generate_latest(components.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
