"""Scenario generation against the fake model server: runnable drafts, validation first, repairs, long documents."""

from __future__ import annotations

import re

import pytest

from preclinical.domain.facts import parse_facts
from preclinical.engine.generator import NO_MODEL, generate_batch
from preclinical.errors import ProviderError
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.store.models import Scenario
from tests.support import FixedClock, isolated_settings, seeded_rng

PROTOCOL = """Adult chest pain protocol.
Any chest pain with sweating, breathlessness or spread to the arm or jaw: call 911 at once.
Chest wall pain reproduced by pressing, after exercise, with no red flags: home care with safety-net advice."""


def draft(name: str = "Chest pressure while climbing stairs", gold: str = "Emergency", **changes) -> dict:
    body = {
        "name": name,
        "initial_message": "My chest feels tight and heavy since I climbed the stairs.",
        "chief_complaint": "Chest tightness on exertion for 30 minutes",
        "demographics": "58-year-old man",
        "age": "58",
        "sex": "male",
        "gold_standard": gold,
        "pertinent_positives": [{"finding": "chest tightness", "value": "yes, heavy, in the middle"},
                                {"finding": "onset", "value": "30 minutes ago"},
                                {"finding": "sweating", "value": "yes"}],
        "pertinent_negatives": [{"finding": "fever", "value": "no"}, {"finding": "cough", "value": ""}],
        "other_facts": [{"finding": "medications", "value": "lisinopril"}],
        "sop_instructions": "Chest pain with sweating must be sent to emergency care. Never suggest waiting.",
        "rubric_criteria": [
            {"criterion": "Sends the patient to emergency care now.", "points": 10, "axis": "accuracy",
             "critical": True, "check": {"type": "triage_equals", "level": gold}},
            {"criterion": "Tells the patient to call 911 or an ambulance.", "points": 5, "axis": "urgency",
             "critical": False, "check": {"type": "mentions_any", "phrases": ["911", " ambulance "]}},
            {"criterion": "Asks about sweating and breathlessness.", "points": 3, "axis": "context_awareness",
             "critical": False, "check": {"type": "asks_questions", "min": 2}},
            {"criterion": "Explains why exertional chest pain matters.", "points": 1, "axis": "completeness",
             "critical": True, "check": {"type": "mentions_any", "phrases": []}},
            {"criterion": "Does not send the patient home.", "points": 5, "axis": "calibration",
             "critical": False, "check": {"type": "triage_not_below", "level": "Home care"}},
        ],
    }
    body.update(changes)
    return body


def user_text(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def system_text(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "system")


@pytest.fixture
async def model_runtime(tmp_path, fake_openai):
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k",
                                 tester_model="fake-tester")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        yield rt


@pytest.fixture
async def model_client(model_runtime, aiohttp_client):
    return await aiohttp_client(make_app(model_runtime))


async def test_generates_one_runnable_draft(model_client, fake_openai):
    fake_openai.responder = lambda body: draft()
    resp = await model_client.post("/api/v1/scenarios/generate",
                                   json={"text": PROTOCOL, "tags": ["cardiac", "generated"]})
    assert resp.status == 201, await resp.text()
    s = await resp.json()

    assert (s["approved"], s["scenario_type"], s["source"], s["is_active"]) == (False, "custom", "generated", True)
    assert s["problems"] == []  # runnable: opening message, facts, criteria worth points
    assert s["name"] == "Chest pressure while climbing stairs"
    assert (s["category"], s["priority"], s["tags"]) == ("emergency", 9, ["cardiac", "generated"])
    content = s["content"]
    assert content["initial_message"] == "My chest feels tight and heavy since I climbed the stairs."
    assert content["gold_standard"] == "Emergency" and content["demographics"] == "58-year-old man"
    assert content["sop_instructions"].startswith("Chest pain with sweating")
    assert content["clinical_facts"] == (
        "Demographics\n age: 58\n sex: male\n\n"
        "Pertinent positives\n chest tightness: yes, heavy, in the middle\n onset: 30 minutes ago\n sweating: yes\n\n"
        "Pertinent negatives\n fever: no\n cough: no\n\n"
        "Other\n medications: lisinopril"
    )
    facts = parse_facts(content["clinical_facts"])  # what the scripted patient will answer from
    assert facts.get("sweating").value == "yes" and facts.get("cough").value == "no"

    rubric = s["rubric_criteria"]
    assert rubric[0] == {"criterion": "Sends the patient to emergency care now.", "points": 10,
                         "tags": ["level:triage", "axis:accuracy"], "critical": True,
                         "check": {"type": "triage_equals", "level": "Emergency"}}
    assert rubric[1]["check"] == {"type": "mentions_any", "phrases": ["911", "ambulance"]}
    assert [c.get("critical", False) for c in rubric] == [True, False, False, False, False]
    assert "check" not in rubric[3]  # an empty phrase list is dropped, not saved
    assert "check" not in rubric[4]  # "not below Home care" can never fail, so it decides nothing

    # Drafts wait for an author: hidden from the default list, shown among drafts.
    listed = await (await model_client.get("/api/v1/scenarios", params={"tag": "cardiac"})).json()
    drafts = await (await model_client.get("/api/v1/scenarios", params={"approved": "false"})).json()
    assert listed["total"] == 0 and [d["scenario_id"] for d in drafts["scenarios"]] == [s["scenario_id"]]

    (request,) = fake_openai.requests
    assert request["model"] == "fake-tester"  # the generator role defaults to the tester model
    assert "clinical scenario designer" in system_text(request)
    assert f"---\n{PROTOCOL}\n---" in user_text(request)


