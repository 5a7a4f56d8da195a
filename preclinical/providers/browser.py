"""Target provider "browser": a web chat driven by a Browser Use Cloud agent (REST API v2).

Endpoints used (base `api_base`, default https://api.browser-use.com/api/v2, header X-Browser-Use-API-Key):
`POST /sessions` (once, on the first turn: the profile, keep-alive, persistent memory), `POST /tasks`
(one per turn, in that session), `GET /tasks/{id}` (polled until the task is `finished` or `stopped`),
`PATCH /tasks/{id}` `{"action": "stop"}` (a task that ran past `task_timeout_s`) and
`PATCH /sessions/{id}` `{"action": "stop"}` (on close).

Each task asks the browser agent to type the patient's message into the page's chat, wait for the
answer and return it as structured output `{bot_response, overlay_text}`; the first task also opens
the page (and logs in with the `email`/`password` secrets when given).

`BrowserProvider.validate_chat_page` (POST /api/v1/agents[/{id}]/validate-browser) runs one read-only check task in a
session that is not kept alive, and always stops it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from preclinical.domain import errors as codes
from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers import common, registry
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.transport import HttpTransport

log = logging.getLogger(__name__)

SPEC = registry.SPECS["browser"]
DEFAULT_API_BASE = SPEC.field_named("api_base").default
DEFAULT_POLL_INTERVAL_S = 2.0
FIRST_TURN_MAX_STEPS = 12
LATER_TURN_MAX_STEPS = 8
STOP_TIMEOUT_S = 10.0
DONE_STATUSES = ("finished", "stopped", "failed")
MISSING_KEY = ("Browser provider requires BROWSER_USE_API_KEY: set it in the environment (or the config file) "
               "and restart Preclinical")

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "bot_response": {"type": "string", "description": "The chatbot's latest reply, word for word"},
        "overlay_text": {"type": "string", "description": "Text of any NEW alert, banner or pop-up, else empty"},
    },
    "required": ["bot_response", "overlay_text"],
}

SESSION_HINTS = {
    "PROVIDER_AUTH": "check BROWSER_USE_API_KEY",
    "PROVIDER_NOT_FOUND": "check the agent's profile_id (Browser Use profiles: cloud.browser-use.com/settings?tab=profiles)",
    "INVALID_INPUT": "Browser Use Cloud refused to start a session; check profile_id and your Browser Use credits",
}
TASK_HINTS = {
    "PROVIDER_AUTH": "check BROWSER_USE_API_KEY",
    "INVALID_INPUT": "Browser Use Cloud refused the task; check the agent's url and instructions",
}


@dataclass(frozen=True)
class BrowserSettings:
    api_key: str
    url: str
    profile_id: str | None
    email: str | None
    password: str | None
    instructions: str | None
    api_base: str
    task_timeout_s: float
    request_timeout_s: float


def resolve_settings(config: dict[str, Any], env: ProviderEnv) -> BrowserSettings:
    if not env.browser_use_api_key:
        raise ProviderError(MISSING_KEY, code="PROVIDER_AUTH")
    values = SPEC.parse(config)
    if not values["url"]:
        raise common.missing("url", "url", "browser")
    return BrowserSettings(
        api_key=env.browser_use_api_key,
        url=values["url"],
        profile_id=values["profile_id"],
        email=values["email"],
        password=values["password"],
        instructions=values["instructions"],
        api_base=values["api_base"].rstrip("/"),
        task_timeout_s=values["task_timeout_s"],
        request_timeout_s=env.request_timeout_s,
    )


def allowed_domains(url: str) -> list[str]:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return [host, f"*.{host}"] if host else []


def persona_details(persona: dict[str, Any]) -> tuple[int, str]:
    """Age (the first number of `age_range`, default 35) and gender (default male) for intake forms."""
    match = re.search(r"\d+", str(persona.get("age_range") or persona.get("age") or ""))
    gender = persona.get("gender")
    return (int(match.group()) if match else 35), (gender if isinstance(gender, str) and gender.strip() else "male")


def chat_rules(persona: dict[str, Any]) -> str:
    age, gender = persona_details(persona)
    return (
        "You are relaying messages to a website's chat assistant. Rules: type the given message into the chat "
        "input exactly as written and send it; wait until the assistant's reply has finished streaming before "
        "reading it; accept cookie or consent boxes if they block the chat; if an intake form asks for details, "
        f"use age {age} and gender {gender}; extract only the assistant's latest reply, word for word, never "
        "earlier messages; put the text of a NEW alert, banner or pop-up that appeared after sending in "
        "overlay_text (otherwise leave it empty); do not click links that leave the chat."
    )


def task_prompt(settings: BrowserSettings, message: str, first: bool) -> str:
    quoted = json.dumps(message, ensure_ascii=False)
    if not first:
        return (f"In the chat that is already open, send this message: {quoted}. "
                "Then extract the chatbot's latest response only.")
    steps = [f"Go to {settings.url}."]
    if settings.email or settings.password:
        steps.append("If the page asks you to log in, log in with the email login_email and the password "
                     "login_password (both are provided as secrets).")
    if settings.instructions:
        steps.append(settings.instructions)
    steps.append(f"Send this message in the chat: {quoted}. Then extract the chatbot's response.")
    return " ".join(steps)


def read_output(output: Any) -> tuple[str, str]:
    """`(bot_response, overlay_text)` from a task's output: the structured JSON, or the raw text if it is not JSON."""
    data = output
    if isinstance(output, str):
        try:
            data = json.loads(output)
        except ValueError:
            return output.strip(), ""
    if isinstance(data, dict):
        reply, overlay = data.get("bot_response"), data.get("overlay_text")
        return (reply.strip() if isinstance(reply, str) else ""), (overlay.strip() if isinstance(overlay, str) else "")
    return (str(data).strip() if data is not None else ""), ""


