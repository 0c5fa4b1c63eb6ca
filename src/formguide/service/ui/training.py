"""The training page: choose sport, leagues, seasons, an optional date range, model type, bet type and the
framework where the sport offers one; Start queues one task (``app.tasks.submit_train`` with the same
``TrainTaskRequest`` that ``POST /api/v1/models/train`` takes), which trains each league in turn; the page
polls the task every 2 s and draws its progress and phase.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from formguide.app import competitions
from formguide.app.job_schemas import TaskInfo, TrainTaskRequest
from formguide.app.tasks import cancel_task, framework_option, get_task, list_tasks, submit_train
from formguide.core.sport import Sport, available_sports, get_sport
from formguide.service.ui.common import UiError, error_page, shown
from formguide.service.ui.render import page
from formguide.service.ui.session import check_write

__all__ = ["router", "task_label"]

router = APIRouter()
FINISHED = ("completed", "failed", "cancelled")


def framework_field(sport: Sport) -> dict[str, Any] | None:
    """The sport's framework choice (its train option model's ``framework`` field), for a select."""
    name = framework_option(sport)
    if name is None:
        return None
    spec = sport.options.model("train").model_json_schema()["properties"][name]
    return {"name": name, "choices": [str(c) for c in spec.get("enum", [])], "default": spec.get("default"),
            "help": spec.get("description", "")}


def _sport(name: str | None) -> Sport:
    """The sport asked for; by default the first installed one (alphabetical)."""
    installed = sorted(available_sports())
    if not installed:
        raise UiError(503, "no sport is installed")
    name = installed[0] if name is None else name
    if name not in installed:
        raise UiError(404, f"unknown sport {name!r}; installed: {', '.join(installed)}")
    return get_sport(name)


def task_label(info: TaskInfo) -> str:
    """``task 7: train football E0, E1 (elo)`` from what the task was asked to do."""
    runs = info.request.get("runs") or [info.request]
    sport = runs[0].get("sport") or ""
    leagues = ", ".join(str(r.get("competition")) for r in runs if r.get("competition"))
    model = runs[0].get("model_type")
    return f"task {info.task_id}: {info.kind} {sport} {leagues}".rstrip() + (f" ({model})" if model else "")


def task_models(info: TaskInfo) -> list[dict[str, Any]]:
    """The versions a completed training task produced (one per league)."""
    result = info.result or {}
    return [{"model_id": m.get("model_id"), "name": m.get("name"), "version": m.get("version"),
             "promoted": m.get("promoted"), "status": m.get("status")}
            for m in result.get("models") or ([result] if result else []) if m.get("model_id")]


def _page(request: Request, sport: str | None, queued: list[dict[str, Any]] | None = None) -> HTMLResponse:
    chosen = _sport(sport)
    leagues = shown(request, lambda ctx: competitions(ctx, chosen.name))
    recent = shown(request, lambda ctx: list_tasks(ctx, limit=10))
    tasks = [{"info": t, "label": task_label(t), "models": task_models(t)} for t in recent]
    return page(request, "training.html", title="Training", sport=chosen, sports=sorted(available_sports()),
                leagues=leagues, framework=framework_field(chosen), recent=tasks, queued=queued or [])


@router.get("/training", response_class=HTMLResponse, name="ui_training")
def training(request: Request, sport: str | None = None) -> HTMLResponse:
    return _page(request, sport)


def _one(data: Any, key: str) -> str | None:
    value = data.get(key)
    return (str(value).strip() or None) if value is not None else None


def _day(data: Any, key: str, label: str) -> date | None:
    value = _one(data, key)
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        raise UiError(422, f"{label}: {value!r} is not a date (YYYY-MM-DD)") from None


def train_request(data: Any) -> TrainTaskRequest:
    """The posted form as the API's request body; a refused value is one sentence naming the field."""
    sport = _sport(_one(data, "sport"))
    leagues = [str(v).strip() for v in data.getlist("league") if str(v).strip()]
    if not leagues:
        raise UiError(422, "choose at least one league")
    seasons = [str(v).strip() for v in data.getlist("season") if str(v).strip()] or None
    runtime = _one(data, "max_runtime")
    try:
        return TrainTaskRequest(sport=sport.name, leagues=leagues, seasons=seasons,
                                date_from=_day(data, "date_from", "date from"), date_to=_day(data, "date_to", "date to"),
                                model_type=_one(data, "model_type"), bet_type=_one(data, "bet_type"),
                                framework=_one(data, "framework") if framework_option(sport) else None,
                                max_runtime_seconds=runtime)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ())).replace("_", " ")
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UiError(422, f"{where}: {message}" if where else message) from None


@router.post("/training", name="ui_training_start")
async def start(request: Request) -> Response:
    """Queue the task; JSON for the page's script, the page itself for a browser without JavaScript."""
    data = await request.form()
    return await run_in_threadpool(_start, request, data)


def _start(request: Request, data: Any) -> Response:
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        refused = check_write(request)
        if refused is not None:
            raise UiError(*refused)
        body = train_request(data)
        info = shown(request, lambda ctx: submit_train(ctx, body))
    except UiError as exc:
        if wants_json:
            return JSONResponse({"status": exc.status, "message": exc.message}, status_code=exc.status)
        return error_page(request, exc)
    queued = {"task_id": info.task_id, "label": task_label(info),
              "message": info.messages[-1] if info.messages else f"task {info.task_id} queued"}
    if wants_json:
        return JSONResponse({"tasks": [queued]}, status_code=202)
    return _page(request, _one(data, "sport"), [queued])


@router.get("/training/tasks/{task_ref}", name="ui_task")
def task(request: Request, task_ref: str) -> JSONResponse:
    """Where a task stands (``app.tasks.get_task``, as ``GET /api/v1/tasks/{id}``), for the progress bar."""
    if not task_ref.isdigit():
        return JSONResponse({"status": 404, "message": f"no task {task_ref!r}: a task id is a whole number"},
                            status_code=404)
    try:
        info = shown(request, lambda ctx: get_task(ctx, int(task_ref)))
    except UiError as exc:
        return JSONResponse({"status": exc.status, "message": exc.message}, status_code=exc.status)
    return JSONResponse({"task_id": info.task_id, "label": task_label(info), "status": info.status,
                         "progress": info.progress, "phase": info.phase, "message": info.message,
                         "error": info.error, "models": task_models(info)})


@router.post("/training/tasks/{task_ref}/cancel", name="ui_task_cancel")
def cancel(request: Request, task_ref: str) -> Response:
    """Cancel a queued task now or ask a running one to stop (``app.tasks.cancel_task``, as the API's
    ``POST /api/v1/tasks/{id}/cancel``); a finished task is refused with 409."""
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        refused = check_write(request)
        if refused is not None:
            raise UiError(*refused)
        if not task_ref.isdigit():
            raise UiError(404, f"no task {task_ref!r}: a task id is a whole number")
        info = shown(request, lambda ctx: cancel_task(ctx, int(task_ref)))
    except UiError as exc:
        if wants_json:
            return JSONResponse({"status": exc.status, "message": exc.message}, status_code=exc.status)
        return error_page(request, exc)
    if wants_json:
        return JSONResponse({"task_id": info.task_id, "status": info.status, "message": info.messages[-1]})
    return RedirectResponse("/training", status_code=303)
