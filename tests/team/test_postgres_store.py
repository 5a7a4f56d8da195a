"""PostgreSQL as the store: chosen by URL, versioned and migrated forward like SQLite, portable SQL."""

from __future__ import annotations

import threading

import pytest

from preclinical.config import load_settings
from preclinical.errors import InvalidInput
from preclinical.paths import Paths
from preclinical.store import migrations
from preclinical.store.db import close_database, database, is_postgres, open_database, schema_version
from preclinical.store.models import ALL_MODELS, Agent


def _paths(tmp_path):
    return Paths(data_dir=tmp_path / "data", config_file=tmp_path / "config.toml", log_dir=tmp_path / "logs")


def test_the_environment_or_the_config_file_chooses_postgresql(tmp_path):
    paths = _paths(tmp_path)
    assert load_settings(env={}, paths=paths).database_target == tmp_path / "data" / "preclinical.db"
    paths.config_file.write_text('database_url = "postgresql://team:s3cret@db.internal:5432/preclinical"\n')
    from_file = load_settings(env={}, paths=paths)
    assert from_file.database_target == "postgresql://team:s3cret@db.internal:5432/preclinical"
    assert from_file.database_label == "postgresql://team:***@db.internal:5432/preclinical"
    from_env = load_settings(env={"PRECLINICAL_DATABASE_URL": "postgresql://ci@other/pc"}, paths=paths)
    assert from_env.database_target == "postgresql://ci@other/pc"  # the environment wins over the file


def test_a_url_that_is_not_postgresql_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(InvalidInput, match="postgresql://"):
        load_settings(env={"PRECLINICAL_DATABASE_URL": "mysql://x@y/z"}, paths=_paths(tmp_path))


def test_an_unreachable_server_is_a_clear_error(postgres_server):
    url = postgres_server.url("no_such_database")
    with pytest.raises(InvalidInput, match="Cannot connect to the PostgreSQL database.*no_such_database"):
        open_database(url)


def _first_schema(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in filter(None, (s.strip() for s in migrations.for_postgres(migrations.V1).split(";"))):
            conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute(
            "INSERT INTO agent (id, provider, name, config, is_active, created_at, updated_at) "
            "VALUES ('5f0c9a52-7d8e-4c55-9a41-0d7a4a1c2b3e', 'demo', 'old bot', '{\"style\": \"hasty\"}', 1, "
            "'2026-01-01 10:00:00', '2026-01-01 10:00:00')")


def test_a_first_schema_database_upgrades_and_keeps_its_rows(postgres_databases, tmp_path):
    url = postgres_databases(tmp_path)
    _first_schema(url)
    open_database(url)
    try:
        assert is_postgres() and schema_version() == migrations.LATEST
        agent = Agent.get_by_id("5f0c9a52-7d8e-4c55-9a41-0d7a4a1c2b3e")
        assert agent.name == "old bot" and agent.config == {"style": "hasty"} and agent.is_active is True
        for model in ALL_MODELS:  # every column the models use exists after the upgrade
            columns = {c.name for c in database.get_columns(model._meta.table_name)}
            assert {f.column_name for f in model._meta.sorted_fields} <= columns, model
    finally:
        close_database()
    open_database(url)  # reopening changes nothing
    assert schema_version() == migrations.LATEST
    close_database()


def test_processes_starting_together_migrate_once(postgres_databases, tmp_path):
    """A server and its workers may start at the same moment against an empty database."""
    from preclinical.store.db import PostgresDatabase

    url = postgres_databases(tmp_path)
    results, errors = [], []

    def start() -> None:
        db = PostgresDatabase(url, prefer_psycopg3=True)
        try:
            results.append(migrations.upgrade(db))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and results == [migrations.LATEST] * 4


def test_a_database_from_a_newer_version_is_refused(postgres_databases, tmp_path):
    url = postgres_databases(tmp_path)
    open_database(url)
    database.execute_sql("UPDATE schema_version SET version = %s", (migrations.LATEST + 1,))
    close_database()
    with pytest.raises(RuntimeError, match="newer Preclinical"):
        open_database(url)
    close_database()