def _code_for(detail: str, default: str) -> str:
    """A browser error code from what the agent reported (login, blocked, timeout ...), else `default`."""
    code = codes.classify(f"browser: {detail}")
    return code if code.startswith("BROWSER_") else default


class BrowserSession:
    """One scenario run's chat: a Browser Use Cloud session created on the first turn, one task per turn."""

    def __init__(self, settings: BrowserSettings, transport: HttpTransport, scenario_run_id: str,
                 poll_interval_s: float, *, keep_alive: bool = True) -> None:
        self.settings = settings
        self.keep_alive = keep_alive
        self.scenario_run_id = scenario_run_id
        self.session_id: str | None = None
        self.live_url: str | None = None
        self._transport = transport
        self._headers = {"X-Browser-Use-API-Key": settings.api_key}
        self._poll_interval_s = poll_interval_s
        self._tasks_sent = 0

    async def _call(self, method: str, path: str, what: str, payload: Any = None, **kw: Any) -> Any:
        return await self._transport.request_json(
            method, self.settings.api_base + path, payload=payload, headers=self._headers,
            timeout_s=self.settings.request_timeout_s, what=what, **kw)

    async def _ensure_session(self) -> str:
        if self.session_id is None:
            body: dict[str, Any] = {"keepAlive": True, "persistMemory": True} if self.keep_alive else {"keepAlive": False}
            if self.settings.profile_id:
                body["profileId"] = self.settings.profile_id
            try:
                created = await self._call("POST", "/sessions", "Browser Use Cloud session creation", body)
            except ProviderError as exc:
                raise common.explain(exc, SESSION_HINTS) from None
            session_id = created.get("id") if isinstance(created, dict) else None
            if not isinstance(session_id, str) or not session_id:
                raise ProviderError("Browser Use Cloud created a session without an id; try again later",
                                    code="BROWSER_SESSION")
            self.session_id = session_id
            self.live_url = created.get("liveUrl")
            log.info("Browser Use session %s for scenario run %s (live view: %s)", session_id,
                     self.scenario_run_id, self.live_url)
        return self.session_id

    def task_body(self, message: str, ctx: TurnContext, session_id: str) -> dict[str, Any]:
        first = self._tasks_sent == 0
        s = self.settings
        body: dict[str, Any] = {
            "task": task_prompt(s, message, first),
            "sessionId": session_id,
            "maxSteps": FIRST_TURN_MAX_STEPS if first else LATER_TURN_MAX_STEPS,
            "structuredOutput": json.dumps(REPLY_SCHEMA),
            "allowedDomains": allowed_domains(s.url),
            "vision": True,
            "systemPromptExtension": chat_rules(ctx.persona),
            "metadata": {"source": "preclinical", "scenario_run_id": self.scenario_run_id, "turn": str(ctx.turn)},
        }
        if first:
            body["startUrl"] = s.url
            secrets = {k: v for k, v in (("login_email", s.email), ("login_password", s.password)) if v}
            if secrets:
                body["secrets"] = secrets
        return body

    async def send(self, message: str, ctx: TurnContext) -> str:
        session_id = await self._ensure_session()
        try:
            created = await self._call("POST", "/tasks", "Browser Use Cloud task creation",
                                       self.task_body(message, ctx, session_id))
        except ProviderError as exc:
            raise common.explain(exc, TASK_HINTS) from None
        self._tasks_sent += 1
        task_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError("Browser Use Cloud created a task without an id; try again later", code="BROWSER_SESSION")
        task = await self._wait(task_id)
        return self._reply(task)

    async def _wait(self, task_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.settings.task_timeout_s
        status = "created"
        while True:
            task = await self._call("GET", f"/tasks/{task_id}", "Browser Use Cloud task status")
            status = str(task.get("status") if isinstance(task, dict) else "unknown")
            if status in DONE_STATUSES:
                return task
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(self._poll_interval_s, max(0.0, deadline - time.monotonic())))
        try:
            await self._call("PATCH", f"/tasks/{task_id}", "Browser Use Cloud task stop", {"action": "stop"}, retries=0)
        except ProviderError as exc:
            log.warning("could not stop Browser Use task %s: %s", task_id, exc.message)
        raise ProviderError(
            f"Browser Use Cloud task timed out: not finished within {self.settings.task_timeout_s:g}s "
            f"(status={status}); raise task_timeout_s on the agent if the site is slow",
            code="BROWSER_TIMEOUT", retryable=True)

    def _reply(self, task: dict[str, Any]) -> str:
        status, output = task.get("status"), task.get("output")
        shown = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
        if status != "finished":
            code = _code_for(shown or "", "BROWSER_SESSION")
            raise ProviderError(f"Browser Use Cloud task failed: status={status}, output={(shown or '')[:500]}",
                                code=code, retryable=codes.is_retryable(code))
        reply, overlay = read_output(output)
        if not reply:
            code = _code_for(shown or "", "BROWSER_EXTRACTION") if task.get("isSuccess") is False else "BROWSER_EXTRACTION"
            raise ProviderError(
                "Browser Use Cloud task returned empty bot response: the browser agent found no reply in the chat "
                f"(output={(shown or '')[:300]}); check the agent's url, login and instructions",
                code=code, retryable=codes.is_retryable(code))
        return f"{reply}\n\n[Alert: {overlay}]" if overlay else reply

    async def close(self) -> None:
        """Stop the cloud session (three tries); never raises."""
        if self.session_id is None:
            return
        session_id, self.session_id = self.session_id, None
        try:
            await self._transport.request_json(
                "PATCH", f"{self.settings.api_base}/sessions/{session_id}", payload={"action": "stop"},
                headers=self._headers, timeout_s=STOP_TIMEOUT_S, what="Browser Use Cloud session stop", retries=2)
        except ProviderError as exc:
            log.warning("could not stop Browser Use session %s: %s", session_id, exc.message)
        except Exception:
            log.exception("could not stop Browser Use session %s", session_id)


