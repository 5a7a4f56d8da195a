"""What produced a run, recorded when it starts: engine, patient and judge (model, temperature), prompt
versions, the effective turn limit and the triage reader's version.

Screens, exports and the API show this spec of the run, not the settings the app happens to have now.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from types import ModuleType
from typing import Any

from preclinical.config import Settings

SPEC_VERSION = 1


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@functools.cache
def prompts_version(module_name: str) -> str:
    """A hash of a module's prompt texts (its long module-level string constants), so any wording change shows."""
    import importlib

    module: ModuleType = importlib.import_module(module_name)
    texts = [f"{name}={value}" for name, value in sorted(vars(module).items())
             if name.isupper() or name.lstrip("_").isupper()
             if isinstance(value, str) and len(value) >= 80]
    return _digest("\n".join(texts))


@functools.cache
def module_version(module_name: str) -> str:
    """A hash of a module's source: the rules engines (scripted patient, rules grader, triage reader) have no prompts."""
    import importlib

    return _digest(inspect.getsource(importlib.import_module(module_name)))


def run_spec(settings: Settings, *, model: bool, creative: bool, max_turns: int) -> dict[str, Any]:
    """The spec of a run about to start with these settings."""
    patient: dict[str, Any]
    judge: dict[str, Any]
    if model:
        patient = {"kind": "adversarial" if creative else "standardized", "model": settings.tester_model,
                   "temperature": settings.tester_temperature,
                   "prompts": prompts_version("preclinical.engine.model_patient")}
        judge = {"kind": "model", "model": settings.grader_model, "temperature": settings.grader_temperature,
                 "prompts": prompts_version("preclinical.engine.model_grader")}
    else:
        patient = {"kind": "scripted", "model": None, "temperature": None,
                   "version": module_version("preclinical.engine.scripted_patient")}
        judge = {"kind": "rules", "model": None, "temperature": None,
                 "version": module_version("preclinical.engine.grading")}
    return {"version": SPEC_VERSION, "engine": "model" if model else "offline", "patient": patient, "judge": judge,
            "max_turns": max_turns, "reader_version": module_version("preclinical.domain.triage")}


def model_changes(spec: Any) -> dict[str, Any]:
    """The language-model settings a model-engine run was started with, from its spec: the patient's and the
    judge's model and temperature, as `ModelSettings` field changes (`LLM.with_models`)."""
    changes: dict[str, Any] = {}
    if not isinstance(spec, dict):
        return changes
    for role, part in (("tester", "patient"), ("grader", "judge")):
        entry = spec.get(part)
        if not isinstance(entry, dict):
            continue
        model, temperature = entry.get("model"), entry.get("temperature")
        if isinstance(model, str) and model:
            changes[f"{role}_model"] = model
        if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
            changes[f"{role}_temperature"] = float(temperature)
    return changes
