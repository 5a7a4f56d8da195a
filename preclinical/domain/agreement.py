"""How much a measurement would move: agreement between two gradings, and consistency across repeats.

Pure functions over plain values. Two gradings of the same transcripts (another judge, another
temperature, a clinician) are compared with percent agreement and Cohen's kappa; the k repeats of a
scenario are summarised by pass@k, worst-of-k, disposition agreement (Fleiss' kappa across
scenarios) and the spread of their scores.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

Z95 = 1.959964  # two-sided 95 %


# ---- two raters on the same items ----------------------------------------------------------------


def percent_agreement(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """The share of items on which the two ratings are equal; None without items."""
    if not pairs:
        return None
    return sum(1 for a, b in pairs if a == b) / len(pairs)


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa for two raters with its parts.

    `kappa` is None when chance agreement is already 1 (both raters used a single, identical
    category throughout): agreement is then perfect but says nothing beyond chance.
    The interval is the large-sample one, SE = sqrt(po(1 - po) / (n (1 - pe)^2)) (Cohen 1960),
    clipped to [-1, 1].
    """

    n: int
    observed: float | None  # po, percent agreement as a fraction
    expected: float | None  # pe, agreement expected by chance from the two raters' margins
    kappa: float | None
    se: float | None
    ci: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ci"] = list(self.ci) if self.ci else None
        return data


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]], z: float = Z95) -> Kappa:
    """Cohen's kappa over (rater A, rater B) pairs of nominal ratings."""
    n = len(pairs)
    if n == 0:
        return Kappa(0, None, None, None, None, None)
    po = sum(1 for a, b in pairs if a == b) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    pe = sum(first[c] * second[c] for c in first) / (n * n)
    if pe >= 1:
        return Kappa(n, po, pe, None, None, None)
    kappa = (po - pe) / (1 - pe)
    se = math.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))
    return Kappa(n, po, pe, kappa, se, (max(-1.0, kappa - z * se), min(1.0, kappa + z * se)))


def kappa_label(kappa: float | None) -> str:
    """Landis & Koch's words for a kappa (a convention, not a test)."""
    if kappa is None:
        return "undefined"
    for bound, label in ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= bound:
            return label
    return "almost perfect"


def agreement_by_group(items: Iterable[tuple[Hashable, Hashable, Hashable]]) -> dict[Hashable, dict[str, Any]]:
    """(group, rating A, rating B) triples → per group: n, percent agreement, kappa and its interval.

    Groups come out in the order first seen (criteria in rubric order, axes as met).
    """
    grouped: dict[Hashable, list[tuple[Hashable, Hashable]]] = defaultdict(list)
    for group, a, b in items:
        grouped[group].append((a, b))
    return {group: cohen_kappa(pairs).as_dict() for group, pairs in grouped.items()}


def verdict_flips(pairs: Iterable[tuple[bool | None, bool | None]]) -> dict[str, Any]:
    """How many pass/fail verdicts changed between two gradings (pairs with a missing verdict are left out)."""
    both = [(a, b) for a, b in pairs if a is not None and b is not None]
    pass_to_fail = sum(1 for a, b in both if a and not b)
    fail_to_pass = sum(1 for a, b in both if not a and b)
    flips = pass_to_fail + fail_to_pass
    return {"pairs": len(both), "flips": flips, "pass_to_fail": pass_to_fail, "fail_to_pass": fail_to_pass,
            "flip_rate": flips / len(both) if both else None}


