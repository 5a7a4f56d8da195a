"""A run's export, built once for every front end: `export_run(run_id, kind)` → (file name, bytes).

Kinds: `csv` (the reference's columns), `json` (the run with its verdict and every scenario run) and
`html` (the report page).

Large runs take a while to serialise, so callers run it in a thread (`asyncio.to_thread`); it opens its
own connection there and never touches the event loop's.
"""

from __future__ import annotations

import json

from preclinical.domain.csv_export import build_csv, csv_filename
from preclinical.errors import InvalidInput
from preclinical.report.collect import run_report
from preclinical.report.html import render_run
from preclinical.store import runs as run_store
from preclinical.store.db import database
from preclinical.store.serialize import scenario_run_json, test_run_json

EXPORT_KINDS = ("csv", "json", "html")
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json", "html": "text/html"}


def export_name(run_json: dict, kind: str) -> str:
    """`triagerun-<agent>-<run id>.csv` (the reference's name), or the same with `.json`."""
    name = csv_filename(run_json)
    return name if kind == "csv" else name[: -len(".csv")] + f".{kind}"


def export_run(run_id: str, kind: str, *, now: str | None = None) -> tuple[str, bytes]:
    """The run as CSV (the reference's columns, one row per scenario run), JSON (`{"run", "scenario_runs"}`,
    the run with its verdict) or the HTML report (`now` stamps it). Safe to call from a worker thread."""
    if kind not in EXPORT_KINDS:
        raise InvalidInput(f"Unknown export kind {kind!r}: choose {' or '.join(EXPORT_KINDS)}")
    with database.connection_context():
        run = run_store.resolve_run(run_id, include_deleted=True)
        if kind == "html":
            return export_name(test_run_json(run), kind), render_run(run_report(run, now=now)).encode("utf-8")
        items, _ = run_store.scenario_runs_page(run, limit=1_000_000)
        rows = [scenario_run_json(*item) for item in items]
        run_json = test_run_json(run)
    if kind == "csv":
        rows.sort(key=lambda r: (r["scenario_name"] or "", r["created_at"] or "", r["position"]))
        text = build_csv(run_json, rows)
    else:
        text = json.dumps({"run": run_json, "scenario_runs": rows}, indent=2, ensure_ascii=False)
    return export_name(run_json, kind), text.encode("utf-8")
