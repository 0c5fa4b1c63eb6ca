"""Training over HTTP and the job queue: submit a training task, follow it, list tasks, cancel one.

``POST /models/train`` checks what the store holds first (unknown sport, league or season: 404 naming what is
stored; a framework the sport does not offer: 422), then queues one task through ``app.tasks.submit_train``;
a worker (``formguide worker``, or one of ``formguide serve --workers N``) runs it with the ``train`` use case
the CLI runs. A task's progress, phase, result and error are read back with ``GET /tasks/{id}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from formguide.app.context import Context
from formguide.app.job_schemas import TaskInfo, TaskStatus, TrainTaskRequest
from formguide.app.tasks import (
    cancel_task,
    framework_option,
    get_task,
    list_tasks,
    no_framework,
    submit_train,
)
from formguide.core.sport import Sport
from formguide.core.tasks import TaskNotFound, TaskStateError
from formguide.service.auth import require_token
from formguide.service.catalog import check_league, check_sport
from formguide.service.errors import ApiError
from formguide.service.gate import context

router = APIRouter(tags=["tasks"])

Ctx = Annotated[Context, Depends(context)]
#: Task ids are the store's 32-bit integer keys (a larger number would fail in the driver, not be "not found").
TaskId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="Task id (from POST /models/train or GET /tasks).")]


class TrainAccepted(BaseModel):
    """A training task was queued; follow it at ``GET /api/v1/tasks/{task_id}``."""

    task_id: int
    status: TaskStatus = Field(description="queued: a worker picks it up next.")
    message: str = Field(description="What was queued (sport and leagues).")


def _check_request(ctx: Context, body: TrainTaskRequest) -> None:
    """What the store holds and the sport offers, as 404/422 naming the field (the use case checks again)."""
    sport: Sport = check_sport(body.sport, field="body.sport")
    if body.framework is not None and framework_option(sport) is None:
        raise ApiError(422, "validation", no_framework(sport), field="body.framework")
    for code in body.leagues or ():
        competition = check_league(ctx, sport, code, field="body.leagues")
        with_events = [s.code for s in competition.seasons if s.events > 0]
        missing = [s for s in body.seasons or () if s not in with_events]
        if missing:
            raise ApiError(404, "not_found", f"no events of {sport.name} {competition.code} in the store for "
                           f"season(s) {', '.join(missing)}; seasons with events: {', '.join(with_events) or 'none'}",
                           field="body.seasons")


@router.post("/models/train", status_code=202, response_model=TrainAccepted, dependencies=[Depends(require_token)],
             summary="Queue a training task", responses={202: {"description": "Queued"}})
def train(ctx: Ctx, body: TrainTaskRequest) -> JSONResponse:
    """One task trains each league asked for in turn (each its own champion line), as `formguide train` does.
    Needs the API token."""
    _check_request(ctx, body)
    info = submit_train(ctx, body)
    accepted = TrainAccepted(task_id=info.task_id, status=info.status, message=info.messages[-1])
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202,
                        headers={"Location": f"/api/v1/tasks/{info.task_id}"})


def _task_error(exc: TaskNotFound | TaskStateError) -> ApiError:
    if isinstance(exc, TaskNotFound):
        return ApiError(404, "not_found", str(exc), field="path.task_id")
    return ApiError(409, "conflict", str(exc), field="path.task_id")


@router.get("/tasks/{task_id}", response_model=TaskInfo, summary="One task: status, progress, phase, result")
def task(ctx: Ctx, task_id: TaskId) -> TaskInfo:
    """Status (queued, running, completed, failed, cancelled), progress 0-1, phase, message, the result (a
    training task: model_id, version and metrics of its first league at the top, every league's in `models`),
    the error, and when it started and ended."""
    try:
        return get_task(ctx, task_id)
    except TaskNotFound as exc:
        raise _task_error(exc) from None


@router.get("/tasks", response_model=list[TaskInfo], summary="Tasks, newest first")
def tasks(ctx: Ctx, status: Annotated[TaskStatus | None, Query(description="Only tasks of this status.")] = None,
          limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 50) -> list[TaskInfo]:
    return list_tasks(ctx, status, limit)


@router.post("/tasks/{task_id}/cancel", response_model=TaskInfo, dependencies=[Depends(require_token)],
             summary="Cancel a task", responses={409: {"description": "The task already finished"}})
def cancel(ctx: Ctx, task_id: TaskId) -> TaskInfo:
    """A queued task is cancelled at once; a running one stops at its next step (its training run is recorded
    as cancelled and nothing is registered). A finished task answers 409. Needs the API token."""
    try:
        return cancel_task(ctx, task_id)
    except (TaskNotFound, TaskStateError) as exc:
        raise _task_error(exc) from None
