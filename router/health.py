"""`hotline-router health`: can this process reach its database, Redis and broker?"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from router._aiokafka_fix import install_aiokafka_metadata_fix
from router.bootstrap import database_url, redis_client
from router.persistence.database import make_engine
from router.settings import Settings


def check_health(settings: Settings, timeout: float) -> dict[str, str]:
    results: dict[str, str] = {}
    try:
        with make_engine(database_url(settings)).connect() as connection:
            connection.execute(text("SELECT 1"))
        results["database"] = "ok"
    except Exception as exc:
        results["database"] = f"{type(exc).__name__}: {exc}"[:300]
    try:
        redis_client(settings).ping()
        results["redis"] = "ok"
    except Exception as exc:
        results["redis"] = f"{type(exc).__name__}: {exc}"[:300]
    if settings.kafka.bootstrap is None:
        results["kafka"] = "HOTLINE_KAFKA_BOOTSTRAP is not set"
    else:
        try:
            asyncio.run(asyncio.wait_for(_kafka(settings.kafka.bootstrap), timeout))
            results["kafka"] = "ok"
        except Exception as exc:
            results["kafka"] = f"{type(exc).__name__}: {exc}"[:300]
    return results


async def _kafka(bootstrap: str) -> None:
    from aiokafka import AIOKafkaClient

    install_aiokafka_metadata_fix()
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    try:
        await client.bootstrap()
    finally:
        await client.close()
