"""Database failures, turned into the router's own transient error at this edge."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from router.domain.errors import TransientFailure


class StoreUnavailable(TransientFailure):
    """The database did not answer (down, restarting, failed over); retry with backoff."""


@contextlib.contextmanager
def database_errors_as_transient() -> Iterator[None]:
    try:
        yield
    except (OperationalError, PoolTimeout) as exc:
        # The message may quote parameters (a citizen's text): keep only the type.
        raise StoreUnavailable(f"database unavailable ({type(exc).__name__})") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable("database connection lost") from exc
        raise
