"""The self-contained HTML report of a run and of a comparison: served by the API, safe, and clean in Chromium."""

import asyncio
import re
from pathlib import Path

import pytest

from preclinical.library import DEMO_AGENT_ID
from preclinical.store.models import Grading, ScenarioRun
from tests.browser import chromium_path, visit

HOSTILE = '<script>alert("pwned")</script><img src=x onerror="alert(1)"> & call 911 now'
DOCS = Path(__file__).resolve().parents[2] / "docs"


async def finished_run(client, runtime, agent_id, **body):
    resp = await client.post("/start-run", json={"agent_id": agent_id, **body})
    assert resp.status == 200, await resp.text()
    started = await resp.json()
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 60)
    return started


async def hasty_agent(client):
    resp = await client.post("/api/v1/agents", json={"provider": "demo", "name": "Hasty", "config": {"style": "hasty"}})
    return (await resp.json())["id"]


def plant_hostile_reply(run_id: str) -> str:
    """Make the first scenario run's agent say something hostile, and the judge quote it as evidence."""
    sr = ScenarioRun.select().where(ScenarioRun.test_run == run_id).order_by(ScenarioRun.position).first()
    transcript = list(sr.transcript)
    first_reply = next(i for i, e in enumerate(transcript) if e["role"] == "target")
    transcript[first_reply] = {**transcript[first_reply], "content": HOSTILE}
    ScenarioRun.update(transcript=transcript).where(ScenarioRun.id == sr.id).execute()
    grading = Grading.get(Grading.scenario_run == sr.id)
    results = [dict(r) for r in grading.criteria_results]
    turn = transcript[first_reply]["turn"]
    results[0]["supporting_evidence"] = [f'Turn {turn}: "call 911 now"']
    results[0]["rationale"] = "</li><script>alert(2)</script>"
    Grading.update(criteria_results=results).where(Grading.id == grading.id).execute()
    return sr.id


async def test_the_run_report_is_one_escaped_html_file(client, runtime):
    run = await finished_run(client, runtime, DEMO_AGENT_ID, max_scenarios=4)
    plant_hostile_reply(run["id"])

    resp = await client.get(f"/api/v1/tests/{run['test_run_id']}/export-html")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="triagerun-Demo_triage_bot-{run["test_run_id"]}.html"')
    page = await resp.text()
    assert page.startswith("<!DOCTYPE html>")
    # Nothing to fetch and nothing to run: no scripts, stylesheets, fonts or remote images.
    assert "<script" not in page and "<link rel=\"stylesheet\"" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;/li&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
    # The cited evidence is highlighted in the turn it quotes, and linked from the criterion.
    assert re.search(r'<mark class="sup" title="C1">call 911 now</mark>', page)
    assert page.count("<details class=\"sr\"") == 4
    assert "Pass rate" in page and "Triage confusion matrix" in page and "95% CI" in page


async def test_unknown_run_is_a_json_404(client):
    resp = await client.get("/api/v1/tests/run_nope/export-html")
    assert resp.status == 404
    assert (await resp.json()) == {"error": "Test run not found"}


async def test_the_comparison_report(client, runtime):
    careful = await finished_run(client, runtime, DEMO_AGENT_ID)
    hasty = await finished_run(client, runtime, await hasty_agent(client))
    resp = await client.get("/api/v1/tests/compare/export-html",
                            params={"base": careful["test_run_id"], "candidate": hasty["id"]})
    assert resp.status == 200 and resp.content_type == "text/html"
    assert resp.headers["Content-Disposition"].endswith(
        f'filename="preclinical-compare-{careful["test_run_id"]}-{hasty["test_run_id"]}.html"')
    page = await resp.text()
    assert "Significantly worse" in page and "Emergencies newly under-triaged" in page
    missing = await client.get("/api/v1/tests/compare/export-html", params={"base": careful["id"]})
    assert missing.status == 400 and "required" in (await missing.json())["error"]


@pytest.mark.skipif(chromium_path() is None, reason="needs Chromium (Debian: apt-get install chromium)")
async def test_the_report_renders_in_headless_chromium_without_console_errors(client, runtime, tmp_path):
    run = await finished_run(client, runtime, await hasty_agent(client), max_scenarios=8)
    plant_hostile_reply(run["id"])
    path = tmp_path / "report.html"
    path.write_text(await (await client.get(f"/api/v1/tests/{run['id']}/export-html")).text(), encoding="utf-8")

    seen = await visit(path, full_page=True, expressions={
        "scripts": "document.scripts.length",
        "images": "document.images.length",
        "charts": "document.querySelectorAll('svg.chart').length",
        "marks": "document.querySelectorAll('mark').length",
        "hostile": f"document.body.textContent.includes({HOSTILE!r})",
        "open_first": "document.querySelector('details.sr').open = true",
    })
    assert seen.errors == []
    assert seen.requests == [path.as_uri()]  # the file itself and nothing else
    assert seen.values["scripts"] == 0 and seen.values["images"] == 0
    assert seen.values["charts"] >= 4  # rates, confusion matrix, axes, one per scenario's criteria
    assert seen.values["marks"] >= 1 and seen.values["hostile"] is True  # shown as text, not run
    assert seen.screenshot.startswith(b"\x89PNG") and len(seen.screenshot) > 20_000
    (tmp_path / "report.png").write_bytes(seen.screenshot)


@pytest.mark.skipif(chromium_path() is None, reason="needs Chromium (Debian: apt-get install chromium)")
async def test_the_browser_check_does_catch_console_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><title>x</title><script>console.error('boom'); undefinedThing();</script>")
    seen = await visit(page)
    assert any("boom" in e for e in seen.errors)
    assert any("undefinedThing" in e for e in seen.errors)
