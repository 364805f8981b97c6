"""For the operators and their tools: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from router.api.context import Context

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(response: Response, ctx: Context) -> dict[str, str]:
    result = {}
    for name, check in ctx.readiness_checks.items():
        try:
            await asyncio.to_thread(check)
            result[name] = "ok"
        except Exception as exc:
            result[name] = type(exc).__name__
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return result


@router.get("/metrics", response_class=Response)
async def metrics(ctx: Context) -> Response:
    components = ctx.components

    def refresh_queue_gauges() -> None:
        for unit in components.config.routing.units:
            depth = components.queues.depth(unit)
            components.metrics.queue_pending.labels(unit).set(
                depth["waiting"] + depth["pending"])

    await asyncio.to_thread(refresh_queue_gauges)
    return Response(generate_latest(components.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
