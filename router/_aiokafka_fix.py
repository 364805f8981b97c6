"""Work around an aiokafka 0.14.0 producer hang: topics learned untracked lose their metadata.

Pinned: aiokafka==0.14.0 (pyproject.toml). Re-check this module whenever the pin moves.

The bug
-------
``AIOKafkaClient`` keeps ``_topics``, the set of topics it refreshes metadata for. An empty
set means "all topics", and every refresh *replaces* the cluster metadata with the answer.
``_wait_on_metadata(topic)`` (called by ``AIOKafkaProducer.send`` and ``partitions_for``)
returns at once when the topic is already present in the cluster metadata, and only calls
``add_topic`` for a topic it does not know yet. So a topic learned from an all-topics
metadata fetch is used without ever being tracked:

1. The client fetches metadata for all topics: on Tansu the bootstrap request already does
   (it answers an empty topic list with every topic); on Apache Kafka any refresh while
   ``_topics`` is empty does, such as the ``force_metadata_update()`` faust makes after
   declaring each topic, or the periodic refresh every ``metadata_max_age_ms``.
2. The producer sends to topic A, which is in that metadata: A is not added to ``_topics``.
3. It sends to a topic B that the metadata lacks (auto-created, or created since):
   ``add_topic(B)`` makes ``_topics == {B}``, and the refresh that follows covers B only.
4. A disappears from the cluster metadata. Batches for A still in the accumulator now have
   no leader; the sender asks for a metadata refresh, which again covers only ``{B}``, and so
   on forever (until the batch expires after ``request_timeout_ms``; faust sets 20 minutes).

Symptom: sends to A never complete, ``producer.flush()`` / ``producer.stop()`` hang, a faust
worker stops processing and does not exit on SIGTERM. The hang needs a batch for A to be
queued (not yet drained to the broker) when the narrowing refresh lands, so it shows under
load, with ``linger_ms`` > 0, or at shutdown. A later send to A would re-add it (A is then
unknown, so ``add_topic`` runs), which is why it looks intermittent. It reproduces on Tansu
0.6.0 and on Apache Kafka 4.x alike: tests/integration/test_aiokafka_metadata_fix.py.

The fix
-------
Track every topic a send waits on: when ``_wait_on_metadata`` is asked about a topic that is
already in the cluster metadata but not in ``_topics``, add it to ``_topics`` before the
original method runs. This is exactly what ``add_topic`` does for an unknown topic, minus a
refresh that is not needed (the metadata for the topic is current). From then on every refresh
includes every topic the producer has batches for, so a batch can lose its leader only
transiently (e.g. a refresh already in flight), and the sender's next refresh finds it again.
Topics are never removed from ``_topics`` by the producer, as upstream behaves after the first
``add_topic``; the cost is metadata requests that name the topics this process writes to.
Consumers reset ``_topics`` with ``set_topics`` on (re)subscription, which is unaffected.

``install_aiokafka_metadata_fix()`` patches the class once per process (idempotent) and must
run before producers start sending; the worker, the replay tool, the health check and the
tests call it at start-up.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import aiokafka
from aiokafka.client import AIOKafkaClient

PINNED_AIOKAFKA_VERSION = "0.14.0"

_MARKER = "_hotline_tracks_waited_topics"

_WaitOnMetadata = Callable[[Any, str], Awaitable[set[int]]]


def install_aiokafka_metadata_fix() -> None:
    """Make ``AIOKafkaClient._wait_on_metadata`` track the topic it waits on. Idempotent."""
    original: _WaitOnMetadata = AIOKafkaClient._wait_on_metadata
    if getattr(original, _MARKER, False):
        return

    @functools.wraps(original)
    async def _wait_on_metadata(self: Any, topic: str) -> set[int]:
        # Known to the cluster metadata but untracked: track it, or the next refresh for
        # the tracked topics only would drop it while batches for it are queued.
        if topic not in self._topics and self.cluster.partitions_for_topic(topic) is not None:
            self._topics.add(topic)
        return await original(self, topic)

    setattr(_wait_on_metadata, _MARKER, True)
    AIOKafkaClient._wait_on_metadata = _wait_on_metadata


def aiokafka_version_matches_pin() -> bool:
    """True when the installed aiokafka is the version this fix was written and tested for."""
    return str(aiokafka.__version__) == PINNED_AIOKAFKA_VERSION
