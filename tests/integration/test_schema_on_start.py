"""Migrations as a one-off job: a worker told not to migrate refuses a database whose schema
is not this release's, with the command that fixes it, and starts once it has run."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.bootstrap import SchemaNotCurrent, require_current_schema
from router.persistence.database import make_engine, schema_revisions, upgrade_schema

pytestmark = pytest.mark.integration


def test_a_database_not_migrated_is_refused_until_the_migration_ran(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        with pytest.raises(SchemaNotCurrent, match="hotline-router migrate"):
            require_current_schema(engine)
        upgrade_schema(engine)
        require_current_schema(engine)
        current, head = schema_revisions(engine)
        assert current == head
        assert head is not None
    finally:
        engine.dispose()
