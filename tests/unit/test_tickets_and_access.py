"""Ticket statuses, ticket ids and unit tokens."""

from __future__ import annotations

import jwt
import pytest
from pydantic import SecretStr

from router.access import UnitTokens, key_id
from router.domain.errors import InvalidTransition
from router.domain.routing import Disposition
from router.domain.tickets import TicketStatus, check_transition, initial_status, ticket_id_for
from router.settings import ApiSettings, Settings
from router.worker import refuse_unsafe_secrets


def test_each_disposition_starts_its_ticket_in_the_matching_status() -> None:
    assert initial_status(Disposition.DISPATCHED) is TicketStatus.DISPATCHED
    assert initial_status(Disposition.TRIAGE) is TicketStatus.AWAITING_TRIAGE
    assert initial_status(Disposition.TRANSFERRED) is TicketStatus.TRANSFERRED


def test_a_dispatched_ticket_can_be_claimed_but_a_transferred_one_cannot() -> None:
    assert check_transition(TicketStatus.DISPATCHED, TicketStatus.CLAIMED) is TicketStatus.CLAIMED
    with pytest.raises(InvalidTransition):
        check_transition(TicketStatus.TRANSFERRED, TicketStatus.CLAIMED)


def test_the_same_call_always_names_the_same_ticket() -> None:
    assert ticket_id_for("CTI-1") == ticket_id_for("CTI-1")
    assert ticket_id_for("CTI-1") != ticket_id_for("CTI-2")
    assert ticket_id_for("CTI-1").startswith("T")


SECRET = "s" * 40


def test_a_unit_token_opens_only_its_own_unit() -> None:
    tokens = UnitTokens(SECRET)
    token = tokens.issue("transport")
    assert tokens.unit_of(token) == "transport"
    header, claims, signature = token.split(".")
    other = jwt.encode({"unit": "education", "aud": "hotline-router", "iat": 0,
                        "exp": 2**40}, "guessed" * 6, algorithm="HS256",
                       headers={"kid": jwt.get_unverified_header(token)["kid"]})
    assert tokens.unit_of(other) is None  # the right key id does not make a forgery valid
    assert tokens.unit_of(f"{header}.{claims}.{signature[::-1]}") is None
    assert UnitTokens("o" * 40).unit_of(token) is None
    assert tokens.unit_of("garbage") is None


def test_a_token_expires() -> None:
    now = [1_000_000.0]
    tokens = UnitTokens(SECRET, ttl_seconds=60, clock=lambda: now[0])
    token = tokens.issue("transport", person="staff-7")
    credential = tokens.credential_of(token)
    assert credential is not None
    assert (credential.unit, credential.person, credential.expires_at) == (
        "transport", "staff-7", 1_000_060.0)
    now[0] += 61
    assert tokens.credential_of(token) is None


def test_rotating_the_secret_keeps_earlier_tokens_until_the_old_key_is_dropped() -> None:
    old = UnitTokens("old" * 14).issue("transport")
    rotated = UnitTokens("new" * 14, previous_secrets=["old" * 14])
    assert rotated.unit_of(old) == "transport"
    assert jwt.get_unverified_header(rotated.issue("transport"))["kid"] == key_id("new" * 14)
    assert UnitTokens("new" * 14).unit_of(old) is None  # old key dropped: revoked


@pytest.mark.parametrize(("secret", "metrics_token"), [
    ("change-me", "m" * 40),  # the published placeholder, on SQLite as anywhere
    ("short-secret", "m" * 40),
    ("s" * 40, None),  # /metrics left open
    ("s" * 40, "short"),
])
def test_the_worker_refuses_forgeable_tokens_and_open_metrics(
        secret: str, metrics_token: str | None) -> None:
    settings = Settings(api=ApiSettings(
        unit_token_secret=SecretStr(secret),
        metrics_token=SecretStr(metrics_token) if metrics_token else None))
    with pytest.raises(SystemExit):
        refuse_unsafe_secrets(settings)


def test_the_worker_accepts_long_random_secrets() -> None:
    refuse_unsafe_secrets(Settings(api=ApiSettings(unit_token_secret=SecretStr("s" * 40),
                                                   metrics_token=SecretStr("m" * 40))))
