"""Use cases of the job queue: submit a training run as a task, look at tasks, cancel one; and the worker
loop that runs them (``formguide worker``; the HTTP API submits, the workers run).

A task runs the same use case the CLI runs (:func:`formguide.app.train`), with the progress callback
storing phase and progress in the task row. The queue itself is ``core.tasks``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from formguide.app.common import (
    resolve_competition,
    resolve_model_type,
    sport_and_options,
    stored_competitions,
)
from formguide.app.context import Context
from formguide.app.job_schemas import TaskInfo, TrainTask, TrainTaskRequest
from formguide.app.schemas import TrainRequest
from formguide.core import schedules, tasks
from formguide.core.deadline import time_limit
from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.heartbeat import RUN_STALE_S, interrupt_dead_runs, pid_alive
from formguide.core.sport import Sport, get_sport
from formguide.core.store.models import Task
from formguide.core.workers import WorkerRecord

__all__ = ["TRAIN_PHASES", "WorkerStopped", "cancel_task", "framework_option", "get_task", "list_tasks", "run_task",
           "run_worker", "submit_train", "train_task", "wake_workers"]

log = logging.getLogger("formguide.worker")

#: Where each phase of a training run starts and ends in the task's overall progress (0-1).
TRAIN_PHASES: dict[str, tuple[float, float]] = {
    "validate": (0.0, 0.05), "walk-forward": (0.05, 0.6), "baselines": (0.6, 0.7), "evaluate": (0.7, 0.72),
    "champion": (0.72, 0.85), "fit": (0.85, 0.95), "register": (0.95, 0.99), "promote": (0.99, 1.0),
}


class WorkerStopped(KeyboardInterrupt):
    """The worker was told to stop (SIGTERM): its task goes back to the queue, its run is interrupted."""

    run_status = "interrupted"


def task_info(task: Task) -> TaskInfo:
    return TaskInfo(task_id=task.id, kind=task.kind, status=task.status, progress=float(task.progress or 0.0),
                    phase=task.phase, message=task.message, request=task.request or {}, result=task.result,
                    error=task.error, attempts=task.attempts, max_attempts=task.max_attempts,
                    cancel_requested=bool(task.cancel_requested), created_at=task.created_at,
                    started_at=task.started_at, completed_at=task.completed_at)


#: Set when a task is queued by this process: an idle worker of this process (``formguide serve --workers``)
#: claims it at once instead of at its next poll.
_WAKE = threading.Event()


def wake_workers() -> None:
    """Wake this process's idle workers (a task was queued, or they are asked to stop)."""
    _WAKE.set()


def framework_option(sport: Sport) -> str | None:
    """The name of the sport's train option that chooses a framework (``framework``), None when it has none.

    Read from the sport's option model, so a sport offers a framework choice by declaring the field."""
    return "framework" if "framework" in sport.options.model("train").model_fields else None


def no_framework(sport: Sport) -> str:
    takes = ", ".join(sport.options.model("train").model_fields) or "none"
    return f"{sport.name} has no framework choice: its train options have no framework (they are: {takes})"


def _stored_seasons(ctx: Context, sport: Sport, competition: str, seasons: list[str]) -> None:
    """Refuse seasons of ``competition`` with no events in the store, naming the ones that have some."""
    from formguide.app.data import competitions

    summary = next((c for c in competitions(ctx, sport.name) if c.code == competition), None)
    with_events = [s.code for s in (summary.seasons if summary else []) if s.events > 0]
    missing = [s for s in seasons if s not in with_events]
    if missing:
        raise DataValidationError(f"no events of {sport.name} {competition} in the store for season(s) "
                                  f"{', '.join(missing)}; seasons with events: {', '.join(with_events) or 'none'}")


def train_task(ctx: Context, request: TrainTaskRequest) -> TrainTask:
    """The ``TrainRequest`` of each league a training task asks for, checked as ``train`` would check them
    (sport, bet type, options, competition, model type, seasons), so a task that cannot run is refused now.

    ``date_to`` becomes ``until`` = the start of the next day (that day's results are known); ``framework`` the
    sport's framework option; no ``leagues`` means the sport's default competition."""
    sport = get_sport(request.sport).for_bet_type(request.bet_type)
    options: dict[str, Any] = {}
    if request.framework is not None:
        name = framework_option(sport)
        if name is None:
            raise FormguideError(no_framework(sport))
        options[name] = request.framework
    sport_and_options(request.sport, "train", options, request.bet_type)
    resolve_model_type(sport, request.model_type)
    if request.leagues is None and sport.default_competition is None:
        known = ", ".join(sorted(stored_competitions(ctx, sport))) or "none stored yet"
        raise FormguideError(f"leagues is required for {sport.name} (stored competitions: {known})")
    codes = [resolve_competition(ctx, sport, code) for code in (request.leagues or [None])]
    if request.seasons:
        for code in codes:
            _stored_seasons(ctx, sport, code, request.seasons)
    until = None if request.date_to is None else datetime.combine(request.date_to + timedelta(days=1), dt_time())
    start = None if request.date_from is None else datetime.combine(request.date_from, dt_time())
    runs = [TrainRequest(sport=sport.name, bet_type=request.bet_type, competition=code, model_type=request.model_type,
                         until=until, date_from=start, seasons=request.seasons, options=options) for code in codes]
    return TrainTask(runs=runs, max_runtime=request.max_runtime_seconds)


