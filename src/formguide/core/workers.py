"""Which workers are alive: a row per worker in the store's ``workers`` table (migration 0007).

Every worker loop (``formguide worker`` and the threads of ``formguide serve --workers N``) records itself
with a :class:`WorkerRecord`: a row when it starts, a heartbeat from a daemon thread every
:data:`WORKER_HEARTBEAT_S` while idle and while busy (the heartbeat thread keeps beating while a training run
holds the worker's own thread), the task it runs and how many it finished, and ``stopped_at`` on a clean stop.
A worker killed with ``kill -9`` just stops beating: :func:`alive_workers` counts a worker alive when it has
not stopped and beat within ``within_s`` (and, on this host, its pid is alive), which is what ``/health``
reports. Sport-agnostic: nothing here knows what a task does.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from formguide.core.heartbeat import HOST, Heartbeat, pid_alive, utc_now
from formguide.core.store.db import session_scope
from formguide.core.store.models import Worker

__all__ = ["WORKER_HEARTBEAT_S", "WORKER_STALE_S", "WorkerInfo", "WorkerRecord", "alive_workers", "beat",
           "list_workers", "mark_stopped"]

log = logging.getLogger("formguide.workers")

#: How often a worker says it is alive, and after how long without a word it no longer counts as alive
#: (six missed beats: a SQLite store busy with a long write delays a beat, it does not kill the worker).
WORKER_HEARTBEAT_S = 5.0
WORKER_STALE_S = 30.0
#: Rows of workers that stopped (or went silent) longer ago than this are removed when a worker starts.
FORGET_AFTER = timedelta(days=7)


class WorkerInfo(BaseModel):
    """One worker as the store last heard of it."""

    owner: str = Field(description="host:pid:random, the name its task leases carry.")
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None
    task_id: int | None = Field(None, description="The task it is running (None: idle).")
    tasks_done: int
    alive: bool = Field(description="Not stopped, a heartbeat within the limit, and (same host) its pid alive.")


def _alive(row: Worker, now: datetime, within_s: float) -> bool:
    if row.stopped_at is not None or now - row.heartbeat_at > timedelta(seconds=within_s):
        return False
    return row.host != HOST or pid_alive(int(row.pid))


def _info(row: Worker, now: datetime, within_s: float) -> WorkerInfo:
    return WorkerInfo(owner=row.owner, host=row.host, pid=row.pid, started_at=row.started_at,
                      heartbeat_at=row.heartbeat_at, stopped_at=row.stopped_at, task_id=row.task_id,
                      tasks_done=int(row.tasks_done or 0), alive=_alive(row, now, within_s))


def list_workers(engine: Engine, *, limit: int = 20, within_s: float = WORKER_STALE_S,
                 now: datetime | None = None) -> list[WorkerInfo]:
    """Workers by latest heartbeat, newest first (stopped and silent ones too, flagged ``alive=False``)."""
    now = now or utc_now()
    with session_scope(engine) as s:
        rows = s.scalars(select(Worker).order_by(Worker.heartbeat_at.desc()).limit(int(limit)))
        return [_info(r, now, within_s) for r in rows]


def alive_workers(engine: Engine, within_s: float = WORKER_STALE_S, *, now: datetime | None = None
                  ) -> list[WorkerInfo]:
    """Workers alive now: not stopped and a heartbeat within ``within_s`` seconds (same host: pid alive)."""
    now = now or utc_now()
    with session_scope(engine) as s:
        rows = s.scalars(select(Worker).where(Worker.stopped_at.is_(None),
                                              Worker.heartbeat_at >= now - timedelta(seconds=within_s))
                         .order_by(Worker.heartbeat_at.desc()))
        return [info for info in (_info(r, now, within_s) for r in rows) if info.alive]


def beat(engine: Engine, owner: str, *, task_id: int | None, tasks_done: int, started_at: datetime | None = None
         ) -> None:
    """Write the worker's heartbeat, current task and count; its row is made when missing (first beat, or a
    store that was unreachable when the worker started)."""
    now = utc_now()
    values = {"heartbeat_at": now, "task_id": task_id, "tasks_done": int(tasks_done)}
    with engine.begin() as conn:
        if conn.execute(update(Worker).where(Worker.owner == owner).values(**values)).rowcount:
            return
    try:
        with engine.begin() as conn:
            conn.execute(insert(Worker).values(owner=owner, host=HOST, pid=os.getpid(), started_at=started_at or now,
                                               stopped_at=None, **values))
    except IntegrityError:  # made meanwhile by another beat of the same worker: the update next time is enough
        pass


def mark_stopped(engine: Engine, owner: str, *, tasks_done: int) -> None:
    """A clean stop: ``stopped_at`` set, no current task."""
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(update(Worker).where(Worker.owner == owner)
                     .values(stopped_at=now, heartbeat_at=now, task_id=None, tasks_done=int(tasks_done)))


def forget_old(engine: Engine, *, now: datetime | None = None) -> int:
    """Remove rows of workers gone for longer than :data:`FORGET_AFTER`; how many."""
    cutoff = (now or utc_now()) - FORGET_AFTER
    with engine.begin() as conn:
        return int(conn.execute(delete(Worker).where(or_(Worker.stopped_at < cutoff,
                                                         Worker.heartbeat_at < cutoff))).rowcount or 0)


class WorkerRecord:
    """A worker loop's row: registered on enter, a heartbeat thread while it runs, stopped on a clean exit.

    :meth:`busy` and :meth:`idle` note the current task and write it at once (the heartbeat would otherwise
    show it up to :data:`WORKER_HEARTBEAT_S` late). A store that cannot be reached never stops the worker: the
    write is logged and made again by the next beat."""

    def __init__(self, engine: Engine, owner: str, *, interval: float = WORKER_HEARTBEAT_S) -> None:
        self.engine, self.owner = engine, owner
        self.task_id: int | None = None
        self.tasks_done = 0
        self.started_at = utc_now()
        self._lock = threading.Lock()
        self._beat = Heartbeat(self._tick, interval, name=f"formguide-worker-beat-{owner.rsplit(':', 1)[-1]}")

    def _tick(self) -> bool:
        with self._lock:
            task_id, done = self.task_id, self.tasks_done
        beat(self.engine, self.owner, task_id=task_id, tasks_done=done, started_at=self.started_at)
        return True

    def _write_now(self) -> None:
        try:
            self._tick()
        except SQLAlchemyError as exc:
            log.warning("worker %s: could not record its state (%s); the next heartbeat retries", self.owner,
                        str(exc).splitlines()[0])

    def busy(self, task_id: int) -> None:
        with self._lock:
            self.task_id = int(task_id)
        self._write_now()

    def idle(self, *, finished: bool = True) -> None:
        with self._lock:
            self.task_id = None
            self.tasks_done += int(finished)
        self._write_now()

    def __enter__(self) -> WorkerRecord:
        try:
            forget_old(self.engine)
        except SQLAlchemyError as exc:
            log.warning("worker %s: could not clear old worker rows (%s)", self.owner, str(exc).splitlines()[0])
        self._write_now()
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._beat.stop()
        try:
            mark_stopped(self.engine, self.owner, tasks_done=self.tasks_done)
        except SQLAlchemyError as err:
            log.warning("worker %s: could not record its stop (%s); it counts as gone once its heartbeat is "
                        "older than %g s", self.owner, str(err).splitlines()[0], WORKER_STALE_S)
