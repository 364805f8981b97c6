"""Runs the worker: the faust app with the HTTP API served from the same event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import faust
import mode
import uvicorn
from fastapi import FastAPI

from connectors.exceptions import BrokerUnavailable
from connectors.kafka_topics import ensure_topics
from router.access import MIN_SECRET_CHARS, is_strong_secret
from router.bootstrap import SchemaNotCurrent, build_components, build_runtime
from router.embedded import embedded_services
from router.settings import Settings

log = logging.getLogger(__name__)


class _ServerWithoutSignals(uvicorn.Server):
    """uvicorn would take SIGINT/SIGTERM from faust's worker, which must stop everything."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer(mode.Service):
    """The FastAPI app under uvicorn, started and stopped with the faust worker."""

    def __init__(self, api: FastAPI, host: str, port: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        config = uvicorn.Config(api, host=host, port=port, log_level="warning",
                                lifespan="off", access_log=False)
        self._server = _ServerWithoutSignals(config)
        self._task: asyncio.Task[None] | None = None
        self.where = f"http://{host}:{port}"

    async def on_start(self) -> None:
        self._task = asyncio.ensure_future(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the reason it could not start
                raise RuntimeError(f"HTTP API did not start on {self.where}")
            await asyncio.sleep(0.05)
        log.info("HTTP API listening on %s (OpenAPI at /docs)", self.where)

    async def on_stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._task, 10)


class BackgroundTask(mode.Service):
    """A loop of the worker (the outbox relay, the SLA timer), stopped with it."""

    def __init__(self, what: str, run: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._what = what
        self._run = run
        self._task: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        log.info("%s running", self._what)

    async def on_stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def with_embedded(settings: Settings, kafka_bootstrap: str | None,
                  redis_url: str | None) -> Settings:
    """The settings, with the connections the embedded services answer on filled in."""
    updates: dict[str, Any] = {}
    if kafka_bootstrap is not None:
        updates["kafka"] = settings.kafka.model_copy(
            update={"bootstrap": kafka_bootstrap, "broker_profile": "tansu"})
    if redis_url is not None:
        from pydantic import SecretStr

        updates["redis"] = settings.redis.model_copy(update={"url": SecretStr(redis_url)})
    return settings.model_copy(update=updates)


def refuse_unsafe_secrets(settings: Settings) -> None:
    """Tokens must not be forgeable and /metrics not open, on any database: the embedded
    default holds citizens' calls too (the demo makes random secrets for its worker)."""
    if not is_strong_secret(settings.api.unit_token_secret.get_secret_value()):
        raise SystemExit(f"HOTLINE_API_UNIT_TOKEN_SECRET must be a random secret of at least"
                         f" {MIN_SECRET_CHARS} characters (e.g. openssl rand -hex 32); the"
                         " default or a short one lets anyone forge a unit's token")
    metrics = settings.api.metrics_token
    if not is_strong_secret(metrics.get_secret_value() if metrics else None):
        raise SystemExit(f"HOTLINE_API_METRICS_TOKEN must be set to a random token of at least"
                         f" {MIN_SECRET_CHARS} characters: Prometheus sends it as a bearer"
                         " token to read /metrics")


def declare_topics(settings: Settings) -> None:
    """The router's topics with HOTLINE_KAFKA_PARTITIONS partitions, before faust or a
    producer can have them auto-created with the broker's default. A broker that does not
    answer is logged: faust then waits for it and creates what it needs itself."""
    kafka = settings.kafka
    names = [kafka.calls_topic, kafka.dead_letter_topic, kafka.ticket_events_topic,
             kafka.transfers_topic]
    try:
        found = asyncio.run(ensure_topics(str(kafka.bootstrap), names, kafka.partitions,
                                          kafka.replicas))
    except BrokerUnavailable as exc:
        log.warning("topics not declared before start: %s", exc)
        return
    fewer = {name: count for name, count in found.items() if count < kafka.partitions}
    if fewer:
        log.warning("topics with fewer partitions than HOTLINE_KAFKA_PARTITIONS=%d (made"
                    " before; a topic's partitions can only be added): %s", kafka.partitions,
                    fewer)


def faust_worker(app: faust.App, services: list[mode.ServiceT], log_level: str
                 ) -> faust.Worker:
    """faust's worker without its terminal spinner: to spin on every log message, faust sets
    the root logger to DEBUG whenever the level is WARNING or above, so every debug call in
    every library builds a record nobody prints."""
    worker = faust.Worker(app, *services, loglevel=log_level)
    worker.spinner = None
    return worker


def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; embedded services start for any connection left unset."""
    refuse_unsafe_secrets(settings)
    with embedded_services(settings.state_dir, need_broker=settings.kafka.bootstrap is None,
                           need_redis=settings.redis.url is None) as embedded:
        settings = with_embedded(settings, embedded.kafka_bootstrap, embedded.redis_url)
        declare_topics(settings)
        try:
            components = build_components(settings)
        except SchemaNotCurrent as exc:
            raise SystemExit(str(exc)) from None
        runtime = build_runtime(components)
        services: list[mode.ServiceT] = [ApiServer(runtime.api, settings.api.host,
                                                   settings.api.port)]
        if settings.outbox.relay_enabled:
            services.append(BackgroundTask("outbox relay", runtime.relay.run))
        if settings.sla.timer_enabled:
            services.append(BackgroundTask("SLA timer", runtime.timer.run))
        every = settings.sla.city_gauges_seconds
        services.append(BackgroundTask("city gauges (one worker at a time)",
                                       lambda: runtime.city.run(every)))
        worker = faust_worker(runtime.stream.app, services, settings.log_level)
        try:
            worker.execute_from_commandline()
        finally:
            components.close()
