"""The faust application: the intake agent, the outbound topics and the broker profiles."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.streams import Stream

from router._aiokafka_fix import install_aiokafka_metadata_fix
from router._faust_fetch_wait import set_fetch_wait
from router._faust_take import take_ready
from router.domain.errors import HotlineRouterError, TransientFailure
from router.pipeline import InboundRecord, IntakePipeline, log_failure
from router.ports import Channel
from router.settings import KafkaSettings

# Settings a broker needs beyond faust's defaults. Tansu (the embedded broker) answers
# ListOffsets wrongly for multi-record batches, holds group joins for half the session
# timeout and ignores LeaveGroup, so it gets one-record batches and short group timers.
BROKER_PROFILES: dict[str, dict[str, Any]] = {
    # A new group reads from the start, so calls published before the first worker count.
    # A topic missing when the group forms is only noticed at the consumer's next metadata
    # refresh (300 s by default): refresh every 5 s instead.
    "apache": {
        "consumer_auto_offset_reset": "earliest",
        "consumer_metadata_max_age_ms": 5000,
    },
    "tansu": {
        "consumer_auto_offset_reset": "earliest",
        "consumer_metadata_max_age_ms": 5000,
        "producer_max_batch_size": 1,
        "broker_session_timeout": 6,
        "broker_rebalance_timeout": 6,
        "broker_heartbeat_interval": 1,
    },
}


# How long a fetch may wait for records (faust fixes 1.5 s): Tansu holds a fetch that long
# even when records arrive, so the embedded broker gets a short wait (router._faust_fetch_wait).
FETCH_MAX_WAIT_MS: dict[str, int | None] = {"apache": None, "tansu": 50}


class BrokerUnavailable(TransientFailure):
    """The broker did not acknowledge in time; retry with backoff."""


class BrokerRefused(HotlineRouterError):
    """The broker refused a message for good (too large, not authorised): retrying is futile."""


class FaustPublisher:
    """Publishes to the outbound topics and waits for the broker's acknowledgement, for at
    most `timeout_seconds` (faust's own producer waits up to 20 minutes)."""

    def __init__(self, topics: dict[Channel, faust.TopicT], timeout_seconds: float) -> None:
        self._topics = topics
        self._timeout_seconds = timeout_seconds

    async def publish(self, channel: Channel, messages: Sequence[tuple[str, bytes]],
                      partition: int | None = None) -> None:
        """`partition` None: the key's partition."""
        topic = self._topics[channel]
        try:
            await asyncio.wait_for(self._send(topic, messages, partition),
                                   self._timeout_seconds)
        except KafkaError as exc:
            if not exc.retriable:
                raise BrokerRefused(f"broker refused the message ({type(exc).__name__})"
                                    ) from exc
            raise BrokerUnavailable(f"broker did not acknowledge ({type(exc).__name__})"
                                    ) from exc
        except (TimeoutError, ConnectionError) as exc:
            raise BrokerUnavailable(f"broker did not acknowledge ({type(exc).__name__})"
                                    ) from exc

    @staticmethod
    async def _send(topic: faust.TopicT, messages: Sequence[tuple[str, bytes]],
                    partition: int | None) -> None:
        pending = [await topic.send(key=key.encode("utf-8"), value=value, partition=partition)
                   for key, value in messages]
        await asyncio.gather(*pending)


@dataclass(frozen=True)
class StreamApp:
    app: faust.App
    publisher: FaustPublisher
    pipeline: IntakePipeline


def create_app(kafka: KafkaSettings, state_dir: Path,
               make_pipeline: Callable[[FaustPublisher], IntakePipeline]) -> StreamApp:
    """The faust app and its topics; `make_pipeline` gets the app's publisher."""
    install_aiokafka_metadata_fix()
    if kafka.bootstrap is None:
        raise ValueError("HOTLINE_KAFKA_BOOTSTRAP is not set and no embedded broker was started")
    app = faust.App(
        kafka.app_id,
        broker=[f"kafka://{server.strip()}" for server in kafka.bootstrap.split(",")],
        store="memory://",
        datadir=str(state_dir / "faust"),
        web_enabled=False,
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replicas,
        producer_acks=-1,
        value_serializer="raw",
        key_serializer="raw",
        **{"broker_session_timeout": kafka.session_timeout_seconds,
           **BROKER_PROFILES[kafka.broker_profile]},
    )
    fetch_wait = FETCH_MAX_WAIT_MS[kafka.broker_profile]
    if fetch_wait is not None:
        set_fetch_wait(app, fetch_wait)
    calls = app.topic(kafka.calls_topic, value_type=bytes, value_serializer="raw")
    outbound: dict[Channel, faust.TopicT] = {
        "call": calls,
        "dead_letter": app.topic(kafka.dead_letter_topic, value_serializer="raw"),
        "ticket_event": app.topic(kafka.ticket_events_topic, value_serializer="raw"),
        "transfer": app.topic(kafka.transfers_topic, value_serializer="raw"),
    }
    publisher = FaustPublisher(outbound, kafka.publish_timeout_seconds)
    pipeline = make_pipeline(publisher)

    @app.agent(calls, name="intake", concurrency=kafka.concurrency)
    async def intake(stream: faust.StreamT[bytes]) -> None:
        batches = take_ready(cast(Stream[bytes], stream), kafka.batch_size,
                             kafka.batch_linger_seconds)
        async for events in batches:
            records = [InboundRecord(_as_bytes(e.message.value), e.message.topic,
                                     e.message.partition, e.message.offset) for e in events]
            # The pipeline sorts every failure itself; this guard only keeps an unforeseen
            # bug from killing the agent while the worker looks alive (faust #175, #523).
            # take_ready acknowledges the batch whatever happens, so the records are kept
            # in the dead-letter topic rather than dropped.
            try:
                await pipeline.process(records)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log_failure(f"batch of {len(records)} records failed unexpectedly", exc)
                try:
                    await pipeline.dead_letter_all(records, f"{type(exc).__name__} in batch")
                except asyncio.CancelledError:
                    raise
                except Exception as again:  # the dead-letter topic itself refuses them
                    first, last = records[0], records[-1]
                    log_failure(f"records {first.topic}[{first.partition}] offsets"
                                f" {first.offset}–{last.offset} could not be dead-lettered;"
                                " they stay readable at those offsets", again)

    return StreamApp(app=app, publisher=publisher, pipeline=pipeline)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value or b"")


