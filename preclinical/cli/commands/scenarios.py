"""`preclinical scenarios ...`: list, show, author, generate from clinical text, import and export scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from preclinical.cli.client import ApiClient, CommandError
from preclinical.cli.commands.options import comma_list, json_flag, segment
from preclinical.cli.exit_codes import USAGE
from preclinical.cli.invoke import run_async, warn
from preclinical.cli.render import console, print_json, scenario_detail, scenarios_table, show, write_output

GENERATE_TIMEOUT_S = 300.0  # a local model can take minutes for one scenario
BATCH_TIMEOUT_S = 1800.0
IMPORT_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
EXPORT_FORMATS = ("json", "jsonl", "csv")


def read_json_object(path: str) -> dict[str, Any]:
    """A JSON object from a file, or from standard input for `-`."""
    try:
        text = click.get_text_stream("stdin").read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}", USAGE) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{path} is not valid JSON ({exc})", USAGE) from None
    if not isinstance(data, dict):
        raise CommandError(f"{path} must hold one JSON object (a scenario)", USAGE)
    return data


def clinical_text(text: str | None, file: str | None) -> str:
    """The text to generate from: --text, or a .txt/.md/.pdf/.docx document read here (so it works remotely too)."""
    if bool(text) == bool(file):
        raise click.UsageError("Give either --text or --file (one of them).")
    if text:
        return text
    from preclinical.errors import InvalidInput
    from preclinical.library.documents import read_document

    try:
        return read_document(file or "")
    except InvalidInput as exc:
        raise CommandError(exc.message, USAGE) from None


def show_scenarios(body: dict[str, Any], as_json: bool, heading: str | None = None) -> None:
    if as_json:
        print_json(body)
        return
    if heading:
        click.echo(heading)
    console().print(scenarios_table(body["scenarios"], body["total"]))


@click.group()
def scenarios() -> None:
    """Manage the scenario library."""


@scenarios.command("list")
@click.option("-t", "--tag", default=None, help="Only scenarios with this tag.")
@click.option("-c", "--category", default=None, help="Only this category (emergency, clinician_eval, home_care, ...).")
@click.option("-q", "--search", default=None, help="Text search in names, opening messages, complaints and tags.")
@click.option("--drafts", is_flag=True, help="Only drafts waiting for approval (generated scenarios start as drafts).")
@json_flag
def list_scenarios(tag: str | None, category: str | None, search: str | None, drafts: bool, as_json: bool) -> None:
    """List active, approved scenarios (or the drafts)."""

    async def action(api: ApiClient) -> None:
        body = await api.get("/api/v1/scenarios", tag=tag, category=category, q=search,
                             approved="false" if drafts else None)
        show_scenarios(body, as_json)

    run_async(action)


@scenarios.command("get")
@click.argument("scenario_id")
@json_flag
def get_scenario(scenario_id: str, as_json: bool) -> None:
    """Show a scenario: content, gold level and rubric."""

    async def action(api: ApiClient) -> None:
        found = await api.get(f"/api/v1/scenarios/{segment(scenario_id)}")
        show(found, as_json, scenario_detail)

    run_async(action)


@scenarios.command("create")
@click.option("-f", "--file", "file", default=None, metavar="PATH",
              help="A scenario as a JSON object (`-` reads standard input); the flags below override its fields.")
@click.option("-n", "--name", default=None, help="The scenario's name.")
@click.option("-c", "--category", default=None, help="Its category.")
@click.option("--tags", default=None, metavar="A,B", help="Comma-separated tags.")
@click.option("--priority", type=int, default=None, help="Lower runs first.")
@click.option("--draft", is_flag=True, help="Save it unapproved (runs skip it until approved).")
@json_flag
def create_scenario(file: str | None, name: str | None, category: str | None, tags: str | None, priority: int | None,
                    draft: bool, as_json: bool) -> None:
    """Create a scenario from a JSON file and/or flags (content and rubric come from the file)."""
    body = read_json_object(file) if file else {}
    body.update({k: v for k, v in (("name", name), ("category", category), ("tags", comma_list(tags)),
                                    ("priority", priority)) if v is not None})
    if draft:
        body["approved"] = False

    async def action(api: ApiClient) -> None:
        created = await api.call("POST", "/api/v1/scenarios", json_body=body)
        show(created, as_json, scenario_detail, heading=f"Created scenario: {created['name']} ({created['scenario_id']})")

    run_async(action)


@scenarios.command("update")
@click.argument("scenario_id")
@click.option("-n", "--name", default=None, help="A new name.")
@click.option("-c", "--category", default=None, help="A new category.")
@click.option("--tags", default=None, metavar="A,B", help="The new tags (replace the old ones).")
@click.option("--priority", type=int, default=None, help="A new priority.")
@click.option("--approved/--unapproved", default=None, help="Approve a draft, or take a scenario back to draft.")
@click.option("--active/--inactive", default=None, help="Whether runs may select it.")
@click.option("--file", "file", default=None, metavar="PATH",
              help="Fields to change as a JSON object (e.g. content, rubric_criteria); `-` reads standard input.")
@json_flag
def update_scenario(scenario_id: str, name: str | None, category: str | None, tags: str | None, priority: int | None,
                    approved: bool | None, active: bool | None, file: str | None, as_json: bool) -> None:
    """Change a scenario."""
    body = read_json_object(file) if file else {}
    body.update({k: v for k, v in (("name", name), ("category", category), ("tags", comma_list(tags)),
                                    ("priority", priority), ("approved", approved), ("is_active", active))
                 if v is not None})
    if not body:
        warn("Nothing to update: give --name, --category, --tags, --priority, --approved/--unapproved, "
             "--active/--inactive or --file.")
        return

    async def action(api: ApiClient) -> None:
        updated = await api.call("PATCH", f"/api/v1/scenarios/{segment(scenario_id)}", json_body=body)
        show(updated, as_json, scenario_detail, heading=f"Updated scenario: {updated['name']}")

    run_async(action)


@scenarios.command("delete")
@click.argument("scenario_id")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@json_flag
def delete_scenario(scenario_id: str, force: bool, as_json: bool) -> None:
    """Delete a scenario (it becomes inactive; past results keep it)."""

    async def action(api: ApiClient) -> None:
        found = await api.get(f"/api/v1/scenarios/{segment(scenario_id)}")
        if not force:
            click.confirm(f"Delete scenario {found['name']}?", abort=True, err=True)
        await api.call("DELETE", f"/api/v1/scenarios/{found['scenario_id']}")
        if as_json:
            print_json({"scenario_id": found["scenario_id"], "name": found["name"], "deleted": True})
        else:
            click.echo(f"Deleted scenario {found['name']} ({found['scenario_id']})")

    run_async(action)


@scenarios.command("generate")
@click.option("-t", "--text", default=None, help="Clinical text (a case, a protocol excerpt) to write a scenario from.")
@click.option("-f", "--file", "file", default=None, metavar="PATH", help="Or a .txt, .md, .pdf or .docx document.")
@click.option("-c", "--category", default=None, help="Category of the new scenario.")
@click.option("-n", "--name", default=None, help="Name of the new scenario.")
@click.option("--tags", default=None, metavar="A,B", help="Comma-separated tags.")
@json_flag
def generate(text: str | None, file: str | None, category: str | None, name: str | None, tags: str | None,
             as_json: bool) -> None:
    """Write one scenario from clinical text with the language model; it is saved as a draft to approve."""
    source = clinical_text(text, file)
    body = {k: v for k, v in (("text", source), ("category", category), ("name", name), ("tags", comma_list(tags)))
            if v is not None}

    async def action(api: ApiClient) -> None:
        created = await api.call("POST", "/api/v1/scenarios/generate", json_body=body, timeout=GENERATE_TIMEOUT_S)
        show(created, as_json, scenario_detail, heading=f"Generated scenario: {created['name']} ({created['scenario_id']}), saved as a draft")

    run_async(action)


@scenarios.command("generate-batch")
@click.option("-f", "--file", "file", default=None, metavar="PATH",
              help="A clinical document (.txt, .md, .pdf, .docx) to write scenarios from.")
@click.option("-t", "--text", default=None, help="Or the clinical text itself.")
@click.option("-c", "--category", default=None, help="Category of the new scenarios.")
@click.option("--tags", default=None, metavar="A,B", help="Comma-separated tags.")
@json_flag
def generate_batch(file: str | None, text: str | None, category: str | None, tags: str | None, as_json: bool) -> None:
    """Write several scenarios from a document, section by section; they are saved as drafts to approve."""
    source = clinical_text(text, file)
    body = {k: v for k, v in (("text", source), ("category", category), ("tags", comma_list(tags))) if v is not None}

    async def action(api: ApiClient) -> None:
        created = await api.call("POST", "/api/v1/scenarios/generate-batch", json_body=body, timeout=BATCH_TIMEOUT_S)
        show_scenarios(created, as_json, heading=f"Generated {created['total']} scenario(s), saved as drafts")

    run_async(action)


@scenarios.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "csv", "reference"]), default=None,
              help="The file's format (default: from its extension or its content); `reference` reads the "
                   "reference platform's seed cases.")
@click.option("--dry-run", is_flag=True, help="Check the file and report what would happen, without saving.")
@json_flag
def import_scenarios(file: str, fmt: str | None, dry_run: bool, as_json: bool) -> None:
    """Import scenarios from a JSON, JSON Lines or CSV file (duplicates are skipped; exit 1 if any item is invalid)."""
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"Cannot read {file}: {exc.strerror or exc}", USAGE) from None
    except UnicodeDecodeError:
        raise CommandError(f"{file} is not UTF-8 text: save it as UTF-8 and import it again.", USAGE) from None
    fmt = fmt or IMPORT_SUFFIXES.get(Path(file).suffix.lower())

    async def action(api: ApiClient) -> int:
        report = await api.call("POST", "/api/v1/scenarios/import", params={"format": fmt, "dry_run": dry_run or None},
                                body=text, timeout=300.0)
        if as_json:
            print_json(report)
        else:
            print_import_report(report)
        return 1 if report.get("invalid") else 0

    run_async(action)


def print_import_report(report: dict[str, Any]) -> None:
    counts = report.get("counts") or {}
    verb = "would create" if report.get("dry_run") else "created"
    click.echo(f"{report.get('total', 0)} scenarios read: {counts.get('created', 0)} {verb}, "
               f"{counts.get('duplicates', 0)} duplicates skipped, {counts.get('invalid', 0)} invalid"
               + (" (dry run: nothing saved)" if report.get("dry_run") else ""))
    for item in report.get("invalid") or []:
        click.echo(f"  invalid #{item.get('index', 0) + 1} {item.get('name') or ''}: {'; '.join(item.get('problems') or [])}")
    for item in report.get("duplicates") or []:
        click.echo(f"  duplicate #{item.get('index', 0) + 1} {item.get('name') or ''}: {item.get('reason')} "
                   f"({item.get('existing_id')})")
    for item in report.get("not_runnable") or []:
        click.echo(f"  not runnable yet: {item.get('name')}: {'; '.join(item.get('problems') or [])}")
    not_gradable = report.get("not_gradable_offline") or []
    if not_gradable:
        click.echo(f"  {len(not_gradable)} {'is' if len(not_gradable) == 1 else 'are'} {not_gradable[0].get('reason')}:")
        for item in not_gradable:
            click.echo(f"    not gradable offline: {item.get('name')}")


@scenarios.command("export")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Where to write (`-` for standard output); default: the API's file name, in this directory.")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="json", show_default=True,
              help="json, jsonl or csv; every format imports back.")
@click.option("-t", "--tag", default=None, help="Only scenarios with this tag.")
@click.option("-c", "--category", default=None, help="Only this category.")
@click.option("--all", "everything", is_flag=True, help="Drafts and inactive scenarios too.")
def export(output: str | None, fmt: str, tag: str | None, category: str | None, everything: bool) -> None:
    """Export the scenario library (active and approved, unless --all)."""

    async def action(api: ApiClient) -> None:
        download = await api.download("/api/v1/scenarios/export", params={
            "format": fmt, "tag": tag, "category": category,
            "approved": "all" if everything else None, "active": "all" if everything else None})
        write_output(download.text, output or download.filename or f"preclinical-scenarios.{fmt}")

    run_async(action)
