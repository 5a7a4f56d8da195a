"""`preclinical results list|get|export`: scenario-run results, and run reports as CSV, JSON, JUnit XML, Markdown
or a self-contained HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from preclinical.cli.client import ApiClient, CommandError
from preclinical.cli.commands.options import json_flag, segment
from preclinical.cli.invoke import run_async
from preclinical.cli.render import console, print_json, result_detail, results_table, show, write_output
from preclinical.cli.reports import junit_xml, markdown_report
from preclinical.domain.run import ScenarioRunStatus

FORMATS = ("csv", "json", "junit", "markdown", "html")


@click.group()
def results() -> None:
    """Scenario-run results of a test run, and exports."""


@results.command("list")
@click.argument("run_id")
@click.option("-l", "--limit", type=int, default=None, help="At most this many results (1–100, default 50).")
@click.option("-o", "--offset", type=int, default=None, help="Skip this many results.")
@click.option("-s", "--status", default=None,
              type=click.Choice([s.value for s in ScenarioRunStatus]),
              help="Only results with this status.")
@json_flag
def list_results(run_id: str, limit: int | None, offset: int | None, status: str | None, as_json: bool) -> None:
    """List the scenario runs of a test run, with their verdict and triage."""

    async def action(api: ApiClient) -> None:
        page = await api.get("/api/v1/scenario-runs", test_run_id=run_id, limit=limit, offset=offset, status=status)
        if as_json:
            print_json(page)
        else:
            console().print(results_table(page["results"], page["total"]))

    run_async(action)


@results.command("get")
@click.argument("scenario_run_id")
@json_flag
def get_result(scenario_run_id: str, as_json: bool) -> None:
    """Show one scenario run: verdict, criteria with rationales, and the transcript."""

    async def action(api: ApiClient) -> None:
        found = await api.get(f"/api/v1/scenario-runs/{segment(scenario_run_id)}")
        show(found, as_json, result_detail)

    run_async(action)


async def export_text(api: ApiClient, run_id: str, fmt: str) -> tuple[str, str]:
    """The report text and the file name the API would give it."""
    if fmt == "csv":
        download = await api.download(f"/api/v1/tests/{segment(run_id)}/export-csv")
        return download.text, download.filename or f"preclinical-export-{run_id}.csv"
    if fmt == "html":
        download = await api.download(f"/api/v1/tests/{segment(run_id)}/export-html")
        return download.text, download.filename or f"preclinical-report-{run_id}.html"
    download = await api.download(f"/api/v1/tests/{segment(run_id)}/export-json")
    stem = Path(download.filename or f"preclinical-export-{run_id}.json").stem
    try:
        data = json.loads(download.text)
    except ValueError:
        raise CommandError("The server's JSON export is not valid JSON") from None
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n", stem + ".json"
    scenarios = await api.get("/api/v1/scenarios", approved="all", active="all")
    categories = {s["scenario_id"]: s.get("category") for s in scenarios["scenarios"]}
    if fmt == "junit":
        return junit_xml(data["run"], data["scenario_runs"], categories), stem + ".xml"
    return markdown_report(data["run"], data["scenario_runs"], categories), stem + ".md"


@results.command("export")
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="csv and json are the API's exports; junit is JUnit XML for CI; markdown is a report; html is a "
                   "self-contained report to open in a browser (charts, transcripts with cited evidence).")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Where to write (`-` for standard output); default: the API's file name, in this directory.")
def export(run_id: str, fmt: str, output: str | None) -> None:
    """Export a test run's results as CSV, JSON, JUnit XML, Markdown or an HTML report."""

    async def action(api: ApiClient) -> None:
        text, filename = await export_text(api, run_id, fmt)
        write_output(text, output or filename)

    run_async(action)
