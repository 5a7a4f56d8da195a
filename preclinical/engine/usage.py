"""What language-model calls cost: tokens and requests, added up the same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0  # HTTP requests sent, failed ones and retries included

    def add(self, usage: Any) -> None:
        """Count an API reply's token usage in (an `openai` usage object, or None)."""
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens or 0
            self.completion_tokens += usage.completion_tokens or 0

    def __iadd__(self, other: Usage) -> Usage:
        """Add `other` in place (a running total keeps its identity)."""
        if not isinstance(other, Usage):
            return NotImplemented
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls
        return self

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.calls + other.calls)
