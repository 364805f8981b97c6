"""Per-unit access tokens: a department sees only its own queue.

A token is an HMAC of the unit code under the server's secret, so tokens need no storage
and rotating the secret revokes them all. `hotline-router unit-token UNIT` prints one.
"""

from __future__ import annotations

import hashlib
import hmac

DEFAULT_TOKEN_SECRET = "change-me"  # the settings' placeholder, refused by the worker
MIN_SECRET_CHARS = 32


def is_strong_secret(value: str | None) -> bool:
    """Long enough to resist guessing and not the published placeholder."""
    return value is not None and len(value) >= MIN_SECRET_CHARS and (
        value != DEFAULT_TOKEN_SECRET)


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
