"""Many rows inserted with ON CONFLICT DO NOTHING … RETURNING, cheaply on PostgreSQL.

SQLAlchemy sends such an executemany as one long multi-row INSERT ("insertmanyvalues"). On
psycopg a statement longer than 4 kB is never kept in psycopg's statement cache, so the
placeholders of every batch are parsed again in Python: a ticket has 40 columns, and the
parse cost about 400 µs of CPU per ticket row. Here PostgreSQL gets the one-row statement,
prepared once, for each row in psycopg's pipeline mode (`executemany(returning=True)`): one
round trip and about 80 µs a row. Other databases take SQLAlchemy's own path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError

Processor = Callable[[Any], Any]


def insert_new(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
               conflict: str, returning: Sequence[str]) -> list[tuple[Any, ...]]:
    """Insert the rows whose `conflict` column is new; the `returning` columns of each row
    inserted (a row whose key was taken returns nothing). Every row has the same keys."""
    if not rows:
        return []
    if connection.dialect.driver != "psycopg":
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        statement = (insert(table).on_conflict_do_nothing(index_elements=[conflict])
                     .returning(*(table.c[name] for name in returning)))
        return [tuple(row) for row in connection.execute(statement, list(rows))]
    keys = tuple(rows[0])
    sql, processors = _one_row_insert(table, keys, conflict, tuple(returning),
                                      connection.dialect)
    try:
        parameters = [{key: (process(row[key]) if process else row[key])
                       for key, process in processors} for row in rows]
    except (TypeError, ValueError) as exc:  # a value its column refuses, as SQLAlchemy says it
        raise StatementError(str(exc), sql, None, exc) from exc
    raw = cast(psycopg.Connection[Any], connection.connection.driver_connection)
    found: list[tuple[Any, ...]] = []
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, parameters, returning=True)
        while True:
            found.extend(tuple(row) for row in cursor.fetchall())
            if not cursor.nextset():
                break
    except psycopg.Error as exc:
        # as SQLAlchemy raises it, so callers see one family of errors; a lost connection is
        # not given back to the pool
        disconnected = raw.broken or raw.closed
        if disconnected:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=disconnected,
                                  dialect=connection.dialect) from exc
    finally:
        cursor.close()
    return found


@lru_cache(maxsize=64)
def _one_row_insert(table: Table, keys: tuple[str, ...], conflict: str,
                    returning: tuple[str, ...], dialect: Dialect
                    ) -> tuple[str, tuple[tuple[str, Processor | None], ...]]:
    def names(found: Sequence[str]) -> str:
        return ", ".join(f'"{name}"' for name in found)

    values = ", ".join(f"%({key})s" for key in keys)
    sql = (f'INSERT INTO "{table.name}" ({names(keys)}) VALUES ({values})'
           f' ON CONFLICT ("{conflict}") DO NOTHING RETURNING {names(returning)}')
    # the column types' own conversions (JSON, UTC times, booleans), as SQLAlchemy applies them
    processors = tuple((key, table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
                       for key in keys)
    return sql, processors
