"""GET /api/v1/tests/compare: two offline runs of the demo bot, careful against hasty, with paired statistics."""

import asyncio

from preclinical.domain.stats import mcnemar_exact
from preclinical.library import DEMO_AGENT_ID


async def finished_run(client, runtime, agent_id, **body):
    resp = await client.post("/start-run", json={"agent_id": agent_id, **body})
    assert resp.status == 200, await resp.text()
    started = await resp.json()
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 30)
    return started


async def hasty_agent(client):
    resp = await client.post("/api/v1/agents", json={"provider": "demo", "name": "Hasty", "config": {"style": "hasty"}})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def compare(client, base, candidate):
    resp = await client.get("/api/v1/tests/compare", params={"base": base, "candidate": candidate})
    return resp.status, await resp.json()


async def test_the_hasty_bot_is_a_significant_regression_on_the_careful_one(client, runtime):
    careful = await finished_run(client, runtime, DEMO_AGENT_ID)
    hasty = await finished_run(client, runtime, await hasty_agent(client))

    status, body = await compare(client, careful["test_run_id"], hasty["id"])  # a run_… id and a UUID
    assert status == 200
    assert body["base"]["run"]["test_run_id"] == careful["test_run_id"]
    assert body["candidate"]["run"]["id"] == hasty["id"] and body["candidate"]["run"]["agent_name"] == "Hasty"
    n = careful["total_scenarios"]
    assert body["paired"] == n and body["only_in_base"] == body["only_in_candidate"] == []

    runs = {side: await (await client.get(f"/api/v1/tests/{body[side]['run']['id']}")).json()
            for side in ("base", "candidate")}
    for side, run in runs.items():  # the counts agree with the runs' own
        assert (body[side]["n"], body[side]["passed"], body[side]["failed"]) == (
            n, run["passed_count"], run["failed_count"])
        low, high = body[side]["pass_rate_ci"]
        assert low <= body[side]["pass_rate"] <= high and low < high  # 100 % sits at the top of its interval
    assert body["base"]["pass_rate"] > 90 and body["candidate"]["pass_rate"] < 80
    assert body["candidate"]["triage"]["under_triage"] > body["base"]["triage"]["under_triage"]

    broken, fixed = body["changes"]["broken"], body["changes"]["fixed"]
    assert len(broken) > len(fixed) and len(broken) >= 6
    assert all(c["base"]["passed"] and not c["candidate"]["passed"] for c in broken)
    assert body["pass"]["p_value"] == mcnemar_exact(len(fixed), len(broken)) < 0.001
    assert body["pass"]["delta"] == round(body["candidate"]["pass_rate"] - body["base"]["pass_rate"], 2)

    under = body["changes"]["new_under_triaged_emergencies"]
    assert under and all(c["gold_standard"] == "Emergency" and c["candidate"]["triage"] == "under" for c in under)
    assert all(c["candidate"]["triage_result"] in ("Clinician", "Home care") for c in under)
    assert {c["scenario_id"] for c in under} <= {c["scenario_id"] for c in body["changes"]["triage_changed"]}

    assert body["verdict"]["text"].startswith("Significantly worse: ")
    assert body["verdict"]["regression"] is True and body["verdict"]["direction"] == "worse"

    status, same = await compare(client, hasty["id"], hasty["test_run_id"])
    assert status == 200 and same["paired"] == n
    assert same["pass"]["p_value"] == 1.0 and not any(same["changes"].values())
    assert same["verdict"] == {"text": "No significant change (p = 1).", "direction": None, "significant": False,
                               "regression": False}

    status, reverse = await compare(client, hasty["id"], careful["id"])
    assert reverse["verdict"]["direction"] == "better" and reverse["verdict"]["regression"] is False


async def test_missing_and_unknown_runs(client, runtime):
    run = await finished_run(client, runtime, DEMO_AGENT_ID, max_scenarios=1)
    for params in ({}, {"base": run["id"]}, {"candidate": run["id"]}, {"base": "", "candidate": run["id"]}):
        resp = await client.get("/api/v1/tests/compare", params=params)
        assert (resp.status, await resp.json()) == (400, {"error": "base and candidate are required"})
    status, body = await compare(client, run["id"], "run_nope")
    assert (status, body) == (404, {"error": "Test run not found: candidate run_nope"})
    status, body = await compare(client, "00000000-0000-0000-0000-000000000000", run["id"])
    assert (status, body) == (404, {"error": "Test run not found: base 00000000-0000-0000-0000-000000000000"})
