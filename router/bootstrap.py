"""The composition root: the only place that reads settings and builds engines, clients, the
services, the faust app and the HTTP API. Commands, the demo, health and the tests ask it."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
from fastapi import FastAPI
from sqlalchemy import Engine, text

from classifiers import DangerModel, DemandClassifier, UrgencyRules, normalise_text
from classifiers.similarity import text_grams, text_similarity
from connectors.department_queue import DepartmentQueues
from connectors.kafka_lag import ConsumerLag
from connectors.leadership import RedisLease
from router._aiokafka_fix import install_aiokafka_metadata_fix
from router.access import UnitTokens
from router.api import create_api
from router.city_gauges import CityGauges
from router.config_files import RouterConfig, load_router_config
from router.domain.errors import HotlineRouterError
from router.domain.hotspots import SurgePolicy
from router.domain.outbox import OutboxMessage
from router.intake_progress import IntakeStalled, ProgressWatch
from router.intake_service import CallAssessor, IntakeService
from router.metrics import RouterMetrics, count_surges
from router.outbox_relay import OutboxRelay
from router.persistence.database import make_engine, schema_revisions, upgrade_schema
from router.persistence.incidents import IncidentStore
from router.persistence.outbox import OutboxRepository
from router.persistence.surges import SurgeStore
from router.persistence.tickets import TicketRepository
from router.pipeline import IntakePipeline
from router.settings import Settings
from router.sla_reports import RateReports
from router.sla_timer import SlaTimer
from router.streams import (
    FaustPublisher,
    StreamApp,
    create_app,
    dead_agents,
    intake_positions,
    own_partition,
)
from router.ticket_desk import TicketDesk
from router.ticket_notices import TicketNotices


class RelayHandover:
    """Hands committed outbox entries to this process's relay once it exists (the services
    are built before the faust app whose producer the relay uses)."""

    def __init__(self) -> None:
        self.relay: OutboxRelay | None = None

    def __call__(self, messages: Sequence[OutboxMessage]) -> None:
        if self.relay is not None:
            self.relay.hand_over(messages)


@dataclass
class Components:
    settings: Settings
    config: RouterConfig
    engine: Engine
    repository: TicketRepository
    outbox: OutboxRepository
    redis: redis.Redis
    queues: DepartmentQueues
    classifier: DemandClassifier
    urgency: UrgencyRules
    service: IntakeService
    metrics: RouterMetrics
    unit_tokens: UnitTokens
    handover: RelayHandover
    reports: RateReports
    surges: SurgeStore
    incidents: IncidentStore | None

    def close(self) -> None:
        self.redis.close()
        self.engine.dispose()


@dataclass
class Runtime:
    """Everything one worker process runs, wired together."""

    components: Components
    stream: StreamApp
    relay: OutboxRelay
    desk: TicketDesk
    api: FastAPI
    timer: SlaTimer
    city: CityGauges


def default_database_path(settings: Settings) -> Path:
    """The embedded default's SQLite file, used when HOTLINE_DATABASE_URL is unset."""
    return settings.state_dir.resolve() / "hotline.db"


def database_url(settings: Settings) -> str:
    """The database to use; for the embedded default, its folder is created."""
    if settings.database.url is not None:
        return settings.database.url.get_secret_value()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{default_database_path(settings)}"


def engine_for(url: str, pool_size: int = 5) -> Engine:
    return make_engine(url, pool_size)


def database_engine(settings: Settings, migrate: bool = False) -> Engine:
    engine = engine_for(database_url(settings), settings.database.pool_size)
    if migrate:
        upgrade_schema(engine)
    return engine


class SchemaNotCurrent(HotlineRouterError):
    """The database is not at this release's schema and the worker may not migrate it."""


def require_current_schema(engine: Engine) -> None:
    current, head = schema_revisions(engine)
    if current != head:
        raise SchemaNotCurrent(
            f"the database schema is at {current or 'nothing'}, this release needs {head}: run"
            " `hotline-router migrate` (the one-off job) first, or set"
            " HOTLINE_DATABASE_MIGRATE_ON_START=true")


