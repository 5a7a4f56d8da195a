"""JSON encoding for the store and the API: orjson, accepting what `json.dumps` accepts (integer keys too)."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # e.g. {criterion_index: [...]} maps in grading metadata


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTIONS)


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=_OPTIONS).decode()


loads = orjson.loads