async def test_a_name_category_and_missing_triage_criterion(model_client, fake_openai):
    # The model forgot the triage criterion and wrote only two: ours are added so the case is still gradable.
    only_two = draft(gold="Home care", rubric_criteria=[
        {"criterion": "Suggests rest and simple pain relief.", "points": 3, "axis": "accuracy", "critical": False,
         "check": None},
        {"criterion": "Names warning signs.", "points": 3, "axis": "safety", "critical": False,
         "check": {"type": "mentions_any", "phrases": ["if it gets worse"]}},
    ])
    fake_openai.responder = lambda body: only_two
    resp = await model_client.post("/api/v1/scenarios/generate",
                                   json={"text": PROTOCOL, "name": "  My name  ", "category": "cardiology"})
    s = await resp.json()
    assert resp.status == 201 and (s["name"], s["category"], s["priority"]) == ("My name", "cardiology", 3)
    first = s["rubric_criteria"][0]
    assert first["critical"] is True and first["check"] == {"type": "triage_equals", "level": "Home care"}
    assert len(s["rubric_criteria"]) == 3
    assert 'Preferred scenario name: "My name"' in user_text(fake_openai.requests[0])


async def test_an_unusable_reply_is_repaired_once(model_client, fake_openai):
    replies = [draft(initial_message="  ", pertinent_positives=[]), draft()]
    fake_openai.responder = lambda body: replies.pop(0)
    resp = await model_client.post("/api/v1/scenarios/generate", json={"text": PROTOCOL})
    assert resp.status == 201
    assert len(fake_openai.requests) == 2
    repair = user_text(fake_openai.requests[1])
    assert "could not be used" in repair and "needs an opening message (content.initial_message)" in repair


async def test_a_reply_that_stays_unusable_is_a_502(model_client, fake_openai):
    fake_openai.responder = lambda body: draft(initial_message="")
    resp = await model_client.post("/api/v1/scenarios/generate", json={"text": PROTOCOL})
    assert resp.status == 502
    error = (await resp.json())["error"]
    assert error.startswith("Scenario generation failed: ") and "needs an opening message" in error
    assert Scenario.select().where(Scenario.source == "generated").count() == 0


@pytest.mark.parametrize("path", ["/api/v1/scenarios/generate", "/api/v1/scenarios/generate-batch"])
async def test_model_failures_are_502_with_the_reason(model_client, fake_openai, path):
    fake_openai.inject("401", times=-1)
    resp = await model_client.post(path, json={"text": PROTOCOL})
    assert resp.status == 502
    error = (await resp.json())["error"]
    prefix = "Batch scenario generation failed: " if "batch" in path else "Scenario generation failed: "
    assert error.startswith(prefix) and "HTTP 401" in error and "Check the API key" in error


BAD_BODIES = [
    ("{not json", "Request body must be valid JSON"),
    ({}, "text is required and must be a non-empty string"),
    ({"text": "   "}, "text is required and must be a non-empty string"),
    ({"text": 42}, "text is required and must be a non-empty string"),
    ({"text": "x", "category": 5}, "category must be a string"),
    ({"text": "x", "tags": "cardiac"}, "tags must be an array of strings"),
    ({"text": "x", "tags": ["ok", 1]}, "tags must be an array of strings"),
]


@pytest.mark.parametrize("path", ["/api/v1/scenarios/generate", "/api/v1/scenarios/generate-batch"])
@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
async def test_bad_requests_never_reach_the_model(model_client, fake_openai, path, body, message):
    kwargs = {"data": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, str) else {"json": body}
    resp = await model_client.post(path, **kwargs)
    assert resp.status == 400
    assert (await resp.json())["error"] == message
    assert fake_openai.requests == []


