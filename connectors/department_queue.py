"""Department work queues (部门工单队列) on Redis Streams, one stream per unit.

Each unit's stream has one consumer group; its staff are the group's consumers, so a unit
claims work (XREADGROUP), acknowledges it (XACK), sees what is pending (XPENDING) and takes
over work a colleague left idle (XAUTOCLAIM) without anything home-made.

Enqueueing is idempotent: a Lua script sets a marker named by the entry's dedupe key (the
outbox message id) and appends to the stream in one atomic step, so an outbox entry the relay
delivers again after a crash never puts a ticket in a queue twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from connectors.exceptions import QueueUnavailable
from router.ports import QueueItem

GROUP = "staff"
URGENT, NORMAL = "urgent", "normal"
URGENT_SUFFIX = ":urgent"
URGENT_ID_PREFIX = "u"
_MARKER_TTL_SECONDS = 30 * 24 * 3600  # far beyond any replay window

_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], ARGV[2], '0', 'MKSTREAM')
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
end
return false
"""


@dataclass(frozen=True, slots=True)
class ClaimedEntry:
    entry_id: str
    ticket_id: str
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class QueueGauges:
    """One unit's queue as the city's gauges show it, both lanes together."""
    waiting: int = 0  # never delivered to anyone
    pending: int = 0  # delivered, not acknowledged
    urgent_waiting: int = 0
    oldest_waiting_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PendingEntry:
    entry_id: str
    consumer: str
    idle_seconds: float
    deliveries: int


