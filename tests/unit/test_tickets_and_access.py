"""Ticket statuses, ticket ids and unit tokens."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from router.access import UnitTokens
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


def test_a_unit_token_opens_only_its_own_unit() -> None:
    tokens = UnitTokens("secret")
    token = tokens.issue("transport")
    assert tokens.unit_of(token) == "transport"
    forged = "education." + token.split(".", 1)[1]
    assert tokens.unit_of(forged) is None
    assert UnitTokens("other-secret").unit_of(token) is None
    assert tokens.unit_of("garbage") is None


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
