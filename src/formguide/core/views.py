"""Tables as data: what a use case shows, independent of where it is shown.

A :class:`TableView` is a title, columns and rows of plain values. Sports build them for their results
(the metrics of an evaluation, a day's predictions, a race's field); the CLI renders them with rich and
fits them to the terminal (columns of lower priority are dropped first, ``--wide`` shows all), the web UI
renders the same view as HTML. Values stay typed (floats are formatted by the renderer with each
column's ``digits``), so JSON and tables never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["METRIC_HEADERS", "Column", "TableView", "format_cell", "metrics_view"]

#: Short headers of metric columns, so metric tables fit 80 columns.
METRIC_HEADERS = {"log_loss": "log loss", "draw_accuracy": "draw acc", "win_log_loss": "win LL",
                  "top1_accuracy": "top-1", "expected_top1_accuracy": "exp top-1", "podium_brier": "podium B",
                  "win_ece": "win ECE", "points_brier": "points B", "podium_ece": "podium ECE",
                  "points_ece": "points ECE"}


class Column(BaseModel):
    """One column: ``key`` into each row, the header, alignment and formatting, and how much it matters.

    ``priority`` 0 is always shown; higher numbers are dropped first when the table does not fit.
    """

    key: str
    header: str | None = None
    align: Literal["left", "right"] = "right"
    digits: int = 4
    priority: int = 0
    max_width: int | None = None

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.key


class TableView(BaseModel):
    title: str = ""
    columns: list[Column]
    rows: list[dict[str, Any]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    empty: str = "nothing to show"

    def cells(self, columns: Iterable[Column] | None = None) -> list[list[str]]:
        cols = list(columns) if columns is not None else self.columns
        return [[format_cell(row.get(c.key), c.digits) for c in cols] for row in self.rows]


def format_cell(value: Any, digits: int = 4) -> str:
    """A value as a table cell: floats to ``digits`` decimals, missing or NaN as ``-``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def metrics_view(title: str, report: Mapping[str, Any], columns: Iterable[str], *,
                 model_label: str = "model", priorities: Mapping[str, int] | None = None) -> TableView:
    """An evaluation report (``model``, ``market``, ``baselines``) as one table of the given metric columns."""
    priorities = priorities or {}
    cols = [Column(key="forecast", align="left")] + [
        Column(key=c, header=METRIC_HEADERS.get(c), digits=0 if c in ("n", "races", "events", "entries") else 4,
               priority=priorities.get(c, 0))
        for c in columns]
    rows: list[dict[str, Any]] = []

    def add(label: str, metrics: Mapping[str, Any] | None) -> None:
        if metrics:
            rows.append({"forecast": label, **{c.key: metrics.get(c.key) for c in cols[1:]}})

    add(model_label, report.get("model"))
    market = report.get("market")
    if market:
        add("model, priced events", market.get("model_on_same_events"))
        add("market (closing)", market)
    for name, metrics in (report.get("baselines") or {}).items():
        add(f"baseline {name}", metrics)
    notes = ["market = the de-margined closing line, scored on the events it priced"] if market else []
    return TableView(title=title, columns=cols, rows=rows, notes=notes)
