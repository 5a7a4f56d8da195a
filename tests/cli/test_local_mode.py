"""Local mode: the same commands in this process on the data dir, with the same JSON as a server prints."""

from __future__ import annotations

import json

from preclinical.cli import connection
from preclinical.cli.exit_codes import FAILED, NO_VERDICT, OK
from preclinical.config import load_settings
from preclinical.library import DEMO_AGENT_ID, load_library
from preclinical.runtime import open_runtime
from preclinical.store import runs as run_store
from tests.cli.conftest import invoke, invoke_async


def test_every_command_works_in_local_mode(local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(*local, "health").code == OK

    out = invoke(*local, "agents", "create", "-p", "demo", "-n", "Careful copy", "-c", '{"style": "careful"}', "--json")
    agent = json.loads(out.stdout)
    assert invoke(*local, "agents", "update", "Careful copy", "-d", "a copy").code == OK
    assert json.loads(invoke(*local, "agents", "get", agent["id"], "--json").stdout)["description"] == "a copy"

    out = invoke(*local, "run", "Careful copy", "--max-scenarios", "3", "--watch")
    assert out.code in (OK, FAILED) and "Summary" in out.stdout and "Triage accuracy" in out.stdout
    run = json.loads(invoke(*local, "runs", "list", "--json").stdout)["runs"][0]
    assert run["status"] == "completed" and run["total_scenarios"] == 3  # it ran here to the end, and was kept

    out = invoke(*local, "run", "Careful copy", "--max-scenarios", "2")  # no server to hand it to: it runs here too
    assert out.code == OK and "running it here until it ends" in out.stderr
    second = json.loads(invoke(*local, "runs", "list", "--json", "-l", "1").stdout)["runs"][0]
    assert second["status"] == "completed" and second["total_scenarios"] == 2

    watched = invoke(*local, "runs", "watch", run["test_run_id"], "--fail-under", "0")
    assert watched.code == OK and "completed  " in watched.stdout
    assert invoke(*local, "runs", "get", run["id"]).code == OK
    assert "already completed" in invoke(*local, "runs", "cancel", run["id"]).stdout

    results = json.loads(invoke(*local, "results", "list", run["id"], "--json").stdout)
    assert results["total"] == 3
    assert "Transcript" in invoke(*local, "results", "get", results["results"][0]["id"]).stdout
    for fmt, suffix in (("csv", ".csv"), ("json", ".json"), ("junit", ".xml"), ("markdown", ".md")):
        out = invoke(*local, "results", "export", run["id"], "--format", fmt)
        assert out.code == OK and (tmp_path / f"triagerun-Careful_copy-{run['test_run_id']}{suffix}").is_file()

    assert invoke(*local, "runs", "delete", second["id"], "-f").code == OK
    assert invoke(*local, "runs", "get", second["id"]).stderr.strip() == "Error: Test run not found"

    scenarios = json.loads(invoke(*local, "scenarios", "list", "--json").stdout)["scenarios"]
    assert invoke(*local, "scenarios", "get", scenarios[0]["scenario_id"]).code == OK
    case = {"name": "Local case", "content": scenarios[0]["content"], "rubric_criteria": scenarios[0]["rubric_criteria"]}
    (tmp_path / "case.json").write_text(json.dumps(case), encoding="utf-8")
    created = json.loads(invoke(*local, "scenarios", "create", "--file", str(tmp_path / "case.json"), "--json").stdout)
    assert invoke(*local, "scenarios", "update", created["scenario_id"], "--priority", "2").code == OK
    assert invoke(*local, "scenarios", "delete", created["scenario_id"], "-f").code == OK
    assert invoke(*local, "scenarios", "export", "--format", "csv", "-o", "lib.csv").code == OK
    out = invoke(*local, "scenarios", "import", "lib.csv", "--dry-run", "--json")
    assert out.code == OK and json.loads(out.stdout)["counts"]["duplicates"] == len(load_library())
    out = invoke(*local, "scenarios", "generate", "-t", "Chest pain protocol")
    assert out.code == FAILED and "needs a language model" in out.stderr
    out = invoke(*local, "scenarios", "generate-batch", "-t", "Chest pain protocol")
    assert out.code == FAILED and "needs a language model" in out.stderr

    assert invoke(*local, "agents", "delete", "Careful copy", "-f").code == OK


def test_without_a_server_at_the_default_url_it_says_so_and_works_locally(monkeypatch, unused_tcp_port, tmp_path):
    monkeypatch.setattr(connection, "DEFAULT_API_URL", f"http://127.0.0.1:{unused_tcp_port}")
    out = invoke("agents", "list", "--json")
    data_dir = load_settings().data_dir
    assert out.code == OK and json.loads(out.stdout)[0]["id"] == DEMO_AGENT_ID
    assert out.stderr.strip() == (f"No server at http://127.0.0.1:{unused_tcp_port}; working on the local data dir "
                                  f"{data_dir}")
    assert str(tmp_path) in str(data_dir)  # the test's own data dir, not the developer's


def test_a_configured_url_that_does_not_answer_is_an_error(monkeypatch, unused_tcp_port, _isolated_home):
    url = f"http://127.0.0.1:{unused_tcp_port}"
    monkeypatch.setenv("PRECLINICAL_API_URL", url)
    out = invoke("agents", "list")
    assert out.code == NO_VERDICT and out.stderr.startswith(f"Error: Could not reach the Preclinical server at {url}")
    monkeypatch.delenv("PRECLINICAL_API_URL")
    (_isolated_home / ".preclinical").mkdir()
    (_isolated_home / ".preclinical" / "config.toml").write_text(f'api_url = "{url}/"\n', encoding="utf-8")
    out = invoke("agents", "list")
    assert out.code == NO_VERDICT and f"server at {url} (" in out.stderr  # the trailing / is dropped


async def test_url_precedence_flag_then_environment_then_config_file(api, monkeypatch, unused_tcp_port, _isolated_home):
    good, bad = api[1], f"http://127.0.0.1:{unused_tcp_port}"
    (_isolated_home / ".preclinical").mkdir()
    config = _isolated_home / ".preclinical" / "config.toml"
    config.write_text(f'api_url = "{bad}"\n', encoding="utf-8")
    monkeypatch.setenv("PRECLINICAL_API_URL", bad)
    assert (await invoke_async("--url", good, "health")).code == OK  # the flag wins
    monkeypatch.setenv("PRECLINICAL_API_URL", good)
    assert (await invoke_async("health")).code == OK  # then the environment
    monkeypatch.delenv("PRECLINICAL_API_URL")
    assert (await invoke_async("health")).code == NO_VERDICT  # then the file
    config.write_text(f'api_url = "{good}"\n', encoding="utf-8")
    assert (await invoke_async("health")).code == OK
    config.write_text("api_url = [not toml", encoding="utf-8")
    out = await invoke_async("health")
    assert out.code == 64 and out.stderr.startswith(f"Error: {config}: not valid TOML")


async def test_local_watch_resumes_an_unfinished_run(tmp_path):
    """A run left running (its process gone) is picked up and finished by `runs watch` in local mode."""
    data_dir = tmp_path / "data"
    async with open_runtime(load_settings(data_dir=str(data_dir)), recover=False) as rt:
        plan = rt.executor.plan({"agent_id": DEMO_AGENT_ID, "max_scenarios": 2})
        run, _ = run_store.create_run(rt.services, agent=plan.agent, scenario_ids=plan.scenario_ids,
                                      options=plan.options)
    out = await invoke_async("--local", "--data-dir", str(data_dir), "runs", "watch", run.id)
    assert out.code in (OK, FAILED), out.stderr
    assert "completed  " in out.stdout
    listed = await invoke_async("--local", "--data-dir", str(data_dir), "runs", "get", run.id, "--json")
    assert json.loads(listed.stdout)["status"] == "completed"
