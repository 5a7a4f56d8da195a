"""`preclinical agents list|get|create|update|delete`: the agents under test (by id, or by a unique name)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import click

from preclinical.cli.client import ApiClient, RequestRefused
from preclinical.cli.commands.options import json_flag, segment
from preclinical.cli.invoke import run_async, warn
from preclinical.cli.render import agent_detail, agents_table, print_json, show


def _looks_like_id(ref: str) -> bool:
    try:
        uuid.UUID(ref.strip())
    except ValueError:
        return False
    return True


async def find_agent(api: ApiClient, ref: str) -> dict[str, Any]:
    """An agent by id, or by name when exactly one agent has it (exact case first, then any case)."""
    if _looks_like_id(ref):
        try:
            return await api.get(f"/api/v1/agents/{segment(ref)}")
        except RequestRefused as exc:
            if exc.status != 404:
                raise
    agents = await api.get("/api/v1/agents")
    for same in (lambda a: a["name"] == ref, lambda a: a["name"].casefold() == ref.strip().casefold()):
        matches = [a for a in agents if same(a)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = ", ".join(a["id"] for a in matches)
            raise RequestRefused(400, f"More than one agent is named {ref!r}: use its id ({ids})")
    raise RequestRefused(404, f"No agent with id or name {ref!r} (see `preclinical agents list`)")


def parse_config(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc})", param_hint="--config") from None
    if not isinstance(config, dict):
        raise click.BadParameter("must be a JSON object, like '{\"base_url\": \"...\"}'", param_hint="--config")
    return config


@click.group()
def agents() -> None:
    """Manage the agents under test."""


@agents.command("list")
@json_flag
def list_agents(as_json: bool) -> None:
    """List the agents."""

    async def action(api: ApiClient) -> None:
        rows = await api.get("/api/v1/agents")
        show(rows, as_json, agents_table)

    run_async(action)


@agents.command("get")
@click.argument("agent")
@json_flag
def get_agent(agent: str, as_json: bool) -> None:
    """Show an agent (AGENT is its id or its name)."""

    async def action(api: ApiClient) -> None:
        found = await find_agent(api, agent)
        show(found, as_json, agent_detail)

    run_async(action)


@agents.command("create")
@click.option("-p", "--provider", required=True,
              help="openai, vapi, elevenlabs, livekit, pipecat, browser, http or demo.")
@click.option("-n", "--name", required=True, help="The agent's name.")
@click.option("-d", "--description", default=None, help="A description.")
@click.option("-c", "--config", "config_text", default=None, metavar="JSON", help="Provider settings as a JSON object.")
@json_flag
def create_agent(provider: str, name: str, description: str | None, config_text: str | None, as_json: bool) -> None:
    """Create an agent."""
    config = parse_config(config_text)
    body: dict[str, Any] = {"provider": provider, "name": name}
    if description is not None:
        body["description"] = description
    if config is not None:
        body["config"] = config

    async def action(api: ApiClient) -> None:
        created = await api.call("POST", "/api/v1/agents", json_body=body)
        show(created, as_json, agent_detail, heading=f"Created agent: {created['name']} ({created['id']})")

    run_async(action)


@agents.command("update")
@click.argument("agent")
@click.option("-n", "--name", default=None, help="A new name.")
@click.option("-d", "--description", default=None, help="A new description.")
@click.option("-c", "--config", "config_text", default=None, metavar="JSON",
              help="Settings to change, as a JSON object (merged into the stored config).")
@click.option("--active/--inactive", default=None, help="Whether runs may use the agent.")
@json_flag
def update_agent(agent: str, name: str | None, description: str | None, config_text: str | None, active: bool | None,
                 as_json: bool) -> None:
    """Change an agent (AGENT is its id or its name)."""
    config = parse_config(config_text)
    body = {k: v for k, v in (("name", name), ("description", description), ("config", config), ("is_active", active))
            if v is not None}
    if not body:
        warn("Nothing to update: give --name, --description, --config, --active or --inactive.")
        return

    async def action(api: ApiClient) -> None:
        found = await find_agent(api, agent)
        updated = await api.call("PATCH", f"/api/v1/agents/{found['id']}", json_body=body)
        show(updated, as_json, agent_detail, heading=f"Updated agent: {updated['name']}")

    run_async(action)


@agents.command("delete")
@click.argument("agent")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@json_flag
def delete_agent(agent: str, force: bool, as_json: bool) -> None:
    """Delete an agent (AGENT is its id or its name); its past runs stay."""

    async def action(api: ApiClient) -> None:
        found = await find_agent(api, agent)
        if not force:
            click.confirm(f"Delete agent {found['name']} ({found['id']})?", abort=True, err=True)
        await api.call("DELETE", f"/api/v1/agents/{found['id']}")
        if as_json:
            print_json({"id": found["id"], "name": found["name"], "deleted": True})
        else:
            click.echo(f"Deleted agent {found['name']} ({found['id']})")

    run_async(action)
