"""Where Preclinical keeps its data, configuration and logs (resolved at run time, never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "preclinical"


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_file: Path
    log_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "preclinical.db"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "preclinical.log"


def private_dir(path: Path) -> Path:
    """Create `path` if needed and make it owner-only (0700): it holds agent secrets, transcripts and logs."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        os.chmod(path, 0o700)
    return path


def default_paths(env: Mapping[str, str] | None = None) -> Paths:
    """Platform directories, with `PRECLINICAL_HOME` (data) and `PRECLINICAL_CONFIG` (file) overrides."""
    if env is None:
        env = os.environ
    home = env.get("PRECLINICAL_HOME")
    data_dir = Path(home).expanduser() if home else platformdirs.user_data_path(APP_NAME, appauthor=False)
    config_file = env.get("PRECLINICAL_CONFIG")
    config = (
        Path(config_file).expanduser()
        if config_file
        else platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"
    )
    log_dir = data_dir / "logs" if home else platformdirs.user_log_path(APP_NAME, appauthor=False)
    return Paths(data_dir=data_dir, config_file=config, log_dir=log_dir)
