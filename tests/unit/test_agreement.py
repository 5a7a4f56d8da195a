"""Agreement and repeat statistics, checked against values worked out by hand (the arithmetic is in the comments)."""

import math

import pytest

from preclinical.domain.agreement import (
    agreement_by_group,
    cohen_kappa,
    fleiss_kappa,
    kappa_label,
    pairwise_agreement,
    pass_at_k,
    percent_agreement,
    repeat_summary,
    spread,
    verdict_flips,
    worst_of_k,
)

M, P, N = "MET", "PARTIALLY MET", "NOT MET"
E, C, H = "Emergency", "Clinician", "Home care"


def table(counts):
    """Pairs from a {(a, b): count} contingency table."""
    return [pair for pair, count in counts.items() for _ in range(count)]


def test_kappa_on_a_balanced_two_by_two_table():
    # 10 criteria: both MET 4, A MET / B NOT 1, A NOT / B MET 1, both NOT 4.
    pairs = table({(M, M): 4, (M, N): 1, (N, M): 1, (N, N): 4})
    k = cohen_kappa(pairs)
    # po = 8/10 = 0.8; margins A: MET 5, NOT 5; B: MET 5, NOT 5 → pe = (5·5 + 5·5)/100 = 0.5
    # kappa = (0.8 − 0.5)/(1 − 0.5) = 0.6
    # SE = sqrt(0.8 · 0.2 / (10 · 0.5²)) = sqrt(0.16 / 2.5) = sqrt(0.064) = 0.252982
    # CI = 0.6 ± 1.959964 · 0.252982 = 0.6 ± 0.495836 → (0.104164, 1.095836 clipped to 1)
    assert (k.n, k.observed, k.expected) == (10, pytest.approx(0.8), pytest.approx(0.5))
    assert k.kappa == pytest.approx(0.6)
    assert k.se == pytest.approx(0.252982, abs=1e-6)
    assert k.ci == (pytest.approx(0.104164, abs=1e-6), 1.0)


def test_kappa_on_three_categories_with_unequal_margins():
    # 20 gradings of one criterion, judge (A) against clinician (B):
    #            B: MET  PART  NOT
    #   A: MET       6     2     0      A margin 8
    #      PART      1     3     1      A margin 5
    #      NOT       0     1     6      A margin 7
    #   B margin     7     6     7
    pairs = table({(M, M): 6, (M, P): 2, (P, M): 1, (P, P): 3, (P, N): 1, (N, P): 1, (N, N): 6})
    k = cohen_kappa(pairs)
    # po = (6 + 3 + 6)/20 = 0.75
    # pe = (8·7 + 5·6 + 7·7)/400 = (56 + 30 + 49)/400 = 135/400 = 0.3375
    # kappa = (0.75 − 0.3375)/(1 − 0.3375) = 0.4125/0.6625 = 0.622642
    # SE = sqrt(0.75 · 0.25 / (20 · 0.6625²)) = sqrt(0.1875 / 8.778125) = sqrt(0.0213600) = 0.146151
    assert k.observed == pytest.approx(0.75)
    assert k.expected == pytest.approx(0.3375)
    assert k.kappa == pytest.approx(0.622642, abs=1e-6)
    assert k.se == pytest.approx(0.146151, abs=1e-6)
    # 0.622642 ± 1.959964 · 0.146151 = 0.622642 ± 0.286451
    assert k.ci == (pytest.approx(0.336191, abs=1e-5), pytest.approx(0.909093, abs=1e-5))
    assert kappa_label(k.kappa) == "substantial"
    assert percent_agreement(pairs) == 0.75


def test_kappa_below_chance_is_negative():
    # Raters that always disagree on a 50/50 split: po = 0, pe = 0.5 → kappa = −1, SE = 0 → CI (−1, −1).
    k = cohen_kappa(table({(M, N): 3, (N, M): 3}))
    assert k.kappa == pytest.approx(-1.0)
    assert k.ci == (pytest.approx(-1.0), pytest.approx(-1.0))
    assert kappa_label(k.kappa) == "poor"


def test_kappa_is_undefined_when_both_raters_never_vary():
    # Every pair (MET, MET): po = 1 and pe = 1, so (po − pe)/(1 − pe) is 0/0.
    k = cohen_kappa([(M, M)] * 5)
    assert (k.observed, k.expected, k.kappa, k.ci) == (1.0, 1.0, None, None)
    assert kappa_label(None) == "undefined"
    assert cohen_kappa([]).kappa is None and percent_agreement([]) is None


def test_agreement_by_group_keeps_groups_apart_in_first_seen_order():
    items = [("triage", E, E), ("triage", E, C), ("safety", M, M), ("safety", N, N), ("triage", C, C)]
    result = agreement_by_group(items)
    assert list(result) == ["triage", "safety"]
    # triage: po = 2/3; margins A: E 2, C 1; B: E 1, C 2 → pe = (2·1 + 1·2)/9 = 4/9;
    # kappa = (6/9 − 4/9)/(5/9) = 2/5 = 0.4
    assert result["triage"]["n"] == 3 and result["triage"]["kappa"] == pytest.approx(0.4)
    # safety: po = 1; pe = (1·1 + 1·1)/4 = 0.5 → kappa = 1, SE = 0
    assert result["safety"]["kappa"] == pytest.approx(1.0) and result["safety"]["ci"] == [1.0, 1.0]


def test_verdict_flips_count_both_directions_and_skip_missing_verdicts():
    flips = verdict_flips([(True, True), (True, False), (False, True), (False, False), (True, False), (None, True)])
    # 5 pairs with both verdicts; pass→fail 2, fail→pass 1 → 3 flips, 3/5 = 0.6
    assert flips == {"pairs": 5, "flips": 3, "pass_to_fail": 2, "fail_to_pass": 1, "flip_rate": pytest.approx(0.6)}
    assert verdict_flips([])["flip_rate"] is None


