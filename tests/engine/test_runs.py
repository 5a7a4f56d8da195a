"""Whole runs through the API: the offline engine against the demo bot, turn protocol, SSE, cancel, exports."""

import asyncio
import csv
import io
import json

from preclinical.domain.triage import LEVELS, TRIAGE_QUESTION
from preclinical.library import DEMO_AGENT_ID, load_library


async def start(client, **body):
    resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, **body})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def finish(runtime, run_id):
    await asyncio.wait_for(runtime.executor.wait(run_id), 30)


async def all_results(client, run_id):
    body = await (await client.get("/api/v1/scenario-runs", params={"test_run_id": run_id, "limit": "100"})).json()
    return body["results"]


async def test_offline_run_of_the_whole_library_against_the_demo_bot(client, runtime):
    started = await start(client, name="Library vs demo")
    n = len(load_library())
    assert started["status"] == "running" and started["total_scenarios"] == started["scenarios_launched"] == n
    assert started["test_run_id"].startswith("run_")
    # The scenario-run rows exist before the reply.
    assert (await (await client.get("/api/v1/scenario-runs", params={"test_run_id": started["id"]})).json())["total"] == n

    await finish(runtime, started["id"])
    run = await (await client.get(f"/api/v1/tests/{started['test_run_id']}")).json()
    assert run["status"] == "completed"
    assert run["passed_count"] + run["failed_count"] + run["error_count"] == n
    assert run["error_count"] == 0
    assert run["pass_rate"] == run["passed_count"] / n * 100
    results = await all_results(client, started["id"])
    assert len(results) == n
    correct = 0
    for r in results:
        assert r["status"] in ("passed", "failed")
        assert r["gold_standard"] in LEVELS
        assert r["triage_result"] in (*LEVELS, None)
        assert r["triage_correct"] is (r["triage_result"] == r["gold_standard"])
        correct += r["triage_correct"]
        assert r["transcript"][-2]["content"] == TRIAGE_QUESTION  # the last patient message
        assert r["transcript"][-1]["role"] == "target"
        assert r["duration_ms"] is not None and r["score_percent"] is not None
        decisions = {c["decision"] for c in r["criteria_results"]}
        assert decisions <= {"MET", "PARTIALLY MET", "NOT MET", "UNGRADED"}
        assert r["metadata"]["engine"] == {"patient": "scripted", "grader": "rules"}
    assert correct >= n // 2  # the demo bot is decent on the bundled cases, not perfect


async def test_every_max_turns_works_and_is_stored_as_given(client, runtime):
    case = load_library()[0]
    from preclinical.library import scenario_id_for

    for requested, played in ((3, 5), (5, 5), (12, 12), (15, 15), (40, 15)):
        started = await start(client, scenario_ids=[scenario_id_for(case["key"])], max_turns=requested)
        await finish(runtime, started["id"])
        run = await (await client.get(f"/api/v1/tests/{started['id']}")).json()
        assert run["max_turns"] == requested
        [r] = await all_results(client, started["id"])
        turns = [e["turn"] for e in r["transcript"] if e["role"] == "attacker"]
        # The demo bot never ends early, so every turn is played and the last one is the triage question.
        assert turns == list(range(1, played + 1)), requested
        assert r["metadata"]["max_turns"] == played


