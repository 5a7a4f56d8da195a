"""Flags and flag values the commands share."""

from __future__ import annotations

from urllib.parse import quote

import click

json_flag = click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")


def comma_list(value: str | None) -> list[str] | None:
    """`a, b,,c` → ["a", "b", "c"]; None when the flag was not given."""
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def segment(value: str) -> str:
    """An id typed on the command line, safe as one URL path segment (a stray `/` or `?` stays in the id)."""
    return quote(value.strip(), safe="")
