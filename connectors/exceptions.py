"""Errors raised by connectors."""

from __future__ import annotations

from router.domain.calls import RejectionReason
from router.domain.errors import PermanentRecordError, TransientFailure


class MalformedCallRecord(PermanentRecordError):
    """A call record that can never become a ticket as it is; it goes to the dead-letter topic."""

    def __init__(self, reason: RejectionReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class QueueUnavailable(TransientFailure):
    """The department queue store did not answer; retry with backoff, nothing is lost."""


class BrokerUnavailable(TransientFailure):
    """The broker did not answer a question about the stream (offsets, lag)."""