class DepartmentQueues:
    """One unit's queue is two streams: the urgent lane (2 h tickets, possible emergencies)
    is always read before the normal one, so what cannot wait is at the top of the queue.

    Entry ids of the urgent lane carry a `u` in front ("u1733112000000-0"), so an
    acknowledgement finds its stream without a lookup.
    """

    def __init__(self, client: redis.Redis, prefix: str = "hotline:queue:") -> None:
        # decode_responses must be on: entries are read back as text. redis-py's reply types
        # cannot know that, so replies are read as Any and shaped here.
        self._redis: Any = client
        self._prefix = prefix
        self._enqueue_once = client.register_script(_ENQUEUE_ONCE)

    def stream_key(self, unit: str, lane: str = NORMAL) -> str:
        suffix = URGENT_SUFFIX if lane == URGENT else ""
        return f"{self._prefix}{unit}{suffix}"

    def _lanes(self, unit: str) -> list[tuple[str, str]]:
        """(lane, stream key), urgent first."""
        return [(lane, self.stream_key(unit, lane)) for lane in (URGENT, NORMAL)]

    def enqueue(self, entries: Sequence[QueueItem]) -> int:
        """Append each entry to its unit's stream unless it is already there; returns how many."""
        if not entries:
            return 0
        try:
            pipe = self._redis.pipeline(transaction=False)
            for entry in entries:
                flat = [item for pair in {"ticket_id": entry.ticket_id, **entry.fields}.items()
                        for item in pair]
                lane = URGENT if entry.fields.get("lane") == URGENT else NORMAL
                self._enqueue_once(
                    keys=[f"{self._prefix}enqueued:{entry.dedupe_key}",
                          self.stream_key(entry.unit, lane)],
                    args=[_MARKER_TTL_SECONDS, GROUP, *flat], client=pipe)
            return sum(1 for added in pipe.execute() if added)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise QueueUnavailable(f"department queues unavailable: {exc}") from exc

    def claim(self, unit: str, consumer: str, count: int,
              reclaim_idle_seconds: float | None = None) -> list[ClaimedEntry]:
        """Entries now owned by `consumer`: first work left idle by others, then new work;
        the urgent lane before the normal one each time."""
        lanes = self._lanes(unit)
        for _lane, key in lanes:
            self._ensure_group(key)
        claimed: list[ClaimedEntry] = []
        if reclaim_idle_seconds is not None:
            for lane, key in lanes:
                if len(claimed) >= count:
                    break
                reply = self._redis.xautoclaim(key, GROUP, consumer,
                                               min_idle_time=int(reclaim_idle_seconds * 1000),
                                               count=count - len(claimed))
                claimed += [_claimed(lane, entry_id, fields)
                            for entry_id, fields in reply[1] if fields]
        for lane, key in lanes:
            if len(claimed) >= count:
                break
            reply = self._redis.xreadgroup(GROUP, consumer, {key: ">"},
                                           count=count - len(claimed))
            for _stream, messages in reply or []:
                claimed += [_claimed(lane, entry_id, fields) for entry_id, fields in messages]
        return claimed

    def acknowledge(self, unit: str, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        acknowledged = 0
        for lane, key in self._lanes(unit):
            ids = [raw for lane_of, raw in map(_split_entry_id, entry_ids) if lane_of == lane]
            if ids:
                acknowledged += int(self._redis.xack(key, GROUP, *ids))
        return acknowledged

    def pending(self, unit: str, count: int = 100) -> list[PendingEntry]:
        found: list[PendingEntry] = []
        for lane, key in self._lanes(unit):
            self._ensure_group(key)
            rows = self._redis.xpending_range(key, GROUP, min="-", max="+",
                                              count=count - len(found))
            found += [PendingEntry(_entry_id(lane, row["message_id"]), row["consumer"],
                                   row["time_since_delivered"] / 1000, row["times_delivered"])
                      for row in rows]
            if len(found) >= count:
                break
        return found

    def depth(self, unit: str) -> dict[str, int]:
        """Entries never delivered (waiting) and delivered but unacknowledged (pending)."""
        found = self.gauges([unit], 0)[unit]
        return {"waiting": found.waiting, "pending": found.pending,
                "urgent_waiting": found.urgent_waiting}

    def oldest_waiting_seconds(self, unit: str, now_ms: int) -> float:
        """How long the oldest entry nobody has claimed yet has waited (0: none waits)."""
        return self.gauges([unit], now_ms)[unit].oldest_waiting_seconds

    def gauges(self, units: Sequence[str], now_ms: int) -> dict[str, QueueGauges]:
        """Each unit's depth and oldest waiting age, in two pipelined round trips whatever
        the number of units. A stream entry's id is the millisecond it was added; a stream
        not made yet is an empty queue (nothing is created to read it)."""
        lanes = [(unit, lane, key) for unit in units for lane, key in self._lanes(unit)]
        try:
            groups = self._pipelined([("xinfo_groups", (key,), {}) for *_, key in lanes])
            cursors = {key: group for (*_, key), found in zip(lanes, groups, strict=True)
                       if not _no_such_key(found) for group in _answer(found)
                       if group["name"] == GROUP}
            reads: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
            for key, group in cursors.items():
                after = f"({group['last-delivered-id']}"
                reads.append(("xrange", (key,), {"min": after, "max": "+", "count": 1}))
                if group.get("lag") is None:  # Redis before 7: count past the cursor
                    reads.append(("xrange", (key,), {"min": after, "max": "+"}))
            answers = iter(self._pipelined(reads))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise QueueUnavailable(f"department queues unavailable: {exc}") from exc
        found = {unit: QueueGauges() for unit in units}
        for unit, lane, key in lanes:
            group = cursors.get(key)
            if group is None:
                continue
            first = _answer(next(answers))
            lag = group.get("lag")
            waiting = int(lag) if lag is not None else len(_answer(next(answers)))
            age = (now_ms - int(str(first[0][0]).split("-", 1)[0])) / 1000 if first else 0.0
            held = found[unit]
            found[unit] = QueueGauges(
                waiting=held.waiting + waiting, pending=held.pending + int(group["pending"]),
                urgent_waiting=waiting if lane == URGENT else held.urgent_waiting,
                oldest_waiting_seconds=max(held.oldest_waiting_seconds, age))
        return found

    def _pipelined(self, commands: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]
                   ) -> list[Any]:
        if not commands:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for name, args, kwargs in commands:
            getattr(pipe, name)(*args, **kwargs)
        return list(pipe.execute(raise_on_error=False))

    def entries(self, unit: str, count: int = 100) -> list[ClaimedEntry]:
        """The newest entries of the unit's queue, whoever holds them: urgent ones first."""
        found: list[ClaimedEntry] = []
        for lane, key in self._lanes(unit):
            rows = self._redis.xrevrange(key, count=count - len(found))
            found += [_claimed(lane, entry_id, fields) for entry_id, fields in rows]
            if len(found) >= count:
                break
        return found

    def _ensure_group(self, key: str) -> None:
        try:
            self._redis.xgroup_create(key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _no_such_key(answer: Any) -> bool:
    return isinstance(answer, ResponseError) and "no such key" in str(answer).lower()


def _answer(answer: Any) -> Any:
    if isinstance(answer, Exception):  # a pipelined command's own error, as it would raise
        raise answer
    return answer


def _entry_id(lane: str, raw: str) -> str:
    return f"{URGENT_ID_PREFIX}{raw}" if lane == URGENT else raw


def _split_entry_id(entry_id: str) -> tuple[str, str]:
    if entry_id.startswith(URGENT_ID_PREFIX):
        return URGENT, entry_id[len(URGENT_ID_PREFIX):]
    return NORMAL, entry_id


def _claimed(lane: str, entry_id: str, fields: Mapping[str, str]) -> ClaimedEntry:
    return ClaimedEntry(_entry_id(lane, entry_id), fields.get("ticket_id", ""), dict(fields))
