"""The SQLite database: deferred initialisation, pragmas, and forward migrations by `PRAGMA user_version`."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from peewee import SqliteDatabase

from preclinical.domain import json_limits
from preclinical.errors import InvalidInput
from preclinical.paths import private_dir
from preclinical.store import migrations

log = logging.getLogger(__name__)

# One database object for the process; `open_database` points it at a file at run time.
database = SqliteDatabase(None)

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 5000,
    "cache_size": -16000,  # 16 MB page cache
}


def open_database(path: Path | str) -> SqliteDatabase:
    """Open (creating if needed) the database file, owner-readable only, and bring its schema up to date."""
    path = Path(path)
    if str(path) != ":memory:":
        private_dir(path.parent)
        if not path.exists():
            # Create the file with owner-only permissions before SQLite opens it.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(path, 0o600)
    if not database.is_closed():
        database.close()
    database.init(str(path), pragmas=PRAGMAS, timeout=5)
    database.connect(reuse_if_open=True)
    migrations.upgrade(database)
    return database


def storable(data: Any) -> None:
    """Refuse (InvalidInput) a value that could be written but not read back or served: see `json_limits`."""
    try:
        json_limits.check(data)
    except json_limits.JSONLimitError as exc:
        raise InvalidInput(f"Refused: {exc}") from None


def close_database() -> None:
    if not database.is_closed():
        database.close()


def schema_version(db: SqliteDatabase = database) -> int:
    return db.execute_sql("PRAGMA user_version").fetchone()[0]
