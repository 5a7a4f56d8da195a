"""`preclinical runs compare BASE CANDIDATE`: two runs side by side, with CIs, exact paired tests and a CI gate."""

from __future__ import annotations

import sys
from contextlib import redirect_stdout
from typing import Any

import click
from rich.console import Group, RenderableType
from rich.text import Text

from preclinical.cli.client import ApiClient
from preclinical.cli.commands.options import json_flag
from preclinical.cli.exit_codes import FAILED, NO_VERDICT, OK
from preclinical.cli.invoke import run_async
from preclinical.cli.render import console, percent, print_json, titled_table, verdict_text, write_output
from preclinical.domain.run import Outcome, run_verdict
from preclinical.domain.stats import format_p

CHANGE_ORDER = ("new_under_triaged_emergencies", "broken", "triage_changed", "fixed")  # most serious first
CHANGE_WORDS = {"broken": "broken", "new_under_triaged_emergencies": "emergency under-triaged",
                "triage_changed": "triage changed", "fixed": "fixed"}
CHANGE_STYLES = {"broken": "red", "new_under_triaged_emergencies": "bold red", "triage_changed": "yellow",
                 "fixed": "green"}


def no_verdict_reason(run: dict[str, Any]) -> str | None:
    """Why a compared run cannot gate anything (it errored, was canceled, is still going), or None."""
    verdict = run_verdict(run) if "verdict" not in run else None
    outcome, reason = (verdict.outcome, verdict.reason) if verdict else (run["verdict"]["outcome"], run["verdict"]["reason"])
    return reason if outcome == Outcome.NO_VERDICT else None


def rate_with_ci(rate: float | None, ci: list[float] | None) -> str:
    """"98.3% (91.1–99.7)": a rate with its Wilson 95 % interval."""
    if rate is None or ci is None:
        return "-"
    return f"{percent(rate)} ({ci[0]:.1f}–{ci[1]:.1f})"


def delta_text(delta: float | None) -> Text:
    if delta is None:
        return Text("-")
    return Text(f"{delta:+.1f} pp", style="green" if delta > 0 else "red" if delta < 0 else "")


