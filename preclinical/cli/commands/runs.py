"""`preclinical run` and `preclinical runs list|get|cancel|delete|watch|compare`: start, follow, compare and gate test runs."""

from __future__ import annotations

import click

from preclinical.cli.client import ApiClient
from preclinical.cli.commands.agents import find_agent
from preclinical.cli.commands.compare import compare
from preclinical.cli.commands.options import comma_list, json_flag, segment
from preclinical.cli.exit_codes import OK
from preclinical.cli.invoke import run_async, warn
from preclinical.cli.progress import watch_run
from preclinical.cli.render import console, fields, print_json, print_json_line, run_detail, runs_table, show
from preclinical.domain.run import RunRequest, RunStatus

WATCH_JSON = click.option("--json", "as_json", is_flag=True,
                          help="Print the raw JSON; when watching, one object per line (start, events, summary).")
FAIL_UNDER = click.option(
    "--fail-under", type=click.FloatRange(0, 100), default=None, metavar="PCT",
    help="Exit 0 when the pass rate is at least PCT, 1 below it (instead of 1 whenever a scenario failed); "
         "implies --watch.")


@click.command()
@click.argument("agent")
@click.option("-n", "--name", default=None, help="A name for the run.")
@click.option("--max-turns", type=int, default=None, help="Conversation turns per scenario (clamped to 5–15 by default).")
@click.option("--tags", default=None, metavar="A,B", help="Only scenarios with any of these tags.")
@click.option("--scenario-ids", default=None, metavar="X,Y", help="Exactly these scenarios.")
@click.option("--concurrency", type=int, default=None, help="Scenarios played at the same time (default 6).")
@click.option("--max-scenarios", type=int, default=None, help="At most this many scenarios.")
@click.option("--benchmark", is_flag=True, help="Benchmark mode: every scenario must be a triage case with a gold level.")
@click.option("--creative", is_flag=True, help="Adversarial patient that plans attacks (needs a language model).")
@click.option("-w", "--watch", is_flag=True, help="Follow the run to its end, then summarise it and set the exit code.")
@FAIL_UNDER
@WATCH_JSON
def run(agent: str, name: str | None, max_turns: int | None, tags: str | None, scenario_ids: str | None,
        concurrency: int | None, max_scenarios: int | None, benchmark: bool, creative: bool, watch: bool,
        fail_under: float | None, as_json: bool) -> None:
    """Start a test run against AGENT (its id, or its name when unique).

    With --watch (implied by --fail-under) the command waits for the end of the run and exits 0 when
    every scenario passed, 1 when some failed, 2 when there is no verdict (errors, canceled).
    """
    watch = watch or fail_under is not None
    tag_list, id_list = comma_list(tags), comma_list(scenario_ids)

    async def action(api: ApiClient) -> int:
        found = await find_agent(api, agent)
        request = RunRequest(
            agent_id=found["id"], name=name, max_turns=max_turns, concurrency_limit=concurrency,
            max_scenarios=max_scenarios, tags=tuple(tag_list) if tag_list is not None else None,
            scenario_ids=tuple(id_list) if id_list is not None else None, benchmark_mode=benchmark, creative_mode=creative)
        started = await api.call("POST", "/start-run", json_body=request.to_json())
        out = console()
        if as_json and watch:
            print_json_line(started)  # the first of the JSON lines the watch prints
        elif as_json:
            print_json(started)
        else:
            click.echo(f"Started run: {started['test_run_id']}")
            out.print(fields([("  UUID", started["id"]), ("  Status", started["status"]),
                              ("  Total scenarios", started["total_scenarios"]),
                              ("  Launched", started["scenarios_launched"])]))
        for skipped in started.get("skipped") or []:
            warn(f"skipped {skipped.get('name') or skipped.get('id')}: {skipped.get('reason')}")
        not_gradable = started.get("not_gradable_offline") or []
        if not_gradable:
            names = ", ".join(str(i.get("name") or i.get("id")) for i in not_gradable[:5])
            more = f" and {len(not_gradable) - 5} more" if len(not_gradable) > 5 else ""
            warn(f"{len(not_gradable)} scenario(s) {not_gradable[0].get('reason')} ({names}{more}).")
        if watch:
            run_row = await api.get(f"/api/v1/tests/{started['id']}")
            return await watch_run(api, run_row, console=out, json_mode=as_json, fail_under=fail_under)
        if api.is_local:
            click.echo("No server to hand the run to: running it here until it ends…", err=True)
            await api.settle(started["id"])
            final = await api.get(f"/api/v1/tests/{started['id']}")
            click.echo(f"Run {final['test_run_id']} {final['status']}: {final['passed_count']} passed, "
                       f"{final['failed_count']} failed, {final['error_count']} errors", err=True)
        return OK

    run_async(action, verdict=True)


