"""Telling live work from dead: who owns a row (process and host), a heartbeat thread, and the sweep that
marks training runs whose process died as ``interrupted``.

A process killed with ``kill -9`` runs no ``finally``; the rows it was writing stay ``running``. Each such
row therefore carries its owner (pid and host) and a heartbeat time, renewed by a daemon thread. Another
process decides the owner is gone when, on the same host, the pid is no longer alive (immediate, exact but
for pid reuse), or, on another host, the heartbeat is older than :data:`RUN_STALE_S`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

__all__ = ["HOST", "RUN_HEARTBEAT_S", "RUN_STALE_S", "Heartbeat", "interrupt_dead_runs", "pid_alive", "utc_now"]

log = logging.getLogger("formguide.heartbeat")

#: How often a running training run says it is alive, and after how long without a word another host
#: counts it as dead. A run recorded before 0006 (no owner) counts as dead after :data:`LEGACY_STALE_S`.
RUN_HEARTBEAT_S = 10.0
RUN_STALE_S = 120.0
LEGACY_STALE_S = 24 * 3600.0
HOST = socket.gethostname()[:255]


def utc_now() -> datetime:
    """Naive UTC now: what every timestamp of the store holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host is alive (a zombie, killed but not yet reaped, counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[-1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


class Heartbeat:
    """A daemon thread calling ``beat()`` every ``interval`` seconds until stopped or ``beat`` returns False.

    A database that is briefly locked (SQLite under another writer) is retried at the next beat; any other
    error stops the thread (logged), after which the row's owner is judged by its pid or its last beat."""

    def __init__(self, beat: Callable[[], bool], interval: float, name: str = "formguide-heartbeat") -> None:
        self.beat, self.interval = beat, float(interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.beat():
                    return
            except OperationalError as exc:
                log.warning("heartbeat delayed: %s", str(exc).splitlines()[0])
            except Exception as exc:  # noqa: BLE001 - a thread must not die silently
                log.warning("heartbeat stopped: %s: %s", type(exc).__name__, exc)
                return

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _death(run: object, now: datetime, stale_after: float) -> str | None:
    """Why a ``running`` run's owner is gone, or None while it may be alive."""
    pid, host = getattr(run, "owner_pid", None), getattr(run, "owner_host", None)
    if pid is not None and host == HOST:
        return None if pid_alive(int(pid)) else f"its process (pid {pid} on {host}) is gone"
    last = getattr(run, "heartbeat_at", None) or getattr(run, "started_at", None)
    limit = stale_after if pid is not None else max(stale_after, LEGACY_STALE_S)
    if last is not None and now - last > timedelta(seconds=limit):
        who = f"pid {pid} on {host}" if pid is not None else "a process recorded before run heartbeats existed"
        return f"no heartbeat from {who} since {last.isoformat(timespec='seconds')} UTC (limit {limit:g} s)"
    return None


def interrupt_dead_runs(engine: Engine, *, stale_after: float = RUN_STALE_S, now: datetime | None = None) -> list[int]:
    """Mark ``running`` training runs whose process is gone as ``interrupted`` with the reason; their ids.

    Each row is changed only if it is still ``running`` (a run finishing meanwhile keeps its own status)."""
    from formguide.core.store.db import session_scope
    from formguide.core.store.models import TrainingRun

    now = now or utc_now()
    done: list[int] = []
    try:
        with session_scope(engine) as s:
            running = s.execute(select(TrainingRun.id, TrainingRun.owner_pid, TrainingRun.owner_host,
                                       TrainingRun.heartbeat_at, TrainingRun.started_at)
                                .where(TrainingRun.status == "running")).all()
            for run in running:
                reason = _death(run, now, stale_after)
                if reason is None:
                    continue
                changed = s.execute(update(TrainingRun).where(TrainingRun.id == run.id,
                                                              TrainingRun.status == "running")
                                    .values(status="interrupted", completed_at=now,
                                            error_message=f"interrupted: {reason}"))
                if changed.rowcount:
                    done.append(int(run.id))
    except SQLAlchemyError as exc:  # a store that is busy or older than 0006: try again next time
        log.warning("could not check for interrupted runs: %s", str(exc).splitlines()[0])
        return []
    if done:
        log.warning("marked %d training run(s) whose process died as interrupted: %s", len(done), done)
    return done
