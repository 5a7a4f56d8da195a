"""Readiness of the installation: database, language models (or the offline engine), providers.

The model checks really ask each configured endpoint (`GET {base_url}/models`, a short timeout) and
report which models it serves. Answers are cached: a report never waits for an endpoint except the
very first time (at most `PROBE_TIMEOUT_S`); after that a stale answer is shown while a fresh one is
fetched in the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from preclinical import __version__
from preclinical.runtime import Runtime, model_settings
from preclinical.store.serialize import iso

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.8
PROBE_TTL_S = 15.0
ROLE_CHECKS = {"tester_model": ("tester", "Tester"), "grader_model": ("grader", "Grader"),
               "generator_model": ("generator", "Generator")}


@dataclass(frozen=True)
class Probe:
    """One endpoint's answer to `GET /models`."""

    ok: bool
    detail: str  # what went wrong, or "" when it answered
    models: tuple[str, ...]
    at: float  # time.monotonic() of the answer


async def probe_endpoint(base_url: str, api_key: str | None, *, timeout_s: float = PROBE_TIMEOUT_S) -> Probe:
    """Ask an OpenAI-compatible endpoint which models it serves."""
    import aiohttp

    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(url, headers=headers) as response,
        ):
            if response.status >= 400:
                hint = {401: "the API key was refused", 403: "the API key was refused",
                        404: "no /models there; check the base URL (it usually ends in /v1)"}.get(
                    response.status, "the endpoint reported an error")
                return Probe(False, f"GET {url} answered HTTP {response.status}: {hint}", (), time.monotonic())
            try:
                data = await response.json(content_type=None)
            except ValueError:
                return Probe(False, f"GET {url} did not answer JSON; is this an OpenAI-compatible API?", (),
                             time.monotonic())
    except TimeoutError:
        return Probe(False, f"{base_url} did not answer within {timeout_s:g}s", (), time.monotonic())
    except aiohttp.ClientError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return Probe(False, f"could not reach {base_url} ({reason})", (), time.monotonic())
    items = data.get("data") if isinstance(data, dict) else None
    models = tuple(str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")) if isinstance(items, list) else ()
    return Probe(True, "", models, time.monotonic())


class ModelProbes:
    """Cached probes of the configured model endpoints; one refresh at a time."""

    def __init__(self, endpoints: dict[str, Any]) -> None:
        self.endpoints = endpoints  # role -> Endpoint(base_url, api_key, model)
        self.results: dict[tuple[str, str | None], Probe] = {}
        self._refreshing: asyncio.Task[None] | None = None

    def _targets(self) -> set[tuple[str, str | None]]:
        return {(e.base_url, e.api_key) for e in self.endpoints.values()}

    def stale(self) -> bool:
        now = time.monotonic()
        return any(k not in self.results or now - self.results[k].at > PROBE_TTL_S for k in self._targets())

    def complete(self) -> bool:
        return all(k in self.results for k in self._targets())

    async def _refresh(self) -> None:
        targets = sorted(self._targets(), key=lambda k: (k[0], k[1] or ""))
        answers = await asyncio.gather(*(probe_endpoint(url, key) for url, key in targets))
        self.results.update(zip(targets, answers, strict=True))

    def refresh(self) -> asyncio.Task[None]:
        """Start (or join) a refresh of every endpoint."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh(), name="model endpoint probes")
        return self._refreshing

    async def ensure(self) -> None:
        """Fresh answers when there are none yet (bounded by the probe timeout); else refresh in the background."""
        if not self.stale():
            return
        task = self.refresh()
        if not self.complete():
            await asyncio.wait([task], timeout=PROBE_TIMEOUT_S + 0.15)

    async def close(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)

    def check(self, role: str, label: str) -> dict[str, str]:
        endpoint = self.endpoints[role]
        where = f"{endpoint.model} at {endpoint.base_url}"
        probe = self.results.get((endpoint.base_url, endpoint.api_key))
        if probe is None:
            return {"status": "warning", "detail": f"{label} model {where}: not checked yet."}
        if not probe.ok:
            return {"status": "warning",
                    "detail": f"{label} model {where} is not answering: {probe.detail}. Runs that need it will fail."}
        served = ", ".join(probe.models[:5]) + (" …" if len(probe.models) > 5 else "") or "no models listed"
        if len(probe.models) > 1 and endpoint.model not in probe.models:
            return {"status": "warning",
                    "detail": f"{label} endpoint {endpoint.base_url} answers but does not serve {endpoint.model} "
                              f"(it serves: {served}). Set the model name to one it serves."}
        return {"status": "ok", "detail": f"{label} model {where} answered (serving: {served})."}


def probes_for(rt: Runtime) -> ModelProbes | None:
    """The runtime's model probes, made on first use; None with the offline engine."""
    if not rt.settings.model_configured:
        return None
    probes = rt.extras.get("model_probes")
    if probes is None:
        settings = rt.llm.settings if rt.llm is not None else model_settings(rt.settings)
        probes = rt.extras["model_probes"] = ModelProbes({r: settings.endpoint(r) for r, _ in ROLE_CHECKS.values()})
    return probes


def _offline_check(role: str) -> dict[str, str]:
    what = "simulated patient" if role == "Tester" else "judge" if role == "Grader" else "scenario generator"
    engine = {"Tester": "scripted patient", "Grader": "rules grader"}.get(role)
    runs_on = f"runs on the offline engine ({engine})" if engine else "is unavailable"
    return {
        "status": "warning",
        "detail": f"No language model is configured, so the {what} {runs_on}. "
        "Set OPENAI_API_KEY or OPENAI_BASE_URL to use a model.",
    }


async def check_health(rt: Runtime) -> dict[str, Any]:
    """The health report, after making sure the model endpoints have been asked (never slower than a second)."""
    probes = probes_for(rt)
    if probes is not None:
        await probes.ensure()
    return health_report(rt)


def health_report(rt: Runtime) -> dict[str, Any]:
    """The health report from what is known now (cached model probes); never waits."""
    s = rt.settings
    db_ok = rt.database_ok()
    probes = probes_for(rt)
    checks: dict[str, Any] = {
        "database": {
            "status": "ok" if db_ok else "error",
            "detail": "Database connection succeeded." if db_ok else "Database connection failed.",
        },
    }
    for key, (role, label) in ROLE_CHECKS.items():
        if key == "generator_model" and probes is None:
            continue  # offline: the reference's two model checks only
        checks[key] = probes.check(role, label) if probes is not None else _offline_check(label)
    checks["browser_provider"] = (
        {"status": "ok", "detail": "Browser provider dependency is configured."}
        if s.browser_use_api_key
        else {"status": "warning", "detail": "BROWSER_USE_API_KEY is missing, so browser-based agents cannot run yet."}
    )
    setup: dict[str, Any] = {
        "tester_model": s.tester_model if s.model_configured else "offline: scripted patient",
        "grader_model": s.grader_model if s.model_configured else "offline: rules grader",
        "worker_concurrency": s.global_concurrency,
        "default_max_turns": s.default_max_turns,
        "max_turns_range": [s.min_max_turns, s.max_max_turns],
        "database": s.database_label,
    }
    if probes is not None:
        setup["model_endpoints"] = {role: {"base_url": e.base_url, "model": e.model}
                                    for role, e in probes.endpoints.items()}
        setup["structured_mode"] = s.structured_mode or "auto"
        if rt.llm is not None:
            setup["structured_mode_in_use"] = {role: rt.llm.mode_for(role) for role in probes.endpoints}
        setup["llm_timeout_s"] = s.llm_timeout_s
    report: dict[str, Any] = {
        "status": "ok" if db_ok else "error",
        "timestamp": iso(rt.now()),
        "version": __version__,
        "engine": s.engine_name,
        "checks": checks,
        "setup": setup,
    }
    if not db_ok:
        report["error"] = "Database connection failed"
    return report
