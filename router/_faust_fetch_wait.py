"""Let a broker profile set the consumer's fetch wait, which faust fixes at 1.5 s.

faust (0.11) builds its worker's `AIOKafkaConsumer` with `fetch_max_wait_ms=1500` and offers no
setting for it. On Apache Kafka that is only the longest a fetch may wait when there is nothing
to read: the broker answers as soon as a record arrives. Tansu holds every fetch for the whole
wait even when records arrive meanwhile, so a call published to an idle intake topic waited up
to 1.5 s (0.55 s at the median) before the worker saw it: the embedded default's fixed ~0.75 s
on the agent desktop. A short wait there costs an empty fetch every 50 ms while idle.

`install_fetch_wait` wraps faust's consumer factory once per process; an app opts in with
`set_fetch_wait(app, ms)`, others keep faust's value.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_ATTRIBUTE = "_hotline_fetch_max_wait_ms"
_installed = False


def install_fetch_wait() -> None:
    global _installed
    if _installed:
        return
    original = AIOKafkaConsumerThread._create_worker_consumer

    def create(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = original(self, transport)
        wait = getattr(self.app, _ATTRIBUTE, None)
        if wait is not None:
            consumer._fetch_max_wait_ms = wait  # read when the consumer starts its fetcher
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]
    _installed = True


def set_fetch_wait(app: faust.App, milliseconds: int) -> None:
    install_fetch_wait()
    setattr(app, _ATTRIBUTE, milliseconds)
