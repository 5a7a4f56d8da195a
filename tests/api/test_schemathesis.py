"""Schemathesis over our own OpenAPI document, against a real `preclinical serve`: no input gets a 5xx.

A bounded run with a fixed seed (deterministic, about a minute on 2 cores). For a long run set
PRECLINICAL_SCHEMATHESIS_EXAMPLES (cases per operation and phase, default 8).
The validate-browser operations are left out: their contract answers 500 when BROWSER_USE_API_KEY
is not set (tests/api/test_validate_browser.py covers them), and with a key they would call the
Browser Use cloud. /events is a stream (tests/api/test_events.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.test_recovery import free_port

EXAMPLES = int(os.environ.get("PRECLINICAL_SCHEMATHESIS_EXAMPLES", "8"))


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error_or_a_traceback(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PRECLINICAL", "BROWSER_USE"))}
    env["PRECLINICAL_CONCURRENCY"] = "2"  # runs it starts play on in the background; keep them light
    data = tmp_path / "data"
    server = subprocess.Popen(
        [sys.executable, "-m", "preclinical", "serve", "--port", str(port), "--data-dir", str(data)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        st = Path(sys.executable).with_name("st")
        result = subprocess.run(
            [str(st), "run", f"http://127.0.0.1:{port}/api/v1/openapi.json", "--wait-for-schema", "20",
             "--checks", "not_a_server_error", "--max-examples", str(EXAMPLES), "--seed", "13",
             "--phases", "coverage,fuzzing", "--exclude-path-regex", "validate-browser|^/events$",
             "--generation-database", "none", "--workers", "1", "--no-color", "--request-timeout", "30"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    finally:
        server.terminate()
        server.wait(10)
    out = result.stdout + result.stderr
    summary = re.search(r"(\d+) generated, (\d+) passed", out)
    assert result.returncode == 0 and summary, out[-4000:]
    generated, passed = map(int, summary.groups())
    print(f"\nschemathesis: {generated} cases generated, {passed} passed, 0 server errors")
    assert generated == passed and generated > 300
    log = (data / "logs" / "preclinical.log").read_text()
    assert "Traceback" not in log and " ERROR " not in log, log[-4000:]
