"""``formguide worker``: claim queued tasks from the store and run them (several workers may share a store)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from formguide.cli.render import out

__all__ = ["worker"]


def _stop(signum: int, _frame: object) -> None:
    from formguide.app.tasks import WorkerStopped

    raise WorkerStopped(f"signal {signum}")


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run at most one queued task, then exit.")] = False,
    poll: Annotated[float, typer.Option("--poll", metavar="SECONDS", help="How often an idle worker looks for a "
                                        "queued task.")] = 1.0,
    lease: Annotated[float, typer.Option("--lease", metavar="SECONDS", help=(
        "How long a claim lasts without a heartbeat; a task whose worker died is requeued after it."))] = 60.0,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store (FORMGUIDE_DB_URL).",
                                           show_default=False)] = None,
    artifacts: Annotated[Path | None, typer.Option("--artifacts", help="Folder for model cards and plots.",
                                                   show_default=False)] = None,
) -> None:
    """Run queued tasks (training runs submitted through the API) with the same use cases the CLI runs.
    A task whose worker dies is requeued when its lease expires; SIGTERM gives the current task back."""
    from formguide.app.tasks import run_worker
    from formguide.cli import context
    from formguide.core.tasks import DEFAULT_LEASE_S

    def report(info) -> None:  # type: ignore[no-untyped-def]
        what = info.message if info.status == "completed" else (info.error or info.message or "")
        out.print(f"task {info.task_id} {info.status}: {escape(what)}", soft_wrap=True)

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with context(db, artifacts) as ctx:
            run_worker(ctx, once=once, poll=poll, lease_s=lease or DEFAULT_LEASE_S, report=report)
    finally:
        signal.signal(signal.SIGTERM, previous)