def submit_train(ctx: Context, request: TrainRequest | TrainTaskRequest, *, max_attempts: int = 3) -> TaskInfo:
    """Queue a training run for the workers, after the checks ``train`` would make first (sport, options,
    competition, model type), so a request that cannot run is refused now rather than failing later.

    A ``TrainTaskRequest`` (the API's) queues one task that trains each of its leagues in turn."""
    if isinstance(request, TrainTaskRequest):
        job = train_task(ctx, request)
        task = tasks.enqueue(ctx.engine, "train", job.model_dump(mode="json"),
                             max_attempts=max_attempts)
        wake_workers()
        info = task_info(task)
        leagues = ", ".join(str(r.competition) for r in job.runs)
        info.messages.append(f"task {task.id} queued: train {request.sport} {leagues}")
        return info
    if request.all_bet_types:
        raise FormguideError("a task trains one bet type: submit one task per bet type (all_bet_types is not "
                             "accepted here)")
    sport, _ = sport_and_options(request.sport, "train", request.options, request.bet_type)
    competition = resolve_competition(ctx, sport, request.competition)
    resolve_model_type(sport, request.model_type)
    task = tasks.enqueue(ctx.engine, "train", request.model_dump(mode="json"), max_attempts=max_attempts)
    wake_workers()
    info = task_info(task)
    info.messages.append(f"task {task.id} queued: train {sport.name} {competition}")
    return info


def get_task(ctx: Context, task_id: int) -> TaskInfo:
    return task_info(tasks.get(ctx.engine, task_id))


def list_tasks(ctx: Context, status: str | None = None, limit: int = 50) -> list[TaskInfo]:
    """Tasks newest first (of one status, or all)."""
    if limit < 1:
        raise FormguideError(f"limit must be at least 1, got {limit}")
    return [task_info(t) for t in tasks.list_tasks(ctx.engine, status, limit)]


def cancel_task(ctx: Context, task_id: int) -> TaskInfo:
    """Cancel a queued task now, or ask a running one to stop at its next step; a finished task is refused."""
    info = task_info(tasks.cancel(ctx.engine, task_id))
    info.messages.append(f"task {task_id} cancelled" if info.status == "cancelled"
                         else f"task {task_id}: cancel requested; the worker stops it at its next step")
    return info


class _Overall:
    """A use case's per-phase ``progress(phase, fraction)`` as the task's overall fraction (never backwards)."""

    def __init__(self, progress: Callable[[str, float], None], phases: dict[str, tuple[float, float]]) -> None:
        self.progress, self.phases, self.last = progress, phases, 0.0

    def __call__(self, phase: str, fraction: float) -> None:
        if phase in self.phases:
            lo, hi = self.phases[phase]
            self.last = max(self.last, lo + (hi - lo) * min(max(float(fraction), 0.0), 1.0))
        self.progress(phase, self.last)


def _run_train(ctx: Context, request: dict[str, Any], progress: Callable[[str, float], None]
               ) -> tuple[dict[str, Any], str]:
    from formguide.app.modelling import train

    request = {k: v for k, v in request.items() if k != "schedule"}  # queued by a schedule: its name
    job = TrainTask.model_validate(request) if "runs" in request else TrainTask(
        runs=[TrainRequest.model_validate(request)])
    results: list[dict[str, Any]] = []
    with time_limit(job.max_runtime):
        for i, run in enumerate(job.runs):
            share = _Share(progress, i, len(job.runs))
            try:
                result = train(ctx, run, _Overall(share, TRAIN_PHASES))
            except (tasks.TaskCancelled, tasks.LeaseLost):
                raise
            except (FormguideError, ValueError) as exc:
                if not results:
                    raise
                done = ", ".join(f"{r['name']} v{r['version']}" for r in results)
                raise FormguideError(f"{run.competition}: {exc} (trained before it, and kept: {done})") from exc
            results.append(result.json_data())
    messages = [r["message"] for r in results]
    return {**results[0], "models": results}, "; ".join(messages)


class _Share:
    """Run ``i`` of ``n`` as its share of the task's progress (each league an equal part)."""

    def __init__(self, progress: Callable[[str, float], None], i: int, n: int) -> None:
        self.progress, self.i, self.n = progress, i, n

    def __call__(self, phase: str, fraction: float) -> None:
        self.progress(phase, (self.i + fraction) / self.n)


