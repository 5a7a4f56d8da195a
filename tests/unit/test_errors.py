"""Tests for error classification, retry policy and labels."""

from __future__ import annotations

import pytest

from preclinical.domain.errors import LABELS, classify, embedded_status, is_retryable, label


@pytest.mark.parametrize(
    ("message", "status", "code"),
    [
        ("Rate limit reached for gpt-4o-mini", None, "RATE_LIMIT"),
        ("Too Many Requests", None, "RATE_LIMIT"),
        ("upstream said 429", None, "RATE_LIMIT"),
        ("anything", 429, "RATE_LIMIT"),
        ("Browser Use session: login required", None, "BROWSER_AUTH"),
        ("Chrome page blocked by Cloudflare challenge", None, "BROWSER_BLOCKED"),
        ("browser step timed out after 120s", None, "BROWSER_TIMEOUT"),
        ("CDP error: session is closed", None, "BROWSER_SESSION"),
        ("browser task finished with empty bot response", None, "BROWSER_EXTRACTION"),
        ("read ECONNRESET", None, "SERVER_ERROR"),
        ("connect ECONNREFUSED 127.0.0.1:9 (connection refused)", None, "SERVER_ERROR"),
        ("Request timeout after 60000ms", None, "SERVER_ERROR"),
        ("Bad gateway", 502, "SERVER_ERROR"),
        ("Unauthorized", None, "PROVIDER_AUTH"),
        ("nope", 403, "PROVIDER_AUTH"),
        ("Bad Request: messages must be an array", None, "INVALID_INPUT"),
        ("Model not found", None, "PROVIDER_NOT_FOUND"),
        ("Something odd happened", None, "UNKNOWN"),
        ("", None, "UNKNOWN"),
    ],
)
def test_classify_like_the_reference(message, status, code):
    assert classify(message, status) == code


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('OpenAI target call failed (401): {"error": "invalid api key"}', "PROVIDER_AUTH"),
        ("OpenAI target call failed (403): denied", "PROVIDER_AUTH"),
        ("Vapi chat failed (503): upstream unavailable", "SERVER_ERROR"),
        ("webhook returned HTTP 500", "SERVER_ERROR"),
        ("status code: 404 for /v1/chat/completions", "PROVIDER_NOT_FOUND"),
        ("OpenAI target call failed (400): unsupported parameter", "INVALID_INPUT"),
    ],
)
def test_http_codes_written_into_messages_are_recognised(message, code):
    # Reference bug 29: only 429 was recognised inside a message.
    assert classify(message) == code


def test_explicit_status_wins_over_an_embedded_one():
    assert classify("call failed (401)", 503) == "SERVER_ERROR"


def test_embedded_status_ignores_other_numbers():
    assert embedded_status("waited 1200 ms for 3 tokens (200)") is None
    assert embedded_status("failed (502): bad gateway") == 502


@pytest.mark.parametrize(
    ("code", "retry"),
    [("RATE_LIMIT", True), ("SERVER_ERROR", True), ("BROWSER_TIMEOUT", True), ("PROVIDER_AUTH", False),
     ("BROWSER_SESSION", False), ("UNKNOWN", False), ("INTERRUPTED", False), ("CANCELED", False), ("nonsense", False)],
)
def test_is_retryable(code, retry):
    assert is_retryable(code) is retry


def test_labels():
    assert LABELS["PROVIDER_AUTH"] == "API Authentication Failed"
    assert LABELS["INTERRUPTED"] == "Interrupted by a restart"
    assert LABELS["TIMEOUT"] == "Timed out"
    assert label("CANCELED") == "Canceled"
    assert label("no such code") == "Unknown Error" == label(None)
