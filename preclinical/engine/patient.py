"""The simulated patient as the conversation loop sees it, and the offline (scripted) implementation."""

from __future__ import annotations

from typing import Any, Protocol

from preclinical.engine.scripted_patient import ScriptedPatient
from preclinical.engine.usage import Usage


class Patient(Protocol):
    usage: Usage

    async def opening(self) -> str: ...

    async def next_message(self, transcript: list[dict[str, Any]], turn: int, max_turns: int) -> str: ...

    def metadata(self) -> dict[str, Any]: ...


class OfflinePatient:
    """The scripted standardized patient: answers only from the facts, with no model."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        self._script = ScriptedPatient(scenario.get("content") or {})
        self.usage = Usage()

    async def opening(self) -> str:
        return self._script.opening()

    async def next_message(self, transcript: list[dict[str, Any]], turn: int, max_turns: int) -> str:
        last_reply = next((e["content"] for e in reversed(transcript) if e["role"] == "target"), "")
        return self._script.reply(last_reply, turn, max_turns)

    def metadata(self) -> dict[str, Any]:
        return {"patient": "scripted"}
