"""JSON responses encoded with orjson (list pages carry whole transcripts; the stdlib encoder was the bottleneck)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


def dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=headers, content_type="application/json")
