"""`scenarios generate` and `generate-batch` against a server whose model is the fake OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest

from preclinical.cli.exit_codes import OK
from preclinical.runtime import open_runtime
from preclinical.server.app import serve
from tests.api.test_generation import PROTOCOL, draft
from tests.cli.conftest import invoke_async
from tests.support import FixedClock, isolated_settings, seeded_rng


@pytest.fixture
async def model_api(tmp_path, fake_openai):
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt, serve(rt, "127.0.0.1", 0) as site:
        yield ["--url", f"http://127.0.0.1:{site.port}"]


async def test_generate_from_text_or_a_document(model_api, fake_openai, tmp_path):
    fake_openai.responder = lambda body: draft()
    out = await invoke_async(*model_api, "scenarios", "generate", "-t", PROTOCOL, "-c", "emergency", "-n", "Stairs",
                             "--tags", "cardiac,generated", "--json")
    assert out.code == OK, out.stderr
    created = json.loads(out.stdout)
    assert created["approved"] is False and created["tags"] == ["cardiac", "generated"] and created["name"] == "Stairs"
    assert PROTOCOL in fake_openai.requests[-1]["messages"][-1]["content"]

    (tmp_path / "protocol.md").write_text("# Chest pain\n\n" + PROTOCOL, encoding="utf-8")
    out = await invoke_async(*model_api, "scenarios", "generate", "--file", str(tmp_path / "protocol.md"))
    assert out.code == OK and out.stdout.startswith("Generated scenario: ") and "saved as a draft" in out.stdout
    assert "# Chest pain" in fake_openai.requests[-1]["messages"][-1]["content"]


async def test_generate_batch_from_a_file(model_api, fake_openai, tmp_path):
    fake_openai.responder = lambda body: {"scenarios": [draft(), draft(name="Chest wall strain", gold="Home care")]}
    (tmp_path / "protocol.txt").write_text(PROTOCOL, encoding="utf-8")
    out = await invoke_async(*model_api, "scenarios", "generate-batch", "-f", str(tmp_path / "protocol.txt"),
                             "--tags", "chest")
    assert out.code == OK, out.stderr
    assert out.stdout.startswith("Generated 2 scenario(s), saved as drafts") and "Chest wall strain" in out.stdout
    drafts = json.loads((await invoke_async(*model_api, "scenarios", "list", "--drafts", "--json")).stdout)
    assert sorted(s["name"] for s in drafts["scenarios"]) == ["Chest pressure while climbing stairs", "Chest wall strain"]
    out = await invoke_async(*model_api, "scenarios", "generate-batch", "-f", str(tmp_path / "protocol.txt"), "-t", "x")
    assert out.code == 64 and "--text or --file" in out.stderr
