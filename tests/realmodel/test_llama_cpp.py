"""The model engine against a real model server: llama.cpp's OpenAI-compatible server with SmolLM2-135M.

SmolLM2-135M is tiny, so these tests check the plumbing, not clinical judgement: the server's real answers
to each structured-output request shape (and that the fake used by the quick tests answers the same), a
run over library scenarios that ends with every scenario graded, and a patient that stays in role.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from preclinical.engine.llm import LLM, ModelSettings
from preclinical.engine.model_grader import GradingOutput, _sized
from preclinical.engine.model_patient import FALLBACK_REPLY, PatientReply, out_of_role
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.store import agents as agent_store
from preclinical.store import runs as run_store
from preclinical.store.models import Grading, Scenario, ScenarioRun
from tests.fakes.openai_server import LLAMACPP_JSON_SCHEMA_MESSAGE, FakeOpenAI
from tests.support import isolated_settings

# One scenario per triage level, from the bundled library.
SCENARIOS = ("EM-01:", "CL-01:", "HC-01:")
MODEL = "smollm2"
SLOW_S = 600.0
AGENT_PROMPT = ("You are a nurse. Keep replies short. Always name the place of care in words: the emergency "
                "department, a doctor, or home care.")  # a generous per-call limit: CI machines are slow and this one runs on one thread


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/chat/completions", json.dumps(body).encode(),
                                     {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=SLOW_S) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _body(response_format: dict) -> dict:
    return {"model": MODEL, "max_tokens": 40, "temperature": 0.1, "response_format": response_format,
            "messages": [{"role": "user", "content": "Say hello as JSON."}]}


SCHEMA = {"type": "object", "properties": {"message": {"type": "string", "maxLength": 60}},
          "required": ["message"], "additionalProperties": False}


async def test_what_llama_cpp_answers_to_each_response_format_and_the_fake_says_the_same(llama_server, aiohttp_client):
    status, body = await asyncio.to_thread(
        _post, llama_server, _body({"type": "json_schema", "json_schema": {"name": "R", "schema": SCHEMA, "strict": True}}))
    assert status == 500
    message, real_type = body["error"]["message"], body["error"]["type"]
    assert "response_format" in message and "Input should be 'text' or 'json_object'" in message

    status, body = await asyncio.to_thread(_post, llama_server, _body({"type": "json_object", "schema": SCHEMA}))
    assert status == 200
    assert set(json.loads(body["choices"][0]["message"]["content"])) == {"message"}  # the grammar held it to the schema

    # The fake's llama.cpp fault answers a json_schema request the same way.
    fake = FakeOpenAI()
    fake.inject("llamacpp_json_schema")
    client = await aiohttp_client(fake.app)
    resp = await client.post("/v1/chat/completions",
                             json=_body({"type": "json_schema", "json_schema": {"name": "R", "schema": SCHEMA}}))
    faked = await resp.json()
    assert resp.status == 500 and faked["error"]["type"] == real_type
    assert faked["error"]["message"].split("\n")[:2] == message.split("\n")[:2]
    assert LLAMACPP_JSON_SCHEMA_MESSAGE.startswith(message.split("\n")[0])


async def test_the_ladder_settles_on_llama_cpps_schema_rung_and_parses_real_output(llama_server):
    llm = LLM(ModelSettings(llama_server, None, MODEL, MODEL, MODEL, timeout_s=SLOW_S))
    try:
        reply = await llm.structured("tester", "You are a patient with a sore throat. Answer the nurse briefly.",
                                     "Nurse: How long have you had the sore throat?", PatientReply)
        assert reply.mode == "json_object_schema" and llm.mode == "json_object_schema"
        assert isinstance(reply.value, PatientReply) and reply.usage.completion_tokens > 0
        graded = await llm.structured(
            "grader", "You grade a nurse's answer.",
            "Rubric:\n[0] Asks how long the symptom has lasted\nTranscript:\n[Turn 1] PATIENT: My throat hurts.\n"
            "[Turn 1] AGENT: How long has it hurt?\nGrade criterion [0].", _sized(GradingOutput, 1))
        assert graded.mode == "json_object_schema" and len(graded.value.evaluations) <= 1
    finally:
        await llm.close()


async def test_a_run_over_three_library_scenarios_is_graded_end_to_end(llama_server, tmp_path, aiohttp_client):
    settings = isolated_settings(
        tmp_path, openai_base_url=llama_server, tester_model=MODEL, grader_model=MODEL,
        min_max_turns=3, default_max_turns=3, llm_timeout_s=SLOW_S, target_timeout_s=SLOW_S)
    async with open_runtime(settings) as rt:
        client = await aiohttp_client(make_app(rt))
        health = await (await client.get("/health")).json()
        for key in ("tester_model", "grader_model"):
            assert health["checks"][key]["status"] == "ok", health["checks"][key]
            assert "SmolLM2-135M-Instruct" in health["checks"][key]["detail"]

        agent = agent_store.create_agent(rt.services, {
            "provider": "openai", "name": "SmolLM2 nurse",
            "config": {"base_url": llama_server, "model": MODEL, "max_tokens": 60, "temperature": 0,
                       "system_prompt": AGENT_PROMPT}})
        ids = [s.scenario_id for s in Scenario.select() if s.name.startswith(SCENARIOS)]
        assert len(ids) == 3
        run, _ = rt.executor.start({"agent_id": agent.id, "scenario_ids": ids, "max_turns": 3, "concurrency_limit": 3})
        await rt.executor.wait(run.id)

        run = run_store.resolve_run(run.id)
        rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
        assert run.status == "completed"
        assert [(r.error_code, r.error_message) for r in rows if r.status == "error"] == []
        triage: list[str | None] = []
        for row in rows:
            assert row.status in ("passed", "failed")
            grading = Grading.get(Grading.scenario_run == row.id)
            assert grading.engine == "model" and grading.criteria_results
            # The triage comparison was settled (a tiny model may name no level: then it says why).
            extraction = row.metadata["grader"]["triage_extraction"]
            assert grading.gold_standard in ("Emergency", "Clinician", "Home care")
            assert grading.triage_result in ("Emergency", "Clinician", "Home care") or extraction["rule"]
            assert (grading.triage_correct is None) == (grading.triage_result is None)
            triage.append(grading.triage_result)
            assert {r["decision"] for r in grading.criteria_results} <= {"MET", "PARTIALLY MET", "NOT MET", "UNGRADED"}
            patient_lines = [e["content"] for e in row.transcript if e["role"] == "attacker"]
            assert len(patient_lines) == 3
            # Whatever the model wrote, the patient's lines are in role (or the neutral fallback).
            assert all(out_of_role(line) is None or line == FALLBACK_REPLY for line in patient_lines)
            assert row.metadata["engine"] == {"patient": "standardized", "grader": "model"}
        assert rt.llm is not None and rt.llm.mode_for("grader") == "json_object_schema"
        print(f"triage results: {triage}")
        # What the API gives back about the run, as a user reads it.
        body = await (await client.get(f"/api/v1/scenario-runs?test_run_id={run.id}")).json()
        items = body["results"]
        assert len(items) == 3 and all(isinstance(i["ungraded_count"], int) for i in items)


@pytest.mark.parametrize("question", ["What brings you in today, and how long has it been going on?"])
async def test_the_patient_model_stays_in_role(llama_server, question):
    from preclinical.engine.model_patient import StandardizedPatient

    llm = LLM(ModelSettings(llama_server, None, MODEL, MODEL, MODEL, timeout_s=SLOW_S))
    try:
        scenario = {"name": "sore throat", "content": {
            "chief_complaint": "Sore throat for three days", "demographics": "25-year-old woman",
            "clinical_facts": "sore throat: yes, three days\nfever: no\ntrouble swallowing: a little"}}
        patient = StandardizedPatient(llm, scenario)
        transcript = [{"turn": 1, "role": "attacker", "content": "My throat is sore."},
                      {"turn": 1, "role": "target", "content": question}]
        line = await patient.next_message(transcript, 2, 3)
    finally:
        await llm.close()
    assert line == FALLBACK_REPLY or out_of_role(line) is None
    meta = patient.metadata()
    assert meta.get("flagged", False) == (line == FALLBACK_REPLY)
