"""Runs with a language model: standard and creative mode against fake model and target servers, and faults.

The fake model answers the patient, planning and grading calls; a second fake plays the target agent.
Every fault ends as a retried success or a clear error code, and the run always finishes.
"""

import asyncio

import pytest

from preclinical.domain.run import RunEvent
from preclinical.domain.triage import TRIAGE_QUESTION
from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store import runs as run_store
from preclinical.store.events import events_after
from preclinical.store.models import Grading, ScenarioRun
from tests.fakes.openai_server import FakeOpenAI
from tests.support import FixedClock, isolated_settings, seeded_rng

_QUESTIONS = ["How long has this been going on?", "How bad is it from one to ten?", "Any fever or chills?",
              "Are you taking any medicines?", "Any trouble breathing?", "Does anything make it better?"]


def target_reply(body):
    last = body["messages"][-1]["content"]
    if last == TRIAGE_QUESTION:
        return "Emergency care: please call 911 or go to the emergency department now."
    turn = sum(1 for m in body["messages"] if m["role"] == "user")  # a different question on every turn
    return f"Noted, thank you. {_QUESTIONS[(turn - 1) % len(_QUESTIONS)]}"


@pytest.fixture
async def target(aiohttp_server):
    fake = FakeOpenAI(responder=target_reply)
    server = await aiohttp_server(fake.app)
    fake.url = str(server.make_url("/v1"))
    return fake


@pytest.fixture
async def model_runtime(tmp_path, fake_openai):
    async def no_wait(_delay):
        return None

    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k",
                                 tester_model="patient-m", grader_model="judge-m")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng(), sleep=no_wait) as rt:
        yield rt


def make_agent(rt, target, **config):
    return agent_store.create_agent(rt.services, {
        "provider": "openai", "name": "Target bot",
        "config": {"base_url": target.url, "api_key": "t", "target_model": "target-m", **config}})


async def run_to_end(rt, body, timeout=20):
    run, _ = rt.executor.start(body)
    await asyncio.wait_for(rt.executor.wait(run.id), timeout)
    return run_store.resolve_run(run.id), list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))


async def test_standard_mode_with_a_model(model_runtime, target, fake_openai):
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 3, "max_turns": 5})
    assert run.status == "completed" and run.error_count == 0
    for row in rows:
        assert [e["turn"] for e in row.transcript if e["role"] == "attacker"] == [1, 2, 3, 4, 5]
        assert row.metadata["engine"] == {"patient": "standardized", "grader": "model"}
        assert row.model_calls >= 4 and row.prompt_tokens > 0  # 3 patient turns + grading
        grading = Grading.get(Grading.scenario_run == row.id)
        assert grading.engine == "model" and grading.model == "judge-m"
        assert grading.triage_result == "Emergency"  # what the target said, not the fake judge's guess
    models = {r["model"] for r in fake_openai.requests}
    assert models == {"patient-m", "judge-m"}
    assert {r["model"] for r in target.requests} == {"target-m"}
    # The patient never sees the gold standard or the rubric.
    patient_prompts = [r for r in fake_openai.requests if r["model"] == "patient-m"]
    assert patient_prompts and all("gold" not in str(r["messages"]).lower() for r in patient_prompts)


async def test_creative_mode_plans_with_the_attack_catalogue(model_runtime, target, fake_openai):
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 2, "max_turns": 6,
                                                 "creative_mode": True})
    assert run.status == "completed" and run.creative_mode
    for row in rows:
        assert row.status in ("passed", "failed")
        assert row.metadata["engine"]["patient"] == "adversarial"
        assert "attack_plan" in row.metadata
        assert row.transcript[-2]["content"] == TRIAGE_QUESTION
    planning = [r for r in fake_openai.requests if "AttackPlan" in str(r.get("response_format"))]
    assert len(planning) == 2
    from preclinical.engine.attacks import CATEGORIES

    prompt = str(planning[0]["messages"])
    assert sum(category in prompt for category in CATEGORIES) >= 3  # the catalogue reached the model


async def test_target_rate_limit_then_success_is_retried(model_runtime, target):
    agent = make_agent(model_runtime, target)
    target.inject("429", times=2)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    assert run.status == "completed" and rows[0].status in ("passed", "failed")
    assert len([r for r in rows[0].transcript if r["role"] == "target"]) == 5


async def test_target_server_errors_end_in_a_clear_code(model_runtime, target):
    agent = make_agent(model_runtime, target)
    target.inject("500", times=-1)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 2, "max_turns": 5})
    assert run.status == "completed" and run.error_count == 2
    for row in rows:
        assert row.status == "error" and row.error_code == "SERVER_ERROR"
        assert "OpenAI target call failed (500)" in row.error_message
        assert row.metadata["retries"][0]["error_code"] == "SERVER_ERROR"  # the conversation was tried again


