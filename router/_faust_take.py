"""Batches that leave as soon as a call is waiting, and grow while the one before is handled.

faust's `Stream.take_events(max, within)` yields when `max` events are buffered or when a
`within`-second timer, restarted after each batch, runs out; and it stops buffering while a
batch is handled. So a lone call waited for the rest of the window (0.2 s by default) on every
call an agent made, and under load every batch cost the window on top of its handling.

`take_ready` yields as soon as an event is buffered, after `linger` seconds for a burst to
gather, and keeps buffering (up to `max_`) while the caller handles the batch before, so the
next batch is ready the moment the caller asks: batches are small when calls are few and
grow to `max_` by themselves under load. As in faust's own, events are acknowledged (their
offsets become committable) only once the caller comes back for the next batch, so a crash
mid-batch leaves its records to be read again. It uses the same parts of `Stream` as
`take_events` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from faust.streams import Stream
from faust.types import EventT


async def take_ready(stream: Stream[Any], max_: int, linger: float
                     ) -> AsyncIterator[list[EventT[Any]]]:
    events: list[EventT[Any]] = []
    waiting = asyncio.Event()  # an event is buffered
    room = asyncio.Event()  # the buffer holds fewer than max_
    room.set()

    async def buffer(value: Any) -> Any:
        # backpressure: the stream reads no further meanwhile
        while len(events) >= max_ and not stream.should_stop:
            room.clear()
            await stream.wait(room)  # type: ignore[arg-type]  # any .wait()able, as in faust
        event = stream.current_event
        if event is None:
            raise RuntimeError("take_ready found no current event")
        events.append(event)
        waiting.set()
        return value

    acks_were_enabled = stream.enable_acks
    stream.enable_acks = False  # acknowledged below, once handled
    stream.add_processor(buffer)
    stream._enable_passive(aiter(stream.channel))  # type: ignore[arg-type]
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(waiting)  # type: ignore[arg-type]
            if not events:
                continue  # stopping
            if linger > 0 and len(events) < max_:
                await asyncio.sleep(linger)
            batch = events[:max_]
            del events[:len(batch)]
            if not events:
                waiting.clear()
            room.set()
            try:
                yield batch
            finally:
                for event in batch:
                    await stream.ack(event)
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(buffer)
