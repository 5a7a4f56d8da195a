"""Regenerate the README's screenshots: the dashboard, a live run and a graded scenario run.

    python -m tests.tui.screenshots docs/

They use the snapshot tests' database (the library and five offline runs against the demo bots). The
live run is a new run whose demo bot answers after a short pause (as a networked agent would), so
the picture catches it part-way.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

from preclinical.library import DEMO_AGENT_ID
from preclinical.providers.demo import DemoSession
from preclinical.runtime import open_runtime
from preclinical.tui.app import PreclinicalApp
from tests.support import FixedClock, isolated_settings, seeded_rng
from tests.tui.conftest import API_URL, APP_CLOCK_START, APP_SEED, _build_library_database
from tests.tui.driving import wait_until

SIZE = (120, 40)
AGENT_PAUSE_S = 0.04


async def shoot(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HOME"] = tmp  # the dashboard shows the data directory as ~/data
        ids = await _build_library_database(Path(tmp) / "template")
        settings = isolated_settings(Path(tmp))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(tmp) / "template" / "data" / "preclinical.db", settings.database_path)
        async with open_runtime(settings, now=FixedClock(APP_CLOCK_START), rng=seeded_rng(APP_SEED)) as rt:
            app = PreclinicalApp(rt, api_url=API_URL)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause(0.3)
                app.save_screenshot("dashboard.svg", str(target))

                app.show_scenario_run(ids["failed_scenario_run"])
                await wait_until(pilot, lambda: app.screen.query_one("#criteria").row_count)
                await pilot.pause(0.3)
                app.save_screenshot("scenario-run.svg", str(target))
                await pilot.press("escape")

                send = DemoSession.send

                async def thoughtful_send(self, message, ctx):  # a bot on the network takes a moment
                    await asyncio.sleep(AGENT_PAUSE_S)
                    return await send(self, message, ctx)

                DemoSession.send = thoughtful_send
                try:
                    run = app.start_run({"agent_id": DEMO_AGENT_ID, "name": "Nightly triage check",
                                         "max_scenarios": 30, "concurrency_limit": 6})
                    app.show_run(run.id)
                    await wait_until(pilot, lambda: sum(1 for r in app.screen.rows.values()
                                                        if r["status"] in ("passed", "failed")) >= 14, timeout=60)
                    await pilot.pause(0.15)
                    app.save_screenshot("run.svg", str(target))
                    rt.executor.cancel(app.screen.run)
                finally:
                    DemoSession.send = send


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(target))
    print(f"wrote {target}/dashboard.svg, run.svg, scenario-run.svg")


if __name__ == "__main__":
    main()
