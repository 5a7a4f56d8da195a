"""The write-ahead log is copied back into the database file by a thread of the process, not by a commit."""

from __future__ import annotations

import sqlite3
import threading
import time

from preclinical.store import db as store_db


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite checkpoint" and t.is_alive()]


def test_writes_reach_the_database_file_while_it_stays_open_and_close_stops_the_thread(tmp_path):
    path = tmp_path / "store.db"
    store_db.open_database(path)
    try:
        # The connection's own automatic checkpoint is a backstop far above what a run writes between beats.
        assert store_db.database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0] == store_db.AUTOCHECKPOINT_PAGES
        assert len(_checkpoint_threads()) == 1
        store_db.database.execute_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")
        size_before = path.stat().st_size
        for i in range(200):  # well under the backstop: without the thread all of this stays in the log
            store_db.database.execute_sql("INSERT INTO note (body) VALUES (?)", (f"turn {i} " + "x" * 2000,))
        deadline = time.monotonic() + 10
        while path.stat().st_size < size_before + 200 * 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= size_before + 200 * 2000
        # A reader of the file alone (the log set aside) sees every row: they were checkpointed.
        copy = tmp_path / "copy.db"
        copy.write_bytes(path.read_bytes())
        with sqlite3.connect(copy) as conn:
            assert conn.execute("SELECT COUNT(*) FROM note").fetchone()[0] == 200
    finally:
        store_db.close_database()
    assert _checkpoint_threads() == []


def test_an_in_memory_database_has_no_checkpoint_thread():
    store_db.open_database(":memory:")
    try:
        assert _checkpoint_threads() == []
    finally:
        store_db.close_database()


def test_a_removed_database_is_not_created_again_by_the_thread(tmp_path):
    path = tmp_path / "gone.db"
    store_db.open_database(path)
    try:
        store_db.database.close()
        for name in ("gone.db", "gone.db-wal", "gone.db-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        time.sleep(store_db.CHECKPOINT_EVERY_S * 3)
        assert not path.exists()
        assert len(_checkpoint_threads()) == 1  # still beating, quietly
    finally:
        store_db.close_database()
