"""peewee models over the schema that `migrations.py` creates (the migrations, not these classes, own the DDL).

The field types behave the same on SQLite and PostgreSQL: JSON is stored and read back as text
(encoded and decoded with orjson here), booleans as INTEGER 0/1, timestamps as naive UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from peewee import (
    AutoField,
    CharField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    Node,
    TextField,
)
from peewee import BooleanField as _BooleanField
from peewee import DateTimeField as _DateTimeField
from peewee import JSONField as _JSONField

from preclinical import json_codec
from preclinical.domain.run import RunStatus, ScenarioRunStatus
from preclinical.store.db import database


class JSONField(_JSONField):
    """JSON column read and written with orjson (transcripts are the bulk of every list page).

    Always text on the wire, on both stores: PostgreSQL casts the text to its `json` column type
    (which keeps it verbatim) and the connection reads `json` back as text (see `db.PostgresDatabase`).
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(dumps=json_codec.dumps, loads=json_codec.loads, **kwargs)

    def db_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Node):
            return value
        return self._dumps(value)  # type: ignore[attr-defined]

    def python_value(self, value: Any) -> Any:
        if isinstance(value, str | bytes):
            return self._loads(value)  # type: ignore[attr-defined]
        return value


class BooleanField(_BooleanField):
    """A flag stored as INTEGER 0/1 on both stores, so raw SQL can compare it with 1 everywhere."""

    def db_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Node):
            return value
        return 1 if value else 0

    def python_value(self, value: Any) -> Any:
        return None if value is None else bool(value)


class DateTimeField(_DateTimeField):
    """Naive-UTC datetimes parsed with `fromisoformat` (peewee's strptime fallbacks are slow)."""

    def python_value(self, value: object) -> object:
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        return value


class BaseModel(Model):
    class Meta:
        database = database


