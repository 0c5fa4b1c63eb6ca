"""The training page: choose sport, leagues, seasons, an optional date range, model type, bet type and the
sport's own options; Start queues one task per league through ``app.tasks.submit_train`` (the call behind
``POST /api/v1/models/train``); the page polls each task every 2 s and draws its progress and phase.

A date range narrows the seasons (training always uses whole seasons: a season is kept when it has events
inside the range) and ``date to`` also hides every result after that day (the request's ``until``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from formguide.app import competitions
from formguide.app.schemas import CompetitionSummary, TrainRequest
from formguide.app.tasks import get_task, list_tasks, submit_train
from formguide.core.sport import Sport, available_sports, get_sport
from formguide.service.ui.common import UiError, error_page, shown
from formguide.service.ui.render import page
from formguide.service.ui.session import check_write

__all__ = ["router"]

router = APIRouter()


def option_fields(sport: Sport) -> list[dict[str, Any]]:
    """The sport's train options a form can offer as a choice: enumerations and yes/no (the contract's
    option model; numeric tuning stays on the CLI)."""
    schema = sport.options.model("train").model_json_schema()
    fields = []
    for name, spec in schema.get("properties", {}).items():
        if "enum" in spec:
            choices = [str(c) for c in spec["enum"]]
        elif spec.get("type") == "boolean":
            choices = ["true", "false"]
        else:
            continue
        default = spec.get("default")
        fields.append({"name": name, "label": spec.get("title", name), "help": spec.get("description", ""),
                       "choices": choices, "default": str(default).lower() if isinstance(default, bool)
                       else str(default)})
    return fields


def _sport(name: str | None) -> Sport:
    """The sport asked for; by default the first installed one (alphabetical)."""
    installed = sorted(available_sports())
    if not installed:
        raise UiError(503, "no sport is installed")
    name = installed[0] if name is None else name
    if name not in installed:
        raise UiError(404, f"unknown sport {name!r}; installed: {', '.join(installed)}")
    return get_sport(name)


def _page(request: Request, sport: str | None, queued: list[dict[str, Any]] | None = None) -> HTMLResponse:
    chosen = _sport(sport)
    leagues = shown(request, lambda ctx: competitions(ctx, chosen.name))
    recent = shown(request, lambda ctx: list_tasks(ctx, limit=10))
    return page(request, "training.html", title="Training", sport=chosen, sports=sorted(available_sports()),
                leagues=leagues, options=option_fields(chosen), recent=recent, queued=queued or [])


@router.get("/training", response_class=HTMLResponse, name="ui_training")
def training(request: Request, sport: str | None = None) -> HTMLResponse:
    return _page(request, sport)


class _Form:
    """The posted form, read once."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def one(self, key: str) -> str | None:
        value = self.data.get(key)
        return str(value).strip() or None if value is not None else None

    def many(self, key: str) -> list[str]:
        return [str(v).strip() for v in self.data.getlist(key) if str(v).strip()]

    def day(self, key: str, label: str) -> date | None:
        value = self.one(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise UiError(422, f"{label}: {value!r} is not a date (YYYY-MM-DD)") from None


def _seasons_for(league: CompetitionSummary, chosen: list[str], date_from: date | None, date_to: date | None
                 ) -> list[str] | None:
    """The league's seasons to train on (None: all of them)."""
    codes = [s.code for s in league.seasons]
    keep = [c for c in codes if c in chosen] if chosen else list(codes)
    if chosen and not keep:
        raise UiError(422, f"{league.code} has none of the chosen seasons ({', '.join(chosen)}); its seasons: "
                      f"{', '.join(codes) or 'none'}")
    if date_from is not None or date_to is not None:
        lo, hi = date_from or date.min, date_to or date.max
        inside = {s.code for s in league.seasons if s.start is not None and s.end is not None
                  and s.start.date() <= hi and s.end.date() >= lo}
        keep = [c for c in keep if c in inside]
        if not keep:
            raise UiError(422, f"{league.code} has no chosen season with events between {date_from or 'the start'}"
                          f" and {date_to or 'the end'}")
    return None if keep == codes and not chosen and date_from is None and date_to is None else keep


def _requests(request: Request, form: _Form) -> list[TrainRequest]:
    sport = _sport(form.one("sport"))
    picked = form.many("league")
    if not picked:
        raise UiError(422, "choose at least one league")
    date_from, date_to = form.day("date_from", "date from"), form.day("date_to", "date to")
    if date_from and date_to and date_from > date_to:
        raise UiError(422, f"date from {date_from} is after date to {date_to}")
    stored = {c.code.upper(): c for c in shown(request, lambda ctx: competitions(ctx, sport.name))}
    unknown = [p for p in picked if p.upper() not in stored]
    if unknown:
        raise UiError(404, f"unknown {sport.name} league {unknown[0]!r}; stored: {', '.join(sorted(stored)) or 'none'}")
    options = {f["name"]: form.one(f"opt.{f['name']}") for f in option_fields(sport)}
    options = {k: (v == "true" if v in ("true", "false") else v) for k, v in options.items() if v is not None}
    runtime = form.one("max_runtime")
    until = datetime.combine(date_to + timedelta(days=1), time()) if date_to else None
    out = []
    for code in picked:
        league = stored[code.upper()]
        try:
            out.append(TrainRequest(sport=sport.name, competition=league.code, model_type=form.one("model_type"),
                                    bet_type=form.one("bet_type"), options=options, until=until,
                                    seasons=_seasons_for(league, form.many("season"), date_from, date_to),
                                    force=form.one("force") == "on", max_runtime=runtime))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "request"
            raise UiError(422, f"{where.replace('_', ' ')}: {first['msg']}") from None
    return out


@router.post("/training", name="ui_training_start")
async def start(request: Request) -> Response:
    """Queue the run(s); JSON for the page's script, the page itself for a browser without JavaScript."""
    form = _Form(await request.form())
    return await run_in_threadpool(_start, request, form)


def _start(request: Request, form: _Form) -> Response:
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        refused = check_write(request)
        if refused is not None:
            raise UiError(*refused)
        queued = [shown(request, lambda ctx, r=r: submit_train(ctx, r)) for r in _requests(request, form)]
    except UiError as exc:
        if wants_json:
            return JSONResponse({"status": exc.status, "message": exc.message}, status_code=exc.status)
        return error_page(request, exc)
    tasks = [{"task_id": t.task_id, "message": t.messages[-1] if t.messages else f"task {t.task_id} queued"}
             for t in queued]
    if wants_json:
        return JSONResponse({"tasks": tasks}, status_code=202)
    return _page(request, form.one("sport"), tasks)


@router.get("/training/tasks/{task_ref}", name="ui_task")
def task(request: Request, task_ref: str) -> JSONResponse:
    """Where a task stands (``app.tasks.get_task``, as ``GET /api/v1/tasks/{id}``), for the progress bar."""
    if not task_ref.isdigit():
        return JSONResponse({"status": 404, "message": f"no task {task_ref!r}: a task id is a whole number"},
                            status_code=404)
    task_id = int(task_ref)
    try:
        info = shown(request, lambda ctx: get_task(ctx, task_id))
    except UiError as exc:
        return JSONResponse({"status": exc.status, "message": exc.message}, status_code=exc.status)
    result = info.result or {}
    return JSONResponse({"task_id": info.task_id, "status": info.status, "progress": info.progress,
                         "phase": info.phase, "message": info.message, "error": info.error,
                         "model_id": result.get("model_id"), "version": result.get("version"),
                         "promoted": result.get("promoted"), "name": result.get("name"),
                         "train_status": result.get("status")})
