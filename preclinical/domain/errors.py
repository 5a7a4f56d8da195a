"""Error codes for failed scenario runs: classifying a failure, whether to retry it, and its label."""

from __future__ import annotations

import random
import re

RATE_LIMIT = "RATE_LIMIT"
SERVER_ERROR = "SERVER_ERROR"
BROWSER_AUTH = "BROWSER_AUTH"
BROWSER_TIMEOUT = "BROWSER_TIMEOUT"
BROWSER_BLOCKED = "BROWSER_BLOCKED"
BROWSER_SESSION = "BROWSER_SESSION"
BROWSER_EXTRACTION = "BROWSER_EXTRACTION"
PROVIDER_AUTH = "PROVIDER_AUTH"
PROVIDER_NOT_FOUND = "PROVIDER_NOT_FOUND"
INVALID_INPUT = "INVALID_INPUT"
UNKNOWN = "UNKNOWN"
# Ours, set by the engine rather than classified from a message.
INTERRUPTED = "INTERRUPTED"  # the process stopped mid-run; closed at the next start
TIMEOUT = "TIMEOUT"  # the scenario ran past its deadline
CANCELED = "CANCELED"
# Set by the model layer: the language model's answer could not be used.
BAD_RESPONSE = "BAD_RESPONSE"  # not a chat completion: HTML, a truncated or malformed body, an empty reply
INVALID_OUTPUT = "INVALID_OUTPUT"  # a completion whose text never matched the requested JSON schema

LABELS: dict[str, str] = {
    RATE_LIMIT: "Rate Limited",
    SERVER_ERROR: "Server Error",
    BROWSER_AUTH: "Browser Login Failed",
    BROWSER_TIMEOUT: "Browser Timeout",
    BROWSER_BLOCKED: "Site Blocked Access",
    BROWSER_SESSION: "Browser Session Dead",
    BROWSER_EXTRACTION: "Could Not Extract Response",
    PROVIDER_AUTH: "API Authentication Failed",
    PROVIDER_NOT_FOUND: "Endpoint Not Found",
    INVALID_INPUT: "Invalid Input",
    UNKNOWN: "Unknown Error",
    INTERRUPTED: "Interrupted by a restart",
    TIMEOUT: "Timed out",
    CANCELED: "Canceled",
    BAD_RESPONSE: "Unusable Model Answer",
    INVALID_OUTPUT: "Invalid Model Output",
}

_RETRYABLE = frozenset({RATE_LIMIT, SERVER_ERROR, BROWSER_TIMEOUT})

# "(401)", "HTTP 503", "status 404", "status code: 500", "error 429"
_EMBEDDED_STATUS = re.compile(r"\(([45]\d\d)\)|\b(?:http|status(?: code)?|error|code)\s*:?\s*([45]\d\d)\b", re.IGNORECASE)


def _has(text: str, *needles: str) -> bool:
    return any(n in text for n in needles)


def embedded_status(message: str) -> int | None:
    """An HTTP error status written into a message, e.g. "call failed (401): ..." → 401."""
    m = _EMBEDDED_STATUS.search(message or "")
    return int(m.group(1) or m.group(2)) if m else None


def classify(message: str, status: int | None = None) -> str:
    """The error code for a failure, from its message and HTTP status (or one written in the message)."""
    text = (message or "").lower()
    if status is None:
        status = embedded_status(text)
    if status == 429 or _has(text, "rate limit", "too many requests", "429"):
        return RATE_LIMIT
    if _has(text, "browseruse", "browser", "cdp", "chrome"):
        if _has(text, "auth", "login", "sign in", "credential"):
            return BROWSER_AUTH
        if _has(text, "cloudflare", "blocked", "captcha", "access denied", "forbidden"):
            return BROWSER_BLOCKED
        if _has(text, "timeout", "timed out"):
            return BROWSER_TIMEOUT
        if _has(text, "session is stopped", "session is closed", "session dead", "no browser session"):
            return BROWSER_SESSION
        if _has(text, "empty bot response", "no response extracted", "extraction"):
            return BROWSER_EXTRACTION
    if (status is not None and 500 <= status < 600) or _has(
        text, "econnreset", "etimedout", "timeout", "socket hang up", "connection refused"
    ):
        return SERVER_ERROR
    if status in (401, 403) or _has(text, "unauthorized", "forbidden"):
        return PROVIDER_AUTH
    if status == 400 or "bad request" in text:
        return INVALID_INPUT
    if status == 404 or "not found" in text:
        return PROVIDER_NOT_FOUND
    return UNKNOWN


def code_for_status(status: int) -> tuple[str, bool]:
    """The error code for an HTTP error status, and whether trying again may succeed."""
    if status == 429:
        return RATE_LIMIT, True
    if status == 408:
        return TIMEOUT, True
    if status >= 500:
        return SERVER_ERROR, True
    if status in (401, 403):
        return PROVIDER_AUTH, False
    if status == 404:
        return PROVIDER_NOT_FOUND, False
    if status == 409:
        return UNKNOWN, True  # a conflict on the other side is usually transient
    return INVALID_INPUT, False


def backoff_delay(attempt: int, retry_after: float | None = None, *, base: float = 0.5, cap: float = 8.0) -> float:
    """Seconds before retry `attempt + 1`: the server's Retry-After when given, else exponential with jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return min(cap, base * 2**attempt) * random.uniform(0.5, 1.0)


def is_retryable(code: str) -> bool:
    """Whether trying again later may succeed (rate limits, server errors, browser timeouts)."""
    return code in _RETRYABLE


def label(code: str | None) -> str:
    """The UI label for a code; unknown codes show as "Unknown Error"."""
    return LABELS.get(code or UNKNOWN, LABELS[UNKNOWN])
