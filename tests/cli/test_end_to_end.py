"""Against a `preclinical serve` subprocess: the README's CI gate, the published CLI's examples, local = server JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from preclinical.cli.exit_codes import FAILED, NO_VERDICT, OK
from tests.cli.conftest import invoke


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(root) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PRECLINICAL"))}
    env.update(HOME=str(root / "home"), XDG_DATA_HOME=str(root / "xdg-data"), XDG_CONFIG_HOME=str(root / "xdg-config"),
               XDG_STATE_HOME=str(root / "xdg-state"), COLUMNS="120")
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `preclinical serve` on a free port; yields its URL."""
    root = tmp_path_factory.mktemp("served")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "preclinical", "serve", "--port", str(port), "--data-dir", str(root / "data")],
        env=clean_env(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(f"server did not start: {proc.stderr.read().decode()}") from None
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def preclinical(*args: str, root) -> subprocess.CompletedProcess:
    """The real entry point in a process of its own."""
    return subprocess.run([sys.executable, "-m", "preclinical", *args], env=clean_env(root), capture_output=True,
                          text=True, timeout=120)


def test_ci_gate_passes_and_fails_on_the_pass_rate(server, tmp_path):
    gate = preclinical("--url", server, "run", "Demo triage bot", "--benchmark", "--watch", "--fail-under", "60",
                       root=tmp_path)
    assert gate.returncode == OK, gate.stdout[-2000:] + gate.stderr
    assert gate.stdout.splitlines()[-1].startswith("Pass rate ") and "meets --fail-under 60%" in gate.stdout
    assert "Triage accuracy" in gate.stdout and "Under-triage" in gate.stdout and "Over-triage" in gate.stdout

    made = preclinical("--url", server, "agents", "create", "-p", "demo", "-n", "Hasty bot", "-c", '{"style": "hasty"}',
                       root=tmp_path)
    assert made.returncode == OK, made.stderr
    regression = preclinical("--url", server, "run", "Hasty bot", "--benchmark", "--watch", "--fail-under", "90",
                             root=tmp_path)
    assert regression.returncode == FAILED, regression.stdout[-2000:] + regression.stderr
    assert "is below --fail-under 90%" in regression.stdout.splitlines()[-1]


def test_the_published_cli_examples_work_unchanged(server, tmp_path, monkeypatch):
    """The command lines from the published CLI's README and docs, as written there."""
    url = ["--url", server]
    assert invoke(*url, "health").code == OK
    assert invoke(*url, "agents", "list").code == OK
    out = invoke(*url, "agents", "create", "--provider", "openai", "--name", "My Agent", "--config",
                 '{"base_url": "https://api.example.com/v1", "model": "gpt-4"}')
    assert out.code == OK and out.stdout.startswith("Created agent: My Agent (")
    agent_id = out.stdout.split("(")[1].split(")")[0]
    assert invoke(*url, "agents", "update", agent_id, "--name", "New Name").code == OK
    assert invoke(*url, "agents", "delete", agent_id, input="y\n").code == OK
    assert invoke(*url, "scenarios", "list").code == OK

    out = invoke(*url, "run", "708410fa-65ac-5b96-9c4d-c2e5d4a1d874", "--max-turns", "5", "--tags", "cardiovascular")
    assert out.code == OK and out.stdout.startswith("Started run: run_")
    out = invoke(*url, "run", "708410fa-65ac-5b96-9c4d-c2e5d4a1d874", "--creative", "--watch")
    assert out.code == NO_VERDICT and out.stderr.startswith("Error: creative_mode needs a language model")
    out = invoke(*url, "run", "708410fa-65ac-5b96-9c4d-c2e5d4a1d874", "--name", "Weekly regression",
                 "--max-scenarios", "20", "--concurrency", "5", "--watch")
    assert out.code in (OK, FAILED) and "Summary" in out.stdout
    runs = json.loads(invoke(*url, "runs", "list", "--json").stdout)["runs"]
    run_id = next(r["id"] for r in runs if r["name"] == "Weekly regression")
    assert invoke(*url, "runs", "get", run_id).code == OK
    assert invoke(*url, "results", "list", run_id).code == OK
    results = json.loads(invoke(*url, "results", "list", run_id, "--json").stdout)["results"]
    not_passed = [r for r in results if r["passed"] is False]  # jq '.results[] | select(.passed == false)'
    assert all(r["grade_summary"] for r in not_passed)
    assert invoke(*url, "results", "get", results[0]["id"]).code == OK
    assert invoke(*url, "runs", "watch", run_id).code in (OK, FAILED)
    assert invoke(*url, "runs", "cancel", run_id).code == OK

    monkeypatch.chdir(tmp_path)
    assert invoke(*url, "results", "export", run_id).code == OK  # HEAD's `results export RUN_ID [-o FILE]`


def without_times(data):
    """JSON without the timestamps, which differ between two databases."""
    if isinstance(data, dict):
        return {k: without_times(v) for k, v in data.items() if not k.endswith("_at") and k != "timestamp"}
    if isinstance(data, list):
        return [without_times(v) for v in data]
    return data


def test_local_mode_prints_the_same_json_as_a_server(server, tmp_path):
    local = ["--local", "--data-dir", str(tmp_path / "local")]
    for args in (["agents", "get", "Demo triage bot", "--json"], ["scenarios", "list", "--json"],
                 ["scenarios", "list", "-c", "emergency", "--json"]):
        remote_out, local_out = invoke("--url", server, *args), invoke(*local, *args)
        assert remote_out.code == local_out.code == OK
        assert without_times(json.loads(local_out.stdout)) == without_times(json.loads(remote_out.stdout))
    remote_health = json.loads(invoke("--url", server, "health", "--json").stdout)
    local_health = json.loads(invoke(*local, "health", "--json").stdout)
    assert local_health.keys() == remote_health.keys() and local_health["checks"] == remote_health["checks"]
    remote_err, local_err = invoke("--url", server, "runs", "get", "nope"), invoke(*local, "runs", "get", "nope")
    assert remote_err.code == local_err.code == FAILED and remote_err.stderr == local_err.stderr
