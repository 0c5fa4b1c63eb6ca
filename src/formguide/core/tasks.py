"""A small job queue on the store's own ``tasks`` table, for the embedded SQLite default and PostgreSQL alike.

A worker :func:`claim`\\ s the oldest queued task atomically (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite:
one ``BEGIN IMMEDIATE`` transaction whose ``UPDATE`` re-checks ``status = 'queued'``), which starts an attempt
and a lease. While it runs the task a :class:`Lease` renews the lease from a thread, stores the use case's
``progress(phase, fraction)`` and stops the run at its next progress report when the task was cancelled or
the lease was lost. A worker that dies stops renewing: :func:`requeue_expired` puts the task back in the
queue (attempts kept) or, after ``max_attempts``, fails it with the reason. Every write by a worker names
its owner, so a worker whose lease was taken over can no longer change the task.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from formguide.core.errors import FormguideError
from formguide.core.heartbeat import HOST, Heartbeat, utc_now
from formguide.core.jsonio import canonical_json
from formguide.core.store.db import session_scope
from formguide.core.store.models import Task

__all__ = ["DEFAULT_LEASE_S", "FINISHED", "STATUSES", "Lease", "LeaseLost", "TaskCancelled", "TaskNotFound",
           "TaskStateError", "cancel", "claim", "complete", "enqueue", "fail", "finish_cancelled", "get", "list_tasks",
           "new_owner", "release", "requeue_expired"]

STATUSES = ("queued", "running", "completed", "failed", "cancelled")
FINISHED = ("completed", "failed", "cancelled")
#: Seconds a claim lasts without renewal; the heartbeat renews it every third of that.
DEFAULT_LEASE_S = 60.0


class TaskNotFound(FormguideError):
    """No task with that id."""


class TaskStateError(FormguideError):
    """A change the task's state does not allow (cancelling a finished task)."""


class TaskCancelled(FormguideError):
    """Raised inside a running task at its next progress report after a cancel was requested."""

    run_status = "cancelled"  # how core.training records the run this stops


class LeaseLost(FormguideError):
    """This worker's lease on the task expired and the task was requeued or taken by another worker."""

    run_status = "interrupted"


def new_owner() -> str:
    """A worker's lease owner: host, pid and a random part (two workers of one process differ)."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def enqueue(engine: Engine, kind: str, request: dict[str, Any], *, max_attempts: int = 3) -> Task:
    """Queue a task; ``request`` must be JSON (it is what the worker runs)."""
    if not kind or len(kind) > 32:
        raise FormguideError(f"task kind must be 1-32 characters, got {kind!r}")
    if not 1 <= int(max_attempts) <= 100:
        raise FormguideError(f"max attempts must be between 1 and 100, got {max_attempts}")
    import json

    data = json.loads(canonical_json(request))
    with session_scope(engine) as s:
        task = Task(kind=kind, request=data, status="queued", progress=0.0, attempts=0,
                    max_attempts=int(max_attempts), cancel_requested=False, created_at=utc_now())
        s.add(task)
    return task


def get(engine: Engine, task_id: int) -> Task:
    with session_scope(engine) as s:
        task = s.get(Task, int(task_id))
        if task is None:
            raise TaskNotFound(f"no task with id {task_id}")
        return task


def list_tasks(engine: Engine, status: str | None = None, limit: int = 50) -> list[Task]:
    """Tasks newest first, optionally of one status."""
    if status is not None and status not in STATUSES:
        raise FormguideError(f"unknown task status {status!r}; expected one of {', '.join(STATUSES)}")
    with session_scope(engine) as s:
        stmt = select(Task).order_by(Task.id.desc()).limit(int(limit))
        if status is not None:
            stmt = stmt.where(Task.status == status)
        return list(s.scalars(stmt))


def claim(engine: Engine, owner: str, *, lease_s: float = DEFAULT_LEASE_S, kinds: tuple[str, ...] = ()) -> Task | None:
    """Take the oldest queued task (of ``kinds``, or any) for ``owner``: running, one more attempt, a lease."""
    now = utc_now()
    values = {"owner": owner, "now": now, "expires": now + timedelta(seconds=lease_s)}
    where_kind = ""
    if kinds:
        where_kind = " AND kind IN (" + ", ".join(f":k{i}" for i in range(len(kinds))) + ")"
        values.update({f"k{i}": k for i, k in enumerate(kinds)})
    sets = ("status = 'running', attempts = attempts + 1, lease_owner = :owner, lease_expires_at = :expires, "
            "heartbeat_at = :now, started_at = COALESCE(started_at, :now), message = NULL")
    if engine.dialect.name == "postgresql":
        sql = (f"UPDATE tasks SET {sets} WHERE id = (SELECT id FROM tasks WHERE status = 'queued'{where_kind} "
               "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id")
        with engine.begin() as conn:
            task_id = conn.execute(text(sql), values).scalar()
    else:
        sql = (f"UPDATE tasks SET {sets} WHERE id = (SELECT id FROM tasks WHERE status = 'queued'{where_kind} "
               "ORDER BY id LIMIT 1) AND status = 'queued' RETURNING id")
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock before reading: one claimer at a time
            task_id = conn.execute(text(sql), values).scalar()
            conn.commit()
    return None if task_id is None else get(engine, int(task_id))


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    """A session holding the write lock from its start (SQLite: ``BEGIN IMMEDIATE``), so reading rows and then
    changing them never meets a snapshot another worker made stale; PostgreSQL locks the rows it selects."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        session = Session(bind=conn, expire_on_commit=False)
        try:
            yield session
            session.flush()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            session.close()


