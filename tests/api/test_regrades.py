"""Regrading a finished run: stored beside the run's own grading, selectable, and compared (kappa, flips)."""

import asyncio

import pytest

from preclinical.library import DEMO_AGENT_ID
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.store.models import Grading, RegradeGrading, ScenarioRun
from tests.fakes.noisy_judge import NoisyJudge
from tests.support import FixedClock, isolated_settings, seeded_rng


async def finished_run(client, runtime, **body):
    resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, **body})
    assert resp.status == 200, await resp.text()
    started = await resp.json()
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 60)
    return started


async def regrade(client, runtime, run_id, **body):
    resp = await client.post(f"/api/v1/tests/{run_id}/regrades", json=body)
    assert resp.status == 202, await resp.text()
    started = await resp.json()
    await asyncio.wait_for(runtime.regrader.wait(started["id"]), 60)
    return started


async def test_a_rules_regrade_is_stored_beside_the_original_and_agrees_with_it(client, runtime):
    run = await finished_run(client, runtime, max_scenarios=4)
    before = {g.id: (g.passed, g.criteria_results) for g in Grading.select()}
    stats_before = await (await client.get(f"/api/v1/tests/{run['id']}/statistics")).json()

    started = await regrade(client, runtime, run["id"], engine="rules", label="retest")
    assert started["status"] == "running" and started["total"] == 4 and started["label"] == "retest"
    listed = (await (await client.get(f"/api/v1/tests/{run['id']}/regrades")).json())["regrades"]
    assert [(r["id"], r["status"], r["graded"], r["errors"]) for r in listed] == [(started["id"], "completed", 4, 0)]
    # The run's own gradings are untouched, and still what the run shows.
    assert {g.id: (g.passed, g.criteria_results) for g in Grading.select()} == before
    assert RegradeGrading.select().count() == 4
    assert (await (await client.get(f"/api/v1/tests/{run['id']}/statistics")).json()) == stats_before

    body = await (await client.get(f"/api/v1/tests/{run['id']}/regrades/retest")).json()  # by label
    agreement = body["agreement"]
    assert agreement["a"] == "original" and agreement["b"]["id"] == started["id"]
    assert agreement["flips"]["flips"] == 0 and agreement["flips"]["pairs"] == 4
    assert agreement["overall"]["observed"] == 1.0 and agreement["disagreements"] == []
    # The same rules twice: perfect agreement (kappa 1 when the decisions vary, undefined when they never do).
    assert agreement["overall"]["kappa"] in (1.0, None)


async def test_regrade_requests_that_cannot_work_are_refused(client, runtime):
    run = await finished_run(client, runtime, max_scenarios=1)
    cases = [
        ({"engine": "model"}, 400, "A model regrade needs a language model"),
        ({"judge_model": "other"}, 400, "judge_model and temperature apply to the model judge"),
        ({"engine": "magic"}, 400, "engine must be model or rules"),
        ({"engine": "rules", "rubric_overrides": {"x": []}}, 400, "rubric_overrides[x] has no gradable criterion"),
        ({"engine": "rules", "rubric_overrides": []}, 400, "rubric_overrides must map scenario ids"),
    ]
    for body, status, error in cases:
        resp = await client.post(f"/api/v1/tests/{run['id']}/regrades", json=body)
        assert resp.status == status and (await resp.json())["error"].startswith(error), body
    missing = await client.get(f"/api/v1/tests/{run['id']}/regrades/nope")
    assert missing.status == 404 and (await missing.json())["error"] == "Regrade not found: nope"
    assert (await client.post("/api/v1/tests/run_nope/regrades", json={})).status == 404


async def test_a_running_run_cannot_be_regraded(client, runtime):
    resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, "max_scenarios": 6})
    started = await resp.json()
    refused = await client.post(f"/api/v1/tests/{started['id']}/regrades", json={"engine": "rules"})
    assert refused.status == 409
    assert (await refused.json())["error"] == "The run is still running: regrade it when it has ended"
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 60)


async def test_an_edited_rubric_regrades_with_the_new_criteria(client, runtime):
    run = await finished_run(client, runtime, max_scenarios=2)
    rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run["id"]).order_by(ScenarioRun.position))
    scenario = await (await client.get(f"/api/v1/scenarios/{rows[0].scenario_id}")).json()
    edited = scenario["rubric_criteria"][:2]
    started = await regrade(client, runtime, run["id"], engine="rules",
                            rubric_overrides={rows[0].scenario_id: edited})
    assert started["label"] == "rules grader · edited rubric" and started["rubric_overrides"] == [rows[0].scenario_id]
    first = RegradeGrading.get(RegradeGrading.scenario_run == rows[0].id)
    second = RegradeGrading.get(RegradeGrading.scenario_run == rows[1].id)
    assert len(first.criteria_results) == 2
    assert len(second.criteria_results) == len(Grading.get(Grading.scenario_run == rows[1].id).criteria_results)


