"""Malformed bodies, ids and types on every route: a 4xx JSON error naming the problem, and no change."""

import json

import pytest

from preclinical.store.db import database

GOOD_ID = "0b6c7d4e-1f2a-4b3c-8d9e-0123456789ab"  # well-formed, unknown
SEEDED_AGENT = "{agent}"
SEEDED_SCENARIO = "{scenario}"


def snapshot() -> dict:
    tables = sorted(database.get_tables())
    return {t: database.execute_sql(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


PROBES = [
    # (method, path, raw body, expected status, expected words in the error)
    ("POST", "/api/v1/agents", "{not json", 400, "valid JSON"),
    ("POST", "/api/v1/agents", "[1, 2]", 400, "JSON object"),
    ("POST", "/api/v1/agents", json.dumps({"provider": 7, "name": "x"}), 400, "Unsupported provider"),
    ("POST", "/api/v1/agents", json.dumps({"provider": "openai", "name": ["x"]}), 400, "name"),
    ("POST", "/api/v1/agents", json.dumps({"provider": "openai", "name": "x", "config": [1]}), 400, "config"),
    ("PATCH", "/api/v1/agents/{agent}", "{not json", 400, "valid JSON"),
    ("PATCH", "/api/v1/agents/{agent}", json.dumps({"name": ""}), 400, "name"),
    ("PATCH", "/api/v1/agents/{agent}", json.dumps({"config": "x"}), 400, "config"),
    ("PATCH", "/api/v1/agents/{agent}", json.dumps({"is_active": "yes"}), 400, "is_active"),
    ("PATCH", "/api/v1/agents/{agent}", json.dumps({"config": {"style": 3}}), 400, "config.style"),
    ("GET", "/api/v1/agents/not-a-uuid", None, 404, "Agent not found"),
    ("GET", f"/api/v1/agents/{GOOD_ID}", None, 404, "Agent not found"),
    ("PATCH", "/api/v1/agents/not-a-uuid", json.dumps({"name": "x"}), 404, "Agent not found"),
    ("DELETE", "/api/v1/agents/1234", None, 404, "Agent not found"),
    ("DELETE", f"/api/v1/agents/{GOOD_ID}", None, 404, "Agent not found"),
    ("POST", "/api/v1/scenarios", "{bad", 400, "valid JSON"),
    ("POST", "/api/v1/scenarios", json.dumps({}), 400, "name"),
    ("POST", "/api/v1/scenarios", json.dumps({"name": "x", "tags": "a,b"}), 400, "tags"),
    ("POST", "/api/v1/scenarios", json.dumps({"name": "x", "content": []}), 400, "content"),
    ("POST", "/api/v1/scenarios", json.dumps({"name": "x", "content": {"gold_standard": "Urgent"}}), 400, "gold_standard"),
    ("POST", "/api/v1/scenarios", json.dumps({"name": "x", "rubric_criteria": [{"points": 3}]}), 400, "criterion"),
    ("POST", "/api/v1/scenarios", json.dumps({"name": "x", "rubric_criteria": [{"criterion": "c", "points": "3"}]}), 400, "points"),
    ("POST", "/api/v1/scenarios", json.dumps({"name": "x", "rubric_criteria": [
        {"criterion": "c", "check": {"type": "telepathy"}}]}), 400, "check"),
    ("PATCH", "/api/v1/scenarios/{scenario}", "nope", 400, "valid JSON"),
    ("PATCH", "/api/v1/scenarios/{scenario}", json.dumps({"scenario_type": "weird"}), 400, "scenario_type"),
    ("PATCH", "/api/v1/scenarios/{scenario}", json.dumps({"priority": "high"}), 400, "priority"),
    ("PATCH", "/api/v1/scenarios/{scenario}", json.dumps({"approved": "true"}), 400, "approved"),
    ("PATCH", "/api/v1/scenarios/{scenario}", json.dumps({"is_active": 1}), 400, "is_active"),
    ("PATCH", "/api/v1/scenarios/{scenario}", json.dumps({"name": "ok", "tags": [1]}), 400, "tags"),
    ("PATCH", "/api/v1/scenarios/{scenario}", json.dumps({"category": 5}), 400, "category"),
    ("PATCH", "/api/v1/scenarios/{scenario}", json.dumps({"content": {"initial_message": 5}}), 400, "initial_message"),
    ("GET", "/api/v1/scenarios/xyz", None, 404, "Scenario not found"),
    ("GET", f"/api/v1/scenarios/{GOOD_ID}", None, 404, "Scenario not found"),
    ("PATCH", f"/api/v1/scenarios/{GOOD_ID}", "{}", 404, "Scenario not found"),
    ("DELETE", "/api/v1/scenarios/%20", None, 404, "Scenario not found"),
    ("GET", "/api/v1/scenarios?approved=maybe", None, 400, "approved"),
    ("GET", "/api/v1/nothing-here", None, 404, "Not found"),
    ("PUT", "/api/v1/agents", "{}", 405, "Method not allowed"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), PROBES)
async def test_bad_input_gets_a_json_error_and_changes_nothing(client, method, path, body, status, words):
    agents = await (await client.get("/api/v1/agents")).json()
    scenario = await (await client.post("/api/v1/scenarios", json={"name": "Probe target"})).json()
    path = path.format(agent=agents[0]["id"], scenario=scenario["scenario_id"])
    before = snapshot()
    resp = await client.request(method, path, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == status
    assert resp.content_type == "application/json"
    payload = await resp.json()
    assert set(payload) >= {"error"} and words in payload["error"]
    assert snapshot() == before
