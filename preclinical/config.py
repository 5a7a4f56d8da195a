"""Settings: one object built from the TOML config file and the environment (the environment wins)."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preclinical.errors import InvalidInput
from preclinical.paths import Paths, default_paths


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Field names are the TOML keys; `ENV` maps environment names to them."""

    data_dir: Path
    config_file: Path
    log_dir: Path
    host: str = "127.0.0.1"
    port: int = 3000
    api_token: str | None = None  # required when binding to a non-loopback address
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    tester_model: str = "gpt-4o-mini"
    grader_model: str = "gpt-4o-mini"
    generator_model: str | None = None  # defaults to the tester model
    tester_temperature: float = 0.2
    grader_temperature: float = 0.1
    # Per-role model endpoints; unset = the shared openai_base_url / openai_api_key. A role with its own
    # base URL is sent only its own key.
    tester_base_url: str | None = None
    tester_api_key: str | None = None
    grader_base_url: str | None = None
    grader_api_key: str | None = None
    generator_base_url: str | None = None
    generator_api_key: str | None = None
    structured_mode: str | None = None  # a rung of the structured-output ladder to use from the start
    llm_max_tokens: int | None = None  # cap on each model reply; unset = the server's default
    default_max_turns: int = 11
    min_max_turns: int = 5
    max_max_turns: int = 15
    global_concurrency: int = 64
    llm_timeout_s: float = 60.0
    target_timeout_s: float = 60.0
    browser_use_api_key: str | None = None
    log_level: str = "INFO"
    database_url: str | None = None  # postgresql://… for a store shared by a team; unset: SQLite in data_dir
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "preclinical.db"

    @property
    def database_target(self) -> Path | str:
        return self.database_url or self.database_path

    @property
    def database_label(self) -> str:
        """Where the store is, for people: the SQLite file, or the URL with its password hidden."""
        if not self.database_url:
            return str(self.database_path)
        return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", self.database_url)

    @property
    def log_file(self) -> Path:
        return self.log_dir / "preclinical.log"

    @property
    def model_configured(self) -> bool:
        """A language model is usable when a key or a custom endpoint is set (shared or for a role)."""
        return any(getattr(self, name) for name in _MODEL_ACCESS)

    @property
    def engine_name(self) -> str:
        return "model" if self.model_configured else "offline"


ENV: dict[str, str] = {
    "PRECLINICAL_HOST": "host",
    "PRECLINICAL_PORT": "port",
    "PRECLINICAL_API_KEY": "api_token",
    "OPENAI_API_KEY": "openai_api_key",
    "OPENAI_BASE_URL": "openai_base_url",
    "TESTER_MODEL": "tester_model",
    "GRADER_MODEL": "grader_model",
    "GENERATOR_MODEL": "generator_model",
    "TESTER_BASE_URL": "tester_base_url",
    "TESTER_API_KEY": "tester_api_key",
    "GRADER_BASE_URL": "grader_base_url",
    "GRADER_API_KEY": "grader_api_key",
    "GENERATOR_BASE_URL": "generator_base_url",
    "GENERATOR_API_KEY": "generator_api_key",
    "STRUCTURED_MODE": "structured_mode",
    "LLM_TIMEOUT_S": "llm_timeout_s",
    "LLM_MAX_TOKENS": "llm_max_tokens",
    "TESTER_TEMPERATURE": "tester_temperature",
    "GRADER_TEMPERATURE": "grader_temperature",
    "DEFAULT_MAX_TURNS": "default_max_turns",
    "MIN_MAX_TURNS": "min_max_turns",
    "MAX_MAX_TURNS": "max_max_turns",
    "PRECLINICAL_CONCURRENCY": "global_concurrency",
    "BROWSER_USE_API_KEY": "browser_use_api_key",
    "LOG_LEVEL": "log_level",
    "PRECLINICAL_DATABASE_URL": "database_url",
}

_MODEL_ACCESS = ("openai_api_key", "openai_base_url", "tester_base_url", "tester_api_key", "grader_base_url",
                 "grader_api_key", "generator_base_url", "generator_api_key")
_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_NOT_IN_FILE = {"data_dir", "config_file", "log_dir", "extra"}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _FIELDS[name].type
    try:
        if "int" in kind and "float" not in kind:
            return int(value)
        if "float" in kind:
            return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{source}: {name} must be a number, got {value!r}") from None
    if value is None or value == "":
        return None if "None" in kind else value
    return str(value)


def load_settings(env: dict[str, str] | None = None, *, paths: Paths | None = None, **overrides: Any) -> Settings:
    """Build settings: defaults < config file < environment < explicit overrides (CLI flags)."""
    env = dict(os.environ) if env is None else env
    paths = paths or default_paths(env)
    values: dict[str, Any] = {}
    if paths.config_file.is_file():
        try:
            data = tomllib.loads(paths.config_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"{paths.config_file}: not valid TOML ({exc})") from None
        for key, value in data.items():
            if key in _FIELDS and key not in _NOT_IN_FILE:
                values[key] = _coerce(key, value, str(paths.config_file))
    for env_name, key in ENV.items():
        if env.get(env_name) not in (None, ""):
            values[key] = _coerce(key, env[env_name], env_name)
    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(key, value, "option") if key not in _NOT_IN_FILE else value
    data_dir = Path(values.pop("data_dir", paths.data_dir))
    log_dir = paths.log_dir if "data_dir" not in overrides or overrides["data_dir"] is None else data_dir / "logs"
    settings = Settings(data_dir=data_dir, config_file=paths.config_file, log_dir=log_dir, **values)
    from preclinical.engine.llm import MODES

    if settings.structured_mode is not None and settings.structured_mode not in MODES:
        raise InvalidInput(f"structured_mode (STRUCTURED_MODE) must be one of {', '.join(MODES)}, "
                           f"not {settings.structured_mode!r}")
    if settings.llm_timeout_s <= 0 or (settings.llm_max_tokens is not None and settings.llm_max_tokens <= 0):
        raise InvalidInput("llm_timeout_s and llm_max_tokens must be positive")
    if not settings.min_max_turns <= settings.default_max_turns <= settings.max_max_turns:
        raise InvalidInput("DEFAULT_MAX_TURNS must lie between MIN_MAX_TURNS and MAX_MAX_TURNS")
    if settings.database_url and not settings.database_url.startswith(("postgresql://", "postgres://")):
        raise InvalidInput("PRECLINICAL_DATABASE_URL (database_url) must be a postgresql://user:password@host/db URL; "
                           "leave it unset to use the local SQLite file")
    return settings
