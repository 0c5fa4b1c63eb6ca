"""Job workers inside the server (``formguide serve --workers N``) and the workers part of ``/health``.

The N workers are threads of the server process running the same loop as ``formguide worker``
(``app.tasks.run_worker``) on the server's own context, so ``formguide serve`` alone on the embedded SQLite
store trains what the API queues. They start and stop with the app (its lifespan): a stop sets their stop
event, a task in the middle of a run goes back to the queue at its next progress report, and each worker
records its clean stop. A task queued by this process wakes an idle worker at once
(``app.tasks.wake_workers``), so it starts running within milliseconds instead of at the next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from formguide.app.context import Context
from formguide.app.tasks import WorkerStopped, run_worker, wake_workers
from formguide.core.errors import FormguideError
from formguide.core.tasks import DEFAULT_LEASE_S
from formguide.core.workers import WORKER_STALE_S, WorkerInfo, alive_workers

__all__ = ["WorkerPool", "worker_health"]

log = logging.getLogger("formguide.service.workers")

#: How many live workers ``/health`` lists (the count covers them all).
HEALTH_LISTED = 10


class WorkerPool:
    """``n`` worker threads over the context ``context()`` hands out (the server's own)."""

    def __init__(self, context: Callable[[], Context], n: int, *, poll: float = 1.0,
                 lease_s: float = DEFAULT_LEASE_S) -> None:
        if n < 0:
            raise FormguideError(f"--workers must be 0 or more, got {n}")
        self.context, self.n, self.poll, self.lease_s = context, int(n), float(poll), float(lease_s)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._run, name=f"formguide-worker-{i + 1}", daemon=True)
                         for i in range(self.n)]
        for thread in self._threads:
            thread.start()
        if self.n:
            log.info("started %d in-process worker(s)", self.n)

    def _run(self) -> None:
        """One worker: the worker loop until stopped; a store that cannot be opened is tried again after a poll,
        a defect is logged and the loop started again (a worker thread must not die silently)."""
        while not self._stop.is_set():
            try:
                run_worker(self.context(), poll=self.poll, lease_s=self.lease_s, stop=self._stop)
            except WorkerStopped:
                return
            except (FormguideError, SQLAlchemyError) as exc:
                log.warning("in-process worker: %s; retrying in %g s", str(exc).splitlines()[0], self.poll)
            except Exception:  # noqa: BLE001 - logged with its traceback, then the loop starts again
                log.exception("in-process worker failed unexpectedly; restarting it")
            self._stop.wait(self.poll)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every worker: idle ones at once, a busy one at its task's next progress report (the task is
        requeued); waits up to ``timeout`` seconds for them."""
        self._stop.set()
        wake_workers()
        for thread in self._threads:
            thread.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("in-process worker(s) still running after %g s: %s", timeout, ", ".join(alive))

    @property
    def running(self) -> int:
        return sum(t.is_alive() for t in self._threads)


def worker_health(engine: Any, within_s: float = WORKER_STALE_S) -> dict[str, Any]:
    """The workers part of ``/health``: how many are alive, the first few, and a sentence. No live worker is
    not an unhealthy service (reads and submissions work; queued tasks wait), so it never makes ``/health``
    a 503: the store and its migrations decide that."""
    try:
        alive: list[WorkerInfo] = alive_workers(engine, within_s)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return {"workers_alive": 0, "workers": [], "workers_message": f"could not read the workers table: {reason}"}
    if alive:
        busy = sum(w.task_id is not None for w in alive)
        message = f"{len(alive)} worker(s) alive ({busy} busy), heartbeat within {within_s:g} s"
    else:
        message = ("no live worker: queued tasks wait until one runs (`formguide worker`, or `formguide serve "
                   "--workers 1`)")
    return {"workers_alive": len(alive), "workers": alive[:HEALTH_LISTED], "workers_message": message}
