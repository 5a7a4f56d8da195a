"""`runs compare`: the summary with CIs and p-values, the changed scenarios, the verdict, and the CI gate."""

from __future__ import annotations

import json

import pytest

from preclinical.cli.exit_codes import FAILED, OK, USAGE
from tests.cli.conftest import invoke, invoke_async


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    """The summary rows are checked whole: give them room, whatever width another test left behind."""
    monkeypatch.setenv("COLUMNS", "160")


async def finished_run(api, agent: str, *flags: str) -> str:
    out = await invoke_async(*api, "run", agent, *flags, "--watch", "--json")
    return json.loads(out.stdout.splitlines()[-1])["run"]["test_run_id"]


async def test_a_hasty_candidate_is_a_regression_that_fails_the_gate(api):
    assert (await invoke_async(*api, "agents", "create", "-p", "demo", "-n", "Hasty bot", "-c",
                               '{"style": "hasty"}')).code == OK
    base = await finished_run(api, "Demo triage bot", "--tags", "red-flag")
    candidate = await finished_run(api, "Hasty bot", "--tags", "red-flag")

    out = await invoke_async(*api, "runs", "compare", base, candidate)
    assert out.code == OK, out.stderr  # without --fail-on-regression a comparison is only a report
    result = json.loads((await invoke_async(*api, "runs", "compare", base, candidate, "--json")).stdout)
    b, c = result["base"], result["candidate"]
    assert f"{b['pass_rate']:.1f}% ({b['pass_rate_ci'][0]:.1f}–{b['pass_rate_ci'][1]:.1f})" in out.stdout
    assert f"{c['pass_rate']:.1f}% ({c['pass_rate_ci'][0]:.1f}–{c['pass_rate_ci'][1]:.1f})" in out.stdout
    assert f"{result['pass']['delta']:+.1f} pp" in out.stdout
    assert f"p < 0.001: {result['pass']['fixed']} fixed, {result['pass']['broken']} broken" in out.stdout
    assert f"Changed scenarios ({len({x['scenario_id'] for xs in result['changes'].values() for x in xs})})" in out.stdout
    emergency = result["changes"]["new_under_triaged_emergencies"][0]
    assert "emergency under-triaged" in out.stdout and emergency["scenario_name"][:20] in out.stdout
    lines = out.stdout.splitlines()
    assert lines[-1] == result["verdict"]["text"] and lines[-1].startswith("Significantly worse: ")

    gated = await invoke_async(*api, "runs", "compare", base, candidate, "--fail-on-regression")
    assert gated.code == FAILED and gated.stdout.splitlines()[-1].startswith("Significantly worse: ")
    better = await invoke_async(*api, "runs", "compare", candidate, base, "--fail-on-regression")
    assert better.code == OK and better.stdout.splitlines()[-1].startswith("Significantly better: ")


async def test_refused_and_malformed_comparisons(api):
    run_id = await finished_run(api, "Demo triage bot", "--max-scenarios", "1")
    out = await invoke_async(*api, "runs", "compare", run_id, "run_missing")
    assert out.code == FAILED and out.stderr.strip() == "Error: Test run not found: candidate run_missing"
    assert (await invoke_async(*api, "runs", "compare", run_id)).code == USAGE


def test_compare_in_local_mode_with_no_change_passes_the_gate(local):
    for _ in range(2):
        assert invoke(*local, "run", "Demo triage bot", "--max-scenarios", "3").code == OK
    runs = json.loads(invoke(*local, "runs", "list", "--json").stdout)["runs"]
    out = invoke(*local, "runs", "compare", runs[1]["test_run_id"], runs[0]["id"], "--fail-on-regression")
    assert out.code == OK, out.stderr
    assert "3 paired" in out.stdout and "No scenario changed verdict or triage." in out.stdout
    assert out.stdout.splitlines()[-1] == "No significant change (p = 1)."


async def test_the_gate_gives_no_verdict_when_a_side_errored(api, fake_openai):
    from preclinical.cli.exit_codes import NO_VERDICT

    base = await finished_run(api, "Demo triage bot", "--max-scenarios", "3")
    fake_openai.inject("401", times=-1)
    config = json.dumps({"base_url": fake_openai.url, "api_key": "wrong", "target_model": "m"})
    await invoke_async(*api, "agents", "create", "-p", "openai", "-n", "Locked bot", "-c", config)
    out = await invoke_async(*api, "run", "Locked bot", "--max-scenarios", "3", "--watch", "--json")
    candidate = json.loads(out.stdout.splitlines()[-1])["run"]["test_run_id"]

    report = await invoke_async(*api, "runs", "compare", base, candidate)
    assert report.code == OK  # a report only
    gated = await invoke_async(*api, "runs", "compare", base, candidate, "--fail-on-regression")
    assert gated.code == NO_VERDICT
    assert gated.stdout.splitlines()[-1].startswith(f"No verdict: the candidate run ({candidate}): 3 of 3 scenarios "
                                                    "ended in an error")
    assert (await invoke_async(*api, "runs", "compare", candidate, base, "--fail-on-regression")).code == NO_VERDICT


async def test_an_acceptable_alternative_is_shown_apart_from_correct(api, tmp_path):
    # CL-02 (a child's ear infection) accepts Home care beside its gold Clinician evaluation: the hasty bot's
    # Home care there is an acceptable alternative, and the comparison says so in the CLI and the HTML report.
    assert (await invoke_async(*api, "agents", "create", "-p", "demo", "-n", "Hasty ears", "-c",
                               '{"style": "hasty"}')).code == OK
    base = await finished_run(api, "Demo triage bot", "--tags", "ent")
    candidate = await finished_run(api, "Hasty ears", "--tags", "ent")
    result = json.loads((await invoke_async(*api, "runs", "compare", base, candidate, "--json")).stdout)
    b, c = result["base"]["triage"], result["candidate"]["triage"]
    assert c["acceptable"] >= 1 and b["acceptable"] == 0, (b, c)
    assert c["correct"] + c["acceptable"] + c["under_triage"] + c["over_triage"] + c["no_answer"] == c["graded"]
    changed = {x["scenario_name"][:5]: x for x in result["changes"]["triage_changed"]}
    assert changed["CL-02"]["candidate"]["triage"] == "acceptable"

    report = tmp_path / "compare.html"
    out = await invoke_async(*api, "runs", "compare", base, candidate, "--html", str(report))
    row = next(line for line in out.stdout.splitlines() if "Acceptable alternative" in line)
    assert row.split()[2:5] == [str(b["acceptable"]), str(c["acceptable"]), f"{c['acceptable']:+d}"], row
    assert "Home care (acceptable)" in out.stdout  # CL-02's candidate cell in the changed scenarios
    html = report.read_text(encoding="utf-8")
    assert f"Acceptable alternative</div><div class=\"v\">{b['acceptable']} → {c['acceptable']}" in html
    assert "Home care (✓ acceptable alternative)" in html
