"""Is the intake agent alive and moving? What /readyz asks of the stream beyond a batch in
progress: the agent's tasks are running, and on every partition this worker holds, the
committed offset moves while records are waiting (a consumer that stopped committing with a
backlog is stuck, however healthy the rest looks)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from router.domain.errors import HotlineRouterError


class IntakeStalled(HotlineRouterError):
    """The intake agent is not running, or a partition's backlog is not being worked."""


@dataclass(slots=True)
class _Seen:
    committed: int | None
    since: float  # when it last moved, or when there last was no backlog


class ProgressWatch:
    """Fed with (committed, end) per partition at each look; a partition has stalled when it
    has had a backlog (end beyond committed) and the same committed offset for longer than
    `limit_seconds`."""

    def __init__(self, limit_seconds: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._limit = limit_seconds
        self._clock = clock
        self._seen: dict[str, _Seen] = {}

    def look(self, positions: Mapping[str, tuple[int | None, int | None]]
             ) -> list[tuple[str, float]]:
        """The stalled partitions with how long they have been stalled."""
        now = self._clock()
        stalled = []
        for partition, (committed, end) in positions.items():
            seen = self._seen.get(partition)
            # an offset not known yet (nothing committed since this worker took the
            # partition) is no evidence either way
            backlog = committed is not None and end is not None and end > committed
            if seen is None or seen.committed != committed or not backlog:
                self._seen[partition] = _Seen(committed, now)
                continue
            if now - seen.since > self._limit:
                stalled.append((partition, now - seen.since))
        for gone in set(self._seen) - set(positions):  # no longer assigned here
            del self._seen[gone]
        return stalled
