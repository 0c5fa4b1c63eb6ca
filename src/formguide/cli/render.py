"""Rendering for the CLI: tables fitted to the terminal, JSON through the one encoder, progress bars, errors.

A :class:`~formguide.core.views.TableView` is drawn with rich. When its columns do not fit the console (80
columns when output is not a terminal), columns of lower priority are left out, and a note says how many
and that ``--wide`` shows them all.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from formguide.core.errors import FormguideError
from formguide.core.jsonio import dumps, write_text_atomic
from formguide.core.views import Column, TableView

__all__ = ["check_output", "emit_json", "err", "out", "print_messages", "progress_bar", "render_view"]

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)
_BORDER = 3  # rich's " | " between columns (box, padding)


def _width(column: Column, cells: list[str]) -> int:
    widest = max([len(column.title)] + [len(c) for c in cells])
    return min(widest, column.max_width) if column.max_width else widest


def fit_columns(view: TableView, width: int, wide: bool = False) -> list[Column]:
    """The columns to draw: all with ``wide``, else by priority (then order) while the table fits ``width``."""
    if wide:
        return list(view.columns)
    cells = view.cells()
    need = {c.key: _width(c, [row[i] for row in cells]) for i, c in enumerate(view.columns)}
    chosen: set[str] = set()
    used = 1
    for c in sorted(view.columns, key=lambda c: c.priority):
        cost = need[c.key] + _BORDER
        if c.priority == 0 or used + cost <= width:
            chosen.add(c.key)
            used += cost
    return [c for c in view.columns if c.key in chosen]


def render_view(view: TableView, *, wide: bool = False, console: Console | None = None) -> None:
    console = console or out
    if not view.rows:
        if view.empty:
            console.print(escape(view.empty))
        for note in view.notes:
            console.print(escape(note))
        return
    columns = fit_columns(view, console.width, wide)
    table = Table(title=escape(view.title) if view.title else None, title_justify="left")
    for c in columns:
        table.add_column(escape(c.title), justify=c.align, max_width=None if wide else c.max_width,
                         overflow="ellipsis", no_wrap=True)
    for row in view.cells(columns):
        table.add_row(*[escape(cell) for cell in row])
    if wide:
        console = Console(width=max(console.width, 400), highlight=False, soft_wrap=True,
                          file=console.file)
    console.print(table)
    hidden = len(view.columns) - len(columns)
    if hidden:
        names = ", ".join(c.title for c in view.columns if c not in columns)
        # the hint first, so a narrow terminal never wraps it apart
        console.print(f"[dim]{hidden} more column{'s' if hidden > 1 else ''} (--wide shows all): {escape(names)}[/dim]")
    for note in view.notes:
        console.print(f"[dim]{escape(note)}[/dim]", soft_wrap=True)


def print_messages(messages: Sequence[str], console: Console | None = None) -> None:
    for m in messages:
        style = "[red]" if m.startswith("rejected") else ""
        (console or out).print(f"{style}{escape(m)}{'[/red]' if style else ''}", soft_wrap=True)


def check_output(target: str | None) -> None:
    """Fail before any work when a ``--json FILE`` (``-`` = stdout) or output file cannot be written."""
    if target in (None, "-"):
        return
    path = Path(target)
    if path.is_dir():
        raise FormguideError(f"cannot write {path}: it is a folder; give a file name such as {path / 'out.json'}")
    parent = path.parent if str(path.parent) else Path(".")
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise FormguideError(f"cannot write {path}: {ancestor} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".check"):
            pass
    except OSError as exc:
        raise FormguideError(f"cannot write {path}: {exc.strerror or exc}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise FormguideError(f"cannot write {path}: the file is not writable")


def emit_json(data: Any, target: str) -> None:
    """JSON (never NaN or Infinity) to stdout (``-``) or atomically to a file."""
    text = dumps(data) + "\n"
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_text_atomic(target, text)
    except OSError as exc:
        raise FormguideError(f"cannot write {target}: {exc.strerror or exc}") from None
    err.print(f"wrote {escape(str(target))}")


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, float], None]]:
    """A progress bar on stderr driven by ``callback(phase, fraction)`` (silent when stderr is no terminal)."""
    bar = Progress(TextColumn(f"[bold]{escape(description)}[/bold] {{task.description}}"), BarColumn(),
                   TaskProgressColumn(), TimeElapsedColumn(), console=err, transient=True,
                   disable=not err.is_terminal)
    with bar:
        task = bar.add_task("", total=1.0)

        def callback(phase: str, fraction: float) -> None:
            bar.update(task, description=escape(phase), completed=max(0.0, min(1.0, float(fraction))))

        yield callback