class Agent(BaseModel):
    id = CharField(primary_key=True)
    provider = TextField()
    name = TextField()
    description = TextField(null=True)
    config = JSONField(default=dict)
    is_active = BooleanField(default=True)
    deleted_at = DateTimeField(null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    class Meta:
        table_name = "agent"


class Scenario(BaseModel):
    scenario_id = CharField(primary_key=True)
    name = TextField()
    category = TextField(null=True)
    scenario_type = TextField(default="full")
    content = JSONField(default=dict)
    rubric_criteria = JSONField(default=list)
    is_active = BooleanField(default=True)
    approved = BooleanField(default=True)
    priority = IntegerField(null=True)
    tags = JSONField(default=list)
    source = TextField(default="api")
    library_key = TextField(null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    class Meta:
        table_name = "scenario"


class ScenarioTag(BaseModel):
    tag = TextField()
    scenario = ForeignKeyField(Scenario, column_name="scenario_id", on_delete="CASCADE")

    class Meta:
        table_name = "scenario_tag"
        primary_key = False


class TestSuite(BaseModel):
    id = CharField(primary_key=True)
    name = TextField(null=True)
    description = TextField(null=True)
    scenario_ids = JSONField(default=list)
    created_at = DateTimeField()

    class Meta:
        table_name = "test_suite"


class TestRun(BaseModel):
    id = CharField(primary_key=True)
    test_run_id = TextField(unique=True)
    test_suite = ForeignKeyField(TestSuite, column_name="test_suite_id", null=True, on_delete="SET NULL")
    agent = ForeignKeyField(Agent, column_name="agent_id", null=True, on_delete="SET NULL")
    # peewee adds `<field>_id` accessors for foreign keys; declared for the type checker only
    test_suite_id: str | None
    agent_id: str | None
    agent_type = TextField(null=True)
    agent_name = TextField(null=True)
    name = TextField(null=True)
    status = TextField(default=RunStatus.PENDING)
    total_scenarios = IntegerField(default=0)
    max_turns = IntegerField(null=True)
    concurrency_limit = IntegerField(default=6)
    passed_count = IntegerField(default=0)
    failed_count = IntegerField(default=0)
    error_count = IntegerField(default=0)
    pass_rate = FloatField(default=0.0)
    benchmark_mode = BooleanField(default=False)
    creative_mode = BooleanField(default=False)
    repeats = IntegerField(default=1)
    spec = JSONField(null=True)  # what produced the run (engine/spec.py), recorded when it starts
    is_finalizing = BooleanField(default=False)
    finalize_started_at = DateTimeField(null=True)
    started_at = DateTimeField(null=True)
    completed_at = DateTimeField(null=True)
    canceled_at = DateTimeField(null=True)
    deleted_at = DateTimeField(null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()
    owner_id = TextField(null=True)  # the process driving the run (see store/leases.py)
    lease_expires_at = DateTimeField(null=True)

    class Meta:
        table_name = "test_run"


class ScenarioRun(BaseModel):
    id = CharField(primary_key=True)
    test_run = ForeignKeyField(TestRun, column_name="test_run_id", on_delete="CASCADE", backref="scenario_runs")
    scenario = ForeignKeyField(Scenario, column_name="scenario_id", null=True, on_delete="SET NULL")
    test_run_id: str
    scenario_id: str | None
    position = IntegerField(default=0)
    repeat_index = IntegerField(default=0)
    status = TextField(default=ScenarioRunStatus.PENDING)
    transcript = JSONField(default=list)
    metadata = JSONField(null=True)
    error_code = TextField(null=True)
    error_message = TextField(null=True)
    last_heartbeat_at = DateTimeField(null=True)
    duration_ms = IntegerField(null=True)
    started_at = DateTimeField(null=True)
    completed_at = DateTimeField(null=True)
    canceled_at = DateTimeField(null=True)
    created_at = DateTimeField()
    attempts = IntegerField(default=0)
    prompt_tokens = IntegerField(default=0)
    completion_tokens = IntegerField(default=0)
    model_calls = IntegerField(default=0)
    owner_id = TextField(null=True)
    lease_expires_at = DateTimeField(null=True)

    class Meta:
        table_name = "scenario_run"


class GradingColumns(BaseModel):
    """The columns a grading of one scenario run has, shared by the run's own (`Grading`) and a regrade's
    (`RegradeGrading`). Never a table of its own; the migrations, not this class, define both tables."""

    id = CharField(primary_key=True)
    passed = BooleanField(null=True)
    total_points = FloatField(default=0)
    max_points = FloatField(default=0)
    score_percent = FloatField(default=0)
    summary = TextField(null=True)
    criteria_results = JSONField(default=list)
    triage_result = TextField(null=True)
    gold_standard = TextField(null=True)
    triage_correct = BooleanField(null=True)
    model = TextField(null=True)
    created_at = DateTimeField()


class Grading(GradingColumns):
    scenario_run = ForeignKeyField(ScenarioRun, column_name="scenario_run_id", on_delete="CASCADE")
    scenario_run_id: str
    graded_at = DateTimeField()
    engine = TextField(default="model")

    class Meta:
        table_name = "grading"


class RunEvent(BaseModel):
    id = AutoField()
    test_run = ForeignKeyField(TestRun, column_name="test_run_id", on_delete="CASCADE")
    test_run_id: str
    tbl = TextField()
    event_type = TextField()
    payload = JSONField(default=dict)
    created_at = DateTimeField()

    class Meta:
        table_name = "run_event"


class Regrade(BaseModel):
    """A finished run graded again; its gradings (`RegradeGrading`) sit beside the run's own."""

    id = CharField(primary_key=True)
    test_run = ForeignKeyField(TestRun, column_name="test_run_id", on_delete="CASCADE")
    test_run_id: str
    label = TextField()
    engine = TextField()
    judge_model = TextField(null=True)
    temperature = FloatField(null=True)
    rubric_overrides = JSONField(null=True)
    status = TextField(default="running")
    total = IntegerField(default=0)
    graded = IntegerField(default=0)
    errors = IntegerField(default=0)
    created_at = DateTimeField()
    completed_at = DateTimeField(null=True)

    class Meta:
        table_name = "regrade"


class RegradeGrading(GradingColumns):
    regrade = ForeignKeyField(Regrade, column_name="regrade_id", on_delete="CASCADE")
    scenario_run = ForeignKeyField(ScenarioRun, column_name="scenario_run_id", on_delete="CASCADE")
    scenario_run_id: str
    engine = TextField()
    error = TextField(null=True)

    class Meta:
        table_name = "regrade_grading"


class Review(BaseModel):
    """A clinician's reading of one scenario run: each criterion's decision, the disposition, a note."""

    id = CharField(primary_key=True)
    scenario_run = ForeignKeyField(ScenarioRun, column_name="scenario_run_id", on_delete="CASCADE")
    scenario_run_id: str
    reviewer = TextField()
    criteria = JSONField(default=list)
    disposition = TextField(null=True)
    note = TextField(null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    class Meta:
        table_name = "review"


ALL_MODELS = [Agent, Scenario, ScenarioTag, TestSuite, TestRun, ScenarioRun, Grading, RunEvent, Regrade, RegradeGrading, Review]
