"""Criterion points per rubric axis, as the charts and the HTML report show them."""

from preclinical.report.collect import axis_totals


def test_an_axis_with_a_penalty_that_did_not_happen_scores_at_most_100_percent():
    """A penalty criterion ("Harm: suggests aspirin before a stroke is assessed", -5 points) that is NOT MET took
    nothing away; it must not shrink what was possible either (the charts showed 133 % of points)."""
    def criterion(i, decision, awarded, possible):
        return {"criterion_index": i, "decision": decision, "points_awarded": awarded, "points_possible": possible,
                "axis": "safety"}

    clean = {"criteria_results": [criterion(0, "MET", 5, 5), criterion(1, "MET", 5, 5), criterion(2, "NOT MET", 0, -5)]}
    harmed = {"criteria_results": [criterion(0, "MET", 5, 5), criterion(1, "NOT MET", 0, 5), criterion(2, "MET", -5, -5)]}
    [axis] = axis_totals([clean])
    assert axis["percent"] == 100.0
    [axis] = axis_totals([harmed])
    assert axis["percent"] == 0.0  # 5 earned, 5 taken away by the penalty, of 10 possible
    [axis] = axis_totals([clean, harmed])
    assert axis["percent"] == 50.0 and axis["possible"] == 20.0
