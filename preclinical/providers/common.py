"""Helpers the target providers share: reading agent config fields (with aliases) and actionable errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from preclinical.errors import InvalidInput, ProviderError


def pick(config: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, Any]:
    """The first of `keys` set in `config` (None and "" count as unset) and its value; (keys[0], None) if none."""
    for key in keys:
        value = config.get(key)
        if value is not None and value != "":
            return key, value
    return keys[0], None


def bad_field(key: str, what: str) -> InvalidInput:
    return InvalidInput(f"Agent config field '{key}' must be {what}", extra={"field": key})


def require_object(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise InvalidInput("Agent config must be an object", extra={"field": "config"})
    return config


def text(config: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """A string field, stripped; None when not given."""
    key, value = pick(config, keys)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_field(key, "a string")
    return value.strip() or None


def url(config: Mapping[str, Any], keys: tuple[str, ...], *, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """A URL field with one of `schemes` and a host; None when not given."""
    value = text(config, keys)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        shown = " or ".join(f"{s}://" for s in schemes)
        raise bad_field(pick(config, keys)[0], f"a {shown} URL")
    return value


def number(config: Mapping[str, Any], keys: tuple[str, ...], *, positive: bool = True) -> float | None:
    key, value = pick(config, keys)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (positive and value <= 0):
        raise bad_field(key, "a positive number of seconds" if positive else "a number")
    return float(value)


def flag(config: Mapping[str, Any], keys: tuple[str, ...]) -> bool | None:
    key, value = pick(config, keys)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise bad_field(key, "true or false")
    return value


def headers(config: Mapping[str, Any], keys: tuple[str, ...] = ("headers",)) -> dict[str, str]:
    key, value = pick(config, keys)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise bad_field(key, "an object of string header values")
    return dict(value)


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