def _owned(engine: Engine, task_id: int, owner: str, **values: Any) -> bool:
    """Change a running task held by ``owner``; False when the lease is no longer this owner's."""
    with engine.begin() as conn:
        changed = conn.execute(update(Task).where(Task.id == int(task_id), Task.lease_owner == owner,
                                                  Task.status == "running").values(**values))
    return bool(changed.rowcount)


def _finish(engine: Engine, task_id: int, owner: str, status: str, **values: Any) -> bool:
    return _owned(engine, task_id, owner, status=status, completed_at=utc_now(), lease_owner=None,
                  lease_expires_at=None, **values)


def complete(engine: Engine, task_id: int, owner: str, result: dict[str, Any], message: str | None = None) -> bool:
    import json

    return _finish(engine, task_id, owner, "completed", progress=1.0, result=json.loads(canonical_json(result)),
                   message=message, error=None)


def fail(engine: Engine, task_id: int, owner: str, error: str) -> bool:
    return _finish(engine, task_id, owner, "failed", error=error)


def finish_cancelled(engine: Engine, task_id: int, owner: str, reason: str) -> bool:
    return _finish(engine, task_id, owner, "cancelled", error=reason)


def release(engine: Engine, task_id: int, owner: str, reason: str) -> bool:
    """Give a running task back to the queue (a worker shutting down); the attempt stays counted."""
    return _owned(engine, task_id, owner, status="queued", lease_owner=None, lease_expires_at=None,
                  message=reason)


def cancel(engine: Engine, task_id: int) -> Task:
    """Cancel a queued task at once; ask a running one to stop at its next check; refuse a finished one."""
    with _writing(engine) as s:
        task = s.get(Task, int(task_id), with_for_update=True)
        if task is None:
            raise TaskNotFound(f"no task with id {task_id}")
        if task.status in FINISHED:
            raise TaskStateError(f"task {task_id} is already {task.status}; only a queued or running task can be "
                                 "cancelled")
        if task.status == "queued":
            task.status, task.completed_at, task.error = "cancelled", utc_now(), "cancelled before it started"
        task.cancel_requested = True
    return get(engine, task_id)


def requeue_expired(engine: Engine, *, now: datetime | None = None) -> list[int]:
    """Running tasks whose lease expired (their worker died or hung): back to the queue with their attempts
    kept, failed with the reason after ``max_attempts``, cancelled if a cancel was asked; their ids."""
    now = now or utc_now()
    changed: list[int] = []
    with _writing(engine) as s:
        stmt = select(Task).where(Task.status == "running", Task.lease_expires_at < now)
        if engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        for task in s.scalars(stmt):
            lost = f"the lease of {task.lease_owner} expired at {task.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC"
            if task.cancel_requested:
                task.status, task.error, task.completed_at = "cancelled", f"cancelled ({lost})", now
            elif task.attempts >= task.max_attempts:
                task.status, task.completed_at = "failed", now
                task.error = f"gave up after {task.attempts} attempt(s): {lost} (the worker died or hung)"
            else:
                task.status, task.message = "queued", f"requeued after attempt {task.attempts}: {lost}"
            task.lease_owner = task.lease_expires_at = None
            changed.append(task.id)
    return changed


class Lease:
    """A claimed task while a worker runs it: renews the lease, stores progress, stops a cancelled run.

    ``progress`` is the callback handed to the use case. It only notes the phase and fraction; the lease's
    thread writes them (every ``tick`` seconds when they changed, and renews the lease every third of it), so
    the run never waits on the store, not even inside its own write transaction. It raises
    :class:`TaskCancelled` or :class:`LeaseLost` once the thread saw a cancel request or lost the lease, so
    the run stops between two steps."""

    def __init__(self, engine: Engine, task: Task, owner: str, *, lease_s: float = DEFAULT_LEASE_S,
                 tick: float = 0.25) -> None:
        self.engine, self.task_id, self.owner, self.lease_s = engine, int(task.id), owner, float(lease_s)
        self.cancel_requested = bool(task.cancel_requested)
        self.lost = False
        self._noted: dict[str, Any] = {}
        self._renewed = time.monotonic()
        self._lock = threading.Lock()
        self._beat = Heartbeat(self._tick, min(tick, self.lease_s / 3), name=f"formguide-task-{task.id}")

    def renew(self, **values: Any) -> bool:
        """Extend the lease (and write ``values``); False (stop beating) once it is no longer ours."""
        now = utc_now()
        with self.engine.begin() as conn:
            row = conn.execute(update(Task).where(Task.id == self.task_id, Task.lease_owner == self.owner,
                                                  Task.status == "running")
                               .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=self.lease_s),
                                       **values)
                               .returning(Task.cancel_requested)).first()
        self._renewed = time.monotonic()
        if row is None:
            self.lost = True
            return False
        self.cancel_requested = bool(row[0])
        return True

    def _tick(self) -> bool:
        with self._lock:
            values, self._noted = self._noted, {}
        if not values and time.monotonic() - self._renewed < self.lease_s / 3:
            return True
        try:
            return self.renew(**values)
        except Exception:
            with self._lock:  # not written: keep it for the next tick unless something newer came
                self._noted = {**values, **self._noted}
            raise

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(f"task {self.task_id}: this worker's lease expired and the task was taken back")
        if self.cancel_requested:
            raise TaskCancelled(f"task {self.task_id} was cancelled")

    def progress(self, phase: str, fraction: float) -> None:
        with self._lock:
            self._noted = {"phase": str(phase)[:64], "progress": min(max(float(fraction), 0.0), 1.0)}
        self.check()

    def flush(self) -> None:
        """Write what was noted now (tests, and the end of a run)."""
        self._tick()

    def __enter__(self) -> Lease:
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._beat.stop()
