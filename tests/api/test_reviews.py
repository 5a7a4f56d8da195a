"""Clinician reviews over the API: saved with the reviewer's name, compared with the judge, exported and imported."""

import asyncio

from preclinical.library import DEMO_AGENT_ID
from preclinical.store.models import Grading


async def finished_run(client, runtime, **body):
    resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, **body})
    started = await resp.json()
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 60)
    results = (await (await client.get("/api/v1/scenario-runs", params={"test_run_id": started["id"]})).json())
    return started, results["results"]


def judged(sr_id):
    return {r["criterion_index"]: r["decision"] for r in Grading.get(Grading.scenario_run == sr_id).criteria_results}


async def review(client, sr_id, reviewer, criteria, disposition="Home care", note=None):
    return await client.post(f"/api/v1/scenario-runs/{sr_id}/reviews", json={
        "reviewer": reviewer, "criteria": criteria, "disposition": disposition, "note": note})


async def test_reviews_are_compared_with_the_judge_and_move_between_machines(client, runtime):
    run, rows = await finished_run(client, runtime, max_scenarios=4)
    graded_by_judge = []
    for n, row in enumerate(rows):
        decisions = judged(row["id"])
        criteria = []
        for index, decision in decisions.items():
            if decision == "UNGRADED":
                continue
            if n == 0 and not criteria:  # one disagreement
                decision = "NOT MET" if decision == "MET" else "MET"
            criteria.append({"criterion_index": index, "decision": decision})
            graded_by_judge.append(index)
        resp = await review(client, row["id"], "Dr Ada", criteria, note=f"case {n}")
        assert resp.status == 201, await resp.text()
        saved = await resp.json()
        assert saved["reviewer"] == "Dr Ada" and saved["criteria"][0]["criterion"]  # the criterion's text is kept

    body = await (await client.get(f"/api/v1/tests/{run['id']}/reviews")).json()
    assert len(body["reviews"]) == 4
    agreement = body["agreement"]
    assert agreement["reviews"] == 4 and agreement["reviewers"] == ["Dr Ada"]
    assert agreement["overall"]["n"] == len(graded_by_judge)
    assert agreement["overall"]["observed"] == (len(graded_by_judge) - 1) / len(graded_by_judge)
    assert [d["reviewer"] for d in agreement["disagreements"]] == ["Dr Ada"]
    assert agreement["disposition"]["observed"] == 1.0  # the demo bot said home care; so did the reviewer

    # A second review by the same reviewer replaces the first.
    first = rows[0]["id"]
    again = await review(client, first, "Dr Ada", [{"criterion_index": 0, "decision": "PARTIALLY MET"}])
    assert again.status == 201
    body = await (await client.get(f"/api/v1/tests/{run['id']}/reviews")).json()
    assert len(body["reviews"]) == 4 and body["reviews"][0]["criteria"][0]["decision"] == "PARTIALLY MET"

    exported = await client.get(f"/api/v1/tests/{run['test_run_id']}/reviews/export")
    assert exported.headers["Content-Disposition"].endswith(
        f'filename="preclinical-reviews-{run["test_run_id"]}.json"')
    document = await exported.json()
    for item in document["reviews"]:
        item["reviewer"] = "Dr Lin"
    document["reviews"].append({"scenario_run_id": "elsewhere", "reviewer": "X", "criteria": []})
    imported = await (await client.post(f"/api/v1/tests/{run['id']}/reviews/import", json=document)).json()
    assert imported == {"imported": 4, "skipped": [{"index": 4, "reason": "no matching scenario run in this run"}]}
    body = await (await client.get(f"/api/v1/tests/{run['id']}/reviews")).json()
    assert body["agreement"]["reviewers"] == ["Dr Ada", "Dr Lin"] and len(body["reviews"]) == 8

    page = await (await client.get(f"/api/v1/tests/{run['id']}/export-html")).text()
    assert "Agreement: the judge vs clinicians (8 reviews of 4 scenario runs by Dr Ada, Dr Lin)" in page
    assert "<th>Judge</th><th>Clinician</th>" in page


async def test_bad_reviews_are_refused(client, runtime):
    run, rows = await finished_run(client, runtime, max_scenarios=1)
    sr = rows[0]["id"]
    cases = [
        ({"criteria": []}, "reviewer is required: the reviewer's name"),
        ({"reviewer": "A", "criteria": [{"criterion_index": 99, "decision": "MET"}]}, "criterion_index must be 0 to"),
        ({"reviewer": "A", "criteria": [{"criterion_index": 0, "decision": "maybe"}]},
         "decision must be MET, PARTIALLY MET or NOT MET"),
        ({"reviewer": "A", "criteria": [], "disposition": "later"},
         "disposition must be Emergency, Clinician or Home care"),
        ({"reviewer": "A", "criteria": "all met"}, "criteria must be a list"),
    ]
    for body, error in cases:
        resp = await client.post(f"/api/v1/scenario-runs/{sr}/reviews", json=body)
        assert resp.status == 400 and (await resp.json())["error"].startswith(error), body
    assert (await client.post("/api/v1/scenario-runs/nope/reviews", json={})).status == 404
    bad = await client.post(f"/api/v1/tests/{run['id']}/reviews/import", json={"reviews": []})
    assert bad.status == 400 and "Not a reviews file" in (await bad.json())["error"]
