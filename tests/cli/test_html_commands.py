"""`results export --format html` and `runs compare --html`: the report files, written where asked."""

from __future__ import annotations

import json

import pytest

from preclinical.cli.exit_codes import OK, USAGE
from tests.cli.conftest import invoke


@pytest.fixture(autouse=True, params=["sqlite", "postgres"])
def store(request, monkeypatch, tmp_path):
    """Reports, regrades and clinician reviews from the command line, on either store (local mode reads
    PRECLINICAL_DATABASE_URL as `serve` does)."""
    url = request.getfixturevalue("postgres_databases")(tmp_path) if request.param == "postgres" else None
    if url:
        monkeypatch.setenv("PRECLINICAL_DATABASE_URL", url)
    yield request.param
    if url:  # the commands did work on that database, not on a SQLite file beside it
        import psycopg

        with psycopg.connect(url) as conn:  # (a usage error ends before the store is opened)
            if conn.execute("SELECT to_regclass('agent')").fetchone()[0] is not None:
                assert conn.execute("SELECT COUNT(*) FROM agent").fetchone()[0] > 0


def test_html_report_and_comparison_from_the_command_line(local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    invoke(*local, "agents", "create", "-p", "demo", "-n", "Hasty", "-c", '{"style": "hasty"}', "--json")
    assert invoke(*local, "run", "Demo triage bot", "--max-scenarios", "6", "--watch").code == OK
    invoke(*local, "run", "Hasty", "--max-scenarios", "6", "--watch")
    hasty, careful = json.loads(invoke(*local, "runs", "list", "--json").stdout)["runs"][:2]

    out = invoke(*local, "results", "export", careful["test_run_id"], "--format", "html")
    assert out.code == OK
    page = (tmp_path / f"triagerun-Demo_triage_bot-{careful['test_run_id']}.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count('<details class="sr"') == 6
    assert "Triage confusion matrix" in page

    out = invoke(*local, "runs", "compare", careful["id"], hasty["id"], "--html", "cmp.html", "--json")
    assert out.code == OK
    assert json.loads(out.stdout)["paired"] == 6  # standard output stays JSON; the note goes to standard error
    assert "Exported to cmp.html" in out.stderr
    comparison = (tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "Run comparison" in comparison and hasty["test_run_id"] in comparison


def test_run_with_repeats_reports_agreement_and_worst_of_k(local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = invoke(*local, "run", "Demo triage bot", "--max-scenarios", "3", "--repeat", "3", "--watch")
    assert out.code == OK, out.stdout
    assert "9 (3 × 3 repeats)" in out.stdout
    assert "Repeats (3 per scenario)" in out.stdout
    assert "worst-of-3" in out.stdout and "3/3 scenarios (100%)" in out.stdout
    assert "Disposition agreement" in out.stdout and "100% of pairs of repeats" in out.stdout

    out = invoke(*local, "run", "Demo triage bot", "--max-scenarios", "2", "--repeat", "2", "--watch", "--json")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["run"]["repeats"] == 2
    assert summary["repeats"]["overall"]["k"] == 2 and len(summary["repeats"]["scenarios"]) == 2

    run = json.loads(invoke(*local, "runs", "list", "--json").stdout)["runs"][1]  # the 3 × 3 run
    invoke(*local, "results", "export", run["id"], "--format", "html", "-o", "rep.html")
    page = (tmp_path / "rep.html").read_text(encoding="utf-8")
    assert "Repeats: 3 per scenario" in page and "worst-of-3" in page
    assert page.count('<details class="sr"') == 9
    assert page.count('<span class="meta">repeat 2/3 · gold Home care · agent Home care') == 3


def test_repeat_out_of_range_is_a_usage_error(local):
    out = invoke(*local, "run", "Demo triage bot", "--repeat", "0")
    assert out.code == USAGE and "Invalid value for '--repeat': 0 is not in the range 1<=x<=20." in out.stderr


def test_regrade_from_the_command_line(local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(*local, "run", "Demo triage bot", "--max-scenarios", "3", "--watch").code == OK
    run = json.loads(invoke(*local, "runs", "list", "--json").stdout)["runs"][0]
    scenario_id = json.loads(invoke(*local, "results", "list", run["id"], "--json").stdout)["results"][0]["scenario_id"]
    scenario = json.loads(invoke(*local, "scenarios", "get", scenario_id, "--json").stdout)
    (tmp_path / "rubric.json").write_text(json.dumps({scenario_id: scenario["rubric_criteria"][:1]}))

    out = invoke(*local, "runs", "regrade", run["id"], "--rules", "--label", "retest")
    assert out.code == OK, out.stderr
    assert "Agreement: the run vs retest" in out.stdout and "0 of 3 (0 pass→fail, 0 fail→pass)" in out.stdout
    assert "Percent agreement    100%" in out.stdout

    out = invoke(*local, "runs", "regrade", run["test_run_id"], "--rules", "--rubric", "rubric.json", "--json")
    body = json.loads(out.stdout)
    assert body["regrade"]["label"] == "rules grader · edited rubric" and body["regrade"]["status"] == "completed"

    out = invoke(*local, "results", "export", run["id"], "--format", "html", "--grading", "retest", "-o", "re.html")
    assert out.code == OK and "regraded: retest" in (tmp_path / "re.html").read_text(encoding="utf-8")
    out = invoke(*local, "results", "export", run["id"], "--grading", "retest")
    assert out.code == USAGE and "--grading applies to --format html" in out.stderr

    listed = json.loads(invoke(*local, "runs", "regrades", run["id"], "--json").stdout)["regrades"]
    assert [r["label"] for r in listed] == ["retest", "rules grader · edited rubric"]
    out = invoke(*local, "runs", "regrade", run["id"], "--judge-model", "x")
    assert out.code != OK and "judge_model and temperature apply to the model judge" in out.stderr
    out = invoke(*local, "runs", "regrade", run["id"], "--rules", "--rubric", "missing.json")
    assert out.code == USAGE and "Cannot read missing.json" in out.stderr


def test_reviews_from_the_command_line(local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(*local, "run", "Demo triage bot", "--max-scenarios", "2", "--watch").code == OK
    run = json.loads(invoke(*local, "runs", "list", "--json").stdout)["runs"][0]
    out = invoke(*local, "runs", "reviews", run["id"])
    assert out.code == OK and "No clinician reviews of this run yet" in out.stdout
    results = json.loads(invoke(*local, "results", "list", run["id"], "--json").stdout)["results"]
    def opposite(decision):  # a reviewer who disagrees with the judge on everything
        return "NOT MET" if decision == "MET" else "MET"

    document = {"format": "preclinical-reviews", "version": 1, "run": {"id": run["id"]}, "reviews": [
        {"scenario_run_id": r["id"], "scenario_id": r["scenario_id"], "reviewer": "Dr Ada",
         "criteria": [{"criterion_index": c["criterion_index"], "decision": opposite(c["decision"])}
                      for c in r["criteria_results"] if c["decision"] != "UNGRADED"],
         "disposition": "Home care"} for r in results]}
    (tmp_path / "ada.json").write_text(json.dumps(document), encoding="utf-8")
    out = invoke(*local, "runs", "reviews", run["id"], "--import", "ada.json", "--export", "all.json")
    assert out.code == OK, out.stderr
    assert "Imported 2 reviews from ada.json" in out.stdout and "Exported 2 reviews to all.json" in out.stdout
    assert "Agreement: the judge vs clinicians" in out.stdout and "Percent agreement    0%" in out.stdout
    assert "(Dr Ada)" in out.stdout  # the disagreements name the reviewer
    assert len(json.loads((tmp_path / "all.json").read_text())["reviews"]) == 2