# ---- k repeats of the same scenario --------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """The chance that at least one of k repeats drawn from n (c of them passing) passes: 1 - C(n-c, k) / C(n, k).

    With exactly k repeats this is 1 if any repeat passed, else 0.
    """
    _check_nck(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def worst_of_k(n: int, c: int, k: int) -> float:
    """The chance that all of k repeats drawn from n (c of them passing) pass: C(c, k) / C(n, k).

    With exactly k repeats this is 1 only if every repeat passed: the scenario passes at its worst.
    """
    _check_nck(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check_nck(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError("need 0 <= passed <= repeats and 1 <= k <= repeats")


def pairwise_agreement(labels: Sequence[Hashable]) -> float | None:
    """The share of pairs of repeats that gave the same label: sum n_j (n_j - 1) / (n (n - 1)); None below 2."""
    n = len(labels)
    if n < 2:
        return None
    return sum(m * (m - 1) for m in Counter(labels).values()) / (n * (n - 1))


def fleiss_kappa(subjects: Sequence[Sequence[Hashable]]) -> float | None:
    """Fleiss' kappa: agreement among the repeats of each subject beyond chance, over all subjects.

    Each subject is its list of labels (one per repeat); subjects with fewer than two labels are left
    out and the numbers of labels may differ (the usual generalisation: mean per-subject agreement,
    chance from the pooled label shares). None when nothing is left or chance agreement is 1.
    """
    rated = [s for s in subjects if len(s) >= 2]
    if not rated:
        return None
    observed = sum(pairwise_agreement(s) or 0.0 for s in rated) / len(rated)
    pooled = Counter(label for s in rated for label in s)
    total = sum(pooled.values())
    expected = sum((m / total) ** 2 for m in pooled.values())
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, sample standard deviation, min, max and range of a few scores."""
    if not values:
        return {"mean": None, "sd": None, "min": None, "max": None, "range": None}
    low, high = min(values), max(values)
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": low, "max": high, "range": high - low}


def repeat_summary(scenarios: dict[str, Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """Per scenario and overall consistency of repeated scenario runs.

    `scenarios` maps a scenario id to its repeats, each a dict with `passed` (bool or None when there
    is no verdict), `disposition` (a level or None) and `score` (percent or None). Only repeats with
    a verdict count. Overall: pass@k and worst-of-k as the share of scenarios that pass at least once /
    every time, the plain pass rate over every repeat, the share of scenarios whose dispositions all
    agree, the mean pairwise disposition agreement and Fleiss' kappa, and the mean within-scenario SD.
    """
    rows = []
    for scenario_id, repeats in scenarios.items():
        graded = [r for r in repeats if r.get("passed") is not None]
        passed = sum(1 for r in graded if r["passed"])
        labels = [r.get("disposition") or "none" for r in graded]
        scores = [float(r["score"]) for r in graded if r.get("score") is not None]
        modal = Counter(labels).most_common(1)[0][0] if labels else None
        rows.append({
            "scenario_id": scenario_id, "repeats": len(repeats), "graded": len(graded), "passed": passed,
            "pass_at_k": (passed > 0) if graded else None, "worst_of_k": (passed == len(graded)) if graded else None,
            "dispositions": labels, "modal_disposition": modal,
            "disposition_agreement": pairwise_agreement(labels),
            "consistent": len(set(labels)) <= 1 if labels else None,
            "score": spread(scores),
        })
    judged = [r for r in rows if r["graded"]]
    multi = [r for r in judged if r["graded"] >= 2]
    sds = [r["score"]["sd"] for r in multi if r["score"]["sd"] is not None]
    total_graded = sum(r["graded"] for r in judged)
    return {
        "scenarios": rows,
        "overall": {
            "scenarios": len(judged),
            "k": max((r["graded"] for r in judged), default=0),
            "pass_at_k": _share(sum(1 for r in judged if r["pass_at_k"]), len(judged)),
            "worst_of_k": _share(sum(1 for r in judged if r["worst_of_k"]), len(judged)),
            "pass_rate": _share(sum(r["passed"] for r in judged), total_graded),
            "consistent_dispositions": _share(sum(1 for r in multi if r["consistent"]), len(multi)),
            "disposition_agreement": (statistics.fmean(r["disposition_agreement"] for r in multi) if multi else None),
            "disposition_kappa": fleiss_kappa([r["dispositions"] for r in multi]),
            "score_sd_mean": statistics.fmean(sds) if sds else None,
            "unstable_verdicts": sum(1 for r in multi if 0 < r["passed"] < r["graded"]),
        },
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
