"""What a JSON value must be before it is used or stored: parseable, bounded, and storable as it is.

- nesting at most `MAX_DEPTH` levels (the encoder and SQLite's JSON functions stop far below 100,000),
- integers within SQLite's signed 64 bits, numbers finite (no NaN, Infinity, or 1e400 read as infinity),
- strings valid Unicode (a lone surrogate such as "\\ud800" cannot be encoded as UTF-8, so it cannot be
  stored or served back),
- object keys strings.

Anything else is refused with a message that names where the problem is, so it can never reach the
database (data that cannot be serialised again must never exist).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class JSONLimitError(ValueError):
    """The value breaks one of the rules above; the message says which and where."""


def _int(text: str) -> int:
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise JSONLimitError(f"the number {text[:24]}{'…' if len(text) > 24 else ''} is out of range "
                             f"(integers must fit in 64 bits)")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONLimitError(f"the number {text[:24]} is too large (numbers must be finite)")
    return value


def _constant(name: str) -> Any:
    raise JSONLimitError(f"{name} is not a JSON number (numbers must be finite)")


def loads(raw: bytes | str, *, strict_numbers: bool = True) -> Any:
    """Parse JSON text under the rules above. Raises `JSONLimitError` (or `ValueError` when not JSON).

    `strict_numbers=False` lets NaN, Infinity and out-of-range integers through for a caller that checks
    every number itself with field-specific messages (the start-run request); depth and text still apply.
    """
    try:
        if strict_numbers:
            value = json.loads(raw, parse_int=_int, parse_float=_float, parse_constant=_constant)
        else:
            value = json.loads(raw)
    except RecursionError:
        raise JSONLimitError(f"the JSON is nested too deeply (at most {MAX_DEPTH} levels)") from None
    check(value, numbers=strict_numbers)
    return value


def _where(path: list[str]) -> str:
    where = "".join(path) or "the body"
    return where if len(where) <= 120 else where[:60] + "…" + where[-59:]


def check(value: Any, *, max_depth: int = MAX_DEPTH, numbers: bool = True) -> None:
    """Raise `JSONLimitError` unless `value` (already parsed) keeps the rules. Iterative: no recursion limit."""
    stack: list[tuple[Any, int, list[str]]] = [(value, 1, [])]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise JSONLimitError(f"the JSON is nested too deeply at {_where(path)} (at most {max_depth} levels)")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if not isinstance(key, str):
                        raise JSONLimitError(f"object keys must be strings at {_where(path)}")
                    step = f".{_printable(key[:40])}"
                    _check_text(key, [*path, step])
                    stack.append((inner, depth + 1, [*path, step]))
            else:
                stack.extend((inner, depth + 1, [*path, f"[{i}]"]) for i, inner in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, bool) or item is None or not numbers:
            continue
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                raise JSONLimitError(f"the number at {_where(path)} is out of range (integers must fit in 64 bits)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JSONLimitError(f"the number at {_where(path)} is not finite")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_text(text: str, path: list[str]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONLimitError(f"the text at {_where(path)} is not valid Unicode (it has a lone surrogate)") from None


def valid_text(text: str) -> bool:
    """Whether `text` can be stored and served as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
