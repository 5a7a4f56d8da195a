from preclinical.library import DEMO_AGENT_ID


async def test_list_is_a_bare_array_with_the_seeded_demo_agent(client):
    resp = await client.get("/api/v1/agents")
    assert resp.status == 200
    agents = await resp.json()
    assert isinstance(agents, list)
    assert [a["id"] for a in agents] == [DEMO_AGENT_ID]
    assert agents[0]["provider"] == "demo" and agents[0]["config"] == {"style": "careful"}


async def test_create_get_update_delete(client):
    resp = await client.post("/api/v1/agents", json={
        "provider": "openai", "name": "Nurse line bot",
        "config": {"api_key": "sk-live-1234567890", "target_model": "gpt-4o-mini", "auth_mode": "api",
                   "headers": {"Authorization": "Bearer abcdefghijk"}},
    })
    assert resp.status == 201
    agent = await resp.json()
    assert agent["config"]["api_key"] == "sk-l" + "•" * 14
    assert agent["config"]["auth_mode"] == "api"  # not a secret: not masked
    assert agent["config"]["headers"]["Authorization"].startswith("Bear•")
    assert agent["description"] is None and agent["is_active"] is True
    assert agent["created_at"].endswith("Z")

    got = await (await client.get(f"/api/v1/agents/{agent['id']}")).json()
    assert got == agent

    # Echo the masked config back (as an edit form would) and change the model: the secret survives.
    echoed = dict(agent["config"], target_model="gpt-4.1")
    resp = await client.patch(f"/api/v1/agents/{agent['id']}", json={"config": echoed, "description": "triage"})
    assert resp.status == 200
    from preclinical.store.models import Agent

    stored = Agent.get_by_id(agent["id"])
    assert stored.config["api_key"] == "sk-live-1234567890"
    assert stored.config["headers"]["Authorization"] == "Bearer abcdefghijk"
    assert stored.config["target_model"] == "gpt-4.1"
    assert stored.description == "triage"

    # A new secret replaces the old one.
    await client.patch(f"/api/v1/agents/{agent['id']}", json={"config": {"api_key": "sk-new-000000000"}})
    assert Agent.get_by_id(agent["id"]).config["api_key"] == "sk-new-000000000"

    assert (await client.delete(f"/api/v1/agents/{agent['id']}")).status == 204
    assert (await client.get(f"/api/v1/agents/{agent['id']}")).status == 404
    assert agent["id"] not in [a["id"] for a in await (await client.get("/api/v1/agents")).json()]
    assert Agent.get_by_id(agent["id"]).deleted_at is not None  # soft delete keeps the row for old runs
    assert (await client.delete(f"/api/v1/agents/{agent['id']}")).status == 404


async def test_every_registered_provider_can_be_saved(client):
    configs = {
        "openai": {}, "vapi": {"api_key": "k", "assistant_id": "a"}, "livekit": {"url": "wss://x"},
        "pipecat": {"api_key": "k", "agent_name": "a"}, "browser": {"url": "https://x", "profile_id": "p"},
        "elevenlabs": {"api_key": "k", "agent_id": "a"}, "http": {"url": "http://127.0.0.1:1/hook"}, "demo": {},
    }
    for provider, config in configs.items():
        resp = await client.post("/api/v1/agents", json={"provider": provider, "name": f"{provider} agent", "config": config})
        assert resp.status == 201, (provider, await resp.text())


async def test_agent_validation_messages(client):
    cases = [
        ({"name": "x"}, "provider and name are required"),
        ({"provider": "openai"}, "provider and name are required"),
        ({"provider": "teams", "name": "x"},
         "Unsupported provider: teams. Supported providers: openai, vapi, livekit, pipecat, browser, elevenlabs, http, demo"),
        ({"provider": "browser", "name": "x", "config": {"url": "https://x"}},
         "Browser Use Profile ID is required. Create one at https://cloud.browser-use.com/settings?tab=profiles"),
        ({"provider": "openai", "name": "x", "config": "nope"}, "config must be an object"),
        ({"provider": "openai", "name": "x", "config": {"temperature": "hot"}}, "config.temperature must be a number"),
        ({"provider": "demo", "name": "x", "config": {"style": "reckless"}}, "config.style must be one of: careful, hasty"),
        ({"provider": "demo", "name": 5}, "name must be a non-empty string"),
        ({"provider": "demo", "name": "x", "description": 3}, "description must be a string"),
    ]
    for body, message in cases:
        resp = await client.post("/api/v1/agents", json=body)
        assert resp.status == 400, body
        named = message.split()[0].removeprefix("config.") if message.startswith("config.") else None
        assert await resp.json() == ({"error": message, "field": named} if named else {"error": message})


async def test_browser_patch_must_keep_a_profile(client):
    agent = await (await client.post("/api/v1/agents", json={
        "provider": "browser", "name": "web", "config": {"url": "https://x", "profile_id": "p1"}})).json()
    resp = await client.patch(f"/api/v1/agents/{agent['id']}", json={"config": {"profile_id": " "}})
    assert resp.status == 400
    assert "Profile ID is required" in (await resp.json())["error"]
