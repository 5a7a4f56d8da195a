"""Forward-only schema migrations, the same steps on both stores.

Each step is frozen SQL written for SQLite in the subset PostgreSQL shares; `for_postgres` spells
the few differing column types for PostgreSQL. SQLite records how far a file is in
`PRAGMA user_version`; PostgreSQL in a one-row `schema_version` table, and its steps run under an
advisory lock so that a server and its workers starting together migrate once.

Never edit a released step: add a new one. Tests upgrade a database made by the first schema, on both.
Booleans are INTEGER 0/1 on both stores (see `models.BooleanField`), timestamps naive UTC.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from peewee import Database, PostgresqlDatabase

log = logging.getLogger(__name__)

V1 = """
CREATE TABLE agent (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    config JSON NOT NULL DEFAULT '{}',
    is_active INTEGER NOT NULL DEFAULT 1,
    deleted_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX agent_live ON agent (deleted_at, provider, name);

CREATE TABLE scenario (
    scenario_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT,
    scenario_type TEXT NOT NULL DEFAULT 'full' CHECK (scenario_type IN ('full', 'demo', 'custom')),
    content JSON NOT NULL DEFAULT '{}',
    rubric_criteria JSON NOT NULL DEFAULT '[]',
    is_active INTEGER NOT NULL DEFAULT 1,
    approved INTEGER NOT NULL DEFAULT 1,
    priority INTEGER,
    tags JSON NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT 'api',
    library_key TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX scenario_listing ON scenario (is_active, approved, name);
CREATE INDEX scenario_category ON scenario (category, name);
CREATE INDEX scenario_selection ON scenario (is_active, approved, priority, name);

CREATE TABLE scenario_tag (
    tag TEXT NOT NULL,
    scenario_id TEXT NOT NULL REFERENCES scenario (scenario_id) ON DELETE CASCADE,
    PRIMARY KEY (tag, scenario_id)
) WITHOUT ROWID;

CREATE TABLE test_suite (
    id TEXT PRIMARY KEY,
    name TEXT,
    description TEXT,
    scenario_ids JSON NOT NULL DEFAULT '[]',
    created_at DATETIME NOT NULL
);

CREATE TABLE test_run (
    id TEXT PRIMARY KEY,
    test_run_id TEXT NOT NULL UNIQUE,
    test_suite_id TEXT REFERENCES test_suite (id) ON DELETE SET NULL,
    agent_id TEXT REFERENCES agent (id) ON DELETE SET NULL,
    agent_type TEXT,
    agent_name TEXT,
    name TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'canceled', 'scheduled')),
    total_scenarios INTEGER NOT NULL DEFAULT 0,
    max_turns INTEGER,
    concurrency_limit INTEGER NOT NULL DEFAULT 6,
    passed_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0,
    pass_rate REAL NOT NULL DEFAULT 0,
    benchmark_mode INTEGER NOT NULL DEFAULT 0,
    creative_mode INTEGER NOT NULL DEFAULT 0,
    is_finalizing INTEGER NOT NULL DEFAULT 0,
    finalize_started_at DATETIME,
    started_at DATETIME,
    completed_at DATETIME,
    canceled_at DATETIME,
    deleted_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX test_run_list ON test_run (deleted_at, created_at);
CREATE INDEX test_run_status ON test_run (status, created_at);
CREATE INDEX test_run_agent ON test_run (agent_id, created_at);

CREATE TABLE scenario_run (
    id TEXT PRIMARY KEY,
    test_run_id TEXT NOT NULL REFERENCES test_run (id) ON DELETE CASCADE,
    scenario_id TEXT REFERENCES scenario (scenario_id) ON DELETE SET NULL,
    position INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'grading', 'passed', 'failed', 'error', 'canceled')),
    transcript JSON NOT NULL DEFAULT '[]',
    metadata JSON,
    error_code TEXT,
    error_message TEXT,
    last_heartbeat_at DATETIME,
    duration_ms INTEGER,
    started_at DATETIME,
    completed_at DATETIME,
    canceled_at DATETIME,
    created_at DATETIME NOT NULL
);
CREATE INDEX scenario_run_order ON scenario_run (test_run_id, position);
CREATE INDEX scenario_run_by_status ON scenario_run (test_run_id, status);
CREATE INDEX scenario_run_unfinished ON scenario_run (status) WHERE status IN ('pending', 'running', 'grading');

