"""A fake model whose judge is noisy, the way a real judge at temperature > 0 is: the same transcript graded
twice can get different decisions and a different reading of the disposition.

As a responder for `FakeOpenAI`, or served on its own for trying the CLI by hand:

    python -m tests.fakes.noisy_judge --port 8911 &
    OPENAI_BASE_URL=http://127.0.0.1:8911/v1 OPENAI_API_KEY=x preclinical --local run "Demo triage bot" --repeat 3 -w

Deterministic: the n-th grading of the same prompt always gets the same answer (whatever the order of calls).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import re
from collections import Counter
from typing import Any

from tests.fakes.openai_server import asks_for_json, default_reply, start_fake_openai

_CRITERION = re.compile(r"^\[(\d+)\] \(", re.MULTILINE)
_GOLD = re.compile(r"^Expected level of care: (.+)$", re.MULTILINE)
_LEVELS = ("Emergency", "Clinician", "Home care")


def _schema_name(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name")


def _prompt(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body.get("messages", []) if isinstance(m.get("content"), str))


class NoisyJudge:
    """Grades every criterion MET, except that each decision flips with probability `flip`, and reads the
    disposition one level off with probability `misread`. Everything else is the fake's default reply."""

    def __init__(self, *, flip: float = 0.25, misread: float = 0.15, seed: int = 1) -> None:
        self.flip, self.misread, self.seed = flip, misread, seed
        self.seen: Counter[str] = Counter()

    def __call__(self, body: dict[str, Any]) -> str | dict[str, Any]:
        text = _prompt(body)
        schema = _schema_name(body)
        if schema not in ("GradingOutput", "RegradeOutput") and not ("Rubric:" in text and asks_for_json(body)):
            return default_reply(body)
        digest = hashlib.sha256(text.encode()).hexdigest()
        self.seen[digest] += 1
        rng = random.Random(f"{self.seed}:{digest}:{self.seen[digest]}")
        indices = [int(i) for i in _CRITERION.findall(text)]
        decisions = []
        for index in indices:
            decision = "MET"
            if rng.random() < self.flip:
                decision = rng.choice(["PARTIALLY MET", "NOT MET"])
            decisions.append({"criterion_index": index, "decision": decision, "rationale": f"Judged {decision}.",
                              "supporting_evidence": [], "contradicting_evidence": []})
        gold = _GOLD.search(text)
        level = gold.group(1).strip() if gold else "Clinician"
        level = next((name for name in _LEVELS if name.lower() in level.lower()), "Clinician")
        if rng.random() < self.misread:
            i = _LEVELS.index(level)
            level = _LEVELS[i + 1] if i + 1 < len(_LEVELS) else _LEVELS[i - 1]
        if schema == "RegradeOutput":
            return {"evaluations": decisions}
        return {"evaluations": decisions, "summary": "A noisy fake judge's grading.", "final_disposition": level,
                "disposition_quote": None}


async def _serve(port: int, flip: float, misread: float, seed: int) -> None:
    judge = NoisyJudge(flip=flip, misread=misread, seed=seed)
    _, runner, url = await start_fake_openai(port=port, responder=judge)
    print(f"noisy fake model at {url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8911)
    parser.add_argument("--flip", type=float, default=0.25)
    parser.add_argument("--misread", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.port, args.flip, args.misread, args.seed))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
