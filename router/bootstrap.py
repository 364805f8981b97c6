"""The composition root: the only place that reads settings and builds clients."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from classifiers import DemandClassifier, UrgencyRules
from connectors.department_queue import DepartmentQueues
from router.access import UnitTokens
from router.config_files import RouterConfig, load_router_config
from router.intake_service import IntakeService
from router.metrics import RouterMetrics
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.tickets import TicketRepository
from router.settings import Settings


@dataclass
class Components:
    settings: Settings
    config: RouterConfig
    engine: Engine
    repository: TicketRepository
    redis: redis.Redis
    queues: DepartmentQueues
    classifier: DemandClassifier
    urgency: UrgencyRules
    service: IntakeService
    metrics: RouterMetrics
    unit_tokens: UnitTokens

    def close(self) -> None:
        self.redis.close()
        self.engine.dispose()


def database_url(settings: Settings) -> str:
    if settings.database.url is not None:
        return settings.database.url.get_secret_value()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.state_dir.resolve() / 'hotline.db'}"


def redis_client(settings: Settings) -> redis.Redis:
    if settings.redis.url is None:
        raise ValueError("HOTLINE_REDIS_URL is not set and no embedded Redis was started")
    return redis.Redis.from_url(settings.redis.url.get_secret_value(), decode_responses=True,
                                socket_timeout=10, socket_connect_timeout=5,
                                health_check_interval=30)


def build_components(settings: Settings, migrate: bool = True) -> Components:
    config = load_router_config(settings.config_dir)
    engine = make_engine(database_url(settings), settings.database.pool_size)
    if migrate:
        upgrade_schema(engine)
    repository = TicketRepository(engine)
    client = redis_client(settings)
    classifier = DemandClassifier.load(settings.classifier_model)
    # Fail at start, not on every call: an artifact the code cannot use would otherwise
    # dead-letter the whole stream as processing failures.
    classifier.predict(["小区路灯不亮"])
    urgency = UrgencyRules.load(settings.config_dir / "urgency.toml")
    return Components(
        settings=settings, config=config, engine=engine, repository=repository, redis=client,
        queues=DepartmentQueues(client, settings.redis.queue_prefix), classifier=classifier,
        urgency=urgency,
        service=IntakeService(config, classifier, urgency, repository),
        metrics=RouterMetrics(),
        unit_tokens=UnitTokens(settings.api.unit_token_secret.get_secret_value()),
    )
