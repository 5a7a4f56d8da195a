"""`preclinical health`: is the API up, and which engine (models or offline) will run the tests."""

from __future__ import annotations

import click

from preclinical.cli.client import ApiClient
from preclinical.cli.exit_codes import FAILED, OK
from preclinical.cli.invoke import run_async
from preclinical.cli.render import health_view, show


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def health(as_json: bool) -> None:
    """Check the API, the database and the language models (exit 1 when unhealthy)."""

    async def action(api: ApiClient) -> int:
        report = await api.call("GET", "/health", ok=(503,))
        show(report, as_json, health_view)
        return OK if report.get("status") == "ok" else FAILED

    run_async(action)