async def test_sse_replays_the_whole_run_and_closes_after_the_end(client, runtime):
    started = await start(client, max_scenarios=2)
    await finish(runtime, started["id"])
    resp = await client.get("/events", params={"run_id": started["id"]})
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    frames = parse_sse(await resp.text())  # the stream ends by itself
    assert frames[0]["data"] == {"type": "connected", "run_id": started["id"]}
    assert frames[1]["event"] == "test_run_started"
    assert frames[-1]["event"] == "test_run_complete"
    ids = [int(f["id"]) for f in frames[1:]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    kinds = [f["event"] for f in frames]
    assert kinds.count("scenario_started") == 2 and kinds.count("scenario_complete") == 2
    updates = [f["data"] for f in frames if f["event"] == "transcript_update"]
    assert len(updates) == 2 * 11 and updates[0]["payload"]["turn"] == 1 and updates[0]["turn"] == 1
    # Each status change is told once, by the event it belongs to (no scenario_status frame repeating it).
    assert "scenario_status" not in kinds
    for sr_id in {f["data"]["scenario_run_id"] for f in frames if f["event"] == "scenario_started"}:
        mine = [f for f in frames if f["data"].get("scenario_run_id") == sr_id]
        assert [f["event"] for f in mine] == ["scenario_started", *["transcript_update"] * 11,
                                              "scenario_completed_testing", "grading_started", "grading_complete",
                                              "scenario_complete"]
        changes = [(f["data"]["payload"]["prev_status"], f["data"]["status"]) for f in mine if "prev_status" in
                   f["data"]["payload"]]
        assert changes[:2] == [("pending", "running"), ("running", "grading")]
        assert changes[2][0] == "grading" and changes[2][1] in ("passed", "failed") and len(changes) == 3
    assert all(f["data"]["test_run_id"] == started["id"] for f in frames[1:])

    # Resuming from an id sends only what came after it.
    middle = frames[len(frames) // 2]
    resp = await client.get("/events", params={"run_id": started["id"]}, headers={"Last-Event-ID": middle["id"]})
    later = parse_sse(await resp.text())
    assert [f["id"] for f in later[1:]] == [f["id"] for f in frames if f.get("id") and int(f["id"]) > int(middle["id"])]


async def test_sse_for_an_unknown_run_sends_only_connected(client):
    resp = await client.get("/events", params={"run_id": "run_nope"})
    frames = parse_sse(await resp.text())
    assert [f["data"]["type"] for f in frames] == ["connected"]
    assert (await client.get("/events")).status == 400


async def test_live_sse_sees_turns_as_they_happen(client, runtime):
    started = await start(client, max_scenarios=1, max_turns=5)
    resp = await client.get("/events", params={"run_id": started["test_run_id"]})
    frames = parse_sse(await resp.text())
    assert frames[-1]["event"] == "test_run_complete"
    assert [f["data"]["turn"] for f in frames if f["event"] == "transcript_update"] == [1, 2, 3, 4, 5]


async def test_exports(client, runtime):
    started = await start(client, max_scenarios=3, name="Export me")
    await finish(runtime, started["id"])
    resp = await client.get(f"/api/v1/tests/{started['id']}/export-csv")
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="triagerun-Demo_triage_bot-{started["test_run_id"]}.csv"'
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert len(rows) == 3
    names = [r["scenario_name"] for r in rows]
    assert names == sorted(names)
    for row in rows:
        assert row["platform"] == "Demo triage bot"
        assert row["reference_category"] in LEVELS and row["status"] in ("passed", "failed")
        assert row["patient_msg_11"] == TRIAGE_QUESTION
        assert json.loads(row["transcript_json"])[0]["turn"] == 1
    data = await (await client.get(f"/api/v1/tests/{started['id']}/export-json")).json()
    assert data["run"]["id"] == started["id"] and len(data["scenario_runs"]) == 3
    assert all(s["criteria_results"] for s in data["scenario_runs"])


async def test_start_run_validation(client):
    cases = [
        ({}, 400, "agent_id is required"),
        ({"agent_id": "nope"}, 400, "Agent not found or inactive"),
        ({"agent_id": DEMO_AGENT_ID, "scenario_ids": []}, 400, "No active scenarios found for the given scenario_ids"),
        ({"agent_id": DEMO_AGENT_ID, "scenario_ids": "x"}, 400, "scenario_ids must be an array of strings"),
        ({"agent_id": DEMO_AGENT_ID, "scenario_ids": ["0b6c7d4e-1f2a-4b3c-8d9e-0123456789ab"]}, 400,
         "No active scenarios found for the given scenario_ids"),
        ({"agent_id": DEMO_AGENT_ID, "tags": ["no-such-tag"]}, 400, "No active scenarios available"),
        ({"agent_id": DEMO_AGENT_ID, "max_turns": "ten"}, 400, "max_turns must be an integer"),
        ({"agent_id": DEMO_AGENT_ID, "concurrency_limit": -1}, 400, "concurrency_limit must be a positive number"),
        ({"agent_id": DEMO_AGENT_ID, "creative_mode": True}, 400, "creative_mode needs a language model"),
        ({"agent_id": DEMO_AGENT_ID, "benchmark_mode": "yes"}, 400, "benchmark_mode must be true or false"),
        ({"agent_id": DEMO_AGENT_ID, "test_suite_id": "0b6c7d4e-1f2a-4b3c-8d9e-0123456789ab"}, 404, "Test suite not found"),
    ]
    for body, status, words in cases:
        resp = await client.post("/start-run", json=body)
        assert resp.status == status, body
        assert words in (await resp.json())["error"], body
    assert (await (await client.get("/api/v1/tests")).json())["total"] == 0
    assert (await client.post("/start-run", data="{oops", headers={"Content-Type": "application/json"})).status == 400


async def test_unknown_ids_are_reported_not_silently_dropped(client, runtime):
    from preclinical.library import scenario_id_for

    good = scenario_id_for(load_library()[0]["key"])
    body = await start(client, scenario_ids=[good, "missing-id"])
    assert body["total_scenarios"] == 1
    assert body["skipped"] == [{"id": "missing-id", "reason": "not an active, approved scenario"}]
    await finish(runtime, body["id"])


async def test_benchmark_mode_requires_triage_content(client):
    s = await (await client.post("/api/v1/scenarios", json={
        "name": "No gold", "content": {"initial_message": "hi", "clinical_facts": "Demographics\n age: 30"},
        "rubric_criteria": [{"criterion": "Is kind", "points": 2}]})).json()
    resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, "scenario_ids": [s["scenario_id"]],
                                                 "benchmark_mode": True})
    assert resp.status == 400
    body = await resp.json()
    assert body["invalid_scenarios"] == [{"id": s["scenario_id"], "name": "No gold"}]


