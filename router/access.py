"""Per-unit access tokens: a department sees only its own queue.

A token is an HMAC of the unit code under the server's secret, so tokens need no storage
and rotating the secret revokes them all. `hotline-router unit-token UNIT` prints one.
"""

from __future__ import annotations

import hashlib
import hmac


class UnitTokens:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode("utf-8")

    def issue(self, unit: str) -> str:
        digest = hmac.new(self._secret, f"unit:{unit}".encode(), hashlib.sha256).hexdigest()
        return f"{unit}.{digest[:40]}"

    def unit_of(self, token: str) -> str | None:
        """The unit a token belongs to, or None when it is not a valid token."""
        unit, _, _ = token.rpartition(".")
        if unit and hmac.compare_digest(self.issue(unit), token):
            return unit
        return None
