"""A fake Browser Use Cloud REST API (v2) on 127.0.0.1: sessions, tasks that finish after a few polls, stop.

The fake "browser agent" reads the quoted patient message out of the task prompt and answers with
structured output `{bot_response, overlay_text}` from `responder`, unless an outcome is queued with
`queue_outcome(...)` (a failed status, a raw or empty output, or a task that never finishes).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.faults import FaultPlan, apply

API = "/api/v2"
_QUOTED_MESSAGE = re.compile(r"(?:send this message in the chat|send this message): (\".*?\")\. Then", re.DOTALL | re.IGNORECASE)

# (patient message, task body) -> the chatbot reply, or the whole structured output as a dict
Responder = Callable[[str, dict[str, Any]], "str | dict[str, Any]"]


def default_reply(message: str, body: dict[str, Any]) -> str:
    return f"Web chat answer to: {message}"


@dataclass
class Outcome:
    status: str = "finished"
    output: Any = None  # None = use the responder
    is_success: bool | None = True
    never_finish: bool = False


@dataclass
class FakeTask:
    id: str
    body: dict[str, Any]
    message: str
    outcome: Outcome
    status: str = "created"
    polls: int = 0
    output: Any = None


@dataclass
class FakeSession:
    id: str
    body: dict[str, Any]
    status: str = "active"
    tasks: list[str] = field(default_factory=list)


class FakeBrowserUse:
    def __init__(self, *, api_key: str = "bu-test-key", profiles: tuple[str, ...] = ("profile-1",),
                 responder: Responder = default_reply, polls_until_done: int = 2) -> None:
        self.api_key = api_key
        self.profiles = set(profiles)
        self.responder = responder
        self.polls_until_done = polls_until_done
        self.url: str | None = None  # API base ending in /api/v2, set once served
        self.calls: list[tuple[str, str, Any]] = []  # (method, path, body) of every request
        self.request_headers: list[CIMultiDict[str]] = []
        self.sessions: dict[str, FakeSession] = {}
        self.tasks: dict[str, FakeTask] = {}
        self.faults = FaultPlan()
        self._outcomes: list[Outcome] = []
        self._ids = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_post(f"{API}/sessions", self._create_session)
        self.app.router.add_patch(f"{API}/sessions/{{id}}", self._update_session)
        self.app.router.add_post(f"{API}/tasks", self._create_task)
        self.app.router.add_get(f"{API}/tasks/{{id}}", self._get_task)
        self.app.router.add_patch(f"{API}/tasks/{{id}}", self._update_task)

    def queue_outcome(self, **kw: Any) -> None:
        """The next created task ends this way (see Outcome)."""
        self._outcomes.append(Outcome(**kw))

    def calls_to(self, method: str, prefix: str) -> list[Any]:
        return [body for m, path, body in self.calls if m == method and path.startswith(API + prefix)]

    async def _guard(self, request: web.Request, route: str) -> tuple[Any, web.StreamResponse | None]:
        body = await request.json() if request.can_read_body else None
        self.calls.append((request.method, request.path, body))
        self.request_headers.append(CIMultiDict(request.headers))
        if request.headers.get("X-Browser-Use-API-Key") != self.api_key:
            return body, web.json_response({"detail": "Invalid API key"}, status=401)
        fault = self.faults.take(route)
        if fault is not None:
            return body, await apply(fault, request, {"detail": f"fake fault {fault.kind}"})
        return body, None

    async def _create_session(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._guard(request, "POST /sessions")
        if refusal is not None:
            return refusal
        if body.get("profileId") is not None and body["profileId"] not in self.profiles:
            return web.json_response({"detail": "Profile not found"}, status=404)
        session = FakeSession(f"sess-{next(self._ids)}", body)
        self.sessions[session.id] = session
        return web.json_response(self._session_view(session), status=201)

    async def _update_session(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._guard(request, "PATCH /sessions")
        if refusal is not None:
            return refusal
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return web.json_response({"detail": "Session not found"}, status=404)
        if body != {"action": "stop"}:
            return web.json_response({"detail": [{"msg": "action must be 'stop'"}]}, status=422)
        session.status = "stopped"
        for task_id in session.tasks:
            task = self.tasks[task_id]
            if task.status in ("created", "started"):
                task.status = "stopped"
        return web.json_response(self._session_view(session))

    async def _create_task(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._guard(request, "POST /tasks")
        if refusal is not None:
            return refusal
        if not isinstance(body.get("task"), str) or not body["task"]:
            return web.json_response({"detail": [{"msg": "task is required"}]}, status=422)
        session = self.sessions.get(body.get("sessionId"))
        if session is None or session.status != "active":
            return web.json_response({"detail": "Session not found or stopped"}, status=404)
        found = _QUOTED_MESSAGE.search(body["task"])
        message = json.loads(found.group(1)) if found else ""
        task = FakeTask(f"task-{next(self._ids)}", body, message, self._outcomes.pop(0) if self._outcomes else Outcome())
        self.tasks[task.id] = task
        session.tasks.append(task.id)
        return web.json_response({"id": task.id, "sessionId": session.id}, status=202)

    async def _get_task(self, request: web.Request) -> web.StreamResponse:
        _, refusal = await self._guard(request, "GET /tasks")
        if refusal is not None:
            return refusal
        task = self.tasks.get(request.match_info["id"])
        if task is None:
            return web.json_response({"detail": "Task not found"}, status=404)
        task.polls += 1
        if task.status in ("created", "started"):
            task.status = "started"
            if task.polls >= self.polls_until_done and not task.outcome.never_finish:
                task.status = task.outcome.status
                task.output = self._output(task)
        return web.json_response({
            "id": task.id, "sessionId": task.body["sessionId"], "llm": "browser-use-llm", "task": task.body["task"],
            "status": task.status, "createdAt": "2026-03-01T12:00:00Z", "steps": [], "outputFiles": [],
            "metadata": task.body.get("metadata") or {}, "output": task.output,
            "isSuccess": task.outcome.is_success if task.status == "finished" else None,
        })

    async def _update_task(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._guard(request, "PATCH /tasks")
        if refusal is not None:
            return refusal
        task = self.tasks.get(request.match_info["id"])
        if task is None:
            return web.json_response({"detail": "Task not found"}, status=404)
        if body.get("action") == "stop" and task.status in ("created", "started"):
            task.status = "stopped"
        return web.json_response({"id": task.id, "status": task.status})

    def _output(self, task: FakeTask) -> Any:
        if task.outcome.output is not None:
            return task.outcome.output
        said = self.responder(task.message, task.body)
        structured = said if isinstance(said, dict) else {"bot_response": said, "overlay_text": ""}
        return json.dumps(structured)

    @staticmethod
    def _session_view(session: FakeSession) -> dict[str, Any]:
        return {"id": session.id, "status": session.status, "liveUrl": f"https://live.example/{session.id}",
                "startedAt": "2026-03-01T12:00:00Z", "keepAlive": session.body.get("keepAlive", True),
                "persistMemory": session.body.get("persistMemory", True), "finishedAt": None}