async def test_a_hanging_target_times_out(model_runtime, target):
    agent = make_agent(model_runtime, target, timeout_s=0.2)
    target.inject("timeout", times=-1)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    assert run.status == "completed"
    assert rows[0].status == "error" and rows[0].error_code == "TIMEOUT"
    assert rows[0].error_message == "Target did not answer within 0.2s"


async def test_model_malformed_json_is_repaired(model_runtime, target, fake_openai):
    agent = make_agent(model_runtime, target)
    fake_openai.inject("malformed", times=1)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    assert rows[0].status in ("passed", "failed")


async def test_model_that_never_returns_json_is_an_error_not_a_stuck_run(model_runtime, target, fake_openai):
    agent = make_agent(model_runtime, target)
    fake_openai.inject("malformed", times=-1)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 2, "max_turns": 5})
    assert run.status == "completed"
    assert {r.status for r in rows} == {"error"} and {r.error_code for r in rows} == {"INVALID_OUTPUT"}


async def test_model_rate_limit_and_server_error_are_retried(model_runtime, target, fake_openai):
    agent = make_agent(model_runtime, target)
    fake_openai.inject("429", times=1)
    fake_openai.inject("500", times=1)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    assert rows[0].status in ("passed", "failed")


async def test_cancel_stops_in_flight_work_and_nothing_is_written_after(model_runtime, target):
    target.latency_s = 0.3
    agent = make_agent(model_runtime, target)
    rt = model_runtime
    run, _ = rt.executor.start({"agent_id": agent.id, "max_scenarios": 4, "max_turns": 8, "concurrency_limit": 4})
    for _ in range(200):
        rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
        if sum(len(r.transcript) >= 2 for r in rows) >= 2:
            break
        await asyncio.sleep(0.02)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    canceled = rt.executor.cancel(run_store.resolve_run(run.id))
    await asyncio.wait_for(rt.executor.wait(run.id), 1.0)
    assert loop.time() - t0 < 1.0
    assert canceled == 4
    await asyncio.sleep(0.1)  # let requests already on the wire reach the fake (it shares this loop)
    before = {r.id: (r.status, len(r.transcript)) for r in ScenarioRun.select().where(ScenarioRun.test_run == run.id)}
    requests_then = len(target.requests)
    await asyncio.sleep(0.8)  # any request still in flight would have landed by now
    after = {r.id: (r.status, len(r.transcript)) for r in ScenarioRun.select().where(ScenarioRun.test_run == run.id)}
    assert after == before and {s for s, _ in after.values()} == {"canceled"}
    assert len(target.requests) == requests_then
    assert run_store.resolve_run(run.id).status == "canceled"
    assert Grading.select().join(ScenarioRun).where(ScenarioRun.test_run == run.id).count() == 0


async def test_unverified_evidence_is_stored_with_the_grading(model_runtime, target, fake_openai):
    """The judge quotes words nobody said: the criterion is re-graded, the quote dropped and reported."""
    from tests.fakes.openai_server import example_from_schema

    def judge_invents_quotes(body):
        response_format = body.get("response_format") or {}
        schema = (response_format.get("json_schema") or {}).get("schema")
        value = example_from_schema(schema) if schema else {}
        if "evaluations" in value:
            for evaluation in value["evaluations"]:
                evaluation["supporting_evidence"] = ["Turn 1: the patient said they feel wonderful"]
                evaluation["criterion_index"] = 0
        return value if schema else "Noted."

    fake_openai.responder = judge_invents_quotes
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    [row] = rows
    assert row.status in ("passed", "failed"), (row.error_code, row.error_message)
    unverified = row.metadata["grader"]["unverified_evidence"]
    assert unverified == {"0": ["Turn 1: the patient said they feel wonderful"]}
    grading = Grading.get(Grading.scenario_run == row.id)
    assert "Turn 1: the patient said they feel wonderful" not in str(grading.criteria_results)


async def test_a_judge_that_leaves_criteria_out_gives_ungraded_never_not_met(model_runtime, target, fake_openai,
                                                                              aiohttp_client):
    """The judge answers about criterion 0 only, also when asked again: the rest is UNGRADED, out of the score."""
    from tests.fakes.openai_server import default_reply

    def judge_omits(body):
        value = default_reply(body)
        if isinstance(value, dict) and "evaluations" in value:
            value["evaluations"] = [{**value["evaluations"][0], "criterion_index": 0, "decision": "MET"}]
        return value

    fake_openai.responder = judge_omits
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    [row] = rows
    assert row.status in ("passed", "failed"), (row.error_code, row.error_message)
    grading = Grading.get(Grading.scenario_run == row.id)
    decisions = [r["decision"] for r in grading.criteria_results]
    assert decisions[0] == "MET" and len(decisions) > 1
    assert set(decisions[1:]) == {"UNGRADED"} and "NOT MET" not in decisions
    assert all("no decision for this criterion" in r["rationale"] for r in grading.criteria_results[1:])
    assert grading.max_points == grading.criteria_results[0]["points_possible"]  # only the graded one counts
    grader = row.metadata["grader"]
    assert grader["ungraded"] == len(decisions) - 1
    assert grader["asked_again"] == grader["ungraded_criteria"] == list(range(1, len(decisions)))

    # The count as a user sees it: the API (single and list reads), the CSV export, the CLI's result view.
    import csv
    import io

    from rich.console import Console

    from preclinical.cli.render import result_detail
    from preclinical.server.app import make_app

    screen = Console(file=io.StringIO(), width=120, force_terminal=False)

    client = await aiohttp_client(make_app(model_runtime))
    one = await (await client.get(f"/api/v1/scenario-runs/{row.id}")).json()
    listed = (await (await client.get(f"/api/v1/scenario-runs?test_run_id={run.id}")).json())["results"]
    assert one["ungraded_count"] == listed[0]["ungraded_count"] == len(decisions) - 1
    assert [c["decision"] for c in one["ungraded_criteria"]] == ["UNGRADED"] * (len(decisions) - 1)
    assert all(c["decision"] != "UNGRADED" for c in one["criteria_results"])
    exported = await (await client.get(f"/api/v1/tests/{run.id}/export-csv")).text()
    [record] = list(csv.DictReader(io.StringIO(exported)))
    assert record["ungraded_criteria"] == str(len(decisions) - 1)
    screen.print(result_detail(one))
    assert f"{len(decisions) - 1} criteria ungraded" in screen.file.getvalue()