def intake_positions(stream: StreamApp, topic: str) -> dict[str, tuple[int | None, int | None]]:
    """(committed, end) of each partition of `topic` this worker holds, as its consumer knows
    them (no broker round trip); empty before the consumer has started."""
    consumer = cast(Any, stream.app.consumer)
    try:
        assigned = consumer.assignment()
    except Exception:  # not started yet, or stopping
        return {}
    committed = getattr(consumer, "_committed_offset", {})
    found: dict[str, tuple[int | None, int | None]] = {}
    for tp in assigned:
        if tp.topic != topic:
            continue
        try:
            end = consumer.highwater(tp)
        except Exception:
            end = None
        found[f"{tp.topic}[{tp.partition}]"] = (committed.get(tp), end)
    return found


def own_partition(stream: StreamApp, topic: str, key: str) -> int | None:
    """A partition of `topic` this worker's consumer holds, the same for the same key while
    the assignment stands; None while it holds none."""
    consumer = cast(Any, stream.app.consumer)
    try:
        held: list[int] = sorted(tp.partition for tp in consumer.assignment()
                                 if tp.topic == topic)
    except Exception:  # not started yet, or stopping
        return None
    if not held:
        return None
    return held[zlib.crc32(key.encode("utf-8")) % len(held)]


def dead_agents(stream: StreamApp) -> list[str]:
    """The agents one of whose tasks has ended: a worker whose intake is not running."""
    dead = []
    for name, agent in stream.app.agents.items():
        for actor in list(cast(Any, agent)._actors):
            task = getattr(actor, "actor_task", None)
            if task is not None and task.done():
                dead.append(str(name))
                break
    return dead
