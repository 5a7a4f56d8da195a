"""Id parsing: malformed ids are 'not found', never a crash."""

from __future__ import annotations

import uuid
from typing import Any

NAMESPACE = "https://preclinical.local/"


def canonical_uuid(value: Any) -> str | None:
    """The lowercase hyphenated form of a UUID string, or None when `value` is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def stable_id(kind: str, key: str) -> str:
    """A deterministic UUIDv5 for bundled things (library scenarios, the demo agent)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{NAMESPACE}{kind}/{key}"))
