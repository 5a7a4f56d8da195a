"""JSON responses encoded with orjson (list pages carry whole transcripts; the stdlib encoder was the bottleneck)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from preclinical import json_codec


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json_codec.dumps_bytes(data)
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")