async def test_with_30_percent_rate_limits_every_scenario_is_still_graded(model_runtime, target, fake_openai):
    fake_openai.inject_random("429", 0.3, seed=7)
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 4, "max_turns": 5}, timeout=60)
    assert run.status == "completed"
    assert [(r.status, r.error_code) for r in rows if r.status == "error"] == []
    assert Grading.select().join(ScenarioRun).where(ScenarioRun.test_run == run.id).count() == 4
    assert sum(1 for r in fake_openai.requests) > sum(r.model_calls for r in rows) - 1 > 0


@pytest.mark.parametrize(("fault", "code"), [("html", "BAD_RESPONSE"), ("truncated", "BAD_RESPONSE"),
                                              ("empty", "BAD_RESPONSE"), ("malformed", "INVALID_OUTPUT")])
async def test_garbage_from_the_model_ends_with_its_own_code_never_unknown(model_runtime, target, fake_openai, fault, code):
    fake_openai.inject(fault, times=-1)
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    [row] = rows
    assert run.status == "completed"
    assert (row.status, row.error_code) == ("error", code), row.error_message
    assert "Language model" in row.error_message and "Traceback" not in row.error_message
    assert row.metadata["retries"][0]["error_code"] == code  # the conversation was tried again


async def test_garbage_at_grading_time_is_retried_then_graded(model_runtime, target, fake_openai):
    from tests.fakes.openai_server import _Fault

    garbage = iter(["html", "truncated", "html", "empty"])  # more than one grading call's own retries
    take_fault = fake_openai._take_fault

    def grading_faults(body):
        if "GradingOutput" in str(body.get("response_format")):
            kind = next(garbage, None)
            if kind:
                return _Fault(kind, 1)
        return take_fault(body)

    fake_openai._take_fault = grading_faults
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    assert rows[0].status in ("passed", "failed"), (rows[0].error_code, rows[0].error_message)
    assert next(garbage, None) is None  # all four were served


async def test_a_patient_model_that_refuses_is_regenerated_and_the_run_flagged(model_runtime, target, fake_openai):
    from tests.fakes.openai_server import default_reply

    def refusing_patient(body):
        if "PatientReply" in str(body.get("response_format")):
            return {"message": "I'm sorry, but I can't assist with that."}
        return default_reply(body)

    fake_openai.responder = refusing_patient
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    [row] = rows
    assert row.status in ("passed", "failed")
    patient_lines = [e["content"] for e in row.transcript if e["role"] == "attacker"]
    assert "I'm sorry, but I can't assist with that." not in patient_lines
    assert patient_lines[1:4] == ["I'm not sure."] * 3  # turns 2-4; turn 1 and 5 are fixed texts
    assert row.metadata["flagged"] is True
    assert [r["turn"] for r in row.metadata["patient_out_of_role"]] == [2, 3, 4]


async def test_conversations_begin_while_later_scenarios_are_still_starting(model_runtime, target):
    """Each scenario's first message goes out as soon as that scenario starts: a follower of a large run
    sees the first replies before the last scenario has started, not after every one has (and the target
    is not sent every scenario's first message in one burst)."""
    agent = make_agent(model_runtime, target)
    run, rows = await run_to_end(model_runtime, {"agent_id": agent.id, "max_scenarios": 20, "max_turns": 5,
                                                 "concurrency_limit": 20})
    assert run.status == "completed" and len(rows) == 20
    kinds = [e.event_type for e in events_after(run.id)]
    last_start = max(i for i, kind in enumerate(kinds) if kind == RunEvent.SCENARIO_STARTED)
    first_reply = kinds.index(RunEvent.TRANSCRIPT_UPDATE)
    assert first_reply < last_start, kinds[:last_start + 1]
