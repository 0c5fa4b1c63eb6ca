"""``formguide schedule``: recurring tasks (cron, UTC) that ``formguide worker`` queues when they are due.

Each run is an ordinary task (``formguide`` task list, ``GET /api/v1/tasks``) whose request names its schedule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from formguide.cli.render import check_output, emit_json, out, print_messages, render_view

__all__ = ["schedule_app"]

schedule_app = typer.Typer(help=__doc__, no_args_is_help=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store (FORMGUIDE_DB_URL).",
                                           show_default=False)]
NameArg = Annotated[str, typer.Argument(help="The schedule's name (formguide schedule list).")]
JsonOpt = Annotated[str | None, typer.Option("--json", metavar="FILE",
                                             help="Write the result as JSON to FILE ('-' = stdout).")]


def _show(result, json_target: str | None, wide: bool = False) -> None:  # type: ignore[no-untyped-def]
    if json_target:
        emit_json(result.json_data(), json_target)
        if json_target == "-":
            return
    for view in result.views:
        render_view(view, wide=wide)
    print_messages(result.messages)


@schedule_app.command("add")
def add(
    name: NameArg,
    kind: Annotated[str, typer.Option("--kind", help="train, ingest, predict, or refresh (ingest, then predict).")],
    cron: Annotated[str, typer.Option("--cron", help="Cron expression in UTC: minute hour day month weekday, e.g. "
                                      "'0 6 * * *' (06:00 daily), '0 5 * * mon' (Mondays 05:00).")],
    sport: Annotated[str, typer.Option("--sport", help="Sport plug-in (formguide info lists them).")] = "football",
    league: Annotated[str | None, typer.Option("--league", "--competition", help=(
        "Competition code (train/predict/refresh; default: the sport's default)."))] = None,
    bet_type: Annotated[str | None, typer.Option("--bet-type", help="Bet type (default: the sport's first).")] = None,
    path: Annotated[list[Path] | None, typer.Option("--path", help=(
        "File or folder to import, repeatable (ingest/refresh; default: <data>/<sport> and <data>/<sport>_*)."),
        show_default=False)] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Days of events a predict/refresh run "
                                      "predicts, from the day it runs.")] = 1,
    disabled: Annotated[bool, typer.Option("--disabled", help="Store it switched off (schedule enable NAME).")] = False,
    json_target: JsonOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a schedule; the cron expression and the task's request are checked now."""
    from formguide.app.job_schemas import ScheduleRequest
    from formguide.app.scheduling import add_schedule
    from formguide.cli import context

    check_output(json_target)
    if kind not in ("train", "ingest", "predict", "refresh"):
        from formguide.core.errors import FormguideError

        raise FormguideError(f"unknown --kind {kind!r}; expected train, ingest, predict or refresh")
    request = ScheduleRequest(name=name, kind=kind, cron=cron, sport=sport, competition=league, bet_type=bet_type,
                              paths=path or None, days=days, enabled=not disabled)
    with context(db) as ctx:
        _show(add_schedule(ctx, request), json_target)


@schedule_app.command("defaults")
def defaults(
    sport: Annotated[str, typer.Option("--sport", help="Sport plug-in.")] = "football",
    league: Annotated[str | None, typer.Option("--league", "--competition", help="Competition code.")] = None,
    bet_type: Annotated[str | None, typer.Option("--bet-type", help="Bet type.")] = None,
    db: DbOpt = None,
) -> None:
    """The standard pair: <sport>[-<league>]-refresh (ingest + predict daily at 06:00 UTC) and -retrain (train
    Mondays at 05:00 UTC)."""
    from formguide.app.scheduling import add_default_schedules
    from formguide.cli import context

    with context(db) as ctx:
        for info in add_default_schedules(ctx, sport, league, bet_type):
            print_messages(info.messages)


@schedule_app.command("list")
def list_(json_target: JsonOpt = None,
          wide: Annotated[bool, typer.Option("--wide", help="Show every column.")] = False,
          db: DbOpt = None) -> None:
    """Schedules with their cadence, next and last run (UTC) and their last task's status."""
    from formguide.app.scheduling import list_schedules
    from formguide.cli import context

    check_output(json_target)
    with context(db) as ctx:
        _show(list_schedules(ctx), json_target, wide)


@schedule_app.command("remove")
def remove(name: NameArg, db: DbOpt = None) -> None:
    """Delete a schedule (the tasks it queued stay in the task list)."""
    from formguide.app.scheduling import remove_schedule
    from formguide.cli import context

    with context(db) as ctx:
        print_messages(remove_schedule(ctx, name).messages)


@schedule_app.command("enable")
def enable(name: NameArg, db: DbOpt = None) -> None:
    """Switch a schedule on; its next run is the cadence's next time from now (missed runs are not made up)."""
    from formguide.app.scheduling import set_schedule_enabled
    from formguide.cli import context

    with context(db) as ctx:
        print_messages(set_schedule_enabled(ctx, name, True).messages)


@schedule_app.command("disable")
def disable(name: NameArg, db: DbOpt = None) -> None:
    """Switch a schedule off (the workers skip it until it is enabled again)."""
    from formguide.app.scheduling import set_schedule_enabled
    from formguide.cli import context

    with context(db) as ctx:
        print_messages(set_schedule_enabled(ctx, name, False).messages)


@schedule_app.command("run")
def run(name: NameArg, json_target: JsonOpt = None, db: DbOpt = None) -> None:
    """Queue the schedule's task now (a worker runs it); its cadence goes on as before."""
    from formguide.app.scheduling import run_schedule
    from formguide.cli import context

    check_output(json_target)
    with context(db) as ctx:
        info = run_schedule(ctx, name)
    if json_target:
        emit_json(info.json_data(), json_target)
        if json_target == "-":
            return
    out.print(info.messages[-1], soft_wrap=True)
