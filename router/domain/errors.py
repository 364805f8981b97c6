"""The project's exception hierarchy: one root, permanent and transient errors apart."""

from __future__ import annotations


class HotlineRouterError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigurationError(HotlineRouterError):
    """The configuration on disk is invalid; the message names the file and the field."""


class PermanentRecordError(HotlineRouterError):
    """A record can never be processed as it is: it goes to the dead-letter topic."""


class InvalidTransition(HotlineRouterError):
    """A ticket was asked to move to a status its current status does not allow."""
