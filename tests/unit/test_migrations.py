"""A database made by the first schema upgrades to the latest, keeping its rows."""

import sqlite3

from preclinical.store import migrations
from preclinical.store.db import close_database, open_database, schema_version
from preclinical.store.models import ALL_MODELS, Agent


def make_first_schema_db(path):
    con = sqlite3.connect(path)
    for statement in filter(None, (s.strip() for s in migrations.V1.split(";"))):
        con.execute(statement)
    con.execute("PRAGMA user_version = 1")
    con.execute(
        "INSERT INTO agent (id, provider, name, config, is_active, created_at, updated_at) "
        "VALUES ('5f0c9a52-7d8e-4c55-9a41-0d7a4a1c2b3e', 'demo', 'old bot', '{\"style\": \"hasty\"}', 1, "
        "'2026-01-01 10:00:00', '2026-01-01 10:00:00')"
    )
    con.commit()
    con.close()


def test_first_schema_database_upgrades_and_keeps_rows(tmp_path):
    path = tmp_path / "old.db"
    make_first_schema_db(path)
    open_database(path)
    try:
        assert schema_version() == migrations.LATEST
        agent = Agent.get_by_id("5f0c9a52-7d8e-4c55-9a41-0d7a4a1c2b3e")
        assert agent.name == "old bot" and agent.config == {"style": "hasty"}
        # Every column the models use exists after the upgrade.
        from preclinical.store.db import database

        for model in ALL_MODELS:
            columns = {c.name for c in database.get_columns(model._meta.table_name)}
            assert {f.column_name for f in model._meta.sorted_fields} <= columns, model
    finally:
        close_database()


def test_database_file_is_private_and_reopening_is_idempotent(tmp_path):
    path = tmp_path / "d" / "x.db"
    open_database(path)
    close_database()
    open_database(path)
    close_database()
    assert (path.stat().st_mode & 0o777) == 0o600


def test_both_grading_models_map_their_tables_column_for_column(tmp_path):
    # Grading and RegradeGrading share their columns through one base model; the migrations own the DDL, so
    # each model must still name exactly the columns of its table, with the same NULL-ability.
    from preclinical.store.db import database
    from preclinical.store.models import Grading, GradingColumns, RegradeGrading

    open_database(tmp_path / "g.db")
    try:
        for model in (Grading, RegradeGrading):
            # (SQLite reports a TEXT PRIMARY KEY as nullable: the key's NULL-ability is not compared)
            table = {c.name: c.null or c.primary_key for c in database.get_columns(model._meta.table_name)}
            fields = {f.column_name: f.null or f.primary_key for f in model._meta.sorted_fields}
            assert fields == table, model
            assert set(GradingColumns._meta.fields) <= set(model._meta.fields)
        assert not database.table_exists(GradingColumns._meta.table_name)
    finally:
        close_database()