@click.group()
def runs() -> None:
    """List, inspect, cancel, delete, watch and compare test runs."""


@runs.command("list")
@click.option("-l", "--limit", type=int, default=None, help="At most this many runs (1–100, default 25).")
@click.option("-o", "--offset", type=int, default=None, help="Skip this many runs.")
@click.option("-s", "--status", default=None,
              type=click.Choice([s.value for s in RunStatus]),
              help="Only runs with this status.")
@click.option("-a", "--agent", default=None, help="Only runs of this agent (id or name).")
@json_flag
def list_runs(limit: int | None, offset: int | None, status: str | None, agent: str | None, as_json: bool) -> None:
    """List test runs, newest first."""

    async def action(api: ApiClient) -> None:
        agent_id = (await find_agent(api, agent))["id"] if agent else None
        page = await api.get("/api/v1/tests", limit=limit, offset=offset, status=status, agent_id=agent_id)
        if as_json:
            print_json(page)
        else:
            console().print(runs_table(page["runs"], page["total"]))

    run_async(action)


@runs.command("get")
@click.argument("run_id")
@json_flag
def get_run(run_id: str, as_json: bool) -> None:
    """Show a test run (RUN_ID is its UUID or its run_… id)."""

    async def action(api: ApiClient) -> None:
        found = await api.get(f"/api/v1/tests/{segment(run_id)}")
        show(found, as_json, run_detail)

    run_async(action)


@runs.command("cancel")
@click.argument("run_id")
@json_flag
def cancel_run(run_id: str, as_json: bool) -> None:
    """Cancel a running test run: in-flight conversations stop now."""

    async def action(api: ApiClient) -> None:
        result = await api.call("POST", "/cancel-run", json_body={"test_run_id": run_id})
        if as_json:
            print_json(result)
        elif "canceled_scenarios" in result:
            click.echo(f"Canceled run {run_id}: {result['canceled_scenarios']} scenario(s) canceled")
        else:
            click.echo(f"Run {run_id} is already {result.get('status')}: {result.get('message', 'nothing to cancel')}")

    run_async(action)


@runs.command("delete")
@click.argument("run_id")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@json_flag
def delete_run(run_id: str, force: bool, as_json: bool) -> None:
    """Delete a test run (a running one is canceled first)."""

    async def action(api: ApiClient) -> None:
        found = await api.get(f"/api/v1/tests/{segment(run_id)}")
        if not force:
            click.confirm(f"Delete test run {found['test_run_id']} ({found.get('agent_name')}, {found['status']})?",
                          abort=True, err=True)
        await api.call("DELETE", f"/api/v1/tests/{found['id']}")
        if as_json:
            print_json({"id": found["id"], "test_run_id": found["test_run_id"], "deleted": True})
        else:
            click.echo(f"Deleted test run {found['test_run_id']}")

    run_async(action)


@runs.command("watch")
@click.argument("run_id")
@FAIL_UNDER
@WATCH_JSON
def watch(run_id: str, fail_under: float | None, as_json: bool) -> None:
    """Follow a test run to its end, then summarise it; the exit code is the run's verdict.

    A finished run is replayed at once. In local mode an unfinished run is resumed in this process.
    """

    async def action(api: ApiClient) -> int:
        found = await api.get(f"/api/v1/tests/{segment(run_id)}")
        return await watch_run(api, found, console=console(), json_mode=as_json, fail_under=fail_under)

    run_async(action, verdict=True, resume_runs=True)


runs.add_command(compare)
