"""Use cases of schedules (``formguide schedule``), and the task kinds they queue besides ``train``.

A schedule stores a task kind and its request with a cron expression (``core.schedules``); every worker
queues the due ones each time it polls, so each run is an ordinary task in the task list, its request naming
the schedule. Kinds:

- ``train``: the training run ``formguide train`` makes (skipped when data and configuration are unchanged);
- ``ingest``: an import of the request's paths, else of the sport's folders under the data folder (``<data>/
  <sport>`` and ``<data>/<sport>_*``, e.g. ``football_data``, ``f1_ergast`` + ``f1_laps``);
- ``predict``: the champion's predictions for ``days`` days from the day the task runs (stored, as
  ``formguide predict`` stores them);
- ``refresh``: an ingest, then the predictions. The daily preset is this one kind rather than two
  schedules, so the predictions are made on the data just imported: two schedules would be two tasks that
  two workers may run at the same time, the predictions before the import has finished.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from formguide.app.common import sport_and_options
from formguide.app.context import Context
from formguide.app.job_schemas import ScheduleInfo, ScheduleListResult, ScheduleRequest, TaskInfo
from formguide.app.schemas import IngestRequest, PredictRequest, TrainRequest
from formguide.app.tasks import HANDLERS, get_task
from formguide.core import schedules, tasks
from formguide.core.errors import FormguideError
from formguide.core.sport import get_sport
from formguide.core.store.models import Schedule
from formguide.core.views import Column, TableView

__all__ = ["DEFAULTS", "add_schedule", "add_default_schedules", "default_ingest_paths", "list_schedules",
           "remove_schedule", "run_schedule", "set_schedule_enabled"]

Progress = Callable[[str, float], None]

#: The standard pair a sport gets from ``formguide schedule defaults``: (name suffix, kind, cron in UTC).
DEFAULTS: tuple[tuple[str, str, str], ...] = (("refresh", "refresh", "0 6 * * *"),  # daily 06:00: ingest + predict
                                              ("retrain", "train", "0 5 * * 1"))  # Mondays 05:00


# ------------------------------------------------------------------------------------------ task requests
def _task_request(request: ScheduleRequest) -> dict[str, Any]:
    """The request each run of the schedule hands its handler, checked now (sport, bet type, options) so a
    schedule that could never run is refused when it is added, not at 06:00."""
    kind = request.kind
    use_case = "predict" if kind == "refresh" else kind
    if kind != "ingest":
        sport_and_options(request.sport, use_case, request.options, request.bet_type)
    else:
        get_sport(request.sport)
        if request.options:
            raise FormguideError("an ingest schedule takes no sport options")
    if kind == "ingest" and (request.competition or request.bet_type):
        raise FormguideError("an ingest schedule imports files: --league and --bet-type do not apply")
    if kind in ("train", "predict") and request.paths:
        raise FormguideError(f"a {kind} schedule imports nothing: paths apply to ingest and refresh schedules")
    out: dict[str, Any] = {"sport": request.sport}
    if kind in ("ingest", "refresh") and request.paths:
        out["paths"] = [str(Path(p).expanduser().absolute()) for p in request.paths]
    if kind != "ingest":
        out.update({k: v for k, v in (("competition", request.competition), ("bet_type", request.bet_type))
                    if v is not None})
        if request.options:
            out["options"] = dict(request.options)
    if kind in ("predict", "refresh"):
        out["days"] = request.days
    if kind == "train":
        TrainRequest.model_validate(out)
    return out


def default_ingest_paths(ctx: Context, sport_name: str) -> list[Path]:
    """The sport's folders (or files) under the data folder: ``<data>/<sport>`` and ``<data>/<sport>_*``."""
    root = ctx.settings.data
    found = sorted(root.glob(f"{sport_name}_*"))
    if (root / sport_name).exists():
        found.insert(0, root / sport_name)
    if not found:
        raise FormguideError(f"no data for {sport_name} under {root} (expected {root / sport_name} or "
                             f"{root / (sport_name + '_*')}); give the schedule its paths")
    return found


# ---------------------------------------------------------------------------------------------- handlers
def _scale(progress: Progress, lo: float, hi: float) -> Progress:
    """A step's own 0-1 progress as the span ``lo..hi`` of the task's (never backwards)."""
    last = [lo]

    def report(phase: str, fraction: float) -> None:
        last[0] = max(last[0], lo + (hi - lo) * min(max(float(fraction), 0.0), 1.0))
        progress(phase, last[0])

    return report


def _strip(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != schedules.SCHEDULE_KEY}


def _ingest(ctx: Context, request: dict[str, Any], progress: Progress) -> tuple[dict[str, Any], str]:
    from formguide.app.data import ingest

    request = _strip(request)
    paths = request.get("paths") or default_ingest_paths(ctx, get_sport(request["sport"]).name)
    result = ingest(ctx, IngestRequest(sport=request["sport"], paths=paths), progress)
    return result.json_data(), result.messages[0]


def _predict(ctx: Context, request: dict[str, Any], progress: Progress) -> tuple[dict[str, Any], str]:
    from formguide.app.serving import predict

    result = predict(ctx, PredictRequest.model_validate(_strip(request)), progress)
    message = (f"{result.sport} {result.competition}: {len(result.events)} event(s) predicted from "
               f"{result.as_of[:10]} by {result.model}")
    return result.json_data(), message


