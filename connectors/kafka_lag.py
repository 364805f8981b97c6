"""How far the stream workers are behind: the consumer group's committed offsets against
the end of each partition of the intake topic (aiokafka's admin and consumer clients).

A committed offset that stops moving while the lag grows is a stuck consumer; both are
exported per partition (a bounded label: the topic's partition count)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from connectors.exceptions import BrokerUnavailable
from router._aiokafka_fix import install_aiokafka_metadata_fix


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    topic: str
    partition: int
    committed: int  # the group's next offset to read; 0 before its first commit
    end: int  # the offset the next record will get

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


class ConsumerLag:
    def __init__(self, bootstrap: str, group: str, topic: str, timeout: float = 10.0) -> None:
        self._bootstrap = bootstrap
        self._group = group
        self._topic = topic
        self._timeout = timeout

    async def progress(self) -> list[PartitionProgress]:
        install_aiokafka_metadata_fix()
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap,
                                    request_timeout_ms=int(self._timeout * 1000))
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap,
                                    request_timeout_ms=int(self._timeout * 1000),
                                    enable_auto_commit=False)
        try:
            await asyncio.wait_for(admin.start(), self._timeout)
            await asyncio.wait_for(consumer.start(), self._timeout)
            partitions = sorted(consumer.partitions_for_topic(self._topic) or ()) or (
                sorted(await asyncio.wait_for(_partitions(consumer, self._topic),
                                              self._timeout)))
            wanted = [TopicPartition(self._topic, p) for p in partitions]
            committed = await asyncio.wait_for(
                admin.list_consumer_group_offsets(self._group, partitions=wanted),
                self._timeout)
            ends = await asyncio.wait_for(consumer.end_offsets(wanted), self._timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"consumer lag not read: {exc!r}") from exc
        finally:
            await consumer.stop()
            await admin.close()
        return [PartitionProgress(self._topic, tp.partition,
                                  max(committed[tp].offset, 0) if tp in committed else 0,
                                  int(ends.get(tp, 0)))
                for tp in wanted]


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()
