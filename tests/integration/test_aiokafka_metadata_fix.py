"""The aiokafka 0.14.0 producer hang that router._aiokafka_fix works around, on a real broker.

Scenario (see the module docstring of router._aiokafka_fix):
  1. topic A exists; the producer's client fetches metadata for all topics (faust does this
     after declaring each topic; Tansu already answers the bootstrap request with all topics),
     so A is known but not tracked in ``client._topics``;
  2. a record for A is queued (``linger_ms`` keeps it in the accumulator for a moment);
  3. the producer sends to topic B, created after that fetch: the refresh for B covers only
     the tracked topics ``{B}`` and A's metadata is dropped;
  4. without the fix A's record is never delivered and ``producer.stop()`` would hang;
     with it A is tracked in step 2 and the record is delivered.

Every wait is bounded by ``asyncio.wait_for``, so the test cannot hang the run.

Broker: the one named by HOTLINE_KAFKA_BOOTSTRAP (CI: Apache Kafka 4.x from ops/kafka), or else
a Tansu broker started here on a free 127.0.0.1 port. The hang reproduces on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import types
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiokafka
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient

from router._aiokafka_fix import (
    PINNED_AIOKAFKA_VERSION,
    aiokafka_version_matches_pin,
    install_aiokafka_metadata_fix,
)
from tests.conftest import Services

pytestmark = pytest.mark.integration

LINGER_MS = 1000  # keeps A's record queued while the refresh for B lands (that takes ms)
HANG_PROBE_SECONDS = 5.0  # well past LINGER_MS: a delivery that has not happened by now hangs
DELIVERY_TIMEOUT = 20.0


# --- broker fixture ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def kafka_bootstrap(services: Services) -> str:
    """The session's broker: HOTLINE_KAFKA_BOOTSTRAP when set, else the embedded Tansu."""
    return services.kafka_bootstrap


# --- scenario -------------------------------------------------------------------------------


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()


async def _until(predicate: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.1)


async def _start_scenario(
    bootstrap: str, *, unpatched: bool
) -> tuple[AIOKafkaProducer, str, asyncio.Future[Any]]:
    """Run steps 1-3; return the producer, topic A and the future of A's queued record."""
    run = uuid.uuid4().hex[:8]
    topic_a, topic_b = f"aiokafka-fix-{run}-a", f"aiokafka-fix-{run}-b"
    await _create_topic(bootstrap, topic_a)

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=LINGER_MS, request_timeout_ms=60_000
    )
    client: Any = producer.client
    if unpatched:
        # This producer alone gets aiokafka's own method, whatever the process installed.
        method = AIOKafkaClient._wait_on_metadata
        original = getattr(method, "__wrapped__", method)
        client._wait_on_metadata = types.MethodType(original, client)
    await producer.start()

    async def a_known() -> bool:
        await client.force_metadata_update()  # all topics: nothing is tracked yet
        return client.cluster.partitions_for_topic(topic_a) is not None

    await asyncio.wait_for(_until(a_known, 15), 20)
    assert topic_a not in client._topics, "precondition: A known from an all-topics fetch"

    await _create_topic(bootstrap, topic_b)  # unknown to this producer's metadata
    delivery_a: asyncio.Future[Any] = await asyncio.wait_for(
        producer.send(topic_a, b"record for A"), DELIVERY_TIMEOUT
    )
    await asyncio.wait_for(producer.send_and_wait(topic_b, b"record for B"), DELIVERY_TIMEOUT)
    return producer, topic_a, delivery_a


async def _stop(producer: AIOKafkaProducer) -> None:
    # A stuck producer is reported by the assertions; it must never hang the run.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(producer.stop(), 15)


# --- tests ----------------------------------------------------------------------------------


def test_aiokafka_is_the_pinned_version() -> None:
    """The fix patches a private method: re-check it before moving the pin."""
    assert aiokafka_version_matches_pin(), (
        f"aiokafka {aiokafka.__version__} installed, router._aiokafka_fix was verified on "
        f"{PINNED_AIOKAFKA_VERSION}: re-run this module's tests and update the pin"
    )


def test_install_is_idempotent() -> None:
    install_aiokafka_metadata_fix()
    first = AIOKafkaClient._wait_on_metadata
    install_aiokafka_metadata_fix()
    assert AIOKafkaClient._wait_on_metadata is first
    wrapped = first.__wrapped__
    assert not hasattr(wrapped, "__wrapped__"), "wrapped twice"


async def test_without_fix_queued_records_for_an_untracked_topic_hang(kafka_bootstrap: str) -> None:
    producer, topic_a, delivery_a = await _start_scenario(kafka_bootstrap, unpatched=True)
    client: Any = producer.client
    try:
        done, _ = await asyncio.wait({delivery_a}, timeout=HANG_PROBE_SECONDS)
        assert not done, "the record for A was delivered: the aiokafka bug did not reproduce"
        assert topic_a not in client._topics
        assert client.cluster.partitions_for_topic(topic_a) is None, "A's metadata dropped"

        # The diagnosis: once A is tracked, the next refresh finds its leader again.
        client.add_topic(topic_a)
        await asyncio.wait_for(asyncio.shield(delivery_a), DELIVERY_TIMEOUT)
    finally:
        await _stop(producer)


async def test_fix_tracks_the_topic_and_the_queued_record_is_delivered(
    kafka_bootstrap: str,
) -> None:
    install_aiokafka_metadata_fix()
    producer, topic_a, delivery_a = await _start_scenario(kafka_bootstrap, unpatched=False)
    client: Any = producer.client
    try:
        metadata = await asyncio.wait_for(asyncio.shield(delivery_a), DELIVERY_TIMEOUT)
        assert metadata.topic == topic_a
        assert topic_a in client._topics
        assert client.cluster.partitions_for_topic(topic_a) is not None
    finally:
        await _stop(producer)
    assert producer._closed, "producer.stop() completed"
