"""The database: SQLite by default, PostgreSQL from a URL; deferred initialisation and forward migrations.

`database` is a proxy that `open_database` points at either store at run time, so every module
imports the same object. Raw SQL elsewhere in store/ is written once, in the subset both stores
share, with `?` placeholders; `execute` adapts it to the open store (see `portable`).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from peewee import Database, DatabaseProxy, Expression, Node, PostgresqlDatabase, SqliteDatabase, Value, fn

from preclinical.domain import json_limits
from preclinical.errors import InvalidInput
from preclinical.paths import private_dir
from preclinical.store import migrations

log = logging.getLogger(__name__)

# One database object for the process; `open_database` points it at a file or a server at run time.
database = DatabaseProxy()

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 5000,
    "cache_size": -16000,  # 16 MB page cache
}

# WAL checkpoints run on a thread of their own (see `_Checkpointer`); the connection's own automatic checkpoint
# is only a backstop, at a size that thread keeps the log far below.
CHECKPOINT_EVERY_S = 0.5
AUTOCHECKPOINT_PAGES = 20000

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


class PostgresDatabase(PostgresqlDatabase):
    """PostgreSQL through psycopg 3, reading JSON columns back as text exactly as SQLite does.

    The fast read paths hand stored JSON to the client undecoded, and the models decode it once
    with orjson; psycopg's own JSON parsing would do that work twice.
    """

    def execute_sql(self, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        # Raw SQL in store/ is written once, for SQLite (`?` placeholders, json_extract); peewee's own
        # queries already use `%s` and carry no `?`, so they pass through untouched.
        if "?" in sql or "json_extract(" in sql:
            sql = _portable(sql, True)
        return super().execute_sql(sql, params, *args, **kwargs)

    def _connect(self) -> Any:
        from psycopg.types.string import TextLoader

        conn = super()._connect()  # type: ignore[misc]
        for name in ("json", "jsonb"):
            conn.adapters.register_loader(name, TextLoader)
        return conn


def _open_postgres(url: str) -> PostgresDatabase:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise InvalidInput(
            "PRECLINICAL_DATABASE_URL points at PostgreSQL, but the PostgreSQL driver is not installed: "
            "pip install 'preclinical-local[team]'") from None
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    db = PostgresDatabase(url, prefer_psycopg3=True)
    try:
        db.connect()
    except Exception as exc:  # the driver's message names host, port and the reason
        raise InvalidInput(f"Cannot connect to the PostgreSQL database: {_first_line(exc)}") from None
    return db


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _open_sqlite(path: Path) -> SqliteDatabase:
    if str(path) != ":memory:":
        private_dir(path.parent)
        if not path.exists():
            # Create the file with owner-only permissions before SQLite opens it.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(path, 0o600)
    pragmas = PRAGMAS if str(path) == ":memory:" else {**PRAGMAS, "wal_autocheckpoint": AUTOCHECKPOINT_PAGES}
    db = SqliteDatabase(str(path), pragmas=pragmas, timeout=5)
    db.connect()
    if str(path) != ":memory:":
        _checkpointer.start(path)
    return db


class _Checkpointer:
    """Copies the write-ahead log back into the database file on a thread of its own, every half second.

    SQLite otherwise does this inside the commit that fills the log past its limit: a pause of several
    milliseconds (it syncs the file) in the middle of the event loop every few hundred turns, which every
    conversation, live follower and screen waits through. A passive checkpoint never blocks a writer or a
    reader, and the sqlite3 module lets go of the GIL while SQLite works.
    """

    def __init__(self) -> None:
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, path: Path) -> None:
        self.stop()
        stop = self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path, stop), name="sqlite checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stop = self._thread = None

    @staticmethod
    def _run(path: Path, stop: threading.Event) -> None:
        conn = None
        uri = path.resolve().as_uri() + "?mode=rw"  # never creates a file where the database was removed
        try:
            while not stop.wait(CHECKPOINT_EVERY_S):
                try:
                    if conn is None:
                        conn = sqlite3.connect(uri, uri=True, timeout=0, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy or gone for a moment: the next beat tries again
                    log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            if conn is not None:
                conn.close()


_checkpointer = _Checkpointer()


def open_database(target: Path | str) -> Database:
    """Open the store at `target` (a SQLite file path, or a `postgresql://` URL) and bring its schema up to date.

    A SQLite file is created if needed, owner-readable only.
    """
    close_database()
    db = _open_postgres(str(target)) if is_postgres_url(target) else _open_sqlite(Path(target))
    database.initialize(db)
    migrations.upgrade(db)
    return db


def storable(data: Any) -> None:
    """Refuse (InvalidInput) a value that could be written but not read back or served: see `json_limits`."""
    try:
        json_limits.check(data)
    except json_limits.JSONLimitError as exc:
        raise InvalidInput(f"Refused: {exc}") from None


def close_database() -> None:
    _checkpointer.stop()
    if database.obj is not None and not database.is_closed():
        database.close()


def is_postgres(db: Any = database) -> bool:
    target = db.obj if isinstance(db, DatabaseProxy) else db
    return isinstance(target, PostgresqlDatabase)


def schema_version(db: Any = database) -> int:
    return migrations.current_version(db.obj if isinstance(db, DatabaseProxy) else db)


# -------------------------------------------------------------------------------------------- portable SQL
_JSON_FIELD = re.compile(r"json_extract\(([\w.]+), '\$\.([\w.]+)'\)")


def _json_path(m: re.Match[str]) -> str:
    *outer, last = m.group(2).split(".")
    return "(" + m.group(1) + "".join(f" -> '{k}'" for k in outer) + f" ->> '{last}')"


@lru_cache(maxsize=512)
def _portable(sql: str, postgres: bool) -> str:
    if not postgres:
        return sql
    # `json_extract(col, '$.a.b')` reads one text value; `->` / `->>` is PostgreSQL's spelling.
    sql = _JSON_FIELD.sub(_json_path, sql)
    sql = sql.replace(" IS ?", " IS NOT DISTINCT FROM ?")  # SQLite's null-safe equality
    if "?" not in sql:
        return sql
    return sql.replace("%", "%%").replace("?", "%s")


def portable(sql: str) -> str:
    """`sql`, written for SQLite with `?` placeholders, as the open store wants it."""
    return _portable(sql, is_postgres())


def json_text(field: Node, key: str) -> Node:
    """One top-level value of a JSON column, as text (a query-builder expression for either store)."""
    if is_postgres():
        return Expression(field, "->>", Value(key, converter=False))
    return fn.json_extract(field, f"$.{key}")


def execute(sql: str, params: Any = ()) -> Any:
    """Run raw SQL written in the shared subset (see `portable`); returns the cursor."""
    return database.execute_sql(_portable(sql, is_postgres()), params)


def as_datetime(value: Any) -> datetime | None:
    """A timestamp column read by raw SQL: text on SQLite, a `datetime` already on PostgreSQL."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if value else None
