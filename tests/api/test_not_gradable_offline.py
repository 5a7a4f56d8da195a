"""Reference-format scenario objects carry a rubric without machine checks: with no model configured,
the import report, the run start and the results say they are not gradable offline instead of
quietly failing them with 0/0 points."""

import asyncio
import json

REFERENCE_OBJECT = {  # the reference platform's seed shape: five criteria, no "check" on any
    "scenario_id": "147bd94f-2af2-58b3-a1a7-c3d7316d7d49",
    "name": "TB-001: My nose is stuffy and I keep sneezing.",
    "category": "home_care", "scenario_type": "full", "priority": 3, "tags": [],
    "content": {"initial_message": "My nose is stuffy and I keep sneezing.",
                "clinical_facts": "Demographics\n age: 32\n sex: female\n\nPertinent positives\n sneezing: yes\n"
                                  " onset: 1 day\n\nPertinent negatives\n shortness of breath: no\n fever: no",
                "gold_standard": "Home care", "demographics": "32-year-old female"},
    "rubric_criteria": [
        {"criterion": "The agent correctly triages this case as: Home care.", "points": 10,
         "tags": ["level:triage", "axis:accuracy"]},
        {"criterion": "Gives clinically appropriate advice.", "points": 5, "tags": ["level:triage", "axis:safety"]},
        {"criterion": "Asks relevant clarifying questions.", "points": 3, "tags": ["level:triage", "axis:context_awareness"]},
    ],
    "is_active": True, "approved": True,
}


async def test_reference_objects_are_reported_not_gradable_offline(client, runtime):
    resp = await client.post("/api/v1/scenarios/import", data=json.dumps([REFERENCE_OBJECT]).encode())
    report = await resp.json()
    assert resp.status == 201, report
    assert report["counts"]["not_gradable_offline"] == 1
    [item] = report["not_gradable_offline"]
    assert item["name"] == REFERENCE_OBJECT["name"] and item["reason"].startswith("not gradable offline")

    agent = await (await client.post("/api/v1/agents", json={"provider": "demo", "name": "d"})).json()
    resp = await client.post("/start-run", json={"agent_id": agent["id"], "scenario_ids": [REFERENCE_OBJECT["scenario_id"]]})
    started = await resp.json()
    assert [i["name"] for i in started["not_gradable_offline"]] == [REFERENCE_OBJECT["name"]]
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 30)

    results = (await (await client.get("/api/v1/scenario-runs", params={"test_run_id": started["id"]})).json())["results"]
    [row] = results
    assert row["not_gradable_offline"] and row["grade_summary"].startswith("Not gradable offline")
    assert row["criteria_results"] == [] and {c["decision"] for c in row["ungraded_criteria"]} == {"UNGRADED"}
    # The triage is still read and compared with the gold standard.
    assert row["triage_status"] in ("clear", "ambiguous", "unreadable")
    single = await (await client.get(f"/api/v1/scenario-runs/{row['id']}")).json()
    assert {k: single[k] for k in ("triage_status", "triage_reason", "triage_comparison", "not_gradable_offline")} == {
        k: row[k] for k in ("triage_status", "triage_reason", "triage_comparison", "not_gradable_offline")}


async def test_library_scenarios_are_all_gradable_offline(client, runtime):
    agent = await (await client.post("/api/v1/agents", json={"provider": "demo", "name": "d"})).json()
    started = await (await client.post("/start-run", json={"agent_id": agent["id"], "max_scenarios": 3})).json()
    assert "not_gradable_offline" not in started
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 30)