VALIDATE_MAX_STEPS = 5
VALIDATE_TIMEOUT_S = 60.0
LOGIN_REQUIRED = "Login required. Use the live browser link to log in, then retry."
CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "chat_visible": {"type": "boolean", "description": "A chat message input is visible and usable"},
        "login_required": {"type": "boolean", "description": "The page asks to log in before the chat can be used"},
        "note": {"type": "string", "description": "One short sentence on what the page shows"},
    },
    "required": ["chat_visible", "login_required", "note"],
}


def check_prompt(url: str) -> str:
    return (f"Go to {url}. Do not type, send, click submit or log in: only look at the page. "
            "Report whether a chat message input is visible and usable (chat_visible), and whether the page "
            "requires logging in before the chat can be used (login_required), with a one-sentence note.")


def read_check(task: dict[str, Any], url: str) -> tuple[bool, str | None]:
    """The verdict of a finished page-check task: `(True, None)` when the chat is visible, else `(False, why)`."""
    status, output = task.get("status"), task.get("output")
    shown = (output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)) or ""
    if status != "finished":
        return False, f"Browser Use Cloud page check failed: status={status}, output={shown[:300]}"
    data = output
    if isinstance(output, str):
        try:
            data = json.loads(output)
        except ValueError:
            data = None
    if not isinstance(data, dict) or not isinstance(data.get("chat_visible"), bool):
        return False, f"Browser Use Cloud page check returned an unreadable result: {shown[:300] or '(empty)'}"
    note = data.get("note") if isinstance(data.get("note"), str) and data["note"].strip() else None
    if data["chat_visible"]:
        return True, None
    if data.get("login_required") is True:
        return False, LOGIN_REQUIRED
    return False, f"No chat input found on {url}" + (f": {note.strip()}" if note else "") + "; check the agent's url"