def stores_at(url: str, origin: str) -> tuple[TicketRepository, OutboxRepository]:
    """The ticket and outbox stores of a database, for commands that look from outside
    (exports, the demo's summary)."""
    engine = engine_for(url)
    return TicketRepository(engine, origin=origin), OutboxRepository(engine, origin=origin)


Check = Callable[[], Awaitable[None]]


def readiness_checks(components: Components, stream: StreamApp) -> dict[str, Check]:
    """What /readyz asks: each check raises when its part is not working."""
    settings = components.settings

    def database() -> None:
        with components.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def database_check() -> None:
        await asyncio.to_thread(database)

    async def redis_check() -> None:
        await asyncio.to_thread(components.redis.ping)

    async def kafka_check() -> None:
        await broker_answers(str(settings.kafka.bootstrap), timeout=5.0)

    watch = ProgressWatch(settings.kafka.stuck_after_seconds)

    async def intake_check() -> None:
        stream.pipeline.check_not_stuck(settings.kafka.stuck_after_seconds)
        dead = dead_agents(stream)
        if dead:
            raise IntakeStalled(f"the intake agent is not running ({', '.join(dead)})")
        stalled = watch.look(intake_positions(stream, settings.kafka.calls_topic))
        if stalled:
            partitions = ", ".join(f"{p} for {s:.0f} s" for p, s in stalled)
            raise IntakeStalled(f"records are waiting and the committed offset does not move:"
                                f" {partitions}")

    return {"database": database_check, "redis": redis_check, "kafka": kafka_check,
            "intake": intake_check}


async def broker_answers(bootstrap: str, timeout: float) -> None:
    """Raises unless a broker of `bootstrap` answers a metadata request within `timeout`."""
    from aiokafka import AIOKafkaClient

    install_aiokafka_metadata_fix()
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
    finally:
        await client.close()


def unit_tokens(settings: Settings) -> UnitTokens:
    previous = settings.api.previous_token_secrets
    return UnitTokens(settings.api.unit_token_secret.get_secret_value(),
                      previous_secrets=[s.strip() for s in (
                          previous.get_secret_value().split(",") if previous else []) if s.strip()],
                      ttl_seconds=settings.api.token_ttl_seconds)


def redis_client(settings: Settings) -> redis.Redis:
    if settings.redis.url is None:
        raise ValueError("HOTLINE_REDIS_URL is not set and no embedded Redis was started")
    return redis.Redis.from_url(settings.redis.url.get_secret_value(), decode_responses=True,
                                socket_timeout=10, socket_connect_timeout=5,
                                health_check_interval=30)


def _checked_model_and_config(settings: Settings, model: Path | None = None
                              ) -> tuple[DemandClassifier, RouterConfig, UrgencyRules]:
    classifier = DemandClassifier.load(model or settings.classifier_model)
    # Fail at start, not on every call: an artifact the code cannot use would otherwise
    # dead-letter the whole stream as processing failures.
    classifier.predict(["小区路灯不亮"])
    # Rules and threshold overrides may name only categories this model knows.
    config = load_router_config(settings.config_dir, categories=classifier.categories)
    urgency = UrgencyRules.load(settings.config_dir / "urgency.toml").with_model(
        DangerModel.load(settings.danger_model))
    return classifier, config, urgency


def call_assessor(settings: Settings, model: Path | None = None) -> CallAssessor:
    """Classifier, urgency rules and routing as intake runs them, without any service."""
    classifier, config, urgency = _checked_model_and_config(settings, model)
    return CallAssessor(config, classifier, urgency, normalise_text)


