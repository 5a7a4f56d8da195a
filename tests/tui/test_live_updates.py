"""Changes made elsewhere (the HTTP API, the run engine) reach the screen through the bus, without polling."""

import asyncio
import re

from preclinical.library import DEMO_AGENT_ID
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.tui.app import PreclinicalApp
from tests.support import FixedClock, isolated_settings
from tests.tui.driving import text_of, wait_until


def count(app, label: str) -> int:
    match = re.search(rf"{label}\s+(\d+)", text_of(app.screen.query_one("#counts")))
    assert match, text_of(app.screen.query_one("#counts"))
    return int(match.group(1))


async def test_agent_created_over_http_appears_on_the_dashboard(tmp_path, aiohttp_client):
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock()) as rt:
        client = await aiohttp_client(make_app(rt))
        app = PreclinicalApp(rt, api_url=str(client.make_url("")))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: count(app, "Agents") == 1)  # the seeded demo bot
            resp = await client.post("/api/v1/agents", json={"provider": "demo", "name": "Second bot"})
            assert resp.status == 201
            await wait_until(pilot, lambda: count(app, "Agents") == 2, what="the new agent counted")


async def test_a_run_started_over_http_shows_up_and_finishes_on_the_dashboard(tmp_path, aiohttp_client):
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock()) as rt:
        client = await aiohttp_client(make_app(rt))
        app = PreclinicalApp(rt, api_url=str(client.make_url("")))
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one("#recent-runs")
            await wait_until(pilot, lambda: count(app, "Test runs") == 0)
            resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, "max_scenarios": 4,
                                                         "name": "From a script"})
            run_id = (await resp.json())["id"]
            await wait_until(pilot, lambda: table.row_count == 1, what="the run listed")
            await asyncio.wait_for(rt.executor.wait(run_id), 30)
            await wait_until(pilot, lambda: str(table.get_row(run_id)[2]) in ("Passed", "Failed"), what="the result")
            assert str(table.get_row(run_id)[0]) == "From a script"
            assert count(app, "Running now") == 0
            trend = app.screen.query(".trend")
            assert len(trend) == 1 and "1 run" in text_of(trend.first().query(".trend-last").first())