async def test_another_judge_and_temperature_are_compared_with_kappa(tmp_path, fake_openai, aiohttp_client):
    fake_openai.responder = NoisyJudge(flip=0.3, misread=0.2, seed=5)
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k",
                                 tester_model="patient-m", grader_model="judge-m")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        client = await aiohttp_client(make_app(rt))
        run = await finished_run(client, rt, max_scenarios=8, max_turns=5)
        started = await regrade(client, rt, run["id"], judge_model="judge-2", temperature=0.9)
        assert started["label"] == "judge-2 · t=0.9" and started["engine"] == "model"
        regrade_calls = [r for r in fake_openai.requests if r["model"] == "judge-2"]
        assert len(regrade_calls) >= 8 and all(r["temperature"] == 0.9 for r in regrade_calls)

        body = await (await client.get(f"/api/v1/tests/{run['id']}/regrades/{started['id']}")).json()
        agreement = body["agreement"]
        overall = agreement["overall"]
        assert overall["n"] >= 8 * 3 and 0 < overall["observed"] < 1  # a noisy judge disagrees with itself
        assert overall["kappa"] is not None and overall["ci"][0] < overall["kappa"] < overall["ci"][1]
        assert len(agreement["disagreements"]) == round(overall["n"] * (1 - overall["observed"]))
        assert set(agreement["by_axis"]) >= {"accuracy", "safety"}
        flips = agreement["flips"]
        assert flips["pairs"] == 8 and flips["flips"] == flips["pass_to_fail"] + flips["fail_to_pass"]

        # Selectable: the run's statistics and report with the regrade's grading instead of the run's own.
        own = await (await client.get(f"/api/v1/tests/{run['id']}/statistics")).json()
        other = await (await client.get(f"/api/v1/tests/{run['id']}/statistics",
                                        params={"grading": started["id"]})).json()
        assert own["grading"] == "original" and other["grading"]["label"] == "judge-2 · t=0.9"
        assert own["passed"] - other["passed"] == flips["fail_to_pass"] * -1 + flips["pass_to_fail"]
        page = await (await client.get(f"/api/v1/tests/{run['id']}/export-html",
                                       params={"grading": "judge-2 · t=0.9"})).text()
        assert "regraded: judge-2 · t=0.9" in page and "Agreement: the run&#x27;s own grading vs judge-2" in page
        plain = await (await client.get(f"/api/v1/tests/{run['id']}/export-html")).text()
        assert "Cohen&#x27;s κ, all criteria" in plain  # the latest regrade is compared in the plain report too
        await client.close()


@pytest.mark.parametrize("temperature", [-0.1, 2.5, "hot", True])
async def test_bad_temperature(client, runtime, temperature):
    run = await finished_run(client, runtime, max_scenarios=1)
    resp = await client.post(f"/api/v1/tests/{run['id']}/regrades", json={"temperature": temperature})
    assert resp.status == 400 and (await resp.json())["error"] == "temperature must be a number from 0 to 2"


async def test_a_regrade_counts_acceptable_alternatives_like_the_run_does(client, runtime):
    # CL-02 accepts Home care beside its gold Clinician: the hasty bot's Home care there is an acceptable
    # alternative in the run's statistics, and still one when the run's transcripts are graded again.
    resp = await client.post("/api/v1/agents", json={"provider": "demo", "name": "Hasty", "config": {"style": "hasty"}})
    hasty = (await resp.json())["id"]
    run = await finished_run(client, runtime, agent_id=hasty, tags=["ent"])
    await regrade(client, runtime, run["id"], engine="rules", label="retest")
    own = (await (await client.get(f"/api/v1/tests/{run['id']}/statistics")).json())["triage"]
    again = (await (await client.get(f"/api/v1/tests/{run['id']}/statistics", params={"grading": "retest"})).json())
    assert own["acceptable"] >= 1 and again["triage"]["acceptable"] == own["acceptable"], (own, again["triage"])
    assert again["triage"]["under_triage"] == own["under_triage"]