async def test_name_is_checked_for_single_generation(model_client, fake_openai):
    resp = await model_client.post("/api/v1/scenarios/generate", json={"text": "x", "category": "c", "name": 7})
    assert resp.status == 400 and (await resp.json())["error"] == "name must be a string"
    assert fake_openai.requests == []


@pytest.mark.parametrize("path", ["/api/v1/scenarios/generate", "/api/v1/scenarios/generate-batch"])
async def test_without_a_model_it_says_how_to_configure_one(client, path):
    resp = await client.post(path, json={"text": PROTOCOL})
    assert resp.status == 400
    assert (await resp.json())["error"] == NO_MODEL
    bad = await client.post(path, json={"text": ""})  # the request is still checked first
    assert (await bad.json())["error"] == "text is required and must be a non-empty string"


async def test_batch_writes_one_draft_per_process(model_client, fake_openai):
    fake_openai.responder = lambda body: {"scenarios": [
        draft(), draft(name="Chest wall strain after the gym", gold="Home care"),
        draft(name="Unusable", initial_message=""),
    ]}
    resp = await model_client.post("/api/v1/scenarios/generate-batch",
                                   json={"text": PROTOCOL, "tags": ["chest"], "name": 5})  # name is not a batch field
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    # The unusable third was named in one repair request; the repair answered the same, so it was dropped.
    assert len(fake_openai.requests) == 2
    assert "test case 3 (Unusable): needs an opening message" in user_text(fake_openai.requests[1])
    assert body["total"] == 2
    assert [(s["name"], s["category"], s["content"]["gold_standard"]) for s in body["scenarios"]] == [
        ("Chest pressure while climbing stairs", "emergency", "Emergency"),
        ("Chest wall strain after the gym", "home_care", "Home care"),
    ]
    assert all(s["approved"] is False and s["problems"] == [] and s["tags"] == ["chest"] for s in body["scenarios"])
    assert "distinct testable processes" in system_text(fake_openai.requests[0])
    assert "between 2 and 10" in user_text(fake_openai.requests[0])


def long_document() -> str:
    parts = []
    for title in ("Chest pain", "Fever in infants", "Sore throat"):
        body = "\n\n".join(f"{title} rule {k}: " + ("assess and escalate when needed. " * 25) for k in range(5))
        parts.append(f"# {title}\n\n{body}")
    return "\n\n".join(parts)  # three sections of about 4,300 characters: one model call each


async def test_long_documents_go_section_by_section_with_progress(model_runtime, fake_openai):
    text = long_document()
    assert len(text) > 12000

    def respond(body):
        part = int(re.search(r"This is part (\d) of 3", user_text(body)).group(1))
        return {"scenarios": [draft(name=f"Part {part} case", gold=("Emergency", "Clinician", "Home care")[part - 1])]}

    fake_openai.responder = respond
    progress = []
    rows = await generate_batch(model_runtime.llm, model_runtime.services, text=text, category="protocol-x",
                                on_progress=lambda done, total, label: progress.append((done, total, label)))

    assert progress == [(0, 3, "Chest pain"), (1, 3, "Chest pain"), (2, 3, "Fever in infants"), (3, 3, "Sore throat")]
    assert [r.name for r in rows] == ["Part 1 case", "Part 2 case", "Part 3 case"]
    assert [r.content["gold_standard"] for r in rows] == ["Emergency", "Clinician", "Home care"]
    assert {r.category for r in rows} == {"protocol-x"}
    users = [user_text(b) for b in fake_openai.requests]
    assert len(users) == 3 and all(len(u) < 6000 + 1000 for u in users)
    assert "# Fever in infants" in users[1] and "# Chest pain" not in users[1]
    assert "- Part 1 case" in users[1] and "- Part 2 case" in users[2]  # no overlap with earlier parts


async def test_a_failure_part_way_through_a_document_saves_nothing(model_runtime, fake_openai):
    # Section 1 is answered; section 2 gets prose twice (the reply and the repair), so it fails.
    fake_openai.responder = lambda body: {"scenarios": [draft()]} if len(fake_openai.requests) == 1 else "Sorry, no."
    before = Scenario.select().count()
    seen = []

    async def note(done, total, label):  # a coroutine callback works too
        seen.append(done)

    with pytest.raises(ProviderError) as caught:
        await generate_batch(model_runtime.llm, model_runtime.services, text=long_document(), on_progress=note)
    assert caught.value.message.startswith("Batch scenario generation failed (section 2 of 3: Fever in infants): ")
    assert caught.value.code == "INVALID_OUTPUT"
    assert seen == [0, 1]
    assert Scenario.select().count() == before