def _refresh(ctx: Context, request: dict[str, Any], progress: Progress) -> tuple[dict[str, Any], str]:
    request = _strip(request)
    ingest_request = {k: request[k] for k in ("sport", "paths") if k in request}
    imported, imported_msg = _ingest(ctx, ingest_request, _scale(progress, 0.0, 0.6))
    predicted, predicted_msg = _predict(ctx, {k: v for k, v in request.items() if k != "paths"},
                                        _scale(progress, 0.6, 1.0))
    return {"ingest": imported, "predict": predicted}, f"{imported_msg}; {predicted_msg}"


HANDLERS.update({"ingest": _ingest, "predict": _predict, "refresh": _refresh})


# --------------------------------------------------------------------------------------------- use cases
def _info(ctx: Context, schedule: Schedule) -> ScheduleInfo:
    status = None
    if schedule.last_task_id is not None:
        try:
            status = tasks.get(ctx.engine, schedule.last_task_id).status
        except tasks.TaskNotFound:
            status = "deleted"
    return ScheduleInfo(name=schedule.name, kind=schedule.kind, cron=schedule.cadence, enabled=schedule.enabled,
                        request=schedule.request or {}, created_at=schedule.created_at,
                        last_run_at=schedule.last_run_at, next_run_at=schedule.next_run_at,
                        last_task_id=schedule.last_task_id, last_task_status=status)


def add_schedule(ctx: Context, request: ScheduleRequest) -> ScheduleInfo:
    """Store a schedule after checking its cron expression and its task's request; a taken name is refused."""
    cron = schedules.parse_cadence(request.cron)
    payload = _task_request(request)
    info = _info(ctx, schedules.add(ctx.engine, request.name, request.kind, payload, cron, enabled=request.enabled))
    when = f"next run {info.next_run_at:%Y-%m-%d %H:%M} UTC" if info.next_run_at else "disabled"
    info.messages.append(f"schedule {info.name} added: {info.kind} {request.sport} at '{cron}' ({when}); "
                         "`formguide worker` runs it")
    return info


def add_default_schedules(ctx: Context, sport: str, competition: str | None = None,
                          bet_type: str | None = None) -> list[ScheduleInfo]:
    """The standard pair of a sport: a daily import and predictions (06:00 UTC), a weekly retrain (Mondays
    05:00 UTC), named ``<sport>[-<league>]-refresh`` and ``-retrain``; both checked before either is stored."""
    base = "-".join(x for x in (sport, competition, bet_type) if x)
    requests = [ScheduleRequest(name=f"{base}-{suffix}", kind=kind, cron=cron, sport=sport, competition=competition,
                                bet_type=bet_type) for suffix, kind, cron in DEFAULTS]
    for r in requests:
        _task_request(r)
    taken = [r.name for r in requests if r.name in {s.name for s in schedules.list_schedules(ctx.engine)}]
    if taken:
        raise FormguideError(f"schedule {', '.join(taken)} exists already (formguide schedule list)")
    return [add_schedule(ctx, r) for r in requests]


def list_schedules(ctx: Context) -> ScheduleListResult:
    items = [_info(ctx, s) for s in schedules.list_schedules(ctx.engine)]
    result = ScheduleListResult(schedules=items)
    result.views.append(schedules_view(items))
    return result


def remove_schedule(ctx: Context, name: str) -> ScheduleInfo:
    info = _info(ctx, schedules.remove(ctx.engine, name))
    info.messages.append(f"schedule {name} removed (the tasks it queued stay in the task list)")
    return info


def set_schedule_enabled(ctx: Context, name: str, enabled: bool) -> ScheduleInfo:
    """Enable (next run from now: what was missed while off is not run) or disable a schedule."""
    info = _info(ctx, schedules.set_enabled(ctx.engine, name, enabled))
    info.messages.append(f"schedule {name} enabled, next run {info.next_run_at:%Y-%m-%d %H:%M} UTC" if enabled
                         else f"schedule {name} disabled")
    return info


def run_schedule(ctx: Context, name: str) -> TaskInfo:
    """Queue a schedule's task now (its cadence goes on as before)."""
    fired = schedules.fire(ctx.engine, name)
    info = get_task(ctx, fired.task_id)
    info.messages.append(f"task {fired.task_id} queued by schedule {name}; `formguide worker` runs it")
    return info


def schedules_view(items: list[ScheduleInfo]) -> TableView:
    cols = [Column(key="name", align="left"), Column(key="kind", align="left"), Column(key="sport", align="left"),
            Column(key="league", align="left", priority=1), Column(key="cron", align="left"),
            Column(key="enabled", align="left"), Column(key="next", header="next run (UTC)", align="left"),
            Column(key="last", header="last run (UTC)", align="left", priority=1),
            Column(key="task", header="last task", align="left", priority=2)]
    rows = [{"name": i.name, "kind": i.kind, "sport": i.request.get("sport"), "league": i.request.get("competition"),
             "cron": i.cron, "enabled": "yes" if i.enabled else "no",
             "next": f"{i.next_run_at:%Y-%m-%d %H:%M}" if i.next_run_at else None,
             "last": f"{i.last_run_at:%Y-%m-%d %H:%M}" if i.last_run_at else None,
             "task": f"{i.last_task_id} {i.last_task_status}" if i.last_task_id else None} for i in items]
    return TableView(title="schedules", columns=cols, rows=rows,
                     empty="no schedules: `formguide schedule add NAME --kind ... --cron ...` or "
                           "`formguide schedule defaults --sport S`")
