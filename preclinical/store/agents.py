"""Agents: validated create / update / soft delete, publishing an event after each change."""

from __future__ import annotations

from typing import Any

from preclinical.domain.run import EventTable, LibraryEvent
from preclinical.domain.secrets import merge_config
from preclinical.errors import InvalidInput, NotFound
from preclinical.providers import registry
from preclinical.services import Services
from preclinical.store.db import database, storable
from preclinical.store.ids import canonical_uuid
from preclinical.store.models import Agent
from preclinical.store.serialize import agent_json

NOT_FOUND = "Agent not found"


def list_agents() -> list[Agent]:
    return list(Agent.select().where(Agent.deleted_at.is_null()).order_by(Agent.provider, Agent.name, Agent.id))


def get_agent(agent_id: Any, *, include_deleted: bool = False) -> Agent:
    key = canonical_uuid(agent_id)
    agent = Agent.get_or_none(Agent.id == key) if key else None
    if agent is None or (agent.deleted_at is not None and not include_deleted):
        raise NotFound(NOT_FOUND)
    return agent


def find_agent(ref: str) -> Agent:
    """An agent by id, or by name when exactly one live agent has it (for the CLI and TUI)."""
    if canonical_uuid(ref):
        return get_agent(ref)
    matches = list(Agent.select().where(Agent.deleted_at.is_null(), Agent.name == ref))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidInput(f"More than one agent is named {ref!r}: use its id")
    raise NotFound(f"No agent with id or name {ref!r}")


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    return value


def create_agent(svc: Services, data: dict[str, Any]) -> Agent:
    storable(data)
    provider, name = data.get("provider"), data.get("name")
    if not provider or not name:
        raise InvalidInput("provider and name are required")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must be a non-empty string")
    registry.get_spec(provider)
    config = data.get("config")
    config = {} if config is None else config
    registry.validate_config(provider, config)
    description = _optional_text(data, "description")
    now = svc.now()
    with database.atomic():
        agent = Agent.create(
            id=svc.new_id(), provider=provider, name=name.strip(), description=description,
            config=config, is_active=True, created_at=now, updated_at=now,
        )
    svc.bus.emit(LibraryEvent.AGENT_CREATED, EventTable.AGENTS, agent_json(agent))
    return agent


def update_agent(svc: Services, agent_id: Any, data: dict[str, Any]) -> Agent:
    agent = get_agent(agent_id, include_deleted=True)
    if agent.deleted_at is not None:
        raise NotFound(NOT_FOUND)
    storable(data)
    changes: dict[str, Any] = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("name must be a non-empty string")
        changes["name"] = name.strip()
    if "description" in data:
        changes["description"] = _optional_text(data, "description")
    if "config" in data:
        patch = data["config"]
        if not isinstance(patch, dict):
            raise InvalidInput("config must be an object")
        merged = merge_config(agent.config or {}, patch)
        registry.validate_config(agent.provider, merged)
        changes["config"] = merged
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise InvalidInput("is_active must be true or false")
        changes["is_active"] = data["is_active"]
    for key, value in changes.items():
        setattr(agent, key, value)
    agent.updated_at = svc.now()
    with database.atomic():
        agent.save()
    svc.bus.emit(LibraryEvent.AGENT_UPDATED, EventTable.AGENTS, agent_json(agent))
    return agent


def delete_agent(svc: Services, agent_id: Any) -> None:
    agent = get_agent(agent_id)
    agent.deleted_at = agent.updated_at = svc.now()
    with database.atomic():
        agent.save()
    svc.bus.emit(LibraryEvent.AGENT_DELETED, EventTable.AGENTS, {"id": agent.id, "name": agent.name})
