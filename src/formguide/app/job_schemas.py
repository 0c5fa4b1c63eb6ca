"""Typed requests and results of the job use cases: training tasks (the HTTP API's and the web UI's train
request, what a worker runs, a task's state) and schedules. Split from ``app.schemas`` (the same conventions:
requests refuse unknown fields, results carry ``views`` and ``messages``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from formguide.app.schemas import BET_TYPE_DESCRIPTION, Request, Result, TrainRequest

__all__ = ["JOB_RESULTS", "TRAIN_DAYS", "ScheduleInfo", "ScheduleKind", "ScheduleListResult", "ScheduleRequest",
           "TaskInfo", "TaskStatus", "TrainTask", "TrainTaskRequest"]


# ------------------------------------------------------------------------------------------ tasks
TaskStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


#: The days a training window may name (pandas timestamps end in 2262; no sport's data starts before 1900).
TRAIN_DAYS = (date(1900, 1, 1), date(2199, 12, 31))


class TrainTaskRequest(BaseModel):
    """A training task as the HTTP API and the web UI ask for it (``POST /api/v1/models/train``).

    One task per request: it trains each league in turn (the order given), each its own registry line and
    champion, through the same ``train`` use case the CLI runs."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"sport": "football", "leagues": ["E0", "SP1"], "seasons": ["2324", "2425"], "model_type": "dixon-coles",
         "date_to": "2025-03-01", "max_runtime_seconds": 600},
        {"sport": "nfl", "bet_type": "spread", "framework": "lightgbm"}]})

    sport: str = Field("football", description="Sport plug-in, e.g. football, f1 or nfl.")
    leagues: list[str] | None = Field(None, max_length=50, description=(
        "Competition codes (any case), trained one after another in this order; leave it out for the sport's "
        "default competition (F1: WC, NFL: NFL); a sport without a default (football) needs at least one."))
    seasons: list[str] | None = Field(None, max_length=200, description=(
        "Seasons to train on (each must have events in every league asked for); default: every stored season."))
    date_from: date | None = Field(None, description="First day of the training window: events before it are left "
                                   "out (neither trained on nor used as feature history).")
    date_to: date | None = Field(None, description="Last day of the training window: results after it are hidden "
                                 "(the run's `until` is the start of the next day).")
    model_type: str | None = Field(None, description="Model type (default: the sport's first, see /api/v1/sports).")
    bet_type: str | None = Field(None, description=BET_TYPE_DESCRIPTION)
    framework: str | None = Field(None, description=(
        "The sport's `framework` train option (NFL: sklearn, lightgbm, xgboost, h2o); refused for a sport whose "
        "train options have no framework."))
    max_runtime_seconds: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Time limit of the whole task (every league together, > 0); a run that reaches it fails cleanly with the "
        "reason and the task is failed."))

    @field_validator("leagues", "seasons")
    @classmethod
    def _named(cls, value: list[str] | None, info: Any) -> list[str] | None:
        if value is None:
            return None
        if not value:
            what = "competition code" if info.field_name == "leagues" else "season"
            default = "the sport's default" if info.field_name == "leagues" else "every stored season"
            raise ValueError(f"{info.field_name} is empty: name at least one {what}, or leave it out for {default}")
        cleaned = [v.strip() for v in value]
        if any(not v for v in cleaned):
            raise ValueError(f"{info.field_name} has an empty name")
        if len({v.upper() for v in cleaned}) != len(cleaned):
            raise ValueError(f"{info.field_name} names the same one twice: {', '.join(value)}")
        return cleaned

    @model_validator(mode="after")
    def _window(self) -> TrainTaskRequest:
        if self.date_from is not None and self.date_to is not None and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not TRAIN_DAYS[0] <= value <= TRAIN_DAYS[1]:
                raise ValueError(f"{name} {value} is outside {TRAIN_DAYS[0]} .. {TRAIN_DAYS[1]}")
        return self


class TrainTask(BaseModel):
    """What a training task stores and its worker runs: one ``TrainRequest`` per league, in order, and the time
    limit of them all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runs: list[TrainRequest] = Field(min_length=1)
    max_runtime: float | None = Field(None, gt=0, allow_inf_nan=False)


class TaskInfo(Result):
    """A job of the workers (``formguide worker``): what was asked, where it stands, what it produced."""

    task_id: int
    kind: str
    status: TaskStatus
    progress: float = Field(ge=0, le=1, description="Fraction of the run done, 0-1.")
    phase: str | None = Field(None, description="The step it is at (validate, walk-forward, fit, register...).")
    message: str | None = None
    request: dict[str, Any] = Field(description="The use case's request, e.g. a TrainRequest.")
    result: dict[str, Any] | None = Field(None, description=(
        "The use case's result once completed. A training task: the first league's TrainResult at the top "
        "(model_id, version, metrics, promoted, name...) and `models`, the TrainResult of every league in the "
        "order asked (a league skipped as unchanged keeps the version it matched)."))
    error: str | None = None
    attempts: int
    max_attempts: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None


# ------------------------------------------------------------------------------------------ schedules
#: What a schedule queues: a training run, an import, a day's predictions, or an import followed by them.
ScheduleKind = Literal["train", "ingest", "predict", "refresh"]


class ScheduleRequest(Request):
    """A recurring task (``formguide schedule add``): ``cron`` in UTC, the task's request from the rest."""

    name: str = Field(min_length=1, max_length=128, description="Unique name, no spaces.")
    kind: ScheduleKind
    cron: str = Field(description="Cron expression (minute hour day month weekday) in UTC, e.g. '0 6 * * *'.")
    competition: str | None = Field(None, description="Competition code (train/predict/refresh; default: the "
                                    "sport's default).")
    bet_type: str | None = Field(None, description=BET_TYPE_DESCRIPTION)
    paths: list[Path] | None = Field(None, min_length=1, description="Files or folders to import (ingest/refresh; "
                                     "default: the sport's folders under the data folder).")
    days: int = Field(1, ge=1, le=366, description="Days of events each predict/refresh run predicts.")
    enabled: bool = True


class ScheduleInfo(Result):
    """A schedule with when it ran last, its last task and when it runs next."""

    name: str
    kind: str
    cron: str
    enabled: bool
    request: dict[str, Any] = Field(description="The request each task it queues runs.")
    created_at: datetime
    last_run_at: datetime | None = None
    next_run_at: datetime | None = Field(None, description="UTC; none while disabled.")
    last_task_id: int | None = None
    last_task_status: str | None = None


class ScheduleListResult(Result):
    schedules: list[ScheduleInfo]


#: Results of these use cases whose ``--json`` output is the model itself (``app.schemas.json_schemas``).
JOB_RESULTS: dict[str, type[BaseModel]] = {"schedule-list": ScheduleListResult}
