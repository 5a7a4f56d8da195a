"""Typed application keys: everything a handler may reach through `request.app`."""

from __future__ import annotations

import weakref

from aiohttp import web

from preclinical.runtime import Runtime

runtime_key = web.AppKey("runtime", Runtime)
streams_key = web.AppKey("streams", weakref.WeakSet)  # the tasks serving open SSE streams
