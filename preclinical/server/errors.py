"""One middleware renders every failure as `{"error": "..."}`; request bodies are parsed here too."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from preclinical.domain import json_limits
from preclinical.errors import Conflict, InvalidInput, NotFound, PreclinicalError, ProviderError
from preclinical.server.responses import json_response

log = logging.getLogger(__name__)

_HTTP_WORDS = {404: "Not found", 405: "Method not allowed", 413: "Request body too large", 401: "Unauthorized"}


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    return json_response({"error": message, **extra}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except InvalidInput as exc:
        return error_response(400, exc.message, **exc.extra)
    except NotFound as exc:
        return error_response(404, exc.message)
    except Conflict as exc:
        return error_response(409, exc.message)
    except ProviderError as exc:
        return error_response(502, exc.message, error_code=exc.code)
    except PreclinicalError as exc:
        return error_response(400, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, _HTTP_WORDS.get(exc.status, exc.reason))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal server error (details are in the log file)")


async def read_json(request: web.Request, *, strict_numbers: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is `{}`. Checked against `json_limits` (depth, 64-bit
    integers, finite numbers, valid Unicode) before anything uses it. `strict_numbers=False`: the handler
    checks every number itself (the start-run request, whose messages name each field)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json_limits.loads(raw, strict_numbers=strict_numbers)
    except json_limits.JSONLimitError as exc:
        raise InvalidInput(f"Request body refused: {exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("Request body must be valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("Request body must be a JSON object")
    return data
