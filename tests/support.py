"""Shared test helpers: isolated settings and a runtime on a temporary directory."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from preclinical.config import Settings, load_settings
from preclinical.paths import Paths

# Where a test on PostgreSQL gets a database: one per data directory, as SQLite has one file per
# directory (set by the `store` fixture; None: SQLite).
store_database: Callable[[Path], str] | None = None


def isolated_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings that read no user config and no environment, with data under tmp_path.

    The store is SQLite in tmp_path, or the test's PostgreSQL database where a test runs on both.
    """
    paths = Paths(data_dir=tmp_path / "data", config_file=tmp_path / "config.toml", log_dir=tmp_path / "logs")
    if store_database is not None and "database_url" not in overrides:
        overrides["database_url"] = store_database(tmp_path)
    return load_settings(env={}, paths=paths, **overrides)


class FixedClock:
    """A clock that advances by one millisecond each time it is read (stable, ordered timestamps)."""

    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, 0, 0)) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current


def seeded_rng(seed: int = 7) -> random.Random:
    return random.Random(seed)
