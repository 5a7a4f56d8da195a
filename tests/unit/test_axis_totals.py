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


def test_a_penalty_criterion_bar_says_whether_the_harm_happened():
    from preclinical.report.svg import GREEN, RED, criterion_bars

    avoided = criterion_bars([{"criterion_index": 0, "decision": "NOT MET", "points_awarded": 0, "points_possible": -5}])
    happened = criterion_bars([{"criterion_index": 0, "decision": "MET", "points_awarded": -5, "points_possible": -5}])
    assert "penalty avoided" in avoided and f'fill="{GREEN}"' in avoided and "0/-5" not in avoided
    assert "penalty -5" in happened and f'fill="{RED}"' in happened