def build_components(settings: Settings, migrate: bool = True) -> Components:
    classifier, config, urgency = _checked_model_and_config(settings)
    migrate = migrate and settings.database.migrate_on_start
    engine = database_engine(settings, migrate=migrate)
    if not migrate:
        require_current_schema(engine)
    # Entries committed here are leased to this process's relay, which gets them in memory;
    # without a relay here they are due at once for the relays of other workers.
    lease = settings.outbox.lease_seconds if settings.outbox.relay_enabled else 0.0
    incidents = (IncidentStore(engine, config.incidents, config.sla.policy, text_grams,
                               origin=settings.kafka.app_id)
                 if config.incidents is not None else None)
    repository = TicketRepository(engine, origin=settings.kafka.app_id, lease_seconds=lease,
                                  incidents=incidents)
    client = redis_client(settings)
    handover = RelayHandover()
    metrics = RouterMetrics()
    surges = SurgeStore(engine, SurgePolicy(), origin=settings.kafka.app_id)
    return Components(
        settings=settings, config=config, engine=engine, repository=repository,
        outbox=OutboxRepository(engine, origin=settings.kafka.app_id), redis=client,
        queues=DepartmentQueues(client, settings.redis.queue_prefix), classifier=classifier,
        urgency=urgency,
        service=IntakeService(config, classifier, urgency, repository, handover=handover,
                              normalise=normalise_text, similarity=text_similarity,
                              surges=surges,
                              on_surge=lambda changes: count_surges(metrics, changes),
                              origin=settings.kafka.app_id),
        metrics=metrics,
        unit_tokens=unit_tokens(settings),
        handover=handover,
        reports=RateReports(repository, config.sla.rates, metrics, config.sla.policy.calendars),
        surges=surges,
        incidents=incidents,
    )


def build_runtime(components: Components) -> Runtime:
    settings = components.settings

    notices = TicketNotices()

    def make_pipeline(publisher: FaustPublisher) -> IntakePipeline:
        return IntakePipeline(components.service, publisher, components.metrics,
                              components.config.hotlines, settings.max_text_chars,
                              categories=components.classifier.categories, notices=notices,
                              threads=settings.kafka.concurrency)

    stream = create_app(settings.kafka, settings.state_dir, make_pipeline)
    relay = OutboxRelay(components.outbox, components.queues, stream.publisher,
                        components.metrics, batch_size=settings.outbox.batch_size,
                        lease_seconds=settings.outbox.lease_seconds,
                        idle_poll_seconds=settings.outbox.poll_seconds)
    if settings.outbox.relay_enabled:
        components.handover.relay = relay
    policy = components.config.sla.policy
    desk = TicketDesk(components.config.routing, components.classifier.categories,
                      components.repository, policy, handover=components.handover,
                      observe=components.metrics.observe_changes)
    timer = SlaTimer(components.repository, policy, components.metrics,
                     handover=components.handover, batch_size=settings.sla.batch_size,
                     poll_seconds=settings.sla.poll_seconds)

    async def submit(call_id: str, record: bytes) -> None:
        # To a partition this worker reads, so this worker makes the ticket and the agent's
        # request hears of it from memory, not by looking at the database. Any partition
        # will do: a call's ticket is unique by its call id in the database, whichever
        # worker takes it. Bounded like every send (faust's own producer waits 20 minutes).
        await stream.publisher.publish(
            "call", [(call_id, record)],
            partition=own_partition(stream, settings.kafka.calls_topic, call_id))

    api = create_api(components, desk, submit, readiness_checks(components, stream), notices)
    lag = None
    if settings.kafka.bootstrap is not None:
        lag = ConsumerLag(settings.kafka.bootstrap, settings.kafka.app_id,
                          settings.kafka.calls_topic).progress
    every = settings.sla.city_gauges_seconds
    city = CityGauges(
        RedisLease(components.redis, f"{settings.redis.queue_prefix}city-gauges-lease",
                   f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                   ttl_seconds=3 * every),
        components.reports, components.queues, list(components.config.routing.units),
        components.metrics, components.outbox, lag,
        rates_every_seconds=settings.sla.metrics_refresh_seconds, surges=components.surges,
        categories=components.classifier.categories)
    return Runtime(components=components, stream=stream, relay=relay, desk=desk, api=api,
                   timer=timer, city=city)
