"""Access tokens: signed, expiring credentials naming a unit (and, optionally, the person).

A token is a JWT (PyJWT, HS256) with the unit (`unit`), the person it was issued to (`sub`,
optional), its role (`role`: "staff" works for its unit, the default; "manager" reads every
unit's tickets, queues and rates and changes nothing), its issue and expiry times, and in
its header the id of the key that signed it (`kid`). Rotation: the worker signs with
HOTLINE_API_UNIT_TOKEN_SECRET and still accepts the secrets listed in
HOTLINE_API_PREVIOUS_TOKEN_SECRETS, so tokens issued before a change stay valid until they
expire; dropping a secret from that list revokes every token it signed.
`hotline-router unit-token UNIT [--person ID] [--role manager] [--ttl SECONDS]` prints one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import jwt

DEFAULT_TOKEN_SECRET = "change-me"  # the settings' placeholder, refused by the worker
MIN_SECRET_CHARS = 32
_AUDIENCE = "hotline-router"
_ALGORITHM = "HS256"


def is_strong_secret(value: str | None) -> bool:
    """Long enough to resist guessing and not the published placeholder."""
    return value is not None and len(value) >= MIN_SECRET_CHARS and (
        value != DEFAULT_TOKEN_SECRET)


def key_id(secret: str) -> str:
    """A public name for a secret: tokens say which key signed them without revealing it."""
    return hashlib.sha256(f"kid:{secret}".encode()).hexdigest()[:12]


class Role(StrEnum):
    STAFF = "staff"  # works its unit's tickets (the centre's staff: the dispatchers' desk)
    AGENT = "agent"  # the centre's call-takers: take calls and read tickets, decide nothing
    MANAGER = "manager"  # reads everything, changes nothing


@dataclass(frozen=True, slots=True)
class Credential:
    unit: str
    person: str | None  # who it was issued to, for the audit trail; None: the unit itself
    expires_at: float  # Unix seconds
    role: Role = Role.STAFF

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


class UnitTokens:
    def __init__(self, secret: str, previous_secrets: Sequence[str] = (),
                 ttl_seconds: float = 12 * 3600,
                 clock: Callable[[], float] = time.time) -> None:
        self._signing = (key_id(secret), secret)
        self._keys = {key_id(s): s for s in (secret, *previous_secrets) if s}
        self._ttl_seconds = ttl_seconds
        self._clock = clock

    def issue(self, unit: str, person: str | None = None, ttl_seconds: float | None = None,
              role: Role = Role.STAFF) -> str:
        now = self._clock()
        claims: dict[str, object] = {
            "unit": unit, "aud": _AUDIENCE, "iat": int(now),
            "exp": int(now + (ttl_seconds if ttl_seconds is not None else self._ttl_seconds))}
        if person:
            claims["sub"] = person
        if role is not Role.STAFF:
            claims["role"] = role.value
        kid, secret = self._signing
        return jwt.encode(claims, secret, algorithm=_ALGORITHM, headers={"kid": kid})

    def credential_of(self, token: str) -> Credential | None:
        """The credential a token carries, or None: forged, expired, or signed by a key that
        is no longer accepted."""
        try:
            secret = self._keys.get(str(jwt.get_unverified_header(token).get("kid")))
            if secret is None:
                return None
            claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE,
                                options={"require": ["exp", "iat", "unit"],
                                         # expiry is judged below, by our own clock
                                         "verify_exp": False})
        except jwt.PyJWTError:
            return None
        if not isinstance(claims["exp"], int | float) or claims["exp"] <= self._clock():
            return None
        unit, person = claims.get("unit"), claims.get("sub")
        if not isinstance(unit, str) or (person is not None and not isinstance(person, str)):
            return None
        try:
            role = Role(claims.get("role", Role.STAFF.value))
        except ValueError:
            return None
        return Credential(unit=unit, person=person, expires_at=float(claims["exp"]), role=role)

    def unit_of(self, token: str) -> str | None:
        """The unit a token belongs to, or None when it is not a valid token."""
        credential = self.credential_of(token)
        return credential.unit if credential else None
