"""POST /start-run: the request is parsed once (RunRequest); bad fields are 400s naming them, never 500s."""

from __future__ import annotations

import pytest

from preclinical.domain.run import RunRequest, RunRequestError
from preclinical.library import DEMO_AGENT_ID


async def post_raw(client, text: str):
    resp = await client.post("/start-run", data=text, headers={"Content-Type": "application/json"})
    return resp.status, await resp.json()


@pytest.mark.parametrize(("body", "words"), [
    ('{"agent_id": "%s", "concurrency": 3}', "Unknown field in the start-run request: concurrency"),
    ('{"agent_id": "%s", "max_scenrios": 2, "concurency_limit": 1}',
     "Unknown fields in the start-run request: max_scenrios, concurency_limit"),
    ('{"agent_id": "%s", "max_scenarios": 0}', "max_scenarios must be a positive integer"),
    ('{"agent_id": "%s", "max_scenarios": -5}', "max_scenarios must be a positive integer"),
    ('{"agent_id": "%s", "max_scenarios": 2.5}', "max_scenarios must be a positive integer"),
    ('{"agent_id": "%s", "max_turns": NaN}', "NaN is not a JSON number"),
    ('{"agent_id": "%s", "max_turns": Infinity}', "Infinity is not a JSON number"),
    ('{"agent_id": "%s", "max_turns": 1e300}', "max_turns must be between 1 and 1000"),
    ('{"agent_id": "%s", "max_turns": 1180591620717411303424}', "is out of range"),
    ('{"agent_id": "%s", "max_turns": 0}', "max_turns must be between 1 and 1000"),
    ('{"agent_id": "%s", "concurrency_limit": NaN}', "NaN is not a JSON number"),
    ('{"agent_id": "%s", "concurrency_limit": -Infinity}', "-Infinity is not a JSON number"),
    ('{"agent_id": "%s", "concurrency_limit": Infinity}', "Infinity is not a JSON number"),
    ('{"agent_id": "%s", "concurrency_limit": 1e300}', "concurrency_limit must be at most 1000"),
    ('{"agent_id": "%s", "concurrency_limit": 1180591620717411303424}', "is out of range"),
    ('{"agent_id": "%s", "name": 5}', "name must be a string"),
    ('{"agent_id": "%s", "test_suite_id": 5}', "test_suite_id must be a string"),
    ('{"agent_id": 5}', "agent_id must be a string"),
])
async def test_bad_fields_are_400_naming_the_field(client, body, words):
    status, answer = await post_raw(client, body.replace("%s", DEMO_AGENT_ID))
    assert status == 400, answer
    assert words in answer["error"]
    assert (await (await client.get("/api/v1/tests")).json())["total"] == 0


async def test_unknown_fields_are_listed_in_the_answer(client):
    status, answer = await post_raw(client, f'{{"agent_id": "{DEMO_AGENT_ID}", "concurrency": 3}}')
    assert status == 400 and answer["unknown_fields"] == ["concurrency"]
    assert "accepted: agent_id, scenario_ids" in answer["error"]


async def test_a_good_request_still_starts_and_floors_a_fractional_concurrency(client, runtime):
    status, started = await post_raw(client, f'{{"agent_id": "{DEMO_AGENT_ID}", "max_scenarios": 2, '
                                              '"concurrency_limit": 2.7, "max_turns": 5.0, "name": "ok"}')
    assert status == 200, started
    await runtime.executor.wait(started["id"])
    run = await (await client.get(f"/api/v1/tests/{started['id']}")).json()
    assert (run["total_scenarios"], run["concurrency_limit"], run["max_turns"], run["name"]) == (2, 2, 5, "ok")
    assert run["spec"]["engine"] == "offline" and run["spec"]["max_turns"] == 5  # recorded when it started


def test_the_request_round_trips_through_its_wire_body():
    request = RunRequest(agent_id="a", scenario_ids=("x", "y"), max_turns=7, benchmark_mode=True)
    assert request.to_json() == {"agent_id": "a", "scenario_ids": ["x", "y"], "max_turns": 7, "benchmark_mode": True}
    assert RunRequest.from_json(request.to_json()) == request
    with pytest.raises(RunRequestError, match="agent_id is required"):
        RunRequest.from_json({})


def test_a_rerun_keeps_the_runs_settings_including_concurrency():
    run = {"agent_id": "a", "max_turns": 9, "concurrency_limit": 2, "creative_mode": False, "benchmark_mode": True}
    again = RunRequest.again(run, ["s1"], "Rerun: s1")
    assert again == RunRequest(agent_id="a", scenario_ids=("s1",), name="Rerun: s1", max_turns=9,
                               concurrency_limit=2, benchmark_mode=True)