CREATE TABLE grading (
    id TEXT PRIMARY KEY,
    scenario_run_id TEXT NOT NULL REFERENCES scenario_run (id) ON DELETE CASCADE,
    passed INTEGER,
    total_points REAL NOT NULL DEFAULT 0,
    max_points REAL NOT NULL DEFAULT 0,
    score_percent REAL NOT NULL DEFAULT 0,
    summary TEXT,
    criteria_results JSON NOT NULL DEFAULT '[]',
    triage_result TEXT,
    gold_standard TEXT,
    triage_correct INTEGER,
    graded_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX grading_latest ON grading (scenario_run_id, created_at);

CREATE TABLE run_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    test_run_id TEXT NOT NULL REFERENCES test_run (id) ON DELETE CASCADE,
    tbl TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload JSON NOT NULL DEFAULT '{}',
    created_at DATETIME NOT NULL
);
CREATE INDEX run_event_replay ON run_event (test_run_id, id);
"""

# Version 2 (run engine): token use and engine per scenario run, engine and model per grading.
V2 = """
ALTER TABLE scenario_run ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scenario_run ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scenario_run ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scenario_run ADD COLUMN model_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE grading ADD COLUMN engine TEXT NOT NULL DEFAULT 'model';
ALTER TABLE grading ADD COLUMN model TEXT
"""

# Run spec: what produced a run (engine, patient and judge models and temperatures, prompt versions, the
# effective max_turns, the triage reader's version), recorded when it starts. Null for older runs.
V_RUN_SPEC = """
ALTER TABLE test_run ADD COLUMN spec JSON
"""

# Version 4 (one owner per run): the process that drives a run or scenario run, and until when its lease holds
# (renewed by its heartbeat). A process that finds a live owner follows the run instead of replaying it.
V_LEASES = """
ALTER TABLE test_run ADD COLUMN owner_id TEXT;
ALTER TABLE test_run ADD COLUMN lease_expires_at DATETIME;
ALTER TABLE scenario_run ADD COLUMN owner_id TEXT;
ALTER TABLE scenario_run ADD COLUMN lease_expires_at DATETIME;
CREATE INDEX test_run_owner ON test_run (owner_id) WHERE status = 'running';
CREATE INDEX scenario_run_owner ON scenario_run (owner_id) WHERE status IN ('pending', 'running', 'grading')
"""

# Repeats: how many times a run plays each scenario, and which repeat a scenario run is (0-based).
V_REPEATS = """
ALTER TABLE test_run ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
ALTER TABLE scenario_run ADD COLUMN repeat_index INTEGER NOT NULL DEFAULT 0
"""

# Regrades: a finished run graded again (another judge, temperature or rubric), stored beside
# the run's own gradings, never over them.
V_REGRADES = """
CREATE TABLE regrade (
    id TEXT PRIMARY KEY,
    test_run_id TEXT NOT NULL REFERENCES test_run (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    engine TEXT NOT NULL,
    judge_model TEXT,
    temperature REAL,
    rubric_overrides JSON,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    total INTEGER NOT NULL DEFAULT 0,
    graded INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    completed_at DATETIME
);
CREATE INDEX regrade_by_run ON regrade (test_run_id, created_at);

CREATE TABLE regrade_grading (
    id TEXT PRIMARY KEY,
    regrade_id TEXT NOT NULL REFERENCES regrade (id) ON DELETE CASCADE,
    scenario_run_id TEXT NOT NULL REFERENCES scenario_run (id) ON DELETE CASCADE,
    passed INTEGER,
    total_points REAL NOT NULL DEFAULT 0,
    max_points REAL NOT NULL DEFAULT 0,
    score_percent REAL NOT NULL DEFAULT 0,
    summary TEXT,
    criteria_results JSON NOT NULL DEFAULT '[]',
    triage_result TEXT,
    gold_standard TEXT,
    triage_correct INTEGER,
    engine TEXT NOT NULL,
    model TEXT,
    error TEXT,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX regrade_grading_one ON regrade_grading (regrade_id, scenario_run_id)
"""

# Clinician review: a reviewer's reading of one scenario run, one per reviewer and scenario run.
V_REVIEWS = """
CREATE TABLE review (
    id TEXT PRIMARY KEY,
    scenario_run_id TEXT NOT NULL REFERENCES scenario_run (id) ON DELETE CASCADE,
    reviewer TEXT NOT NULL,
    criteria JSON NOT NULL DEFAULT '[]',
    disposition TEXT,
    note TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX review_one_per_reviewer ON review (scenario_run_id, reviewer)
"""

Step = Callable[[Database], None]

_PG_TYPES = [
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bDATETIME\b"), "TIMESTAMP"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
]


def for_postgres(sql: str) -> str:
    """A step's SQLite DDL in PostgreSQL's spelling (JSON, TEXT, INTEGER, CHECK and partial indexes are shared)."""
    for pattern, replacement in _PG_TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


def _is_postgres(db: Database) -> bool:
    return isinstance(db, PostgresqlDatabase)


def _script(sql: str) -> Step:
    def apply(db: Database) -> None:
        text = for_postgres(sql) if _is_postgres(db) else sql
        for statement in filter(None, (s.strip() for s in text.split(";"))):
            db.execute_sql(statement)

    return apply


# Index i holds the step that takes a database from version i to i + 1.
STEPS: list[Step] = [_script(V1), _script(V2), _script(V_RUN_SPEC), _script(V_LEASES), _script(V_REPEATS),
                     _script(V_REGRADES), _script(V_REVIEWS)]

LATEST = len(STEPS)


# Any constant works: it names the lock that serialises schema changes among processes sharing one server.
_PG_LOCK = 0x70726563  # "prec"


def current_version(db: Database) -> int:
    if not _is_postgres(db):
        return db.execute_sql("PRAGMA user_version").fetchone()[0]
    if db.execute_sql("SELECT to_regclass('schema_version')").fetchone()[0] is None:
        return 0
    row = db.execute_sql("SELECT version FROM schema_version").fetchone()
    return row[0] if row else 0


def _set_version(db: Database, version: int) -> None:
    if _is_postgres(db):
        db.execute_sql("UPDATE schema_version SET version = %s", (version,))
    else:
        db.execute_sql(f"PRAGMA user_version = {version}")


def _too_new(current: int) -> None:
    if current > LATEST:
        raise RuntimeError(
            f"The database was made by a newer Preclinical (schema {current}, this one knows {LATEST})."
        )


def upgrade(db: Database) -> int:
    """Apply every missing step, each in its own transaction. Returns the resulting version."""
    postgres = _is_postgres(db)
    if postgres:
        with db.atomic():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
            db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            if db.execute_sql("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 0:
                db.execute_sql("INSERT INTO schema_version (version) VALUES (0)")
    _too_new(current_version(db))
    while True:
        with db.atomic():
            if postgres:  # another process may have moved on while this one waited for the lock
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
            current = current_version(db)
            _too_new(current)
            if current >= LATEST:
                return LATEST
            STEPS[current](db)
            _set_version(db, current + 1)
        log.info("database schema upgraded to version %d", current + 1)
