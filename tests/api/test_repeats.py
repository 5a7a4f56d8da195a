"""Repeats: each scenario played k times, and how much the verdicts move between them."""

import asyncio

import pytest

from preclinical.domain.stats import wilson_interval
from preclinical.library import DEMO_AGENT_ID
from preclinical.runtime import open_runtime
from preclinical.store.models import ScenarioRun
from tests.fakes.noisy_judge import NoisyJudge
from tests.support import FixedClock, isolated_settings, seeded_rng


async def start(client, **body):
    resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, **body})
    return resp.status, await resp.json()


async def test_repeats_play_each_scenario_k_times_next_to_each_other(client, runtime):
    status, started = await start(client, max_scenarios=4, repeats=3)
    assert status == 200 and started["total_scenarios"] == started["scenarios_launched"] == 12
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 60)
    run = await (await client.get(f"/api/v1/tests/{started['id']}")).json()
    assert run["repeats"] == 3 and run["status"] == "completed" and run["total_scenarios"] == 12
    listed = await (await client.get("/api/v1/tests")).json()
    assert listed["runs"][0]["repeats"] == 3  # the fast list read says so too

    page = await (await client.get("/api/v1/scenario-runs", params={"test_run_id": started["id"]})).json()
    rows = page["results"]
    assert [r["position"] for r in rows] == list(range(12))
    assert [r["repeat_index"] for r in rows] == [0, 1, 2] * 4
    assert all(len({r["scenario_id"] for r in rows[i:i + 3]}) == 1 for i in range(0, 12, 3))
    one = await (await client.get(f"/api/v1/scenario-runs/{rows[4]['id']}")).json()
    assert one["repeat_index"] == 1

    stats = await (await client.get(f"/api/v1/tests/{started['test_run_id']}/statistics")).json()
    assert stats["repeats"] == 3 and stats["n"] == 12 and stats["scenarios"] == 4
    overall = stats["consistency"]["overall"]
    # The offline engine is deterministic: every repeat agrees with the others.
    assert overall["k"] == 3 and overall["consistent_dispositions"] == 1.0 and overall["unstable_verdicts"] == 0
    assert overall["pass_at_k"] == overall["worst_of_k"] == 1.0 and overall["score_sd_mean"] == 0.0
    # Twelve scenario runs but only four scenarios: the interval is as wide as four cases allow, not twelve.
    assert stats["passed"] == 12 and stats["pass_rate"] == 100.0
    low, _ = wilson_interval(4, 4)
    assert stats["pass_rate_ci"][0] == round(low * 100, 2) < round(wilson_interval(12, 12)[0] * 100, 2)
    assert sum(sum(row.values()) for row in stats["triage"]["matrix"].values()) == 12  # every repeat counted


async def test_a_run_without_repeats_has_no_consistency_section(client, runtime):
    _, started = await start(client, max_scenarios=2)
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 60)
    stats = await (await client.get(f"/api/v1/tests/{started['id']}/statistics")).json()
    assert stats["repeats"] == 1 and stats["consistency"] is None and "scenarios" not in stats
    assert stats["pass_rate_ci"] == [round(v * 100, 2) for v in wilson_interval(stats["passed"], 2)]


@pytest.mark.parametrize(("value", "error"), [
    (0, "repeats must be between 1 and 20"), (21, "repeats must be between 1 and 20"),
    ("3", "repeats must be an integer"), (2.5, "repeats must be an integer"), (True, "repeats must be an integer"),
])
async def test_bad_repeats_are_refused(client, value, error):
    status, body = await start(client, repeats=value)
    assert (status, body) == (400, {"error": error})


async def test_unknown_run_statistics_is_a_404(client):
    resp = await client.get("/api/v1/tests/run_nope/statistics")
    assert resp.status == 404 and (await resp.json()) == {"error": "Test run not found"}


async def test_a_noisy_judge_shows_up_as_disagreement_between_repeats(tmp_path, fake_openai, aiohttp_client):
    """The demo bot against the fake model (patient and a noisy judge): pass@3 and worst-of-3 part ways."""
    from preclinical.server.app import make_app

    fake_openai.responder = NoisyJudge(flip=0.3, misread=0.3, seed=3)
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k",
                                 tester_model="patient-m", grader_model="judge-m")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        client = await aiohttp_client(make_app(rt))
        status, started = await start(client, max_scenarios=6, repeats=3, max_turns=5)
        assert status == 200
        await asyncio.wait_for(rt.executor.wait(started["id"]), 60)
        stats = await (await client.get(f"/api/v1/tests/{started['id']}/statistics")).json()
        rows = list(ScenarioRun.select().where(ScenarioRun.test_run == started["id"]))
        await client.close()
    assert {r.status for r in rows} <= {"passed", "failed"} and len(rows) == 18
    overall, per_scenario = stats["consistency"]["overall"], stats["consistency"]["scenarios"]
    assert overall["worst_of_k"] < overall["pass_at_k"]  # some scenario passed once but not every time
    assert overall["unstable_verdicts"] >= 1 and overall["disposition_agreement"] < 1.0
    assert overall["score_sd_mean"] > 0
    for item in per_scenario:  # the per-scenario flags agree with the verdicts of its repeats
        assert item["repeats"] == 3 and len(item["verdicts"]) == 3
        assert item["worst_of_k"] == all(item["verdicts"]) and item["pass_at_k"] == any(item["verdicts"])
    assert overall["worst_of_k"] == sum(i["worst_of_k"] for i in per_scenario) / 6
    assert sum(sum(row.values()) for row in stats["triage"]["matrix"].values()) == 18


async def test_runs_with_repeats_compare_by_per_scenario_rates(client, runtime):
    _, careful = await start(client, repeats=2)
    await asyncio.wait_for(runtime.executor.wait(careful["id"]), 60)
    agent = await (await client.post("/api/v1/agents", json={"provider": "demo", "name": "Hasty",
                                                             "config": {"style": "hasty"}})).json()
    resp = await client.post("/start-run", json={"agent_id": agent["id"], "repeats": 2})
    hasty = await resp.json()
    await asyncio.wait_for(runtime.executor.wait(hasty["id"]), 60)

    body = await (await client.get("/api/v1/tests/compare", params={"base": careful["id"],
                                                                    "candidate": hasty["id"]})).json()
    assert body["paired"] == careful["total_scenarios"] // 2  # scenarios are the pairs, not scenario runs
    broken = body["changes"]["broken"]
    assert broken and all(c["candidate"]["repeats"] == 2 and c["candidate"]["passes"] < c["base"]["passes"]
                          for c in broken)
    assert body["pass"]["broken"] == len(broken) and body["verdict"]["regression"] is True
    page = await (await client.get("/api/v1/tests/compare/export-html",
                                   params={"base": careful["id"], "candidate": hasty["id"]})).text()
    assert "passed 0/2" in page and "Significantly worse" in page