def summary_table(result: dict[str, Any]) -> RenderableType:
    base, cand, passing, triage = result["base"], result["candidate"], result["pass"], result["triage"]
    table = titled_table("Comparison")
    for name, justify in (("", "left"), ("Base", "right"), ("Candidate", "right"), ("Change", "right"),
                          ("Paired test", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "Paired test", style="dim" if not name else None)
    table.add_row("Run", base["run"]["test_run_id"], cand["run"]["test_run_id"], "", "")
    table.add_row("Agent", Text(base["run"].get("agent_name") or "-"), Text(cand["run"].get("agent_name") or "-"), "", "")
    table.add_row("Scenarios", str(base["n"]), str(cand["n"]), f"{result['paired']} paired", "")
    table.add_row("Pass rate (95% CI)", rate_with_ci(base["pass_rate"], base["pass_rate_ci"]),
                  rate_with_ci(cand["pass_rate"], cand["pass_rate_ci"]), delta_text(passing["delta"]),
                  f"{format_p(passing['p_value'])}: {passing['fixed']} fixed, {passing['broken']} broken")
    table.add_row("Triage accuracy (95% CI)", rate_with_ci(base["triage"]["accuracy"], base["triage"]["accuracy_ci"]),
                  rate_with_ci(cand["triage"]["accuracy"], cand["triage"]["accuracy_ci"]), delta_text(triage["delta"]),
                  f"{format_p(triage['p_value'])}: {triage['gained']} gained, {triage['lost']} lost")
    for label, key in (("Acceptable alternative", "acceptable"), ("Under-triage", "under_triage"),
                       ("Over-triage", "over_triage"), ("No triage answer", "no_answer")):
        before, after = base["triage"].get(key, 0), cand["triage"].get(key, 0)
        if key in ("acceptable", "no_answer") and not (before or after):
            continue
        note = "not the gold level but one the case accepts; not in accuracy" if key == "acceptable" else ""
        table.add_row(label, str(before), str(after), f"{after - before:+d}", Text(note, style="dim"))
    table.add_row("Errors", str(base["errors"]), str(cand["errors"]), f"{cand['errors'] - base['errors']:+d}", "")
    return table


def outcome_cell(side: dict[str, Any]) -> Text:
    """"FAIL · Home care (under)": the verdict and the agent's level (short names keep the table narrow).

    With repeats: "passed 1/3 · Clinician (under)", the share of repeats that passed and the commonest level.
    """
    if side.get("repeats") and side.get("graded"):
        cell = Text(f"passed {side['passes']}/{side['graded']}", style="green" if side.get("passed") else "red")
    else:
        cell = verdict_text(side.get("passed")) if side.get("passed") is not None else Text(side.get("status") or "-")
    cell.append(f" · {side.get('triage_result') or 'no answer'}")
    if side.get("triage") in ("under", "over", "acceptable"):
        cell.append(f" ({side['triage']})", style={"under": "red", "over": "yellow"}.get(side["triage"], "green"))
    return cell


def changes_table(result: dict[str, Any]) -> RenderableType | None:
    """Each changed scenario once, with every way it changed: newly under-triaged emergencies first, fixed last."""
    kinds: dict[str, list[str]] = {}
    first: dict[str, dict[str, Any]] = {}
    for kind in CHANGE_ORDER:
        for change in result["changes"][kind]:
            kinds.setdefault(change["scenario_id"], []).append(kind)
            first.setdefault(change["scenario_id"], change)
    if not first:
        return None
    table = titled_table(f"Changed scenarios ({len(first)})")
    table.add_column("Change", no_wrap=True)
    table.add_column("Scenario", max_width=40)
    table.add_column("Gold", no_wrap=True)
    table.add_column("Base")
    table.add_column("Candidate")
    for sid, change in first.items():
        found = [k for k in CHANGE_WORDS if k in kinds[sid] and (k != "triage_changed" or len(kinds[sid]) == 1)]
        words = Text("\n").join(Text(CHANGE_WORDS[k], style=CHANGE_STYLES[k]) for k in found)
        table.add_row(words, Text(change.get("scenario_name") or sid), change.get("gold_standard") or "-",
                      outcome_cell(change["base"]), outcome_cell(change["candidate"]))
    return table


def unpaired_lines(result: dict[str, Any]) -> list[RenderableType]:
    lines: list[RenderableType] = []
    for key, where in (("only_in_base", "base"), ("only_in_candidate", "candidate")):
        items = result[key]
        if items:
            names = ", ".join(i.get("scenario_name") or i["scenario_id"] for i in items[:10])
            more = f" and {len(items) - 10} more" if len(items) > 10 else ""
            lines.append(Text(f"Only in the {where} run, not compared ({len(items)}): {names}{more}", style="dim"))
    return lines


def comparison_view(result: dict[str, Any]) -> Group:
    parts: list[RenderableType] = [summary_table(result)]
    changes = changes_table(result)
    parts.append(changes if changes is not None else Text("No scenario changed verdict or triage.", style="dim"))
    parts += unpaired_lines(result)
    return Group(*parts)


@click.command("compare")
@click.argument("base")
@click.argument("candidate")
@click.option("--fail-on-regression", is_flag=True,
              help="Exit 1 when the candidate is significantly worse (p < 0.05, more broken than fixed, on pass/fail "
                   "or triage) or any emergency is newly under-triaged.")
@click.option("--html", "html_path", default=None, metavar="FILE",
              help="Also write the comparison as a self-contained HTML report to FILE.")
@json_flag
def compare(base: str, candidate: str, fail_on_regression: bool, as_json: bool, html_path: str | None) -> None:
    """Compare the CANDIDATE run with the BASE run (UUIDs or run_… ids) on the scenarios both played.

    Pass rate and triage accuracy with Wilson 95% intervals, exact McNemar tests on the paired
    scenarios, what broke, what was fixed, and which emergencies are newly under-triaged.
    """

    async def action(api: ApiClient) -> int:
        result = await api.get("/api/v1/tests/compare", base=base, candidate=candidate)
        if html_path:
            report = await api.download("/api/v1/tests/compare/export-html",
                                        params={"base": base, "candidate": candidate})
            if as_json:  # keep standard output pure JSON: say where the report went on standard error
                with redirect_stdout(sys.stderr):
                    write_output(report.text, html_path)
            else:
                write_output(report.text, html_path)
        verdict = result["verdict"]
        if as_json:
            print_json(result)
        else:
            out = console()
            out.print(comparison_view(result))
            style = "red" if verdict["regression"] else "green" if verdict["direction"] == "better" else ""
            out.print(Text(verdict["text"], style=style), soft_wrap=True)
        if fail_on_regression:
            missing = [f"the {side} run ({result[side]['run']['test_run_id']}): {why}" for side in ("base", "candidate")
                       if (why := no_verdict_reason(result[side]["run"]))]
            if missing:
                if not as_json:
                    console().print(Text("No verdict: " + "; ".join(missing), style="dark_orange"), soft_wrap=True)
                return NO_VERDICT
        return FAILED if fail_on_regression and verdict["regression"] else OK

    run_async(action)
