"""One run, one verdict: the API, `runs list`, `runs get`, every export and the TUI all read `run_verdict()`."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from preclinical.cli.exit_codes import OK
from preclinical.report.export import export_run
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.run import RunScreen
from tests.cli.conftest import invoke_async
from tests.tui.driving import text_of, wait_until


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


async def verdict_everywhere(api, runtime, run_id: str) -> dict[str, str]:
    """The headline each front end shows for the run."""
    seen: dict[str, str] = {}
    got = await invoke_async(*api, "runs", "get", run_id, "--json")
    run = json.loads(got.stdout)
    seen["api"] = run["verdict"]["headline"]
    human = (await invoke_async(*api, "runs", "get", run_id)).stdout
    seen["runs get"] = next(line.split("Verdict", 1)[1].strip().split(" — ")[0]
                            for line in human.splitlines() if line.strip().startswith("Verdict"))
    assert run["verdict"]["reason"].split(":")[0][:40] in human.replace("\n", " ")
    listed = json.loads((await invoke_async(*api, "runs", "list", "--json")).stdout)["runs"]
    seen["runs list --json"] = next(r["verdict"]["headline"] for r in listed if r["id"] == run["id"])
    table = (await invoke_async(*api, "runs", "list")).stdout
    seen["runs list"] = next(h for h in ("No verdict", "Passed", "Failed", "Canceled", "Running")
                             if any(run["test_run_id"] in line and h in line for line in table.splitlines()))
    exported = json.loads((await invoke_async(*api, "results", "export", run_id, "--format", "json", "-o", "-")).stdout)
    seen["json export"] = exported["run"]["verdict"]["headline"]
    junit = ET.fromstring((await invoke_async(*api, "results", "export", run_id, "--format", "junit", "-o", "-")).stdout)
    outcome = junit.find(".//property[@name='verdict']").get("value")
    seen["junit export"] = {"passed": "Passed", "failed": "Failed", "no verdict": "No verdict"}[outcome]
    markdown = (await invoke_async(*api, "results", "export", run_id, "--format", "markdown", "-o", "-")).stdout
    seen["markdown export"] = next(line.split("|")[2].strip().split(":")[0] for line in markdown.splitlines()
                                   if line.startswith("| Verdict |"))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api[1]}/api/v1/tests/{run['id']}/export-html") as resp:
            page = await resp.text()
    seen["html export"] = re.search(r"Verdict</[^>]+>\s*<[^>]+>([^<:]+):", page).group(1).strip()
    csv_name, _ = export_run(run["id"], "csv")
    assert csv_name.endswith(".csv")  # the CSV keeps the reference's per-scenario columns: no run verdict in it
    app = PreclinicalApp(runtime, api_url=api[1])
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_run(run["id"])
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and text_of(app.screen.query_one("#run-outcome")))
        seen["tui run screen"] = next(h for h in ("No verdict", "Passed", "Failed")
                                      if text_of(app.screen.query_one("#run-outcome")).startswith(h))
    return seen


async def test_a_run_with_an_errored_scenario_has_no_verdict_everywhere(api, runtime, fake_openai):
    fake_openai.inject("401", times=1)  # the first scenario's first call fails for good; the others play
    config = json.dumps({"base_url": fake_openai.url, "api_key": "k", "target_model": "m"})
    assert (await invoke_async(*api, "agents", "create", "-p", "openai", "-n", "Flaky bot", "-c", config)).code == OK
    out = await invoke_async(*api, "run", "Flaky bot", "--max-scenarios", "3", "--concurrency", "1", "--watch", "--json")
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["run"]["error_count"] == 1 and summary["run"]["status"] == "completed"
    seen = await verdict_everywhere(api, runtime, summary["run"]["id"])
    assert set(seen.values()) == {"No verdict"}, seen


async def test_a_clean_run_reads_passed_or_failed_the_same_everywhere(api, runtime):
    out = await invoke_async(*api, "run", "Demo triage bot", "--max-scenarios", "4", "--watch", "--json")
    summary = json.loads(out.stdout.splitlines()[-1])
    expected = "Failed" if summary["run"]["failed_count"] else "Passed"
    seen = await verdict_everywhere(api, runtime, summary["run"]["id"])
    assert set(seen.values()) == {expected}, seen
