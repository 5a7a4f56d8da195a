"""The inputs that used to end in a 500 (issue 13): each is now a 4xx JSON error naming the problem."""

from __future__ import annotations

import json

import pytest

from tests.api.test_bad_input import snapshot

DEEP = "[" * 100_000 + "]" * 100_000
NESTED_CONFIG = json.dumps({"provider": "openai", "name": "x", "config": {"extra": json.loads("[" * 300 + "]" * 300)}})
JSON_HEADERS = {"Content-Type": "application/json"}

PROBES = [
    # (method, path, raw body, status, words in the error)
    ("POST", "/api/v1/scenarios", '{"name": "big", "priority": ' + str(2**70) + '}', 400, "64 bits"),
    ("POST", "/api/v1/scenarios", '{"name": "big", "priority": 1e300}', 400, "priority"),
    ("POST", "/api/v1/scenarios", '{"name": "nan", "priority": NaN}', 400, "finite"),
    ("POST", "/api/v1/scenarios", '{"name": "x", "content": {"n": ' + str(2**70) + '}}', 400, "64 bits"),
    ("POST", "/api/v1/agents", '{"provider": "openai", "name": "x", "config": {"n": ' + str(2**70) + '}}', 400, "64 bits"),
    ("POST", "/api/v1/agents", '{"provider": "openai", "name": "x", "config": {"t": 1e999}}', 400, "finite"),
    ("POST", "/api/v1/agents", '{"provider": "openai", "name": "x", "config": {"t": Infinity}}', 400, "finite"),
    ("POST", "/api/v1/agents", DEEP, 400, "nested too deeply"),
    ("POST", "/api/v1/scenarios", DEEP, 400, "nested too deeply"),
    ("POST", "/start-run", DEEP, 400, "nested too deeply"),
    ("POST", "/api/v1/agents", NESTED_CONFIG, 400, "nested too deeply"),
    ("POST", "/api/v1/agents", '{"provider": "openai", "name": "\\ud800x"}', 400, "lone surrogate"),
    ("POST", "/api/v1/scenarios", '{"name": "ok", "content": {"\\udfff": "x"}}', 400, "lone surrogate"),
    ("PATCH", "/api/v1/agents/{agent}", '{"name": "\\ud800x"}', 400, "lone surrogate"),
    ("GET", "/api/v1/tests?offset=" + "9" * 30, None, 400, "offset"),
    ("GET", "/api/v1/tests?offset=-1", None, 400, "offset"),
    ("GET", "/api/v1/tests?limit=-1", None, 400, "limit"),
    ("GET", "/api/v1/tests?limit=0", None, 400, "limit"),
    ("GET", "/api/v1/tests?limit=1.5", None, 400, "limit"),
    ("GET", "/api/v1/tests?limit=abc", None, 400, "limit"),
    ("GET", "/api/v1/scenario-runs?test_run_id=x&offset=" + "9" * 30, None, 400, "offset"),
    ("GET", "/api/v1/scenarios?limit=0", None, 400, "limit"),
    ("GET", "/api/v1/scenarios?offset=-5", None, 400, "offset"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), PROBES,
                         ids=[f"{m} {p[:50]} {(b or '')[:40]}" for m, p, b, *_ in PROBES])
async def test_hostile_input_is_a_4xx_and_changes_nothing(client, method, path, body, status, words):
    agents = await (await client.get("/api/v1/agents")).json()
    path = path.format(agent=agents[0]["id"])
    before = snapshot()
    resp = await client.request(method, path, data=body, headers=JSON_HEADERS)
    assert resp.status == status, await resp.text()
    payload = await resp.json()
    assert words in payload["error"]
    assert snapshot() == before
    assert (await client.get("/api/v1/agents")).status == 200  # the list still answers for everyone


async def test_body_over_the_size_limit_is_413(client):
    resp = await client.post("/api/v1/agents", data=b'{"name": "' + b"x" * (9 * 1024 * 1024) + b'"}',
                             headers=JSON_HEADERS)
    assert resp.status == 413 and "too large" in (await resp.json())["error"]


async def test_scenario_list_honours_limit_and_offset(client):
    everything = await (await client.get("/api/v1/scenarios")).json()
    assert everything["total"] == len(everything["scenarios"]) > 3
    names = [s["name"] for s in everything["scenarios"]]
    page = await (await client.get("/api/v1/scenarios", params={"limit": "2", "offset": "1"})).json()
    assert [s["name"] for s in page["scenarios"]] == names[1:3] and page["total"] == everything["total"]
    tail = await (await client.get("/api/v1/scenarios", params={"offset": str(len(names))})).json()
    assert tail["scenarios"] == [] and tail["total"] == len(names)


async def test_large_limits_are_capped_not_refused(client):
    resp = await client.get("/api/v1/tests", params={"limit": "1000"})
    assert resp.status == 200
