"""Scenario export and import over HTTP: lossless round trips, the reference's shapes, dry runs, duplicates."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from contextlib import asynccontextmanager

import pytest

from preclinical.domain.facts import parse_facts
from preclinical.library import load_library, scenario_id_for
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from tests.support import FixedClock, isolated_settings, seeded_rng

CUSTOM = {
    "name": "Wheeze; after a cat visit",
    "category": None,
    "tags": ["allergy;asthma", "adult"],  # a ";" inside a tag must survive the CSV
    "priority": None,
    "content": {
        "initial_message": "I'm wheezy since I visited my sister's cat.",
        "clinical_facts": "Pertinent positives\n wheeze: yes, \"whistling\", since this morning\n\nOther\n inhaler: salbutamol",
        "gold_standard": "Clinician",
        "demographics": {"age": 34, "gender": "female", "age_range": "30-39"},
        "test_type": "general_triage",
    },
    "rubric_criteria": [{"criterion": "Asks about breathlessness,\nat rest.", "points": 2.5, "tags": []}],
}

SEED_CASES = [
    {"id": "RS-001", "initial_message": "My nose is stuffy and I keep sneezing.",
     "clinical_facts": "Demographics\n 32-year-old female\n \n Pertinent positives\n onset 1 day; sneezing yes; "
                       "fever max 99.6 F; headache mild\n \n Pertinent negatives\n shortness of breath no; "
                       "chest pain no; ear pain no\n \n Other\n medications none",
     "gold_standard": "Home care", "demographics": "32-year-old female"},
    {"id": "RS-002", "initial_message": "My chest feels tight and it goes into my neck.",
     "clinical_facts": "Demographics\n 58-year-old male\n \n Pertinent positives\n onset 30 minutes; "
                       "radiation left shoulder and neck; sweating yes; severity 6/10\n \n Pertinent negatives\n "
                       "fever no; cough no\n \n Other\n medications lisinopril and atorvastatin",
     "gold_standard": "Emergency", "demographics": "58-year-old male"},
    {"id": "RS-003", "initial_message": "It burns when I pee and I have to go all the time.",
     "clinical_facts": "Demographics\n 27-year-old female\n \n Pertinent positives\n onset 2 days; "
                       "burning urination yes; frequency yes\n \n Pertinent negatives\n fever no; back pain no; "
                       "vomiting no; pregnancy no",
     "gold_standard": "Clinician evaluation"},
]


@asynccontextmanager
async def serving(tmp_path, aiohttp_client, *, seed: bool):
    """A runtime on its own data dir and a client for it (one at a time: the database handle is per process)."""
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock(), rng=seeded_rng(), seed=seed) as rt:
        yield rt, await aiohttp_client(make_app(rt))


async def import_text(client, text: str, **params):
    resp = await client.post("/api/v1/scenarios/import", data=text.encode(), params=params)
    return resp.status, await resp.json()


async def all_scenarios(client) -> list[dict]:
    body = await (await client.get("/api/v1/scenarios", params={"approved": "all", "active": "all"})).json()
    return body["scenarios"]


@pytest.mark.parametrize(("fmt", "media_type"), [("json", "application/json"), ("jsonl", "application/x-ndjson"),
                                                 ("csv", "text/csv")])
async def test_export_import_export_is_identical(tmp_path, aiohttp_client, fmt, media_type):
    everything = {"format": fmt, "approved": "all", "active": "all"}
    async with serving(tmp_path / "a", aiohttp_client, seed=True) as (_, a):
        custom = await (await a.post("/api/v1/scenarios", json=CUSTOM)).json()
        draft = await (await a.post("/api/v1/scenarios", json={**CUSTOM, "name": "A draft", "approved": False})).json()
        library_case = scenario_id_for(load_library()[0]["key"])
        assert (await a.delete(f"/api/v1/scenarios/{library_case}")).status == 204
        resp = await a.get("/api/v1/scenarios/export", params=everything)
        assert resp.status == 200, await resp.text()
        assert resp.content_type == media_type
        assert 'filename="preclinical-scenarios-20260301-' in resp.headers["Content-Disposition"]
        first = await resp.text()
        expected_ids = [s["scenario_id"] for s in await all_scenarios(a)]

    async with serving(tmp_path / "b", aiohttp_client, seed=False) as (_, b):
        assert await all_scenarios(b) == []
        status, report = await import_text(b, first)  # format detected
        assert status == 201, report
        # The two custom scenarios (rubric without machine checks) are flagged, not silently failed later.
        assert report["counts"] == {"created": len(expected_ids), "duplicates": 0, "invalid": 0, "not_runnable": 0,
                                    "not_gradable_offline": 2}
        assert {i["name"] for i in report["not_gradable_offline"]} == {CUSTOM["name"], "A draft"}
        again = await (await b.get("/api/v1/scenarios/export", params=everything)).text()
        imported = {s["scenario_id"]: s for s in await all_scenarios(b)}

    assert again == first
    assert list(imported) == expected_ids
    assert imported[custom["scenario_id"]]["content"] == CUSTOM["content"]
    assert imported[custom["scenario_id"]]["tags"] == CUSTOM["tags"]
    assert imported[draft["scenario_id"]]["approved"] is False
    assert imported[library_case]["is_active"] is False
    assert imported[library_case]["library_key"] == load_library()[0]["key"]
    assert {s["source"] for s in imported.values()} == {"import"}


async def test_export_uses_the_list_filters_and_is_not_taken_for_an_id(client):
    resp = await client.get("/api/v1/scenarios/export", params={"format": "csv", "category": "emergency"})
    assert resp.status == 200
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    emergencies = [c for c in load_library() if c["category"] == "emergency"]
    assert len(rows) == len(emergencies) and {r["category"] for r in rows} == {"emergency"}
    row = rows[0]
    assert row["gold_standard"] == "Emergency" and row["approved"] == "true"
    assert json.loads(row["rubric_criteria"])[0]["check"]["type"] == "triage_equals"
    default = await (await client.get("/api/v1/scenarios/export")).json()  # json by default
    assert len(default) == len(load_library()) and set(default[0]) == {
        "key", "scenario_id", "name", "category", "scenario_type", "priority", "tags", "content",
        "rubric_criteria", "is_active", "approved"}


async def test_reference_seed_cases_import_and_run(tmp_path, aiohttp_client):
    async with serving(tmp_path, aiohttp_client, seed=False) as (rt, client):
        status, report = await import_text(client, json.dumps(SEED_CASES), format="reference")
        assert status == 201
        assert [c["name"] for c in report["created"]] == [
            "RS-001: My nose is stuffy and I keep sneezing.",
            "RS-002: My chest feels tight and it goes into my neck.",
            "RS-003: It burns when I pee and I have to go all the time.",
        ]
        assert [c["scenario_id"] for c in report["created"]] == [scenario_id_for(f"RS-00{n}") for n in (1, 2, 3)]
        listed = {s["library_key"]: s for s in await all_scenarios(client)}
        home, emergency, clinician = listed["RS-001"], listed["RS-002"], listed["RS-003"]
        assert [(s["category"], s["priority"], s["content"]["gold_standard"]) for s in (home, emergency, clinician)] == [
            ("home_care", 3, "Home care"), ("emergency", 9, "Emergency"), ("clinician_eval", 5, "Clinician")]
        assert all(s["problems"] == [] and s["approved"] and s["source"] == "import" for s in listed.values())
        facts = home["content"]["clinical_facts"]
        assert " age: 32\n sex: female" in facts and " fever: max 99.6 F" in facts and " shortness of breath: no" in facts
        assert parse_facts(facts).get("sneezing").value == "yes"
        assert clinician["content"]["demographics"] == "27-year-old female"  # taken from the facts when missing
        for scenario, total in ((home, 28), (emergency, 33), (clinician, 28)):
            rubric = scenario["rubric_criteria"]
            assert len(rubric) == 5 and sum(c["points"] for c in rubric) == total
            assert rubric[0]["critical"] is True
            assert rubric[0]["check"] == {"type": "triage_equals", "level": scenario["content"]["gold_standard"]}
            assert all("level:triage" in c["tags"] for c in rubric)

        agent = await (await client.post("/api/v1/agents", json={"provider": "demo", "name": "d"})).json()
        by_id = {s["scenario_id"]: s for s in (home, emergency, clinician)}
        started = await (await client.post("/start-run", json={"agent_id": agent["id"], "scenario_ids": list(by_id)})).json()
        assert started["total_scenarios"] == 3
        await asyncio.wait_for(rt.executor.wait(started["id"]), 30)
        results = (await (await client.get("/api/v1/scenario-runs", params={"test_run_id": started["id"]})).json())["results"]
        assert len(results) == 3
        for result in results:
            assert result["status"] in ("passed", "failed"), result["error_message"]
            assert result["gold_standard"] in ("Home care", "Emergency", "Clinician")
            graded = [c for c in result["criteria_results"] if c["decision"] != "UNGRADED"]
            assert len(graded) >= 4  # the standard criteria carry machine checks
            opening = by_id[result["scenario_id"]]["content"]["initial_message"]
            assert result["transcript"][0]["content"] == opening  # the patient opens with the case's own words


async def test_seed_cases_as_csv_are_detected_and_duplicates_found_by_id(tmp_path, aiohttp_client):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Case ID", "Initial Message", "Clinical Facts", "Gold Standard"])
    for case in SEED_CASES:
        writer.writerow([case["id"], case["initial_message"], case["clinical_facts"], case["gold_standard"]])
    async with serving(tmp_path, aiohttp_client, seed=False) as (_, client):
        status, report = await import_text(client, out.getvalue())
        assert status == 201 and report["counts"]["created"] == 3
        status, again = await import_text(client, json.dumps(SEED_CASES))
        assert status == 200
        assert again["counts"] == {"created": 0, "duplicates": 3, "invalid": 0, "not_runnable": 0,
                                   "not_gradable_offline": 0}
        assert again["duplicates"][0] == {"index": 0, "name": "RS-001: My nose is stuffy and I keep sneezing.",
                                          "existing_id": scenario_id_for("RS-001"), "reason": "same scenario_id"}


async def test_dry_run_reports_and_writes_nothing(client):
    before = await all_scenarios(client)
    status, report = await import_text(client, json.dumps(SEED_CASES), dry_run="true")
    assert status == 200 and report["dry_run"] is True
    assert [c["scenario_id"] for c in report["created"]] == [scenario_id_for(c["id"]) for c in SEED_CASES]
    assert await all_scenarios(client) == before
    status, real = await import_text(client, json.dumps(SEED_CASES), dry_run="false")
    assert status == 201 and real["created"] == report["created"] and real["dry_run"] is False
    assert len(await all_scenarios(client)) == len(before) + 3


async def test_duplicates_by_content_and_within_one_file(client):
    existing = (await all_scenarios(client))[0]
    same_content = {k: existing[k] for k in ("name", "content", "rubric_criteria")}  # no id: found by content hash
    fresh = {**CUSTOM, "name": "Fresh"}
    status, report = await import_text(client, "\n".join(json.dumps(x) for x in (same_content, fresh, fresh)),
                                       format="jsonl")
    assert status == 201
    assert [c["name"] for c in report["created"]] == ["Fresh"]
    assert report["duplicates"] == [
        {"index": 0, "name": existing["name"], "existing_id": existing["scenario_id"],
         "reason": "same name, content and rubric"},
        {"index": 2, "name": "Fresh", "existing_id": report["created"][0]["scenario_id"],
         "reason": "same name, content and rubric"},
    ]


async def test_invalid_items_are_named_and_the_rest_imported(client):
    reference_generated = {  # the reference API's generated dialect: well-formed, but nothing to run
        "scenario_id": "0b7c1f9e-1111-4c2d-9e8f-00000000abcd", "name": "Care navigation after discharge",
        "category": "care_navigation", "scenario_type": "custom",
        "content": {"chief_complaint": "I was discharged yesterday", "test_type": "care_navigation",
                    "demographics": {"age": 70, "gender": "male", "age_range": "65-75"}},
        "rubric_criteria": [{"criterion": "Checks the discharge plan", "points": 3, "tags": ["axis:accuracy"]}],
        "is_active": True, "approved": False, "priority": None, "tags": [],
        "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
    }
    items = [
        5,
        {"name": "  "},
        {"name": "Bad fields", "content": {"gold_standard": "Urgent", "initial_message": 3},
         "rubric_criteria": [{"criterion": "", "points": "-1"}], "approved": "yes"},
        {"name": "Bad id", "scenario_id": "not-a-uuid"},
        {"name": "Good", "content": {"initial_message": "Hi", "clinical_facts": "Other\n cough: yes"},
         "rubric_criteria": ["Asks about the cough"]},
        reference_generated,
    ]
    status, report = await import_text(client, json.dumps({"scenarios": items}), format="reference")
    assert status == 201
    assert [(c["name"], c["approved"]) for c in report["created"]] == [
        ("Good", True), ("Care navigation after discharge", False)]
    invalid = {i["index"]: i for i in report["invalid"]}
    assert set(invalid) == {0, 1, 2, 3}
    assert invalid[0]["problems"] == ["each item must be an object"]
    assert invalid[1]["problems"] == ["name is required and must be a non-empty string"]
    assert invalid[2]["problems"] == [
        "content.initial_message must be a string",
        "content.gold_standard must be one of: Emergency, Clinician, Home care",
        "rubric_criteria[0].criterion must be a non-empty string",
        "rubric_criteria[0].points must be a number (negative for a harm criterion)",
        "approved must be true or false",
    ]
    assert invalid[3] == {"index": 3, "name": "Bad id", "problems": ["scenario_id must be a UUID"]}
    assert report["not_runnable"] == [{
        "index": 5, "scenario_id": "0b7c1f9e-1111-4c2d-9e8f-00000000abcd", "name": "Care navigation after discharge",
        "problems": ["needs an opening message (content.initial_message)", "needs clinical facts (content.clinical_facts)"],
    }]
    saved = await (await client.get("/api/v1/scenarios/0b7c1f9e-1111-4c2d-9e8f-00000000abcd")).json()
    assert saved["approved"] is False and saved["content"]["test_type"] == "care_navigation"


@pytest.mark.parametrize(("path", "params", "body", "message"), [
    ("import", {}, "", "Nothing to import: send the file's text (JSON, JSON Lines or CSV) as the request body."),
    ("import", {"format": "json"}, "[{,]", "The import is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 3)."),
    ("import", {"format": "jsonl"}, '{"name": "a"}\n{oops', "Line 2 of the JSON Lines import is not valid JSON"),
    ("import", {"format": "xml"}, "<a/>", "format must be one of: json, jsonl, csv, reference"),
    ("import", {"dry_run": "maybe"}, "[]", "dry_run must be true or false"),
    ("export", {"format": "xlsx"}, None, "format must be one of: json, jsonl, csv"),
    ("export", {"approved": "maybe"}, None, "approved must be true, false or all"),
])
async def test_bad_requests_say_what_to_fix(client, path, params, body, message):
    url = f"/api/v1/scenarios/{path}"
    resp = await (client.post(url, data=body.encode(), params=params) if body is not None else client.get(url, params=params))
    assert resp.status == 400
    assert (await resp.json())["error"].startswith(message)


async def test_a_non_utf8_body_is_refused(client):
    resp = await client.post("/api/v1/scenarios/import", data="name\nFi\xe8vre".encode("latin-1"))
    assert resp.status == 400 and "UTF-8" in (await resp.json())["error"]
