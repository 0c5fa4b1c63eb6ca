"""Schedules: recurring tasks on the store's ``schedules`` table, queued by the workers when they are due.

A schedule is a task ``kind`` and its ``request`` with a cadence: a cron expression (five fields, minute hour
day-of-month month day-of-week, as ``crontab(5)``; ``@daily``, ``@weekly``, ``@hourly`` too), evaluated in
UTC by ``croniter``. ``next_run_at`` is the first time the cadence matches after the schedule was made or
last ran.

Every worker calls :func:`enqueue_due` each time it polls. Each due schedule is handled in its own
transaction whose conditional ``UPDATE ... WHERE next_run_at = <the value read>`` both claims the firing and
advances ``next_run_at``; the task is inserted in the same transaction. Two workers that see the same due
schedule therefore queue it once: the second one's ``UPDATE`` matches no row (PostgreSQL re-checks the
``WHERE`` on the row the first one committed; SQLite takes the write lock first with ``BEGIN IMMEDIATE``).

Missed runs (no worker was running when a schedule came due, perhaps for days) are not a backlog: the
schedule fires once, and its next run is the cadence's next time after *now*. A daily ingest that missed three
days ingests once, which is what the data needs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from formguide.core.errors import FormguideError
from formguide.core.heartbeat import utc_now
from formguide.core.jsonio import canonical_json
from formguide.core.store.models import Schedule, Task

__all__ = ["Fired", "ScheduleNotFound", "add", "enqueue_due", "fire", "get", "list_schedules", "next_run",
           "parse_cadence", "remove", "set_enabled"]

log = logging.getLogger("formguide.schedules")

#: The request key that names the schedule a task was queued by (the task list shows where a run came from).
SCHEDULE_KEY = "schedule"


class ScheduleNotFound(FormguideError):
    """No schedule with that name."""


@dataclass(frozen=True)
class Fired:
    """A schedule that queued a task."""

    schedule: str
    task_id: int
    next_run_at: datetime | None


def parse_cadence(cadence: str) -> str:
    """The cadence, stripped, when croniter reads it as a cron expression; a one-line error otherwise."""
    from croniter import croniter

    text = " ".join(str(cadence).split())
    if not text or len(text) > 64:
        raise FormguideError(f"a cron expression has 1-64 characters, got {cadence!r}")
    fields = text.split()
    if not text.startswith("@") and len(fields) != 5:
        raise FormguideError(f"bad cron expression {cadence!r}: expected 5 fields (minute hour day month weekday), "
                             f"e.g. '0 6 * * *' for 06:00 UTC daily; got {len(fields)}")
    if not croniter.is_valid(text):
        raise FormguideError(f"bad cron expression {cadence!r}: expected 5 fields (minute hour day month weekday), "
                             "e.g. '0 6 * * *' for 06:00 UTC daily, '0 5 * * mon' for Mondays at 05:00")
    return text


def next_run(cadence: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` (naive UTC) that the cadence matches, naive UTC."""
    from croniter import croniter

    return croniter(parse_cadence(cadence), after.replace(microsecond=0)).get_next(datetime)


def _json(request: dict[str, Any]) -> dict[str, Any]:
    return json.loads(canonical_json(request))


def add(engine: Engine, name: str, kind: str, request: dict[str, Any], cadence: str, *,
        now: datetime | None = None, enabled: bool = True) -> Schedule:
    """Store a new schedule; its first run is the cadence's next time after ``now``. A taken name is refused."""
    name = str(name).strip()
    if not name or len(name) > 128 or any(c.isspace() for c in name):
        raise FormguideError(f"a schedule name has 1-128 characters and no spaces, got {name!r}")
    cadence = parse_cadence(cadence)
    now = now or utc_now()
    with Session(engine, expire_on_commit=False) as s, s.begin():
        if s.scalar(select(Schedule.id).where(Schedule.name == name)) is not None:
            raise FormguideError(f"a schedule named {name!r} exists already (formguide schedule remove {name})")
        schedule = Schedule(name=name, kind=kind, request=_json(request), cadence=cadence, enabled=enabled,
                            created_at=now, next_run_at=next_run(cadence, now) if enabled else None)
        s.add(schedule)
    return schedule


