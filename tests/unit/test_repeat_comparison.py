"""Run summaries and comparisons when scenarios were repeated, checked by hand."""

import pytest

from preclinical.domain.stats import compare_runs, mcnemar_exact, run_summary, wilson_interval

E, C, H = "Emergency", "Clinician", "Home care"


def rows(sid, gold, *outcomes):
    """One scenario's repeats: each outcome is (passed, triage_result)."""
    return [{"scenario_id": sid, "scenario_name": sid.upper(), "status": "passed" if p else "failed", "passed": p,
             "triage_result": t, "gold_standard": gold, "score_percent": 100.0 if p else 40.0} for p, t in outcomes]


def test_with_repeats_every_run_counts_but_the_interval_counts_scenarios():
    # Two scenarios × 3 repeats: a passes 3/3, b passes 0/3 → 3 of 6 scenario runs, 50 %.
    summary = run_summary(rows("a", E, (True, E), (True, E), (True, E)) + rows("b", H, (False, C), (False, C),
                                                                               (False, H)))
    assert (summary["n"], summary["graded"], summary["passed"], summary["pass_rate"]) == (6, 6, 3, 50.0)
    # The interval is Wilson's for 1 success in 2 scenarios (0.5 × 2), not for 3 in 6.
    low, high = wilson_interval(1, 2)
    assert summary["pass_rate_ci"] == [round(low * 100, 2), round(high * 100, 2)]
    assert summary["pass_rate_ci"][0] < round(wilson_interval(3, 6)[0] * 100, 2)
    assert summary["scenarios"] == 2
    # The confusion matrix counts every repeat: b's gold Home care was answered Clinician twice, Home care once.
    assert summary["triage"]["matrix"][H][C] == 2 and summary["triage"]["matrix"][H][H] == 1
    assert summary["triage"]["over_triage"] == 2 and summary["triage"]["correct"] == 4
    assert summary["repeats"]["pass_at_k"] == summary["repeats"]["worst_of_k"] == 0.5


def test_repeated_scenarios_are_paired_by_their_rates():
    base = (rows("a", E, (True, E), (True, E), (True, E))          # 3/3 → candidate 1/3: broken
            + rows("b", H, (False, C), (False, C))                 # 0/2 → candidate 2/2: fixed
            + rows("c", C, (True, C), (False, C))                  # 1/2 → candidate 1/2: unchanged
            + rows("d", E, (True, E), (True, E)))                  # 2/2 → candidate 2/2, but triage slips
    candidate = (rows("a", E, (True, E), (False, C), (False, C))
                 + rows("b", H, (True, H), (True, H))
                 + rows("c", C, (False, C), (True, C))
                 + rows("d", E, (True, E), (True, C), (True, C)))
    result = compare_runs(base, candidate)
    assert result["paired"] == 4
    assert [c["scenario_id"] for c in result["changes"]["broken"]] == ["a"]
    assert [c["scenario_id"] for c in result["changes"]["fixed"]] == ["b"]
    # Pooled rates: base 6 of 9 = 66.67 %, candidate 7 of 10 = 70 % → +3.33 points.
    assert result["pass"] == {"pairs": 4, "fixed": 1, "broken": 1, "p_value": mcnemar_exact(1, 1),
                              "delta": pytest.approx(3.33, abs=0.01)}
    broken = result["changes"]["broken"][0]
    # a's candidate side: 1 of 3 passed; worst-of-3 fails; the modal disposition is Clinician (2 of 3).
    assert broken["candidate"] == {"status": "failed", "passed": False, "triage_result": C, "triage": "under",
                                   "repeats": 3, "graded": 3, "passes": 1, "pass_rate": pytest.approx(33.33),
                                   "triage_accuracy": 33.33}
    assert broken["base"]["passed"] is True and broken["base"]["pass_rate"] == 100.0
    # Triage per scenario by accuracy: a 1 → 1/3 lost, b 0 → 1 gained, c 1 → 1 same, d 1 → 1/3 lost.
    assert (result["triage"]["gained"], result["triage"]["lost"]) == (1, 2)
    # a's and d's most common answer went from Emergency to Clinician: both newly under-triaged emergencies.
    assert sorted(c["scenario_id"] for c in result["changes"]["new_under_triaged_emergencies"]) == ["a", "d"]
    assert result["verdict"]["regression"] is True


def test_single_runs_compare_exactly_as_before():
    base = rows("a", E, (True, E)) + rows("b", H, (False, C))
    candidate = rows("a", E, (False, C)) + rows("b", H, (True, H))
    result = compare_runs(base, candidate)
    assert result["changes"]["broken"][0]["candidate"] == {"status": "failed", "passed": False,
                                                           "triage_result": C, "triage": "under"}
    assert (result["pass"]["fixed"], result["pass"]["broken"]) == (1, 1)
    assert "repeats" not in result["base"] and "scenarios" not in result["base"]
