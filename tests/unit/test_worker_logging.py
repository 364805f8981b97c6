"""The worker's log level is the root logger's: faust's spinner used to turn a WARNING level
into a DEBUG root logger (every debug call then built a record nobody printed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from router.settings import KafkaSettings
from router.streams import create_app
from router.worker import faust_worker


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.mark.usefixtures("root_logging")
@pytest.mark.parametrize("level", ["WARNING", "ERROR", "INFO"])
def test_the_root_logger_keeps_the_configured_level(level: str, tmp_path: Path) -> None:
    stream = create_app(KafkaSettings(bootstrap="127.0.0.1:1"), tmp_path,
                        lambda _publisher: cast(Any, None))
    worker = faust_worker(stream.app, [], level)
    worker._setup_logging()
    assert logging.getLogger().level == logging.getLevelName(level)
    assert not logging.getLogger().isEnabledFor(logging.DEBUG)
