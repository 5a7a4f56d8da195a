"""Every client command against a real API server on a free port (the CLI runs in a thread, the server on the loop)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import aiohttp

from preclinical.cli.exit_codes import FAILED, OK, USAGE
from preclinical.library import DEMO_AGENT_ID, DEMO_AGENT_NAME, load_library
from tests.cli.conftest import invoke_async


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


async def test_health_shows_the_checks_and_the_offline_engine(api):
    out = await invoke_async(*api, "health")
    assert out.code == OK
    assert "Preclinical health: ok" in out.stdout
    assert "offline engine" in out.stdout and "database" in out.stdout
    report = json.loads((await invoke_async(*api, "health", "--json")).stdout)
    assert report["status"] == "ok" and report["checks"]["database"] == {"status": "ok",
                                                                        "detail": "Database connection succeeded."}


async def test_agents_by_id_and_by_name(api):
    listed = json.loads((await invoke_async(*api, "agents", "list", "--json")).stdout)
    assert [a["name"] for a in listed] == [DEMO_AGENT_NAME]
    table = (await invoke_async(*api, "agents", "list")).stdout
    assert DEMO_AGENT_ID in table and DEMO_AGENT_NAME in table

    config = json.dumps({"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-very-secret-key", "target_model": "m"})
    out = await invoke_async(*api, "agents", "create", "-p", "openai", "-n", "Nurse line", "-d", "After-hours line",
                             "-c", config, "--json")
    assert out.code == OK, out.stderr
    created = json.loads(out.stdout)
    assert created["config"]["api_key"].startswith("sk-v") and "secret" not in created["config"]["api_key"]

    by_name = json.loads((await invoke_async(*api, "agents", "get", "Nurse line", "--json")).stdout)
    by_id = json.loads((await invoke_async(*api, "agents", "get", created["id"], "--json")).stdout)
    assert by_name == by_id and by_name["description"] == "After-hours line"
    assert "config.target_model" in (await invoke_async(*api, "agents", "get", "nurse LINE")).stdout

    out = await invoke_async(*api, "agents", "update", "Nurse line", "-n", "Night nurse", "-c", '{"target_model": "m2"}',
                             "--inactive", "--json")
    updated = json.loads(out.stdout)
    assert updated["name"] == "Night nurse" and updated["config"]["target_model"] == "m2"
    assert updated["config"]["base_url"] == "http://127.0.0.1:9/v1" and updated["is_active"] is False

    out = await invoke_async(*api, "agents", "update", "Night nurse")
    assert out.code == OK and "Nothing to update" in out.stderr

    out = await invoke_async(*api, "agents", "delete", "Night nurse", input="n\n")
    assert out.code == FAILED and "Aborted" in out.stderr
    out = await invoke_async(*api, "agents", "delete", "Night nurse", input="y\n")
    assert out.code == OK and "Deleted agent Night nurse" in out.stdout

    out = await invoke_async(*api, "agents", "get", "Night nurse")
    assert out.code == FAILED
    assert one_line(out.stderr) == "Error: No agent with id or name 'Night nurse' (see `preclinical agents list`)"


async def test_agent_errors_are_one_line(api):
    out = await invoke_async(*api, "agents", "create", "-p", "openai", "-n", "x", "-c", "{not json")
    assert out.code == USAGE and "--config" in out.stderr and "Traceback" not in out.stderr
    out = await invoke_async(*api, "agents", "create", "-p", "no-such-provider", "-n", "x")
    assert out.code == FAILED and one_line(out.stderr).startswith("Error: Unsupported provider: no-such-provider")
    for _ in range(2):
        await invoke_async(*api, "agents", "create", "-p", "demo", "-n", "Twin")
    out = await invoke_async(*api, "agents", "get", "Twin")
    assert out.code == FAILED and one_line(out.stderr).startswith("Error: More than one agent is named 'Twin': use its id")


async def test_a_run_listed_inspected_exported_and_deleted(api, tmp_path, monkeypatch):
    out = await invoke_async(*api, "run", DEMO_AGENT_NAME, "--max-scenarios", "3", "-n", "Smoke", "--max-turns", "5",
                             "--json")
    assert out.code == OK, out.stderr
    started = json.loads(out.stdout)
    assert started["status"] == "running" and started["total_scenarios"] == started["scenarios_launched"] == 3

    watched = await invoke_async(*api, "runs", "watch", started["test_run_id"])  # replayed to the end
    assert watched.code in (OK, FAILED) and "Summary" in watched.stdout and "Triage accuracy" in watched.stdout

    runs = json.loads((await invoke_async(*api, "runs", "list", "--json", "-s", "completed")).stdout)
    assert runs["total"] == 1 and runs["runs"][0]["name"] == "Smoke"
    assert started["test_run_id"] in (await invoke_async(*api, "runs", "list", "--agent", DEMO_AGENT_NAME)).stdout
    run = json.loads((await invoke_async(*api, "runs", "get", started["test_run_id"], "--json")).stdout)
    assert run["id"] == started["id"] and run["max_turns"] == 5
    assert "Pass rate" in (await invoke_async(*api, "runs", "get", started["id"])).stdout

    page = json.loads((await invoke_async(*api, "results", "list", started["id"], "--json")).stdout)
    assert page["total"] == 3 and {r["status"] for r in page["results"]} <= {"passed", "failed"}
    assert json.loads((await invoke_async(*api, "results", "list", started["id"], "-l", "1", "-o", "1",
                                          "--json")).stdout)["results"] == page["results"][1:2]
    table = (await invoke_async(*api, "results", "list", started["id"])).stdout
    assert " · correct" in table or "triage (gold " in table
    assert page["results"][0]["id"] in table
    detail = (await invoke_async(*api, "results", "get", page["results"][0]["id"])).stdout
    assert "Criteria" in detail and "patient" in detail and "agent" in detail
    assert json.loads((await invoke_async(*api, "results", "get", page["results"][0]["id"], "--json")).stdout) == \
        page["results"][0]

    monkeypatch.chdir(tmp_path)
    out = await invoke_async(*api, "results", "export", started["id"])
    name = f"triagerun-Demo_triage_bot-{started['test_run_id']}.csv"
    assert out.code == OK and out.stdout.strip() == f"Exported to {name}"
    async with aiohttp.ClientSession() as http, http.get(f"{api[1]}/api/v1/tests/{started['id']}/export-csv") as r:
        assert (tmp_path / name).read_text(encoding="utf-8") == await r.text()
    rows = list(csv.DictReader(io.StringIO((tmp_path / name).read_text(encoding="utf-8"))))
    assert len(rows) == 3

    out = await invoke_async(*api, "results", "export", started["id"], "--format", "json", "-o", "-")
    assert json.loads(out.stdout)["run"]["id"] == started["id"]
    out = await invoke_async(*api, "results", "export", started["id"], "--format", "junit")
    suite = ET.parse(tmp_path / name.replace(".csv", ".xml")).getroot().find("testsuite")
    assert suite.get("tests") == "3" and {c.get("classname") for c in suite.iter("testcase")} <= {
        "emergency", "clinician_eval", "home_care"}
    out = await invoke_async(*api, "results", "export", started["id"], "--format", "markdown", "-o",
                             str(tmp_path / "report.md"))
    assert "## Scenarios" in (tmp_path / "report.md").read_text(encoding="utf-8")

    out = await invoke_async(*api, "runs", "cancel", started["id"])
    assert out.code == OK and "already completed" in out.stdout
    out = await invoke_async(*api, "runs", "delete", started["test_run_id"], "-f")
    assert out.code == OK and "Deleted test run" in out.stdout
    for args in (["runs", "get", started["id"]], ["runs", "get", "../agents"], ["results", "export", "nope"]):
        out = await invoke_async(*api, *args)
        assert out.code == FAILED and one_line(out.stderr) == "Error: Test run not found"


async def test_scenarios_list_get_create_update_delete(api, tmp_path):
    library = load_library()
    listed = json.loads((await invoke_async(*api, "scenarios", "list", "--json")).stdout)
    assert listed["total"] == len(library)
    emergency = json.loads((await invoke_async(*api, "scenarios", "list", "-c", "emergency", "--json")).stdout)
    assert emergency["total"] == sum(1 for c in library if c["category"] == "emergency")
    found = json.loads((await invoke_async(*api, "scenarios", "list", "-q", "chest", "--json")).stdout)
    assert 0 < found["total"] < len(library)
    first = listed["scenarios"][0]
    assert first["name"] in (await invoke_async(*api, "scenarios", "get", first["scenario_id"])).stdout

    case = {key: first[key] for key in ("content", "rubric_criteria")} | {"name": "ignored"}
    (tmp_path / "case.json").write_text(json.dumps(case), encoding="utf-8")
    out = await invoke_async(*api, "scenarios", "create", "-f", str(tmp_path / "case.json"), "-n", "My case",
                             "--tags", "mine,cardiac", "--draft", "--json")
    assert out.code == OK, out.stderr
    created = json.loads(out.stdout)
    assert created["name"] == "My case" and created["tags"] == ["mine", "cardiac"] and created["approved"] is False
    drafts = json.loads((await invoke_async(*api, "scenarios", "list", "--drafts", "--json")).stdout)
    assert [s["name"] for s in drafts["scenarios"]] == ["My case"]

    out = await invoke_async(*api, "scenarios", "update", created["scenario_id"], "--approved", "--priority", "1",
                             "--tags", "mine", "--json")
    updated = json.loads(out.stdout)
    assert updated["approved"] is True and updated["priority"] == 1 and updated["tags"] == ["mine"]
    tagged = json.loads((await invoke_async(*api, "scenarios", "list", "-t", "mine", "--json")).stdout)
    assert [s["scenario_id"] for s in tagged["scenarios"]] == [created["scenario_id"]]
    out = await invoke_async(*api, "scenarios", "update", created["scenario_id"])
    assert out.code == OK and "Nothing to update" in out.stderr

    out = await invoke_async(*api, "scenarios", "delete", created["scenario_id"], "-f")
    assert out.code == OK
    assert json.loads((await invoke_async(*api, "scenarios", "list", "--json")).stdout)["total"] == len(library)
    out = await invoke_async(*api, "scenarios", "get", "00000000-0000-4000-8000-000000000000")
    assert out.code == FAILED and one_line(out.stderr) == "Error: Scenario not found"


async def test_scenarios_export_and_import_round_trip(api, tmp_path):
    out = await invoke_async(*api, "scenarios", "export", "--format", "jsonl", "-c", "home_care",
                             "-o", str(tmp_path / "home.jsonl"))
    assert out.code == OK
    lines = (tmp_path / "home.jsonl").read_text(encoding="utf-8").splitlines()
    home = sum(1 for c in load_library() if c["category"] == "home_care")
    assert len(lines) == home
    out = await invoke_async(*api, "scenarios", "import", str(tmp_path / "home.jsonl"), "--dry-run")
    assert out.code == OK and f"{home} scenarios read: 0 would create, {home} duplicates skipped" in out.stdout

    fresh = [json.loads(line) for line in lines[:2]]
    for i, item in enumerate(fresh):
        item.pop("scenario_id", None)
        item.pop("key", None)
        item["name"] = f"Imported case {i}"
    (tmp_path / "new.json").write_text(json.dumps(fresh), encoding="utf-8")
    out = await invoke_async(*api, "scenarios", "import", str(tmp_path / "new.json"), "--json")
    report = json.loads(out.stdout)
    assert out.code == OK and report["counts"]["created"] == 2 and report["dry_run"] is False
    out = await invoke_async(*api, "scenarios", "import", str(tmp_path / "missing.csv"))
    assert out.code == USAGE and one_line(out.stderr).startswith("Error: Cannot read")

    out = await invoke_async(*api, "scenarios", "export", "-o", "-")
    assert out.code == OK and len(json.loads(out.stdout)) == len(load_library()) + 2


async def test_generate_without_a_model_says_what_to_do(api, tmp_path):
    out = await invoke_async(*api, "scenarios", "generate", "--text", "Adult chest pain protocol.")
    assert out.code == FAILED
    assert one_line(out.stderr).startswith("Error: Scenario generation needs a language model: set OPENAI_API_KEY")
    out = await invoke_async(*api, "scenarios", "generate")
    assert out.code == USAGE and "--text or --file" in out.stderr
    out = await invoke_async(*api, "scenarios", "generate-batch", "--file", str(tmp_path / "nope.txt"))
    assert out.code == USAGE and one_line(out.stderr) == f"Error: Cannot read {tmp_path / 'nope.txt'}: no such file."
