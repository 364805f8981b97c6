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
class PendingEntry:
    entry_id: str
    consumer: str
    idle_seconds: float
    deliveries: int


class DepartmentQueues:
    def __init__(self, client: redis.Redis, prefix: str = "hotline:queue:") -> None:
        # decode_responses must be on: entries are read back as text. redis-py's reply types
        # cannot know that, so replies are read as Any and shaped here.
        self._redis: Any = client
        self._prefix = prefix
        self._enqueue_once = client.register_script(_ENQUEUE_ONCE)

    def stream_key(self, unit: str) -> str:
        return f"{self._prefix}{unit}"

    def enqueue(self, entries: Sequence[QueueItem]) -> int:
        """Append each entry to its unit's stream unless it is already there; returns how many."""
        if not entries:
            return 0
        try:
            pipe = self._redis.pipeline(transaction=False)
            for entry in entries:
                flat = [item for pair in {"ticket_id": entry.ticket_id, **entry.fields}.items()
                        for item in pair]
                self._enqueue_once(
                    keys=[f"{self._prefix}enqueued:{entry.dedupe_key}",
                          self.stream_key(entry.unit)],
                    args=[_MARKER_TTL_SECONDS, GROUP, *flat], client=pipe)
            return sum(1 for added in pipe.execute() if added)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise QueueUnavailable(f"department queues unavailable: {exc}") from exc

    def claim(self, unit: str, consumer: str, count: int,
              reclaim_idle_seconds: float | None = None) -> list[ClaimedEntry]:
        """Entries now owned by `consumer`: first work left idle by others, then new work."""
        key = self.stream_key(unit)
        self._ensure_group(key)
        claimed: list[ClaimedEntry] = []
        if reclaim_idle_seconds is not None:
            reply = self._redis.xautoclaim(key, GROUP, consumer,
                                           min_idle_time=int(reclaim_idle_seconds * 1000),
                                           count=count)
            claimed += [_claimed(entry_id, fields) for entry_id, fields in reply[1] if fields]
        if len(claimed) < count:
            reply = self._redis.xreadgroup(GROUP, consumer, {key: ">"},
                                           count=count - len(claimed))
            for _stream, messages in reply or []:
                claimed += [_claimed(entry_id, fields) for entry_id, fields in messages]
        return claimed

    def acknowledge(self, unit: str, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        return int(self._redis.xack(self.stream_key(unit), GROUP, *entry_ids))

    def pending(self, unit: str, count: int = 100) -> list[PendingEntry]:
        key = self.stream_key(unit)
        self._ensure_group(key)
        rows = self._redis.xpending_range(key, GROUP, min="-", max="+", count=count)
        return [PendingEntry(row["message_id"], row["consumer"],
                             row["time_since_delivered"] / 1000, row["times_delivered"])
                for row in rows]

    def depth(self, unit: str) -> dict[str, int]:
        """Entries never delivered (waiting) and delivered but unacknowledged (pending)."""
        key = self.stream_key(unit)
        self._ensure_group(key)
        for group in self._redis.xinfo_groups(key):
            if group["name"] == GROUP:
                waiting = group.get("lag")
                if waiting is None:  # Redis before 7 reports no lag: count past the cursor
                    after = f"({group['last-delivered-id']}"
                    waiting = len(self._redis.xrange(key, min=after, max="+"))
                return {"waiting": int(waiting), "pending": int(group["pending"])}
        return {"waiting": 0, "pending": 0}

    def entries(self, unit: str, count: int = 100) -> list[ClaimedEntry]:
        """The newest entries of the unit's stream, whoever holds them."""
        rows = self._redis.xrevrange(self.stream_key(unit), count=count)
        return [_claimed(entry_id, fields) for entry_id, fields in rows]

    def _ensure_group(self, key: str) -> None:
        try:
            self._redis.xgroup_create(key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _claimed(entry_id: str, fields: Mapping[str, str]) -> ClaimedEntry:
    return ClaimedEntry(entry_id, fields.get("ticket_id", ""), dict(fields))
