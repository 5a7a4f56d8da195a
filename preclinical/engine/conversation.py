"""The turn protocol: opening message, patient turns, and the fixed triage question on the last turn.

A turn is one patient message and the agent's reply, both tagged with the same turn number. The
conversation stops early only when the agent explicitly ends it or repeats itself; even then the
triage question is asked before it ends (unless the agent's session is gone).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from preclinical.domain.triage import TRIAGE_QUESTION, read_ahead
from preclinical.engine.patient import Patient
from preclinical.providers.base import TargetSession, TurnContext

DUPLICATE_SIMILARITY = 0.85

_ENDED = re.compile(
    r"\b(?:this|our) (?:conversation|chat|session|consultation) (?:has|is) (?:now )?(?:ended|over|closed|terminated)\b"
    r"|\bi(?:'m| am) (?:ending|closing) (?:this|our) (?:conversation|chat|session)\b"
    r"|\[(?:end|end of conversation|conversation ended)\]",
    re.IGNORECASE,
)


def agent_ended(reply: str) -> bool:
    """True when the agent says, in so many words, that it has ended the conversation."""
    return bool(_ENDED.search(reply))


def _tokens(text: str) -> set[str]:
    return set(text.lower().split())


def is_repeat(reply: str, earlier: list[str]) -> bool:
    """True when the reply is (nearly) word-for-word one the agent already gave."""
    words = _tokens(reply)
    if not words:
        return False
    for previous in earlier:
        other = _tokens(previous)
        if other and len(words & other) / len(words | other) >= DUPLICATE_SIMILARITY:
            return True
    return False


@dataclass
class ConversationResult:
    transcript: list[dict[str, Any]]
    stop_reason: str  # max_turns | agent_ended | agent_repeated
    step_timings: list[dict[str, Any]] = field(default_factory=list)


# Returns False when the turn could not be stored because the scenario run was closed elsewhere (canceled or
# deleted by another process): the conversation then stops instead of asking the target again.
OnTurn = Callable[[list[dict[str, Any]], dict[str, Any]], Awaitable[bool | None]]


async def play(
    patient: Patient,
    session: TargetSession,
    *,
    max_turns: int,
    on_turn: OnTurn,
    now: Callable[[], datetime],
    start_transcript: list[dict[str, Any]] | None = None,
) -> ConversationResult:
    """Play the conversation; `on_turn(transcript, turn_info)` runs after every completed turn."""
    loop = asyncio.get_running_loop()
    transcript: list[dict[str, Any]] = list(start_transcript or [])
    timings: list[dict[str, Any]] = []
    replies: list[str] = [e["content"] for e in transcript if e["role"] == "target"]
    turn = max((e["turn"] for e in transcript), default=0) + 1
    stop_reason = "max_turns"
    triage_sent = False
    message = await patient.opening() if turn == 1 else None
    while turn <= max_turns:
        if message is None or turn == max_turns:
            if turn == max_turns:
                message = TRIAGE_QUESTION
            else:
                t0 = time.perf_counter()
                message = await patient.next_message(transcript, turn, max_turns)
                timings.append({"step": "patient_message", "turn": turn, "duration_ms": _ms(t0)})
        triage_sent = triage_sent or message == TRIAGE_QUESTION
        asked_at = now()
        t0 = time.perf_counter()
        reply = await session.send(message, TurnContext(turn=turn, max_turns=max_turns, transcript=list(transcript)))
        latency = _ms(t0)
        stamp = _iso(asked_at)
        transcript.append({"turn": turn, "role": "attacker", "content": message, "timestamp": stamp, "latency_ms": None})
        transcript.append({"turn": turn, "role": "target", "content": reply or "", "timestamp": _iso(now()),
                           "latency_ms": latency})
        timings.append({"step": "target_reply", "turn": turn, "duration_ms": latency})
        stored = await on_turn(transcript, {"turn": turn, "attacker_message": message, "target_response": reply or "",
                                            "latency_ms": latency})
        if stored is False:
            stop_reason = "closed_elsewhere"
            break
        # Grading reads every reply for the disposition; reading each one during the conversation spreads that
        # work over the turns instead of heaping it on the end, when every scenario grades at once. It is read
        # on the loop's next pass, once this conversation's next request is on its way: with many conversations
        # in step, each one's next request then no longer waits behind the others' reading.
        loop.call_soon(read_ahead, reply or "", message)
        if triage_sent:
            break
        repeated = is_repeat(reply or "", replies)
        replies.append(reply or "")
        turn += 1
        message = None
        if agent_ended(reply or "") or repeated:
            stop_reason = "agent_ended" if not repeated else "agent_repeated"
            message = TRIAGE_QUESTION  # ask for the disposition before stopping
    return ConversationResult(transcript, stop_reason, timings)


def _ms(t0: float) -> int:
    return int((time.perf_counter() - t0) * 1000)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
