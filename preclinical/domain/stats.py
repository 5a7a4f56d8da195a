"""Honest statistics for comparing two runs: Wilson intervals, exact McNemar tests, triage matrices."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from preclinical.domain.agreement import repeat_summary
from preclinical.domain.run import ScenarioRunStatus
from preclinical.domain.triage import EMERGENCY, LEVELS, compare, normalize_level

ALPHA = 0.05  # the significance level behind every verdict
NO_LEVEL = "none"  # the agent gave no care level we could read


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a proportion; (0, 1) when there is nothing to go on (n == 0).

    Unlike the normal approximation it stays inside [0, 1] and is not degenerate at 0/n or n/n.
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    scale = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / scale
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar test: the binomial(b + c, 1/2) probability of a split at least as uneven as b : c."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts cannot be negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integers until this one division


def triage_matrix(pairs: Iterable[tuple[Any, Any]]) -> dict[str, dict[str, int]]:
    """Counts of (gold, predicted) levels: gold → predicted (a level or "none") → count; unknown gold is left out."""
    matrix = {gold: {predicted: 0 for predicted in (*LEVELS, NO_LEVEL)} for gold in LEVELS}
    for gold, predicted in pairs:
        gold_level = normalize_level(gold)
        if gold_level is not None:
            matrix[gold_level][normalize_level(predicted) or NO_LEVEL] += 1
    return matrix


def format_p(p: float) -> str:
    """A p-value as people read it: "p < 0.001", "p = 0.031", "p = 1"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


# ---- comparing two runs --------------------------------------------------------------------------
# A row is one scenario run: scenario_id, scenario_name, status, passed (True/False/None when there is
# no verdict), triage_result and gold_standard (canonical level names or None).


def _percent(successes: int, n: int, units: int | None = None) -> tuple[float | None, list[float] | None]:
    """A percentage and its Wilson interval; with `units` (scenarios, when each ran several times) the interval
    counts scenarios, not scenario runs: repeats of one scenario are not independent samples."""
    if n == 0:
        return None, None
    share = successes / n
    low, high = wilson_interval(share * units, units) if units else wilson_interval(successes, n)
    return round(share * 100, 2), [round(low * 100, 2), round(high * 100, 2)]


def _placement(row: dict[str, Any]) -> str | None:
    """"correct", "acceptable", "under", "over" or "none" for a graded row with a gold level; None when triage
    does not apply. The grader's own comparison (which knows the case's acceptable levels) wins when present."""
    if row.get("passed") is None or normalize_level(row.get("gold_standard")) is None:
        return None
    return row.get("triage_comparison") or compare(row.get("triage_result"), row.get("gold_standard")) or NO_LEVEL


