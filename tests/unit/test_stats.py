"""Run-comparison statistics, checked against values worked out by hand."""

import pytest

from preclinical.domain.stats import compare_runs, format_p, mcnemar_exact, triage_matrix, wilson_interval

E, C, H = "Emergency", "Clinician", "Home care"


@pytest.mark.parametrize(("successes", "n", "low", "high"), [
    (0, 10, 0.0, 0.27754),    # z²/n / (1 + z²/n) = 0.38416 / 1.38416
    (5, 10, 0.23659, 0.76341),
    (10, 10, 0.72246, 1.0),
    (54, 60, 0.79850, 0.95336),  # 90 % on a 60-case benchmark: about 80–95 %
])
def test_wilson_interval(successes, n, low, high):
    assert wilson_interval(successes, n) == (pytest.approx(low, abs=1e-5), pytest.approx(high, abs=1e-5))


def test_wilson_interval_without_cases_says_nothing_is_known():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@pytest.mark.parametrize(("b", "c", "p"), [
    (0, 6, 0.03125),     # 2 · (1/2)^6
    (6, 0, 0.03125),
    (2, 8, 0.109375),    # 2 · (1 + 10 + 45) / 1024
    (0, 5, 0.0625),      # five in a row is not enough at 0.05
    (3, 3, 1.0),         # the doubled tail exceeds 1
    (1, 0, 1.0),
    (0, 0, 1.0),
    (0, 20, 2 / 2**20),
])
def test_mcnemar_exact(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p)


def test_format_p():
    assert [format_p(p) for p in (0.63, 0.03125, 1.0, 0.0009)] == ["p = 0.63", "p = 0.031", "p = 1", "p < 0.001"]


def test_triage_matrix_counts_gold_against_predicted_with_none():
    matrix = triage_matrix([(E, E), (E, H), (E, None), ("emergency", "ER"), (C, H), (None, E)])
    assert matrix[E] == {H: 1, C: 0, E: 2, "none": 1}
    assert matrix[C] == {H: 1, C: 0, E: 0, "none": 0}
    assert sum(matrix[H].values()) == 0  # a row without a gold level is left out


def row(sid, passed, triage, gold, status=None):
    return {"scenario_id": sid, "scenario_name": f"Case {sid}", "passed": passed, "triage_result": triage,
            "gold_standard": gold, "status": status or {True: "passed", False: "failed", None: "error"}[passed]}


def test_a_run_compared_with_itself_shows_no_change():
    rows = [row("a", True, E, E), row("b", False, H, C), row("c", True, C, C)]
    result = compare_runs(rows, rows)
    assert result["paired"] == 3 and result["pass"]["p_value"] == 1.0 and result["pass"]["delta"] == 0
    assert all(not items for items in result["changes"].values())
    assert result["verdict"]["text"] == "No significant change (p = 1)."
    assert result["verdict"]["regression"] is False
    assert result["base"]["passed"] == 2 and result["base"]["pass_rate"] == 66.67
    assert result["base"]["pass_rate_ci"] == [20.77, 93.85]  # Wilson 2/3
    assert result["base"]["triage"]["under_triage"] == 1 and result["base"]["triage"]["accuracy"] == 66.67


def test_six_broken_emergencies_are_a_significant_regression():
    base = [row(f"e{i}", True, E, E) for i in range(6)] + [row("h", True, H, H)]
    candidate = [row(f"e{i}", False, C, E) for i in range(6)] + [row("h", True, H, H)]
    result = compare_runs(base, candidate)
    assert (result["pass"]["broken"], result["pass"]["fixed"]) == (6, 0)
    assert result["pass"]["p_value"] == pytest.approx(0.03125)
    assert (result["triage"]["lost"], result["triage"]["gained"]) == (6, 0)
    assert len(result["changes"]["new_under_triaged_emergencies"]) == 6
    change = result["changes"]["triage_changed"][0]
    assert change["base"]["triage_result"] == E and change["candidate"]["triage_result"] == C
    assert change["candidate"]["triage"] == "under" and change["gold_standard"] == E
    assert result["candidate"]["triage"]["matrix"][E][C] == 6
    assert result["pass"]["delta"] == pytest.approx(-85.71)
    assert result["verdict"] == {
        "text": "Significantly worse: 6 broken, 0 fixed (p = 0.031); triage 6 lost, 0 gained (p = 0.031); "
                "6 emergencies newly under-triaged.",
        "direction": "worse", "significant": True, "regression": True}


def test_a_small_change_is_not_significant_but_an_under_triaged_emergency_still_counts():
    base = [row("a", True, E, E), row("b", False, H, C), row("c", True, C, C)]
    candidate = [row("a", False, H, E), row("b", True, C, C), row("c", True, C, C)]
    result = compare_runs(base, candidate)
    assert (result["pass"]["fixed"], result["pass"]["broken"]) == (1, 1)
    assert [c["scenario_id"] for c in result["changes"]["fixed"]] == ["b"]
    assert [c["scenario_id"] for c in result["changes"]["broken"]] == ["a"]
    assert [c["scenario_id"] for c in result["changes"]["triage_changed"]] == ["a", "b"]
    assert result["verdict"]["text"] == "No significant change (p = 1); 1 emergency newly under-triaged."
    assert result["verdict"]["significant"] is False and result["verdict"]["regression"] is True


def test_significantly_better():
    base = [row(str(i), False, H, C) for i in range(7)]
    candidate = [row(str(i), True, C, C) for i in range(7)]
    verdict = compare_runs(base, candidate)["verdict"]
    assert verdict["text"].startswith("Significantly better: 0 broken, 7 fixed (p = 0.016)")
    assert verdict["direction"] == "better" and verdict["regression"] is False


def test_unpaired_scenarios_and_errors_are_listed_not_paired():
    base = [row("a", True, E, E), row("only-base", True, H, H)]
    candidate = [row("a", None, None, E), row("only-cand", False, H, E)]
    result = compare_runs(base, candidate)
    assert result["paired"] == 1 and result["pass"]["pairs"] == 0 and result["triage"]["pairs"] == 0
    assert result["only_in_base"] == [{"scenario_id": "only-base", "scenario_name": "Case only-base"}]
    assert [r["scenario_id"] for r in result["only_in_candidate"]] == ["only-cand"]
    assert result["candidate"]["errors"] == 1 and result["candidate"]["graded"] == 1
    assert result["candidate"]["pass_rate"] == 0.0 and result["candidate"]["triage"]["under_triage"] == 1


def test_no_scenarios_in_common():
    result = compare_runs([row("a", True, E, E)], [row("b", True, E, E)])
    assert result["verdict"]["text"] == "No scenarios in common: nothing to compare."
    assert compare_runs([], [])["base"]["pass_rate"] is None