class BrowserProvider:
    name = "browser"
    label = "Web chat (Browser Use Cloud)"

    def __init__(self, transport: HttpTransport | None = None, *,
                 poll_interval_s: float = DEFAULT_POLL_INTERVAL_S) -> None:
        self.transport = transport or HttpTransport()
        self.poll_interval_s = poll_interval_s

    def validate_config(self, config: dict[str, Any]) -> None:
        """Saving a browser agent needs its Browser Use profile (running does not check it again)."""
        if not SPEC.parse(config)["profile_id"]:
            raise InvalidInput(registry.BROWSER_PROFILE_MESSAGE)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> BrowserSession:
        """Check the settings only; the cloud session is created on the first turn."""
        return BrowserSession(resolve_settings(config, env), self.transport, scenario_run_id, self.poll_interval_s)

    async def aclose(self) -> None:
        await self.transport.close()

    async def validate_chat_page(self, url: str, profile_id: str | None, *, api_key: str, api_base: str | None = None,
                                 timeout_s: float = VALIDATE_TIMEOUT_S) -> tuple[bool, str | None]:
        """Check that `url` shows a usable chat in a fresh (not kept alive) Browser Use Cloud session with the profile.

        One read-only task of at most 5 steps, polled for up to `timeout_s`; the session is always stopped.
        Returns `(True, None)`, or `(False, message)` (login required, no chat, or a Browser Use failure).
        """
        settings = BrowserSettings(
            api_key=api_key, url=url, profile_id=profile_id, email=None, password=None, instructions=None,
            api_base=(api_base or DEFAULT_API_BASE).rstrip("/"), task_timeout_s=timeout_s,
            request_timeout_s=min(timeout_s, 30.0))
        session = BrowserSession(settings, self.transport, "validate-browser", self.poll_interval_s, keep_alive=False)
        try:
            session_id = await session._ensure_session()
            try:
                created = await session._call("POST", "/tasks", "Browser Use Cloud task creation", {
                    "task": check_prompt(url), "sessionId": session_id, "startUrl": url,
                    "maxSteps": VALIDATE_MAX_STEPS, "structuredOutput": json.dumps(CHECK_SCHEMA),
                    "allowedDomains": allowed_domains(url), "vision": True,
                    "metadata": {"source": "preclinical", "purpose": "validate-browser"},
                })
            except ProviderError as exc:
                raise common.explain(exc, TASK_HINTS) from None
            task_id = created.get("id") if isinstance(created, dict) else None
            if not isinstance(task_id, str) or not task_id:
                return False, "Browser Use Cloud created a task without an id; try again later"
            try:
                task = await session._wait(task_id)
            except ProviderError as exc:
                if exc.code != "BROWSER_TIMEOUT":
                    raise
                return False, f"Browser Use Cloud page check did not finish within {timeout_s:g}s; try again"
            return read_check(task, url)
        except ProviderError as exc:
            return False, exc.message
        finally:
            await session.close()