def _groups(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Scenario runs by scenario, in run order (the repeats of a scenario together); deleted scenarios are left out."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("scenario_id"):
            found.setdefault(row["scenario_id"], []).append(row)
    return found


def repeats_by_scenario(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`agreement.repeat_summary` over a run's scenario runs: per scenario (with its name, gold level and the
    verdict of each repeat in run order) and overall."""
    groups = _groups(rows)
    summary = repeat_summary({
        sid: [{"passed": r.get("passed"), "disposition": normalize_level(r.get("triage_result")),
               "score": r.get("score_percent") if r.get("passed") is not None else None} for r in group]
        for sid, group in groups.items()})
    for item in summary["scenarios"]:
        group = groups[item["scenario_id"]]
        item.update(scenario_name=group[0].get("scenario_name"), gold_standard=group[0].get("gold_standard"),
                    verdicts=[r.get("passed") for r in group])
    return summary


@dataclass
class LevelTally:
    cases: int = 0
    correct: int = 0
    under: int = 0
    over: int = 0
    no_answer: int = 0  # no care level could be read from the agent's replies
    acceptable: int = 0  # not the gold level, but one the case accepts (counted apart from correct)
    ambiguous: int = 0  # of no_answer: care mentioned, but no outright recommendation could be read
    unreadable: int = 0  # of no_answer: nothing to read (no care level, or a reply in another language)


@dataclass
class TriageTally:
    """Triage results of the graded scenario runs that have a gold level, overall and per gold level."""

    total: LevelTally = field(default_factory=LevelTally)
    by_gold: dict[str, LevelTally] = field(default_factory=lambda: {level: LevelTally() for level in reversed(LEVELS)})
    not_gradable: int = 0  # scenario runs the rules grader could grade nothing of (no machine checks, no model)
    flagged: int = 0  # scenario runs where the model's reading and the rules reading disagree

    @property
    def graded(self) -> int:
        return self.total.cases

    @property
    def accuracy(self) -> float | None:
        return self.total.correct / self.total.cases * 100 if self.total.cases else None

    def as_json(self) -> dict[str, Any]:
        def level(t: LevelTally) -> dict[str, int]:
            return {"cases": t.cases, "correct": t.correct, "under_triage": t.under, "over_triage": t.over,
                    "no_answer": t.no_answer, "acceptable": t.acceptable, "ambiguous": t.ambiguous,
                    "unreadable": t.unreadable}

        return {"graded": self.graded, "correct": self.total.correct, "accuracy": self.accuracy,
                "under_triage": self.total.under, "over_triage": self.total.over, "no_answer": self.total.no_answer,
                "acceptable": self.total.acceptable, "ambiguous": self.total.ambiguous,
                "unreadable": self.total.unreadable, "not_gradable_offline": self.not_gradable,
                "flagged_for_review": self.flagged,
                "by_gold_standard": {name: level(t) for name, t in self.by_gold.items()}}


def triage_tally(rows: Iterable[dict[str, Any]]) -> TriageTally:
    """Placement of the agent's triage against the gold level on the ordinal scale, for graded rows with a gold level."""
    tally = TriageTally()
    for row in rows:
        tally.not_gradable += bool(row.get("not_gradable_offline"))
        tally.flagged += row.get("triage_review") is True
        placement = _placement(row)
        if placement is None:
            continue
        gold = normalize_level(row.get("gold_standard"))
        assert gold is not None  # _placement only places rows with a gold level
        for t in (tally.total, tally.by_gold[gold]):
            t.cases += 1
            if placement == "correct":
                t.correct += 1
            elif placement == "acceptable":
                t.acceptable += 1
            elif placement == "under":
                t.under += 1
            elif placement == "over":
                t.over += 1
            else:
                t.no_answer += 1
                t.ambiguous += row.get("triage_status") == "ambiguous"
                t.unreadable += row.get("triage_status") == "unreadable"
    return tally


def run_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's counts: pass rate over scenario runs with a verdict and triage accuracy, each with a Wilson 95 % CI.

    When scenarios were repeated, every repeat counts in the rates and the confusion matrix, the intervals
    count scenarios (not runs), and `repeats` holds pass@k, worst-of-k and agreement across repeats.
    """
    graded = [r for r in rows if r.get("passed") is not None]
    passed = sum(1 for r in graded if r["passed"])
    tally = triage_tally(rows).total
    groups = _groups(rows)
    repeated = any(len(g) > 1 for g in groups.values())
    units: dict[str, int | None] = {"pass": None, "triage": None}
    if repeated:
        units["pass"] = sum(1 for g in groups.values() if any(r.get("passed") is not None for r in g))
        units["triage"] = sum(1 for g in groups.values() if any(_placement(r) is not None for r in g))
    pass_rate, pass_ci = _percent(passed, len(graded), units["pass"])
    accuracy, accuracy_ci = _percent(tally.correct, tally.cases, units["triage"])
    repeats = repeats_by_scenario(rows) if repeated else None
    return {
        "n": len(rows), "graded": len(graded), "passed": passed, "failed": len(graded) - passed,
        "errors": sum(1 for r in rows if r.get("status") == ScenarioRunStatus.ERROR),
        "pass_rate": pass_rate, "pass_rate_ci": pass_ci,
        "triage": {
            "graded": tally.cases, "correct": tally.correct, "acceptable": tally.acceptable,
            "under_triage": tally.under, "over_triage": tally.over, "no_answer": tally.no_answer,
            "accuracy": accuracy, "accuracy_ci": accuracy_ci,
            "matrix": triage_matrix((r.get("gold_standard"), r.get("triage_result"))
                                    for r in rows if _placement(r) is not None),
            # The part of `matrix` that the cases accept (acceptable_levels): off the diagonal, yet not a mistake.
            "matrix_acceptable": triage_matrix((r.get("gold_standard"), r.get("triage_result"))
                                               for r in rows if _placement(r) == "acceptable"),
        },
        **({"repeats": repeats["overall"], "scenarios": len(groups)} if repeats else {}),
    }


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _modal(values: list[Any]) -> Any:
    return Counter(values).most_common(1)[0][0] if values else None


def _outcome(group: list[dict[str, Any]]) -> dict[str, Any]:
    """One side of a paired scenario: a single scenario run as it is, or its repeats summarised.

    For repeats: `passed` is worst-of-k (every repeat with a verdict passed), `triage_result` the most
    common disposition, and `pass_rate` / `triage_accuracy` the shares the paired comparison uses.
    """
    if len(group) == 1:
        row = group[0]
        placement = _placement(row)
        return {"status": row.get("status"), "passed": row.get("passed"), "triage_result": row.get("triage_result"),
                "triage": placement, "_pass": None if row.get("passed") is None else float(bool(row["passed"])),
                "_correct": None if placement is None else float(placement == "correct")}
    verdicts = [bool(r["passed"]) for r in group if r.get("passed") is not None]
    placements = [p for p in map(_placement, group) if p is not None]
    level = _modal([normalize_level(r.get("triage_result")) for r in group if _placement(r) is not None])
    # The placement of the commonest level as its own scenario run was graded (which knows the acceptable levels).
    placed = next((p for r in group if (p := _placement(r)) is not None and normalize_level(r.get("triage_result")) == level),
                  None)
    pass_rate, accuracy = _share(verdicts), _share([p == "correct" for p in placements])
    return {"status": _modal([r.get("status") for r in group]), "passed": all(verdicts) if verdicts else None,
            "triage_result": level, "triage": (placed or NO_LEVEL) if placements else None,
            "repeats": len(group), "graded": len(verdicts), "passes": sum(verdicts), "pass_rate": None if pass_rate is None else round(pass_rate * 100, 2),
            "triage_accuracy": None if accuracy is None else round(accuracy * 100, 2),
            "_pass": pass_rate, "_correct": accuracy}


def _public(outcome: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in outcome.items() if not k.startswith("_")}


def _change(sid: str, base: list[dict[str, Any]], candidate: list[dict[str, Any]],
            outcomes: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    first_b, first_c = base[0], candidate[0]
    return {"scenario_id": sid,
            "scenario_name": first_c.get("scenario_name") or first_b.get("scenario_name"),
            "gold_standard": first_c.get("gold_standard") or first_b.get("gold_standard"),
            "base": _public(outcomes[0]), "candidate": _public(outcomes[1])}


def _unpaired(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"scenario_id": r["scenario_id"], "scenario_name": r.get("scenario_name")} for r in rows]


def _delta(base: float | None, candidate: float | None) -> float | None:
    return None if base is None or candidate is None else round(candidate - base, 2)


def compare_runs(base_rows: list[dict[str, Any]], candidate_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each run's rates with CIs, and what changed between them on the scenarios both ran, with exact paired tests.

    Scenarios are the pairs. A scenario played several times (repeats) is compared by its rates: it is
    fixed when its pass rate rose and broken when it fell, and the exact sign test on those (McNemar's
    test when every scenario ran once) gives the p-value; triage likewise with its accuracy.
    """
    base, candidate = run_summary(base_rows), run_summary(candidate_rows)
    base_by, cand_by = _groups(base_rows), _groups(candidate_rows)
    pairs = [(sid, base_by[sid], cand_by[sid]) for sid in cand_by if sid in base_by]

    changes: dict[str, list[dict[str, Any]]] = {
        "fixed": [], "broken": [], "triage_changed": [], "new_under_triaged_emergencies": []}
    verdict_pairs = triage_pairs = gained = lost = 0
    for sid, b_group, c_group in pairs:
        b, c = _outcome(b_group), _outcome(c_group)
        change = _change(sid, b_group, c_group, (b, c))
        if b["_pass"] is not None and c["_pass"] is not None:
            verdict_pairs += 1
            if b["_pass"] != c["_pass"]:
                changes["fixed" if c["_pass"] > b["_pass"] else "broken"].append(change)
        before, after = b["triage"], c["triage"]
        if b["_correct"] is not None and c["_correct"] is not None:
            triage_pairs += 1
            gained += c["_correct"] > b["_correct"]
            lost += c["_correct"] < b["_correct"]
            if normalize_level(b["triage_result"]) != normalize_level(c["triage_result"]):
                changes["triage_changed"].append(change)
                if after == "under" and before != "under" and normalize_level(change["gold_standard"]) == EMERGENCY:
                    changes["new_under_triaged_emergencies"].append(change)

    fixed, broken = len(changes["fixed"]), len(changes["broken"])
    pass_test = {"pairs": verdict_pairs, "fixed": fixed, "broken": broken, "p_value": mcnemar_exact(fixed, broken),
                 "delta": _delta(base["pass_rate"], candidate["pass_rate"])}
    triage_test = {"pairs": triage_pairs, "gained": gained, "lost": lost, "p_value": mcnemar_exact(gained, lost),
                   "delta": _delta(base["triage"]["accuracy"], candidate["triage"]["accuracy"])}
    return {
        "base": base, "candidate": candidate, "paired": len(pairs),
        "only_in_base": _unpaired(g[0] for sid, g in base_by.items() if sid not in cand_by),
        "only_in_candidate": _unpaired(g[0] for sid, g in cand_by.items() if sid not in base_by),
        "pass": pass_test, "triage": triage_test, "changes": changes,
        "verdict": verdict(pass_test, triage_test, len(changes["new_under_triaged_emergencies"]), len(pairs)),
    }


def _direction(p: float, better: int, worse: int) -> str | None:
    if p >= ALPHA or better == worse:
        return None
    return "better" if better > worse else "worse"


def verdict(pass_test: dict[str, Any], triage_test: dict[str, Any], new_under_emergencies: int,
            paired: int) -> dict[str, Any]:
    """The one-line reading of a comparison, and whether it is a regression (worse at p < 0.05, or an emergency newly under-triaged)."""
    if paired == 0:
        return {"text": "No scenarios in common: nothing to compare.", "direction": None, "significant": False,
                "regression": False}
    on_pass = _direction(pass_test["p_value"], pass_test["fixed"], pass_test["broken"])
    on_triage = _direction(triage_test["p_value"], triage_test["gained"], triage_test["lost"])
    findings: dict[str, list[str]] = {"worse": [], "better": []}
    if on_pass:
        findings[on_pass].append(f"{pass_test['broken']} broken, {pass_test['fixed']} fixed "
                                 f"({format_p(pass_test['p_value'])})")
    if on_triage:
        findings[on_triage].append(f"triage {triage_test['lost']} lost, {triage_test['gained']} gained "
                                   f"({format_p(triage_test['p_value'])})")
    if findings["worse"]:
        direction, text = "worse", "Significantly worse: " + "; ".join(findings["worse"])
        if findings["better"]:
            text += "; better: " + "; ".join(findings["better"])
    elif findings["better"]:
        direction, text = "better", "Significantly better: " + "; ".join(findings["better"])
    else:
        direction, text = None, f"No significant change ({format_p(pass_test['p_value'])})"
    if new_under_emergencies:
        plural = "emergency" if new_under_emergencies == 1 else "emergencies"
        text += f"; {new_under_emergencies} {plural} newly under-triaged"
    return {"text": text + ".", "direction": direction, "significant": direction is not None,
            "regression": direction == "worse" or new_under_emergencies > 0}