#: What a worker can run: task kind -> ``(context, request JSON, progress) -> (result JSON, message)``.
HANDLERS: dict[str, Callable[..., tuple[dict[str, Any], str]]] = {"train": _run_train}


def run_task(ctx: Context, task: Task, owner: str, *, lease_s: float = tasks.DEFAULT_LEASE_S,
             stop: threading.Event | None = None) -> TaskInfo:
    """Run one claimed task to its end: completed, failed (with the error), cancelled, or given back (``stop``
    set while it runs: the task goes back to the queue at its next progress report)."""
    engine = ctx.engine
    with tasks.Lease(engine, task, owner, lease_s=lease_s) as lease:

        def progress(phase: str, fraction: float) -> None:
            lease.progress(phase, fraction)
            if stop is not None and stop.is_set():
                raise WorkerStopped("the worker is stopping")

        try:
            handler = HANDLERS.get(task.kind)
            if handler is None:
                raise FormguideError(f"unknown task kind {task.kind!r}; this worker runs {', '.join(HANDLERS)}")
            lease.check()  # cancelled between the claim and now
            result, message = handler(ctx, task.request, progress)
            tasks.complete(engine, task.id, owner, result, message)
        except tasks.TaskCancelled as exc:
            tasks.finish_cancelled(engine, task.id, owner, str(exc))
        except tasks.LeaseLost as exc:
            log.warning("%s", exc)
        except (FormguideError, ValueError) as exc:
            tasks.fail(engine, task.id, owner, str(exc))
        except KeyboardInterrupt:
            tasks.release(engine, task.id, owner, "the worker was stopped; requeued")
            raise
        except Exception as exc:  # noqa: BLE001 - a defect: the task says so, the log keeps the traceback
            log.error("task %s failed unexpectedly:\n%s", task.id, traceback.format_exc())
            tasks.fail(engine, task.id, owner, f"unexpected {type(exc).__name__}: {exc} (this is a bug)")
    return get_task(ctx, task.id)


def sweep_staging(artifacts: Path, *, older_than: float = RUN_STALE_S) -> list[Path]:
    """Remove staging folders (``core.artifacts.stage``) left by a process of this host that died mid-write."""
    removed = []
    root = Path(artifacts) / "models"
    for folder in root.glob(".staging-*") if root.is_dir() else ():
        parts = folder.name.rsplit("-", 2)
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
        if pid is None or pid_alive(pid) or time.time() - folder.stat().st_mtime < older_than:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def run_worker(ctx: Context, *, once: bool = False, poll: float = 1.0, lease_s: float = tasks.DEFAULT_LEASE_S,
               stop: threading.Event | None = None, report: Callable[[TaskInfo], None] | None = None) -> int:
    """Claim and run tasks until ``stop`` is set (``once``: at most one, then return); the number run.

    Between tasks it requeues tasks whose worker died, marks training runs whose process died as interrupted,
    queues the schedules that are due (``core.schedules``) and clears half-written artifact folders."""
    if not poll > 0 or not lease_s > 0:
        raise FormguideError(f"--poll and --lease must be positive seconds, got {poll} and {lease_s}")
    import formguide.app.scheduling  # noqa: F401 - registers the ingest, predict and refresh handlers

    owner, stop, done = tasks.new_owner(), stop or threading.Event(), 0
    log.info("worker %s started", owner)
    with WorkerRecord(ctx.engine, owner) as record:  # its row in `workers`: heartbeat, current task, count
        while not stop.is_set():
            try:
                interrupt_dead_runs(ctx.engine)
                tasks.requeue_expired(ctx.engine)
                schedules.enqueue_due(ctx.engine)  # once each, however many workers poll at the same time
                sweep_staging(ctx.artifacts)
                task = tasks.claim(ctx.engine, owner, lease_s=lease_s, kinds=tuple(HANDLERS))
            except OperationalError as exc:  # the store is busy or unreachable: try again after a poll
                log.warning("worker %s: store unavailable (%s); retrying", owner, str(exc).splitlines()[0])
                task = None
            if task is not None:
                record.busy(task.id)
                info = None
                try:
                    info = run_task(ctx, task, owner, lease_s=lease_s, stop=stop)
                finally:
                    record.idle(finished=info is not None)  # given back (stopping): not counted
                done += 1
                if report is not None:
                    report(info)
            if once:
                break
            if task is None:
                _idle(stop, poll)
    return done


def _idle(stop: threading.Event, poll: float) -> None:
    """Wait up to ``poll`` seconds, less when ``stop`` is set or this process queued a task (``wake_workers``)."""
    end = time.monotonic() + poll
    while not stop.is_set() and (left := end - time.monotonic()) > 0:
        if _WAKE.wait(min(left, 0.1)):
            _WAKE.clear()
            return
