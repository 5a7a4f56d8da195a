"""A web page open in the user's browser cannot use the loopback API (which has no token).

The page is played faithfully: a browser sends `Origin` on every cross-origin request, and a page that
wants to avoid a CORS preflight sends its JSON as `text/plain`. A DNS-rebinding page reaches the server
under its own host name (`Host: evil.example:<port>`) and looks same-origin to the browser.
"""

from __future__ import annotations

import json

import pytest

from preclinical.store import models
from tests.fakes.openai_server import FakeOpenAI

SECRET = "sk-victim-0123456789"
SECRET_HEADER = "tenant-secret-abcdef"


@pytest.fixture
async def attacker(aiohttp_server):
    """The attacker's own endpoint, counting every request (and the headers it carried)."""
    fake = FakeOpenAI()
    server = await aiohttp_server(fake.app)
    fake.url = str(server.make_url("/v1"))
    return fake


@pytest.fixture
async def victim_agent(client, fake_openai):
    resp = await client.post("/api/v1/agents", json={
        "provider": "openai", "name": "Clinic bot",
        "config": {"base_url": fake_openai.url, "api_key": SECRET, "target_model": "m",
                   "headers": {"X-Tenant-Key": SECRET_HEADER}}})
    assert resp.status == 201
    return (await resp.json())["id"]


def page_headers(origin: str, **extra: str) -> dict[str, str]:
    """What a fetch() from a page at `origin` with a text/plain body sends (no preflight needed)."""
    return {"Origin": origin, "Content-Type": "text/plain;charset=UTF-8", "Sec-Fetch-Site": "cross-site", **extra}


async def test_cross_site_page_cannot_repoint_an_agent_or_start_a_run(client, victim_agent, attacker):
    evil = "https://evil.example"
    patch = json.dumps({"config": {"base_url": attacker.url}})
    resp = await client.patch(f"/api/v1/agents/{victim_agent}", data=patch, headers=page_headers(evil))
    assert resp.status == 403
    assert "Cross-site request refused" in (await resp.json())["error"]
    assert "Access-Control-Allow-Origin" not in resp.headers

    resp = await client.post("/start-run", data=json.dumps({"agent_id": victim_agent, "max_scenarios": 1}),
                             headers=page_headers(evil))
    assert resp.status == 403

    # Reading is refused too (the masked config, transcripts), and no preflight is ever approved.
    resp = await client.get("/api/v1/agents", headers={"Origin": evil})
    assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.options("/api/v1/agents", headers={
        "Origin": evil, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "content-type"})
    assert resp.status == 403 and not any(h.startswith("Access-Control") for h in resp.headers)

    stored = models.Agent.get_by_id(victim_agent).config
    assert stored["base_url"] != attacker.url and stored["api_key"] == SECRET
    assert models.TestRun.select().count() == 0
    assert attacker.requests == []


async def test_dns_rebinding_page_is_refused_by_host(client, victim_agent, attacker):
    port = client.server.port
    rebound = {"Host": f"evil.example:{port}"}
    resp = await client.get("/api/v1/agents", headers=rebound)
    assert resp.status == 421
    assert "not this server" in (await resp.json())["error"]
    resp = await client.patch(f"/api/v1/agents/{victim_agent}", data=json.dumps({"config": {"base_url": attacker.url}}),
                              headers={**rebound, "Origin": f"http://evil.example:{port}",
                                       "Content-Type": "text/plain"})
    assert resp.status == 421
    resp = await client.post("/start-run", json={"agent_id": victim_agent}, headers=rebound)
    assert resp.status == 421
    assert models.Agent.get_by_id(victim_agent).config["base_url"] != attacker.url
    assert models.TestRun.select().count() == 0 and attacker.requests == []


async def test_non_browser_clients_and_own_origin_keep_working(client, victim_agent):
    port = client.server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert (await client.get("/api/v1/agents", headers={"Host": host})).status == 200
    # The published SDK sends Content-Type: application/json on every request, GETs included.
    assert (await client.get("/health", headers={"Content-Type": "application/json"})).status in (200, 503)
    resp = await client.get("/api/v1/agents", headers={"Origin": f"http://127.0.0.1:{port}"})
    assert resp.status == 200
    # Wrong port on a loopback name: not us.
    assert (await client.get("/api/v1/agents", headers={"Host": f"localhost:{port + 1}"})).status == 421


async def test_json_endpoints_refuse_other_content_types_even_without_origin(client, victim_agent):
    resp = await client.patch(f"/api/v1/agents/{victim_agent}", data='{"name": "x"}',
                              headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    assert "application/json" in (await resp.json())["error"]
    resp = await client.post("/api/v1/agents", data="provider=openai&name=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 415
    # The scenario import takes a raw file, as curl --data-binary sends it.
    resp = await client.post("/api/v1/scenarios/import?dry_run=true", data=b"not,a,known,format\n",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status != 415


async def test_repointing_an_agent_without_resending_its_secrets_drops_them(client, runtime, victim_agent, attacker):
    """Even a legitimate client that moves an agent elsewhere does not carry its secrets along."""
    resp = await client.patch(f"/api/v1/agents/{victim_agent}", json={"config": {"base_url": attacker.url}})
    assert resp.status == 200
    stored = models.Agent.get_by_id(victim_agent).config
    assert "api_key" not in stored and stored.get("headers") == {}
    resp = await client.post("/start-run", json={"agent_id": victim_agent, "max_scenarios": 1, "max_turns": 5})
    assert resp.status == 200
    await runtime.executor.wait((await resp.json())["id"])
    assert attacker.requests, "the run did talk to the new endpoint"
    sent = [dict(h) for h in attacker.request_headers]
    assert not any(SECRET in str(h) or SECRET_HEADER in str(h) for h in sent)

    # Moving it again while sending a new key keeps the key that was sent; echoing the mask back is no resend.
    masked = (await (await client.get(f"/api/v1/agents/{victim_agent}")).json())["config"]
    await client.patch(f"/api/v1/agents/{victim_agent}", json={"config": {"base_url": "http://127.0.0.1:9/v1",
                                                                             "api_key": "sk-fresh-999999"}})
    assert models.Agent.get_by_id(victim_agent).config["api_key"] == "sk-fresh-999999"
    await client.patch(f"/api/v1/agents/{victim_agent}", json={"config": {**masked, "base_url": attacker.url}})
    assert "api_key" not in models.Agent.get_by_id(victim_agent).config