async def test_list_get_delete_runs(client, runtime):
    a = await start(client, max_scenarios=1)
    b = await start(client, max_scenarios=1)
    await finish(runtime, a["id"])
    await finish(runtime, b["id"])
    listed = await (await client.get("/api/v1/tests", params={"limit": "1"})).json()
    assert listed["total"] == 2 and [r["id"] for r in listed["runs"]] == [b["id"]]
    completed = await (await client.get("/api/v1/tests", params={"status": "completed"})).json()
    assert completed["total"] == 2
    assert (await client.delete(f"/api/v1/tests/{a['test_run_id']}")).status == 204
    assert (await client.get(f"/api/v1/tests/{a['id']}")).status == 404
    assert (await client.delete(f"/api/v1/tests/{a['id']}")).status == 404
    assert (await (await client.get("/api/v1/tests")).json())["total"] == 1
    assert (await client.get("/api/v1/scenario-runs/not-a-uuid")).status == 404
    assert (await client.get("/api/v1/scenario-runs")).status == 400
    assert (await client.get("/api/v1/tests/run_unknown/export-csv")).status == 404


def parse_sse(text: str) -> list[dict]:
    frames = []
    for block in text.split("\n\n"):
        frame: dict = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            frame[key] = value[1:] if value.startswith(" ") else value
        if "data" in frame:
            frame["data"] = json.loads(frame["data"])
            frames.append(frame)
    return frames


async def test_an_agent_deleted_mid_run_ends_its_scenarios_with_a_clear_error(client, runtime):
    created = await (await client.post("/api/v1/agents", json={"provider": "demo", "name": "Short-lived"})).json()
    runtime.executor.global_slots = asyncio.Semaphore(0)  # hold every scenario at the start line
    started = await (await client.post("/start-run", json={"agent_id": created["id"], "max_scenarios": 2})).json()
    assert (await client.delete(f"/api/v1/agents/{created['id']}")).status == 204
    for _ in range(2):
        runtime.executor.global_slots.release()
    await finish(runtime, started["id"])
    results = await all_results(client, started["id"])
    assert {r["status"] for r in results} == {"error"}
    assert {r["error_code"] for r in results} == {"INVALID_INPUT"}
    assert all(r["error_message"] == f"Agent not found: {created['id']}" for r in results)
    run = await (await client.get(f"/api/v1/tests/{started['id']}")).json()
    assert run["status"] == "completed" and run["error_count"] == 2
