"""`preclinical runs regrade RUN` and `runs regrades RUN`: grade a finished run again; how far do the judges agree?"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Group, RenderableType
from rich.text import Text

from preclinical.cli.client import ApiClient, CommandError
from preclinical.cli.commands.options import json_flag, segment
from preclinical.cli.exit_codes import USAGE
from preclinical.cli.invoke import run_async
from preclinical.cli.render import console, show, titled_table
from preclinical.domain.agreement import RegradeStatus

POLL_S = 0.5
DISAGREEMENTS_SHOWN = 15


def _kappa(k: dict[str, Any]) -> str:
    if k.get("kappa") is None:
        return "undefined (no variation)" if k.get("n") else "-"
    ci = k.get("ci")
    return _num(k["kappa"]) + (f" (95% CI {_num(ci[0])} to {_num(ci[1])})" if ci else "")


def _num(value: float) -> str:
    """Two decimals, without a minus sign on a value that rounds to zero."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def agreement_view(body: dict[str, Any]) -> RenderableType:
    regrade, agreement = body["regrade"], body["agreement"]
    first = "the run" if agreement["a"] == "original" else agreement["a"]["label"]
    about = (f"{regrade['id']} · {regrade['status']} · {regrade['graded']}/{regrade['total']} graded"
             + (f", {regrade['errors']} errors" if regrade["errors"] else ""))
    return comparison_view(f"Agreement: {first} vs {regrade['label']}", agreement, [("Regrade", about)],
                           ("First", "Second"))


def comparison_view(title: str, agreement: dict[str, Any], head: list[tuple[str, str]],
                    columns: tuple[str, str]) -> RenderableType:
    """Kappa and percent agreement, flips, disposition, per axis, and the disagreements."""
    overall, flips = agreement["overall"], agreement["flips"]
    table = titled_table(title, show_header=False)
    table.add_column(style="dim")
    table.add_column()
    for label, value in head:
        table.add_row(label, Text(value))
    table.add_row("Cohen's κ, criteria", f"{_kappa(overall)} · {overall.get('label')} · {overall['n']} pairs")
    table.add_row("Percent agreement", _share(overall.get("observed")))
    flipped = (f"{flips['flips']} of {flips['pairs']} ({flips['pass_to_fail']} pass→fail, "
               f"{flips['fail_to_pass']} fail→pass)")
    table.add_row("Verdict flips", Text(flipped, style="yellow" if flips["flips"] else ""))
    table.add_row("Disposition κ", f"{_kappa(agreement['disposition'])} · agreement "
                  f"{_share(agreement['disposition'].get('observed'))}")
    parts: list[RenderableType] = [table]
    if agreement["by_axis"]:
        axes = titled_table("By axis")
        axes.add_column("Axis")
        axes.add_column("Pairs", justify="right")
        axes.add_column("Agreement", justify="right")
        axes.add_column("κ (95% CI)")
        for axis, k in agreement["by_axis"].items():
            axes.add_row(axis.replace("_", " "), str(k["n"]), _share(k["observed"]), _kappa(k))
        parts.append(axes)
    disagreements = agreement["disagreements"]
    if disagreements:
        listing = titled_table(f"Disagreements ({len(disagreements)})")
        for name in ("Scenario", "Criterion", *columns):
            listing.add_column(name, max_width=48 if name == "Criterion" else 36 if name == "Scenario" else None)
        for d in disagreements[:DISAGREEMENTS_SHOWN]:
            who = f" ({d['reviewer']})" if d.get("reviewer") else ""
            listing.add_row(Text((d.get("scenario_name") or d.get("scenario_id") or "?") + who),
                            Text(f"C{d['criterion_index'] + 1} {_short(d.get('criterion') or '')}"), d["a"], d["b"])
        if len(disagreements) > DISAGREEMENTS_SHOWN:
            listing.add_row(f"… and {len(disagreements) - DISAGREEMENTS_SHOWN} more (--json)", "", "", "")
        parts.append(listing)
    return Group(*parts)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _rubric_file(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}", USAGE) from None
    except ValueError:
        raise CommandError(f"{path} is not valid JSON", USAGE) from None
    if not isinstance(data, dict):
        raise CommandError(f"{path} must map scenario ids to rubric criteria lists", USAGE)
    return data


@click.command("regrade")
@click.argument("run_id")
@click.option("--judge-model", default=None, metavar="MODEL", help="Grade with this judge model instead.")
@click.option("--temperature", type=click.FloatRange(0, 2), default=None, help="The judge's temperature (0–2).")
@click.option("--rubric", "rubric_path", default=None, metavar="FILE",
              help="JSON mapping scenario ids to the rubric criteria to grade them with (an edited rubric).")
