"""An answer a case accepts (acceptable_levels) shows as such in the confusion matrix and the by-gold table,
not as over- or under-triage: the same count the triage tally gives."""

import re

from preclinical.domain.stats import run_summary
from preclinical.report.html import _by_gold
from preclinical.report.svg import GREEN, confusion_matrix
from preclinical.tui.screens.charts import matrix_table

E, C, H = "Emergency", "Clinician", "Home care"


def row(gold, read, comparison):
    return {"status": "passed", "passed": True, "gold_standard": gold, "triage_result": read,
            "triage_comparison": comparison, "scenario_id": f"s-{gold}-{read}-{comparison}"}


ROWS = [row(C, C, "correct"), row(C, H, "acceptable"), row(C, H, "under"), row(H, C, "acceptable"),
        row(E, C, "under")]


def test_the_summary_says_which_part_of_each_cell_the_cases_accept():
    triage = run_summary(ROWS)["triage"]
    assert triage["matrix"][C][H] == 2 and triage["matrix_acceptable"][C][H] == 1
    assert triage["matrix"][H][C] == 1 and triage["matrix_acceptable"][H][C] == 1
    assert triage["acceptable"] == 2 and triage["under_triage"] == 2 and triage["over_triage"] == 0


def cells(html):
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", html)]


def test_the_by_gold_table_counts_acceptable_answers_apart():
    triage = run_summary(ROWS)["triage"]
    html = _by_gold(triage["matrix"], triage["matrix_acceptable"])
    assert '<th class="num">Alt.*</th>' in html and "one the case accepts" in html
    rows = {r[0]: r[1:] for r in (cells(tr) for tr in re.findall(r"<tr>.*?</tr>", html)) if r}
    # Cases, correct, acceptable, under, over, no answer
    assert rows["Clinician evaluation"] == ["3", "1", "1", "1", "0", "0"]
    assert rows["Home care"] == ["1", "0", "1", "0", "0", "0"]
    assert rows["Emergency care"] == ["1", "0", "0", "1", "0", "0"]
    assert "Alt." not in _by_gold(run_summary(ROWS[:1])["triage"]["matrix"], None)


def test_the_matrix_marks_accepted_answers_and_greens_a_cell_of_nothing_else():
    triage = run_summary(ROWS)["triage"]
    svg = confusion_matrix(triage["matrix"], acceptable=triage["matrix_acceptable"])
    assert svg.count("1 acceptable") == 2
    plain = confusion_matrix(triage["matrix"])
    assert "acceptable" not in plain
    # Gold Home care read as Clinician, which that case accepts: the over-triage colour without the cases' word,
    # the correct colour with it. Clinician read as Home care is half accepted, half not: it keeps its colour.
    assert svg.count(f'fill="{GREEN}"') == plain.count(f'fill="{GREEN}"') + 1


def test_the_terminal_matrix_marks_them_too():
    from rich.console import Console

    triage = run_summary(ROWS)["triage"]
    console = Console(width=120, record=True)
    console.print(matrix_table(triage["matrix"], triage["matrix_acceptable"]))
    assert console.export_text().count("1 acceptable") == 2

