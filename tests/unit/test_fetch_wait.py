"""The embedded broker's consumer fetches with a short wait: Tansu holds a fetch for its whole
wait even when records arrive, so faust's fixed 1.5 s made every idle call wait (finding 18
of the bad-input probe: ~0.75 s on the agent desktop on the embedded default)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from router.settings import KafkaSettings
from router.streams import FETCH_MAX_WAIT_MS, create_app


@pytest.mark.parametrize(("profile", "expected"), [("tansu", 50), ("apache", 1500)])
def test_the_consumer_fetch_wait_follows_the_broker_profile(
        profile: str, expected: int, tmp_path: Path) -> None:
    async def built() -> int:
        settings = KafkaSettings(bootstrap="127.0.0.1:1", broker_profile=profile)
        stream = create_app(settings, tmp_path, lambda _publisher: cast(Any, None))
        thread = cast(Any, stream.app.consumer)._thread
        consumer = thread._create_consumer(loop=asyncio.get_running_loop())
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()  # never started: only closes its client

    assert asyncio.run(built()) == expected
    assert FETCH_MAX_WAIT_MS[profile] in (expected, None)
