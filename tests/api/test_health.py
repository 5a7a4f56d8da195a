from preclinical.config import load_settings
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from tests.support import isolated_settings


async def test_health_is_ok_without_a_model_and_names_the_offline_engine(client):
    resp = await client.get("/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["engine"] == "offline"
    assert body["checks"]["database"] == {"status": "ok", "detail": "Database connection succeeded."}
    for role in ("tester_model", "grader_model"):
        assert body["checks"][role]["status"] == "warning"
        assert "offline engine" in body["checks"][role]["detail"]
    assert body["checks"]["browser_provider"]["status"] == "warning"
    assert isinstance(body["setup"]["worker_concurrency"], int)
    assert body["timestamp"].endswith("Z")


async def test_health_asks_the_model_endpoint_and_says_which_model_answered(tmp_path, aiohttp_client, fake_openai):
    fake_openai.models = ("m-tester",)
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, tester_model="m-tester",
                                 structured_mode="json_object_schema")
    async with open_runtime(settings) as rt:
        client = await aiohttp_client(make_app(rt))
        body = await (await client.get("/health")).json()
    assert body["engine"] == "model" and body["status"] == "ok"
    tester = body["checks"]["tester_model"]
    assert tester["status"] == "ok"
    assert tester["detail"] == f"Tester model m-tester at {fake_openai.url} answered (serving: m-tester)."
    assert body["setup"]["tester_model"] == "m-tester"
    assert body["setup"]["structured_mode"] == "json_object_schema"
    assert body["setup"]["structured_mode_in_use"]["grader"] == "json_object_schema"


async def test_health_says_a_down_model_endpoint_is_down_within_a_second(tmp_path, aiohttp_client):
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = isolated_settings(tmp_path, openai_base_url=f"http://127.0.0.1:{port}/v1")
    async with open_runtime(settings) as rt:
        client = await aiohttp_client(make_app(rt))
        started = time.monotonic()
        resp = await client.get("/health")
        first = time.monotonic() - started
        body = await resp.json()
        started = time.monotonic()
        await client.get("/health")  # cached: no second wait
        second = time.monotonic() - started
    assert resp.status == 200 and body["status"] == "ok"  # a warning, not an error: the server itself is fine
    for key in ("tester_model", "grader_model"):
        check = body["checks"][key]
        assert check["status"] == "warning"
        assert f"could not reach http://127.0.0.1:{port}/v1" in check["detail"] and "will fail" in check["detail"]
    assert first < 1.0 and second < 0.2


async def test_health_says_when_a_hanging_endpoint_does_not_answer(tmp_path, aiohttp_client, aiohttp_server):
    import asyncio
    import time

    from aiohttp import web

    async def hang(request):
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/v1/models", hang)
    server = await aiohttp_server(app)
    settings = isolated_settings(tmp_path, openai_base_url=str(server.make_url("/v1")))
    async with open_runtime(settings) as rt:
        client = await aiohttp_client(make_app(rt))
        started = time.monotonic()
        body = await (await client.get("/health")).json()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert body["checks"]["grader_model"]["status"] == "warning"
    assert "did not answer within 0.8s" in body["checks"]["grader_model"]["detail"]


async def test_health_checks_each_role_endpoint_and_flags_a_model_the_server_lacks(tmp_path, aiohttp_client, fake_openai):
    fake_openai.models = ("llama3.1:8b", "qwen2.5:7b")
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, tester_model="mistral",
                                 grader_model="qwen2.5:7b", generator_base_url="http://127.0.0.1:9/v1")
    async with open_runtime(settings) as rt:
        client = await aiohttp_client(make_app(rt))
        body = await (await client.get("/health")).json()
    checks = body["checks"]
    assert checks["grader_model"]["status"] == "ok"
    assert "serving: llama3.1:8b, qwen2.5:7b" in checks["grader_model"]["detail"]
    assert checks["tester_model"]["status"] == "warning"
    assert "does not serve mistral (it serves: llama3.1:8b, qwen2.5:7b)" in checks["tester_model"]["detail"]
    assert checks["generator_model"]["status"] == "warning" and "127.0.0.1:9" in checks["generator_model"]["detail"]
    assert body["setup"]["model_endpoints"]["generator"] == {"base_url": "http://127.0.0.1:9/v1", "model": "mistral"}


def test_role_endpoints_structured_mode_and_limits_come_from_file_and_environment(tmp_path):
    import pytest

    from preclinical.errors import InvalidInput
    from preclinical.paths import Paths
    from preclinical.runtime import model_settings

    config = tmp_path / "config.toml"
    config.write_text('grader_base_url = "http://judge.local/v1"\ngrader_api_key = "judge-key"\n'
                      'grader_model = "big"\nstructured_mode = "json_object"\nllm_timeout_s = 45\n')
    paths = Paths(tmp_path / "d", config, tmp_path / "l")
    s = load_settings(env={"TESTER_BASE_URL": "http://patient.local/v1", "LLM_MAX_TOKENS": "300",
                           "STRUCTURED_MODE": "json_object_schema"}, paths=paths)
    assert s.model_configured and s.engine_name == "model"
    ms = model_settings(s)
    assert ms.endpoint("grader") == type(ms.endpoint("grader"))("http://judge.local/v1", "judge-key", "big")
    assert ms.endpoint("tester").base_url == "http://patient.local/v1"
    assert (ms.structured_mode, ms.timeout_s, ms.max_tokens) == ("json_object_schema", 45.0, 300)
    with pytest.raises(InvalidInput, match="structured_mode .* must be one of json_schema, json_object_schema"):
        load_settings(env={"STRUCTURED_MODE": "grammar"}, paths=paths)
