"""A scenario run's status change and the event that announces it are stored together, or not at all."""

import pytest

from preclinical.domain import errors as codes
from preclinical.domain.run import RunEvent, ScenarioRunStatus
from preclinical.library import DEMO_AGENT_ID
from preclinical.store import runs as store
from preclinical.store.events import events_after
from preclinical.store.models import Agent, Scenario, ScenarioRun


def new_run(rt, n=1):
    run, _ = store.create_run(rt.services, agent=Agent.get_by_id(DEMO_AGENT_ID),
                              scenario_ids=[s.scenario_id for s in Scenario.select().limit(n)],
                              options={"name": "status events", "max_turns": 5, "concurrency_limit": 1,
                                       "benchmark_mode": False, "creative_mode": False, "repeats": 1, "spec": {}},
                              suite_id=None, started_extra=None, owner_id="test")
    return run, list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))


def kinds(run_id):
    return [e.event_type for e in events_after(run_id)]


async def test_a_change_whose_event_cannot_be_logged_is_not_kept(runtime):
    run, [sr] = new_run(runtime)
    before = kinds(run.id)
    with pytest.raises(TypeError, match="not JSON serializable"):  # the payload cannot be written as JSON
        store.set_status(runtime.services, sr.id, ScenarioRunStatus.RUNNING,
                         event=(RunEvent.SCENARIO_STARTED, {"scenario_run_id": sr.id, "oops": object()}))
    assert ScenarioRun.get_by_id(sr.id).status == ScenarioRunStatus.PENDING
    assert kinds(run.id) == before


async def test_the_event_carries_the_change_and_no_separate_status_event_is_sent(runtime):
    run, [sr] = new_run(runtime)
    before = len(kinds(run.id))
    prev = store.set_status(runtime.services, sr.id, ScenarioRunStatus.RUNNING,
                            event=(RunEvent.SCENARIO_STARTED, {"scenario_run_id": sr.id, "scenario_name": "x"}))
    assert prev == ScenarioRunStatus.PENDING
    [event] = events_after(run.id)[before:]
    assert event.event_type == RunEvent.SCENARIO_STARTED
    assert event.payload == {"scenario_run_id": sr.id, "scenario_name": "x", "status": ScenarioRunStatus.RUNNING,
                             "prev_status": ScenarioRunStatus.PENDING}
    # A canceled row never changes again, and nothing is announced for it.
    store.set_status(runtime.services, sr.id, ScenarioRunStatus.CANCELED)
    count = len(kinds(run.id))
    assert store.set_status(runtime.services, sr.id, ScenarioRunStatus.ERROR,
                            event=(RunEvent.SCENARIO_ERROR, {"scenario_run_id": sr.id, "error": "late"})) is None
    assert len(kinds(run.id)) == count and ScenarioRun.get_by_id(sr.id).status == ScenarioRunStatus.CANCELED


async def test_a_scenario_run_interrupted_too_often_is_closed_with_one_error_event(runtime):
    run, [sr] = new_run(runtime)
    store.set_status(runtime.services, sr.id, ScenarioRunStatus.RUNNING, attempts=2)
    before = len(kinds(run.id))
    assert runtime.executor.resume_interrupted(run.id, ScenarioRun.get_by_id(sr.id)) is False
    row = ScenarioRun.get_by_id(sr.id)
    assert row.status == ScenarioRunStatus.ERROR and row.error_code == codes.INTERRUPTED
    [event] = events_after(run.id)[before:]
    assert event.event_type == RunEvent.SCENARIO_ERROR
    assert event.payload["error_code"] == codes.INTERRUPTED
    assert (event.payload["status"], event.payload["prev_status"]) == (ScenarioRunStatus.ERROR, ScenarioRunStatus.RUNNING)