@pytest.mark.parametrize(("n", "c", "k", "at_k", "worst"), [
    (3, 0, 3, 0.0, 0.0),        # nothing passed
    (3, 1, 3, 1.0, 0.0),        # one of three: passes at best, fails at worst
    (3, 3, 3, 1.0, 1.0),
    (5, 2, 2, 0.7, 0.1),        # 1 − C(3,2)/C(5,2) = 1 − 3/10; C(2,2)/C(5,2) = 1/10
    (5, 3, 1, 0.6, 0.6),        # k = 1 is the plain pass rate either way
    (10, 7, 3, 1 - 1 / 120, 35 / 120),  # 1 − C(3,3)/C(10,3); C(7,3)/C(10,3) = 35/120
])
def test_pass_at_k_and_worst_of_k(n, c, k, at_k, worst):
    assert pass_at_k(n, c, k) == pytest.approx(at_k)
    assert worst_of_k(n, c, k) == pytest.approx(worst)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 3)
    with pytest.raises(ValueError):
        worst_of_k(3, 1, 4)


def test_pairwise_and_fleiss_agreement_across_repeats():
    # Three scenarios, three repeats each:
    #   S1 E E E → 3·2/(3·2) = 1
    #   S2 E E C → (2·1 + 1·0)/6 = 1/3
    #   S3 H H H → 1
    subjects = [[E, E, E], [E, E, C], [H, H, H]]
    assert [pairwise_agreement(s) for s in subjects] == [1.0, pytest.approx(1 / 3), 1.0]
    # P̄ = (1 + 1/3 + 1)/3 = 7/9; shares E 5/9, C 1/9, H 3/9 → Pe = (25 + 1 + 9)/81 = 35/81
    # kappa = (63/81 − 35/81)/(46/81) = 28/46 = 0.608696
    assert fleiss_kappa(subjects) == pytest.approx(28 / 46)
    assert pairwise_agreement([E]) is None
    assert fleiss_kappa([[E], [C]]) is None  # nobody repeated
    assert fleiss_kappa([[E, E], [E, E]]) is None  # one label only: chance agreement is 1


def test_spread_uses_the_sample_standard_deviation():
    # 60, 80, 100: mean 80; squared deviations 400 + 0 + 400 = 800; / (3 − 1) = 400 → SD 20
    assert spread([60.0, 80.0, 100.0]) == {"mean": 80.0, "sd": 20.0, "min": 60.0, "max": 100.0, "range": 40.0}
    assert spread([50.0])["sd"] is None
    assert spread([])["mean"] is None


def test_repeat_summary_per_scenario_and_overall():
    def rep(passed, disposition, score):
        return {"passed": passed, "disposition": disposition, "score": score}

    summary = repeat_summary({
        "chest-pain": [rep(True, E, 100), rep(True, E, 90), rep(False, C, 40)],
        "sore-throat": [rep(True, H, 80), rep(True, H, 80), rep(True, H, 80)],
        "headache": [rep(False, E, 20), rep(False, E, 30), rep(None, None, None)],  # one repeat errored
    })
    chest, throat, headache = summary["scenarios"]
    assert (chest["passed"], chest["pass_at_k"], chest["worst_of_k"]) == (2, True, False)
    assert chest["modal_disposition"] == E and chest["consistent"] is False
    assert chest["disposition_agreement"] == pytest.approx(1 / 3)  # (2·1)/(3·2)
    # scores 100, 90, 40: mean 230/3 = 76.667; deviations 23.333, 13.333, −36.667 → squares
    # 544.44 + 177.78 + 1344.44 = 2066.67; /2 = 1033.33 → SD 32.1455
    assert chest["score"]["sd"] == pytest.approx(math.sqrt(3100 / 3), abs=1e-9)
    assert (throat["worst_of_k"], throat["consistent"], throat["score"]["sd"]) == (True, True, 0.0)
    assert (headache["graded"], headache["pass_at_k"], headache["worst_of_k"]) == (2, False, False)

    overall = summary["overall"]
    assert overall["scenarios"] == 3 and overall["k"] == 3
    assert overall["pass_at_k"] == pytest.approx(2 / 3)     # chest-pain and sore-throat pass at least once
    assert overall["worst_of_k"] == pytest.approx(1 / 3)    # only sore-throat passes every time
    assert overall["pass_rate"] == pytest.approx(5 / 8)     # 5 passes among 8 graded repeats
    assert overall["consistent_dispositions"] == pytest.approx(2 / 3)
    assert overall["disposition_agreement"] == pytest.approx((1 / 3 + 1 + 1) / 3)
    # Fleiss over [E E C], [H H H], [E E]: P̄ = (1/3 + 1 + 1)/3 = 7/9;
    # pooled 8 labels: E 4, C 1, H 3 → Pe = (16 + 1 + 9)/64 = 26/64 → kappa = (7/9 − 13/32)/(1 − 13/32)
    assert overall["disposition_kappa"] == pytest.approx((7 / 9 - 13 / 32) / (19 / 32))
    # SDs: chest 32.1455, throat 0, headache SD(20, 30) = 7.0711 → mean 13.0722
    assert overall["score_sd_mean"] == pytest.approx((math.sqrt(3100 / 3) + 0 + math.sqrt(50)) / 3)
    assert overall["unstable_verdicts"] == 1


def test_repeat_summary_of_nothing():
    overall = repeat_summary({})["overall"]
    assert overall["scenarios"] == 0 and overall["pass_at_k"] is None and overall["disposition_kappa"] is None
