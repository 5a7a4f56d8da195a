"""Typed errors raised by the core; front ends render them (HTTP JSON, TUI notifications, CLI lines)."""

from __future__ import annotations


class PreclinicalError(Exception):
    """Base class for errors a user can meet."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PreclinicalError):
    """The thing asked for does not exist (or was deleted)."""


class InvalidInput(PreclinicalError):
    """The request is malformed; the message names the field."""

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.extra = extra or {}


class Conflict(PreclinicalError):
    """The request clashes with the current state."""


class ProviderError(PreclinicalError):
    """A target agent or a language model call failed.

    `code` is one of the error codes in `domain.errors` (RATE_LIMIT, SERVER_ERROR, ...);
    `retryable` says whether trying again later may succeed.
    """

    def __init__(self, message: str, *, code: str = "UNKNOWN", retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.status = status
