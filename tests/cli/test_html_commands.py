"""`results export --format html` and `runs compare --html`: the report files, written where asked."""

from __future__ import annotations

import json

from preclinical.cli.exit_codes import OK
from tests.cli.conftest import invoke


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
