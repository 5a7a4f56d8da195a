from preclinical.library import load_library, scenario_id_for

NEW = {
    "name": "Sore throat with drooling",
    "category": "emergency",
    "tags": ["ent", "adult"],
    "priority": 9,
    "content": {
        "initial_message": "My throat hurts so much I can't swallow my spit.",
        "clinical_facts": "Demographics\n age: 45\n\nPertinent positives\n drooling: yes\n\nPertinent negatives\n cough: no",
        "gold_standard": "Emergency",
        "demographics": "45-year-old man",
    },
    "rubric_criteria": [
        {"criterion": "Sends the patient to emergency care now.", "points": 10, "tags": ["axis:accuracy"], "critical": True,
         "check": {"type": "triage_equals", "level": "Emergency"}},
    ],
}


async def test_seeded_library_is_listed_in_a_stable_order(client):
    body = await (await client.get("/api/v1/scenarios")).json()
    cases = load_library()
    assert body["total"] == len(cases) == len(body["scenarios"]) >= 12
    names = [s["name"] for s in body["scenarios"]]
    assert names == sorted(names)
    first = body["scenarios"][0]
    assert set(first) >= {"scenario_id", "name", "category", "scenario_type", "content", "rubric_criteria",
                          "is_active", "approved", "priority", "tags", "created_at", "updated_at"}
    assert {s["scenario_id"] for s in body["scenarios"]} == {scenario_id_for(c["key"]) for c in cases}


async def test_filters(client):
    created = await (await client.post("/api/v1/scenarios", json=NEW)).json()
    by_tag = await (await client.get("/api/v1/scenarios", params={"tag": "ent"})).json()
    assert created["scenario_id"] in [s["scenario_id"] for s in by_tag["scenarios"]]
    assert all("ent" in s["tags"] for s in by_tag["scenarios"])
    by_cat = await (await client.get("/api/v1/scenarios", params={"category": "home_care"})).json()
    assert by_cat["total"] > 0 and all(s["category"] == "home_care" for s in by_cat["scenarios"])
    found = await (await client.get("/api/v1/scenarios", params={"q": "SWALLOW MY SPIT"})).json()
    assert [s["scenario_id"] for s in found["scenarios"]] == [created["scenario_id"]]

    # Drafts are hidden by default and shown with approved=false / all.
    await client.patch(f"/api/v1/scenarios/{created['scenario_id']}", json={"approved": False})
    default = await (await client.get("/api/v1/scenarios", params={"tag": "ent"})).json()
    drafts = await (await client.get("/api/v1/scenarios", params={"approved": "false"})).json()
    everything = await (await client.get("/api/v1/scenarios", params={"approved": "all"})).json()
    assert created["scenario_id"] not in [s["scenario_id"] for s in default["scenarios"]]
    assert [s["scenario_id"] for s in drafts["scenarios"]] == [created["scenario_id"]]
    assert everything["total"] == len(load_library()) + 1


async def test_create_patch_delete_and_reactivate(client):
    resp = await client.post("/api/v1/scenarios", json=NEW)
    assert resp.status == 201
    s = await resp.json()
    assert s["approved"] is True and s["scenario_type"] == "full" and s["problems"] == []
    sid = s["scenario_id"]

    patch = {"name": "Renamed", "tags": ["airway"], "priority": 1, "category": None, "scenario_type": "custom",
             "rubric_criteria": NEW["rubric_criteria"] * 2}
    updated = await (await client.patch(f"/api/v1/scenarios/{sid}", json=patch)).json()
    assert updated["name"] == "Renamed" and updated["tags"] == ["airway"] and updated["priority"] == 1
    assert updated["category"] is None and updated["scenario_type"] == "custom"
    assert len(updated["rubric_criteria"]) == 2
    old_tag = await (await client.get("/api/v1/scenarios", params={"tag": "ent"})).json()
    assert sid not in [x["scenario_id"] for x in old_tag["scenarios"]]  # tags replace

    assert (await client.delete(f"/api/v1/scenarios/{sid}")).status == 204
    listed = await (await client.get("/api/v1/scenarios", params={"approved": "all"})).json()
    assert sid not in [x["scenario_id"] for x in listed["scenarios"]]
    still = await (await client.get(f"/api/v1/scenarios/{sid}")).json()
    assert still["is_active"] is False
    revived = await (await client.patch(f"/api/v1/scenarios/{sid}", json={"is_active": True})).json()
    assert revived["is_active"] is True


async def test_a_scenario_without_facts_says_what_it_needs(client):
    s = await (await client.post("/api/v1/scenarios", json={"name": "Empty"})).json()
    assert s["problems"] == [
        "needs an opening message (content.initial_message)",
        "needs clinical facts (content.clinical_facts)",
        "needs at least one rubric criterion worth points",
    ]
