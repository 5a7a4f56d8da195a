"""Readiness of the installation: database, language models (or the offline engine), providers."""

from __future__ import annotations

from typing import Any

from preclinical import __version__
from preclinical.runtime import Runtime
from preclinical.store.serialize import iso


def _model_check(role: str, model: str, rt: Runtime) -> dict[str, str]:
    s = rt.settings
    if not s.model_configured:
        what = "simulated patient" if role == "Tester" else "judge"
        engine = "scripted patient" if role == "Tester" else "rules grader"
        return {
            "status": "warning",
            "detail": f"No language model is configured, so the {what} runs on the offline engine ({engine}). "
            "Set OPENAI_API_KEY or OPENAI_BASE_URL to use a model.",
        }
    where = s.openai_base_url or "api.openai.com"
    return {"status": "ok", "detail": f"{role} model is configured for OpenAI-compatible access ({model} at {where})."}


def health_report(rt: Runtime) -> dict[str, Any]:
    s = rt.settings
    db_ok = rt.database_ok()
    checks = {
        "database": {
            "status": "ok" if db_ok else "error",
            "detail": "Database connection succeeded." if db_ok else "Database connection failed.",
        },
        "tester_model": _model_check("Tester", s.tester_model, rt),
        "grader_model": _model_check("Grader", s.grader_model, rt),
        "browser_provider": (
            {"status": "ok", "detail": "Browser provider dependency is configured."}
            if s.browser_use_api_key
            else {"status": "warning", "detail": "BROWSER_USE_API_KEY is missing, so browser-based agents cannot run yet."}
        ),
    }
    report: dict[str, Any] = {
        "status": "ok" if db_ok else "error",
        "timestamp": iso(rt.now()),
        "version": __version__,
        "engine": s.engine_name,
        "checks": checks,
        "setup": {
            "tester_model": s.tester_model if s.model_configured else "offline: scripted patient",
            "grader_model": s.grader_model if s.model_configured else "offline: rules grader",
            "worker_concurrency": s.global_concurrency,
            "default_max_turns": s.default_max_turns,
            "max_turns_range": [s.min_max_turns, s.max_max_turns],
            "database": s.database_label,
        },
    }
    if not db_ok:
        report["error"] = "Database connection failed"
    return report
