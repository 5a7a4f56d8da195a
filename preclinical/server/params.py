"""Query parameters, validated before use: a bad value is a 400 that names it, never a 500 or a silent default."""

from __future__ import annotations

import re

from aiohttp import web

from preclinical.domain.json_limits import INT_MAX
from preclinical.errors import InvalidInput

_INTEGER = re.compile(r"\s*\+?\d{1,19}\s*")
MAX_PAGE = 100


def query_int(request: web.Request, name: str, default: int, *, minimum: int = 0, maximum: int = INT_MAX) -> int:
    """An integer query parameter in [minimum, maximum] (absent or empty: `default`)."""
    raw = request.query.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not _INTEGER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise InvalidInput(f"{name} must be a whole number from {minimum} to {maximum}, not {raw[:40]!r}",
                           extra={"field": name})
    return int(raw)


def page(request: web.Request, default_limit: int, *, max_limit: int = MAX_PAGE) -> tuple[int, int]:
    """`limit` (1 or more; more than `max_limit` is read as `max_limit`) and `offset` (0 or more)."""
    limit = query_int(request, "limit", default_limit, minimum=1)
    return min(limit, max_limit), query_int(request, "offset", 0)
