"""The project's exception hierarchy: one root, permanent and transient errors apart."""

from __future__ import annotations


class HotlineRouterError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigurationError(HotlineRouterError):
    """The configuration on disk is invalid; the message names the file and the field."""


class PermanentRecordError(HotlineRouterError):
    """A record can never be processed as it is: it goes to the dead-letter topic."""


class TransientFailure(HotlineRouterError):
    """A service the router depends on (database, Redis, broker) did not answer in time.

    Retry with backoff: nothing has been acknowledged, so nothing is lost. Adapters raise
    subclasses of this instead of their client library's errors.
    """


class InvalidTransition(HotlineRouterError):
    """A ticket was asked to do something its current state does not allow."""

    def __init__(self, message: str, current: str | None = None) -> None:
        super().__init__(message)
        self.current = current  # the ticket's status, for the 409 answer


class ConcurrentChange(InvalidTransition):
    """Someone else changed the ticket between reading and saving it (optimistic lock)."""


class NotYourTicket(HotlineRouterError):
    """A unit tried to act on a ticket of another unit."""


class UnknownReport(HotlineRouterError):
    """No such incident, or the incident holds no such report."""
