"""The command line says when imported scenarios cannot be graded offline: at import, when the run
starts, and in the run summary (beside the ambiguous/unreadable triage counts, zeros included)."""

from __future__ import annotations

import json

from preclinical.cli.exit_codes import FAILED, OK
from tests.api.test_not_gradable_offline import REFERENCE_OBJECT
from tests.cli.conftest import invoke


def test_reference_objects_are_flagged_at_import_at_start_and_in_the_summary(local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reference.json").write_text(json.dumps([REFERENCE_OBJECT]), encoding="utf-8")
    out = invoke(*local, "scenarios", "import", "reference.json")
    assert out.code == OK, out.stderr
    assert "1 is not gradable offline" in out.stdout and f"not gradable offline: {REFERENCE_OBJECT['name']}" in out.stdout

    out = invoke(*local, "run", "Demo triage bot", "--scenario-ids", REFERENCE_OBJECT["scenario_id"], "--watch")
    assert out.code == FAILED
    assert "1 scenario(s) not gradable offline" in out.stderr
    summary = " ".join(out.stdout.split())
    assert "Not gradable offline 1" in summary
    assert "No triage answer 0 (0 ambiguous, 0 unreadable)" in summary
    assert "Not gradable offline:" in summary  # the failed scenario says why, not just "0/0 points"
