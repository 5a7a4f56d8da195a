"""`run --watch` and `runs watch`: progress output, the summary, and exit codes CI can rely on."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from preclinical.cli.exit_codes import FAILED, NO_VERDICT, OK, USAGE
from tests.cli.conftest import invoke_async


@pytest.fixture
async def hasty(api):
    """The demo bot in its hasty style, and which bundled scenarios it passes and fails (it misses some)."""
    out = await invoke_async(*api, "agents", "create", "-p", "demo", "-n", "Hasty bot", "-c", '{"style": "hasty"}')
    assert out.code == OK, out.stderr
    out = await invoke_async(*api, "run", "Hasty bot", "--tags", "red-flag,benign", "--watch", "--json")
    summary = json.loads(out.stdout.splitlines()[-1])
    run_id = summary["run"]["id"]
    page = json.loads((await invoke_async(*api, "results", "list", run_id, "-l", "100", "--json")).stdout)
    passed = [r["scenario_id"] for r in page["results"] if r["status"] == "passed"]
    failed = [r["scenario_id"] for r in page["results"] if r["status"] == "failed"]
    assert len(passed) >= 3 and failed, "the hasty demo bot should pass some cases and miss others"
    return passed, failed


async def test_all_passed_exits_0_with_a_line_per_event_and_a_summary(api, hasty):
    passed, _ = hasty
    out = await invoke_async(*api, "run", "Hasty bot", "--scenario-ids", ",".join(passed[:3]), "--watch")
    assert out.code == OK, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Started run: run_")
    assert sum(1 for line in lines if line.startswith("running ")) == 3
    assert sum(1 for line in lines if line.startswith("passed ")) == 3
    assert any(line.startswith("completed  3 passed, 0 failed, 0 errors; pass rate 100.0%") for line in lines)
    assert "Triage accuracy" in out.stdout and "3/3 (100.0%)" in out.stdout
    assert lines[-1] == "All 3 scenarios passed."


async def test_a_failed_scenario_exits_1_unless_the_pass_rate_meets_fail_under(api, hasty):
    passed, failed = hasty
    ids = ",".join([*passed[:2], failed[0]])
    out = await invoke_async(*api, "run", "Hasty bot", "--scenario-ids", ids, "-w")
    assert out.code == FAILED
    assert out.stdout.splitlines()[-1] == "1 of 3 scenarios failed (pass rate 66.7%)."
    assert "Not passed (1)" in out.stdout and "FAIL" in out.stdout

    out = await invoke_async(*api, "run", "Hasty bot", "--scenario-ids", ids, "--fail-under", "60")  # implies --watch
    assert out.code == OK
    assert out.stdout.splitlines()[-1] == "Pass rate 66.7% meets --fail-under 60% (2 of 3 passed)."
    out = await invoke_async(*api, "run", "Hasty bot", "--scenario-ids", ids, "--watch", "--fail-under", "70")
    assert out.code == FAILED
    assert out.stdout.splitlines()[-1] == "Pass rate 66.7% is below --fail-under 70% (2 of 3 passed)."


async def test_triage_tally_counts_under_and_over_triage(api, hasty):
    _, failed = hasty
    out = await invoke_async(*api, "run", "Hasty bot", "--scenario-ids", ",".join(failed), "--watch", "--json")
    summary = json.loads(out.stdout.splitlines()[-1])
    triage = summary["triage"]
    page = json.loads((await invoke_async(*api, "results", "list", summary["run"]["id"], "-l", "100", "--json")).stdout)
    rows = page["results"]
    assert triage["graded"] == len(rows) == len(failed)
    assert triage["correct"] == sum(r["triage_correct"] for r in rows)
    rank = {"Home care": 0, "Clinician": 1, "Emergency": 2}
    under = sum(1 for r in rows if r["triage_result"] and rank[r["triage_result"]] < rank[r["gold_standard"]])
    over = sum(1 for r in rows if r["triage_result"] and rank[r["triage_result"]] > rank[r["gold_standard"]])
    assert (triage["under_triage"], triage["over_triage"]) == (under, over) and under > 0
    assert summary["exit_code"] == FAILED == out.code


async def test_json_watch_prints_one_object_per_line(api):
    out = await invoke_async(*api, "run", "Demo triage bot", "--max-scenarios", "2", "--watch", "--json")
    objects = [json.loads(line) for line in out.stdout.splitlines()]
    assert objects[0]["status"] == "running" and objects[0]["total_scenarios"] == 2
    types = [o.get("type") for o in objects[1:]]
    assert types[0] == "test_run_started" and "transcript_update" in types and types[-2] == "test_run_complete"
    assert types[-1] == "summary" and objects[-1]["exit_code"] == out.code


async def test_scenario_errors_mean_no_verdict(api, fake_openai):
    fake_openai.inject("401", times=-1)
    config = json.dumps({"base_url": fake_openai.url, "api_key": "wrong", "target_model": "m"})
    await invoke_async(*api, "agents", "create", "-p", "openai", "-n", "Locked bot", "-c", config)
    out = await invoke_async(*api, "run", "Locked bot", "--max-scenarios", "2", "--watch", "--fail-under", "0")
    assert out.code == NO_VERDICT
    assert sum(1 for line in out.stdout.splitlines() if line.startswith("error ") and "PROVIDER_AUTH" in line) == 2
    assert "2 of 2 scenarios ended in an error" in out.stdout.splitlines()[-1]


@pytest.fixture
async def slow_run(api, fake_openai):
    """A run of two scenarios against an agent that takes a while to answer, already talking to it."""
    fake_openai.latency_s = 0.2
    config = json.dumps({"base_url": fake_openai.url, "api_key": "k", "target_model": "m"})
    await invoke_async(*api, "agents", "create", "-p", "openai", "-n", "Slow bot", "-c", config)
    started = json.loads((await invoke_async(*api, "run", "Slow bot", "--max-scenarios", "2", "--json")).stdout)
    while not fake_openai.requests:
        await asyncio.sleep(0.02)
    return started


async def test_runs_cancel_stops_a_running_run_and_its_watch_says_no_verdict(api, slow_run):
    out = await invoke_async(*api, "runs", "cancel", slow_run["test_run_id"])
    assert out.code == OK and out.stdout.strip() == f"Canceled run {slow_run['test_run_id']}: 2 scenario(s) canceled"
    watched = await invoke_async(*api, "runs", "watch", slow_run["id"])
    assert watched.code == NO_VERDICT
    assert "canceled   2 scenarios canceled" in watched.stdout
    assert watched.stdout.splitlines()[-1] == "The run was canceled: no verdict."


async def test_a_run_canceled_while_watched_ends_the_watch(api, slow_run):
    watching = asyncio.ensure_future(invoke_async(*api, "runs", "watch", slow_run["id"], "--json"))
    await asyncio.sleep(0.3)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api[1]}/cancel-run", json={"test_run_id": slow_run["id"]}) as resp:
            assert (await resp.json())["canceled_scenarios"] == 2
    watched = await asyncio.wait_for(watching, 10)
    assert watched.code == NO_VERDICT
    summary = json.loads(watched.stdout.splitlines()[-1])
    assert summary["run"]["status"] == "canceled" and summary["exit_code"] == NO_VERDICT


async def test_unknown_agent_or_run_is_one_line_and_no_verdict(api):
    out = await invoke_async(*api, "run", "Nobody", "--watch")
    assert out.code == NO_VERDICT
    assert out.stderr.strip() == "Error: No agent with id or name 'Nobody' (see `preclinical agents list`)"
    out = await invoke_async(*api, "runs", "watch", "run_20990101000000_zzzz")
    assert out.code == NO_VERDICT and out.stderr.strip() == "Error: Test run not found"
    out = await invoke_async(*api, "run", "Demo triage bot", "--tags", "no-such-tag")
    assert out.code == NO_VERDICT and out.stderr.strip() == "Error: No active scenarios available"


async def test_usage_errors_exit_64(api):
    for args in (["run"], ["run", "x", "--fail-under", "150"], ["runs", "list", "-s", "bogus"], ["no-such-command"],
                 ["--local", *api, "health"]):
        out = await invoke_async(*api, *args) if args[0] != "--local" else await invoke_async(*args)
        assert out.code == USAGE, (args, out.stderr)
        assert "Traceback" not in out.stderr


async def test_unreachable_server_is_one_line_and_exit_2(unused_tcp_port):
    url = f"http://127.0.0.1:{unused_tcp_port}"
    for args in (["health"], ["agents", "list"], ["run", "x", "-w"]):
        out = await invoke_async("--url", url, *args)
        assert out.code == NO_VERDICT
        assert out.stderr.strip().startswith(f"Error: Could not reach the Preclinical server at {url} (")
        assert out.stderr.strip().endswith("or add --local to work on the local data dir")
        assert "\n" not in out.stderr.strip()


async def test_watch_survives_a_dropped_stream(api, runtime, monkeypatch):
    """The stream is reopened from the last event seen (Last-Event-ID) and nothing is counted twice."""
    from preclinical.cli import client as client_module

    real = client_module.ApiClient.events
    calls: list[int | None] = []

    async def flaky(self, run_id, *, last_event_id=None):
        calls.append(last_event_id)
        seen = 0
        async for event in real(self, run_id, last_event_id=last_event_id):
            yield event
            seen += 1
            if len(calls) == 1 and seen == 5:
                raise client_module.ServerUnreachable("Lost the connection (test)")

    monkeypatch.setattr(client_module.ApiClient, "events", flaky)
    out = await invoke_async(*api, "run", "Demo triage bot", "--max-scenarios", "3", "--watch")
    assert len(calls) == 2 and calls[0] is None and calls[1] > 0
    assert sum(1 for line in out.stdout.splitlines() if line.startswith(("passed ", "failed "))) == 3
    assert "completed  " in out.stdout


async def test_bearer_key_is_sent(runtime, unused_tcp_port):
    """--api-key reaches a server that requires a token (as off loopback) as Authorization: Bearer."""
    from preclinical.server.app import make_app

    runner = aiohttp.web.AppRunner(make_app(runtime, require_token="s3cret"))
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", unused_tcp_port)
    await site.start()
    try:
        url = f"http://127.0.0.1:{unused_tcp_port}"
        out = await invoke_async("--url", url, "agents", "list")
        assert out.code == FAILED and "Unauthorized" in out.stderr
        out = await invoke_async("--url", url, "--api-key", "s3cret", "agents", "list", "--json")
        assert out.code == OK and json.loads(out.stdout)[0]["name"] == "Demo triage bot"
    finally:
        await runner.cleanup()
