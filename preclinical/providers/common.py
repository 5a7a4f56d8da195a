"""Helpers the target providers share: actionable errors. (Config fields are read by their spec: registry.py.)"""

from __future__ import annotations

from collections.abc import Mapping

from preclinical.errors import ProviderError


def missing(what: str, field_: str, provider: str) -> ProviderError:
    """The error for a field the run needs but the saved agent lacks (saving allows it; running does not)."""
    return ProviderError(
        f"Agent missing {what} in config for the {provider} provider: set '{field_}' on the agent and run again",
        code="INVALID_INPUT",
    )


def explain(error: ProviderError, hints: Mapping[str, str]) -> ProviderError:
    """The same error with a hint on what to do for its code appended (codes without a hint pass through)."""
    hint = hints.get(error.code)
    if not hint:
        return error
    return ProviderError(f"{error.message} — {hint}", code=error.code, retryable=error.retryable, status=error.status)
