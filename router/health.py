"""`hotline-router health`: can this process reach its database, Redis and broker?

It only looks: it creates no state folder and no SQLite file where none exists.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from router.bootstrap import broker_answers, default_database_path, engine_for, redis_client
from router.settings import Settings


def check_health(settings: Settings, timeout: float) -> dict[str, str]:
    results: dict[str, str] = {}
    try:
        results["database"] = _database(settings)
    except Exception as exc:
        results["database"] = _describe(exc)
    try:
        redis_client(settings).ping()
        results["redis"] = "ok"
    except Exception as exc:
        results["redis"] = _describe(exc)
    if settings.kafka.bootstrap is None:
        results["kafka"] = "HOTLINE_KAFKA_BOOTSTRAP is not set"
    else:
        try:
            asyncio.run(broker_answers(settings.kafka.bootstrap, timeout))
            results["kafka"] = "ok"
        except TimeoutError:
            results["kafka"] = f"no answer from {settings.kafka.bootstrap} in {timeout:g} s"
        except Exception as exc:
            results["kafka"] = _describe(exc)
    return results


def _database(settings: Settings) -> str:
    if settings.database.url is None:
        path = default_database_path(settings)  # looked at, never created
        if not path.is_file():
            return f"no database at {path} (HOTLINE_DATABASE_URL is unset)"
        url = f"sqlite:///{path}"
    else:
        url = settings.database.url.get_secret_value()
        missing = _missing_sqlite_file(url)
        if missing is not None:
            return f"no database at {missing}"
    with engine_for(url).connect() as connection:
        connection.execute(text("SELECT 1"))
    return "ok"


def _missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names if it does not exist (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    if parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database).resolve()
    return None if path.is_file() else path


def _describe(exc: BaseException) -> str:
    """The class name once: some exceptions (aiokafka's) already start their text with it."""
    name = type(exc).__name__
    message = str(exc)
    if not message:
        described = name
    elif message.startswith(name):
        described = message
    else:
        described = f"{name}: {message}"
    return described[:300]
