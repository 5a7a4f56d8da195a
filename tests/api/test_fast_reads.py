"""The fast scenario-run list gives exactly what the row serializer gives, for every state a row can be in."""

import asyncio

import orjson

from preclinical.library import DEMO_AGENT_ID
from preclinical.store import runs
from preclinical.store.fast_reads import scenario_runs_json
from preclinical.store.serialize import scenario_run_json


def as_json(value):
    return orjson.loads(orjson.dumps(value))


async def test_fast_list_matches_the_serializer(client, runtime):
    run, _ = runtime.executor.start({"agent_id": DEMO_AGENT_ID, "max_scenarios": 4, "max_turns": 5})
    await asyncio.wait_for(runtime.executor.wait(run.id), 20)
    other, _ = runtime.executor.start({"agent_id": DEMO_AGENT_ID, "max_scenarios": 3, "max_turns": 5})
    runtime.executor.cancel(runs.resolve_run(other.id))  # canceled rows: no grading, partial or empty transcript
    for run_id in (run.id, other.id):
        items, total = runs.scenario_runs_page(runs.resolve_run(run_id), limit=50)
        fast, fast_total = scenario_runs_json(run_id, limit=50, offset=0)
        assert fast_total == total
        assert as_json(fast) == as_json([scenario_run_json(*item) for item in items])
    page, total = scenario_runs_json(run.id, limit=2, offset=1, status="passed")
    assert total == runs.counts(run.id).get("passed", 0)
    assert [r["status"] for r in page] == ["passed"] * len(page)


async def test_fast_run_list_matches_the_serializer(client, runtime):
    from preclinical.store.fast_reads import test_runs_json
    from preclinical.store.serialize import test_run_json

    done, _ = runtime.executor.start({"agent_id": DEMO_AGENT_ID, "max_scenarios": 1, "max_turns": 5, "name": "a"})
    await asyncio.wait_for(runtime.executor.wait(done.id), 20)
    live, _ = runtime.executor.start({"agent_id": DEMO_AGENT_ID, "max_scenarios": 2, "benchmark_mode": True})
    runtime.executor.cancel(runs.resolve_run(live.id))
    gone, _ = runtime.executor.start({"agent_id": DEMO_AGENT_ID, "max_scenarios": 1})
    runtime.executor.delete(runs.resolve_run(gone.id))
    for status in (None, "completed", "canceled"):
        rows, total = runs.list_runs(limit=10, offset=0, status=status)
        fast, fast_total = test_runs_json(limit=10, offset=0, status=status)
        assert fast_total == total and as_json(fast) == as_json([test_run_json(r) for r in rows])
    assert [r["id"] for r in test_runs_json(limit=10, offset=0)[0]] == [live.id, done.id]
