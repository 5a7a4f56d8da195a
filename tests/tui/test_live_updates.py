"""An HTTP request changes something and the TUI, running on the same loop, shows it through the bus."""

from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.tui.app import PreclinicalApp
from tests.support import FixedClock, isolated_settings


async def test_agent_created_over_http_appears_on_the_dashboard(tmp_path, aiohttp_client):
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock()) as rt:
        client = await aiohttp_client(make_app(rt))
        app = PreclinicalApp(rt, api_url=str(client.make_url("")))
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one("#counts")
            assert table.get_row("agents")[1] == "1"  # the seeded demo bot
            resp = await client.post("/api/v1/agents", json={"provider": "demo", "name": "Second bot"})
            assert resp.status == 201
            await pilot.pause()
            assert table.get_row("agents")[1] == "2"
