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


async def test_health_reports_configured_models(tmp_path, aiohttp_client):
    settings = isolated_settings(tmp_path, openai_base_url="http://127.0.0.1:9/v1", tester_model="m-tester")
    async with open_runtime(settings) as rt:
        client = await aiohttp_client(make_app(rt))
        body = await (await client.get("/health")).json()
    assert body["engine"] == "model"
    assert body["checks"]["tester_model"]["status"] == "ok"
    assert "m-tester" in body["checks"]["tester_model"]["detail"]
    assert body["setup"]["tester_model"] == "m-tester"


async def test_health_is_503_when_the_database_fails(client, runtime):
    from preclinical.store.db import database

    database.close()
    runtime.database_ok = lambda: False  # the connection is gone; the check must say so
    resp = await client.get("/health")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "error"
    assert body["error"] == "Database connection failed"
    database.connect()


def test_environment_wins_over_the_config_file(tmp_path):
    from preclinical.paths import Paths

    config = tmp_path / "config.toml"
    config.write_text('port = 4000\ntester_model = "from-file"\ngrader_model = "file-grader"\n')
    paths = Paths(tmp_path / "d", config, tmp_path / "l")
    s = load_settings(env={"TESTER_MODEL": "from-env", "PRECLINICAL_PORT": "4100"}, paths=paths)
    assert (s.port, s.tester_model, s.grader_model) == (4100, "from-env", "file-grader")