def get(engine: Engine, name: str) -> Schedule:
    with Session(engine, expire_on_commit=False) as s:
        schedule = s.scalar(select(Schedule).where(Schedule.name == name))
    if schedule is None:
        raise ScheduleNotFound(f"no schedule named {name!r} (formguide schedule list shows them)")
    return schedule


def list_schedules(engine: Engine) -> list[Schedule]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(select(Schedule).order_by(Schedule.name)))


def remove(engine: Engine, name: str) -> Schedule:
    """Delete a schedule (the tasks it queued stay in the task list)."""
    schedule = get(engine, name)
    with Session(engine) as s, s.begin():
        s.execute(Schedule.__table__.delete().where(Schedule.id == schedule.id))
    return schedule


def set_enabled(engine: Engine, name: str, enabled: bool, *, now: datetime | None = None) -> Schedule:
    """Turn a schedule on (its next run from now on: nothing missed while it was off is run) or off."""
    schedule = get(engine, name)
    now = now or utc_now()
    with Session(engine) as s, s.begin():
        s.execute(update(Schedule).where(Schedule.id == schedule.id).values(
            enabled=enabled, next_run_at=next_run(schedule.cadence, now) if enabled else None))
    return get(engine, name)


def _begin(conn: Any) -> None:
    """Take SQLite's write lock before reading (PostgreSQL's row lock comes with the ``UPDATE``)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _queue(engine: Engine, schedule: Schedule, now: datetime, *, due: datetime | None) -> Fired | None:
    """In one transaction: claim this firing (``next_run_at`` still ``due``; ``due`` None = queue now whatever
    it is), advance ``next_run_at`` from ``now``, insert the task. None when another worker fired it first."""
    upcoming = next_run(schedule.cadence, now) if schedule.enabled else None
    request = {**(schedule.request or {}), SCHEDULE_KEY: schedule.name}
    with engine.connect() as conn:
        _begin(conn)
        with Session(bind=conn) as s:
            stmt = update(Schedule).where(Schedule.id == schedule.id)
            if due is not None:
                stmt = stmt.where(Schedule.next_run_at == due, Schedule.enabled.is_(True))
            values: dict[str, Any] = {"last_run_at": now}
            if due is not None or schedule.enabled:
                values["next_run_at"] = upcoming
            if s.execute(stmt.values(**values)).rowcount != 1:
                conn.rollback()
                return None
            task = Task(kind=schedule.kind, request=_json(request), status="queued", progress=0.0, attempts=0,
                        max_attempts=3, cancel_requested=False, created_at=now,
                        message=f"queued by schedule {schedule.name}")
            s.add(task)
            s.flush()
            s.execute(update(Schedule).where(Schedule.id == schedule.id).values(last_task_id=task.id))
            task_id = int(task.id)
            conn.commit()
    return Fired(schedule.name, task_id, upcoming)


def fire(engine: Engine, name: str, *, now: datetime | None = None) -> Fired:
    """Queue a schedule's task now (``formguide schedule run``); its regular cadence goes on unchanged."""
    fired = _queue(engine, get(engine, name), now or utc_now(), due=None)
    if fired is None:  # unconditional update: no row only when it was removed since ``get``
        raise ScheduleNotFound(f"schedule {name!r} was removed while it was being queued")
    return fired


def enqueue_due(engine: Engine, now: datetime | None = None) -> list[Fired]:
    """Queue the task of every enabled schedule whose ``next_run_at`` has come, once each however many workers
    call this at the same time, and however many runs were missed; what was queued."""
    now = now or utc_now()
    with Session(engine, expire_on_commit=False) as s:
        due = list(s.scalars(select(Schedule).where(Schedule.enabled.is_(True), Schedule.next_run_at.is_not(None),
                                                    Schedule.next_run_at <= now).order_by(Schedule.id)))
    fired = []
    for schedule in due:
        try:
            result = _queue(engine, schedule, now, due=schedule.next_run_at)
        except FormguideError as exc:  # a row edited by hand into a bad cadence: the others still run
            log.warning("schedule %s skipped: %s", schedule.name, exc)
            continue
        if result is not None:
            fired.append(result)
    return fired