@click.option("--rules", is_flag=True, help="Grade with the offline rules grader instead of the model judge.")
@click.option("--label", default=None, help="A name for this grading (default from the options).")
@click.option("--against", default=None, metavar="REGRADE",
              help="Compare with this earlier regrade (id or label) instead of the run's own grading.")
@json_flag
def regrade(run_id: str, judge_model: str | None, temperature: float | None, rubric_path: str | None, rules: bool,
            label: str | None, against: str | None, as_json: bool) -> None:
    """Grade a finished run's transcripts again and compare: Cohen's kappa, percent agreement, verdict flips.

    The new grading is stored beside the run's own and never replaces it. With no options the same
    judge grades again: test-retest agreement.
    """
    body: dict[str, Any] = {"judge_model": judge_model, "temperature": temperature,
                            "rubric_overrides": _rubric_file(rubric_path), "label": label,
                            "engine": "rules" if rules else None}
    body = {k: v for k, v in body.items() if v is not None}

    async def action(api: ApiClient) -> None:
        started = await api.call("POST", f"/api/v1/tests/{segment(run_id)}/regrades", json_body=body)
        out = console()
        if not as_json:
            out.print(f"Regrading {started['total']} scenario runs as “{started['label']}”…")
        path = f"/api/v1/tests/{segment(run_id)}/regrades/{segment(started['id'])}"
        while True:
            found = await api.get(path, **({"against": against} if against else {}))
            if found["regrade"]["status"] != RegradeStatus.RUNNING:
                break
            await asyncio.sleep(POLL_S)
        show(found, as_json, agreement_view)

    run_async(action)


@click.command("regrades")
@click.argument("run_id")
@json_flag
def regrades(run_id: str, as_json: bool) -> None:
    """List a run's regrades (other gradings of the same transcripts)."""

    async def action(api: ApiClient) -> None:
        show(await api.get(f"/api/v1/tests/{segment(run_id)}/regrades"), as_json, regrades_view)

    run_async(action)


def regrades_view(found: dict[str, Any]) -> RenderableType:
    table = titled_table(f"Regrades ({len(found['regrades'])})")
    for name in ("ID", "Label", "Engine", "Status", "Graded", "Created"):
        table.add_column(name)
    for r in found["regrades"]:
        table.add_row(r["id"], Text(r["label"]), r["engine"], r["status"], f"{r['graded']}/{r['total']}",
                      (r["created_at"] or "")[:19].replace("T", " "))
    return table


@click.command("reviews")
@click.argument("run_id")
@click.option("--export", "export_path", default=None, metavar="FILE", help="Write the run's reviews to FILE.")
@click.option("--import", "import_path", default=None, metavar="FILE",
              help="Import reviews from FILE (exported here or on another machine) before showing the agreement.")
@json_flag
def reviews(run_id: str, export_path: str | None, import_path: str | None, as_json: bool) -> None:
    """Clinician reviews of a run and the judge's agreement with them (review in the interface: v on a run)."""

    async def action(api: ApiClient) -> None:
        base = f"/api/v1/tests/{segment(run_id)}/reviews"
        if import_path:
            try:
                document = json.loads(Path(import_path).read_text(encoding="utf-8"))
            except OSError as exc:
                raise CommandError(f"Cannot read {import_path}: {exc.strerror or exc}", USAGE) from None
            except ValueError:
                raise CommandError(f"{import_path} is not valid JSON", USAGE) from None
            result = await api.call("POST", base + "/import", json_body=document)
            click.echo(f"Imported {result['imported']} reviews from {import_path}"
                       + (f"; skipped {len(result['skipped'])}" if result["skipped"] else ""), err=as_json)
        if export_path:
            document = await api.get(base + "/export")
            try:
                Path(export_path).write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {export_path}: {exc.strerror or exc}") from None
            click.echo(f"Exported {len(document['reviews'])} reviews to {export_path}", err=as_json)
        show(await api.get(base), as_json, reviews_view)

    run_async(action)


def reviews_view(found: dict[str, Any]) -> RenderableType:
    agreement = found["agreement"]
    if not agreement["reviews"]:
        return "No clinician reviews of this run yet (review it in the interface: v on the run)."
    head = [("Reviews", f"{agreement['reviews']} of {agreement['scenario_runs']} scenario runs by "
                        f"{', '.join(agreement['reviewers'])}")]
    return comparison_view("Agreement: the judge vs clinicians", agreement, head, ("Judge", "Clinician"))
