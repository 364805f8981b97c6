"""Which worker computes the city-wide gauges: a lease in Redis.

A worker holds the lease while it renews it within `ttl_seconds` (SET NX PX to take it, a
compare-and-expire script to keep it); if it dies the lease runs out and another worker
takes it on its next try. Only the holder exports the gauges that describe the whole city
(queue depths, open-overdue tickets, the rates, consumer lag), so Prometheus never sums the
same figure over N workers.
"""

from __future__ import annotations

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from connectors.exceptions import QueueUnavailable

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RedisLease:
    def __init__(self, client: redis.Redis, key: str, holder: str, ttl_seconds: float) -> None:
        self._redis = client
        self._key = key
        self._holder = holder
        self._ttl_ms = int(ttl_seconds * 1000)
        self._renew = client.register_script(_RENEW)

    @property
    def holder(self) -> str:
        return self._holder

    def hold(self) -> bool:
        """Keep the lease if this worker has it, take it if nobody has; True if held."""
        try:
            if int(self._renew(keys=[self._key], args=[self._holder, self._ttl_ms])):
                return True
            return bool(self._redis.set(self._key, self._holder, nx=True, px=self._ttl_ms))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise QueueUnavailable(f"Redis did not answer for the collector lease: {exc}"
                                   ) from exc

    def release(self) -> None:
        """Give the lease up at once (a clean stop), if this worker holds it."""
        try:
            if self._redis.get(self._key) == self._holder:
                self._redis.delete(self._key)
        except (RedisConnectionError, RedisTimeoutError):
            pass  # it runs out by itself
