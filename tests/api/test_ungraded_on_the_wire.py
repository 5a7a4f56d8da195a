"""An ungraded criterion is never read as failed: the published CLI 0.3.1 prints every `criteria_results` item as
PASS or FAIL (`cr["met"] or cr["passed"]`), so ungraded ones travel in `ungraded_criteria`, which it ignores."""

from __future__ import annotations

import asyncio

from preclinical.domain.run import all_criteria
from preclinical.library import DEMO_AGENT_ID


def published_cli_lines(scenario_run: dict) -> list[str]:
    """What `preclinical results get` 0.3.1 prints for the criteria (its rule, on our JSON)."""
    return [("PASS" if (cr.get("met") or cr.get("passed")) else "FAIL") + "  " + (cr.get("criterion") or "?")
            for cr in scenario_run.get("criteria_results") or []]


async def test_ungraded_criteria_are_kept_apart_on_every_read(client, runtime):
    # Library scenarios, each with one more criterion that no machine check can decide offline.
    library = (await (await client.get("/api/v1/scenarios", params={"limit": "2"})).json())["scenarios"]
    ids = []
    for scenario in library:
        extra = {"criterion": "Speaks to the patient with warmth and respect", "points": 2}
        created = await (await client.post("/api/v1/scenarios", json={
            "name": scenario["name"] + " (with a judgement call)", "content": scenario["content"],
            "rubric_criteria": scenario["rubric_criteria"] + [extra]})).json()
        ids.append(created["scenario_id"])
    started = await (await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, "scenario_ids": ids})).json()
    await asyncio.wait_for(runtime.executor.wait(started["id"]), 30)
    page = await (await client.get("/api/v1/scenario-runs", params={"test_run_id": started["id"]})).json()
    ungraded_seen = 0
    for listed in page["results"]:
        one = await (await client.get(f"/api/v1/scenario-runs/{listed['id']}")).json()
        for row in (listed, one):
            assert all(c["decision"] != "UNGRADED" for c in row["criteria_results"])
            assert all(c["decision"] == "UNGRADED" for c in row["ungraded_criteria"])
            merged = all_criteria(row)
            assert [c["criterion_index"] for c in merged] == sorted(c["criterion_index"] for c in merged)
            ungraded = {c["criterion"] for c in row["ungraded_criteria"]}
            assert not any(line.endswith(name) for line in published_cli_lines(row) for name in ungraded)
        ungraded_seen += len(one["ungraded_criteria"])
        assert one["criteria_results"] == listed["criteria_results"]
    assert ungraded_seen, "the offline judge leaves criteria without a machine check ungraded"
