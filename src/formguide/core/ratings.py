"""Ratings a user can look at: each participant's named numbers as of a date, as a table and a picture.

A sport that rates its participants (``Sport.can_rate``) returns a :class:`RatingsOutput` from
``Sport.ratings``: rows of named numeric columns (one row per team or driver), which column is the headline
(rows are sorted by it, best first, and the bar chart draws it; text columns, e.g. a division, are only
shown), optionally two columns to plot against each
other (e.g. attack against defence), and competition-wide facts (e.g. the league's home advantage). The
core turns it into a :class:`~formguide.core.views.TableView` (:func:`ratings_view`) and a PNG
(:func:`ratings_plot`) without knowing what the numbers mean; the sport says that in the headers, the
descriptions and the title (which names the model and the data window).

Matplotlib is imported only when a picture is drawn, so front ends that only read the numbers do not pay
for it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, model_validator

from formguide.core.views import Column, TableView

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["RatingColumn", "RatingFact", "RatingsOutput", "ratings_figure", "ratings_plot", "ratings_view"]


class RatingColumn(BaseModel):
    """One named number per row: its key, the header a person reads, what it means and which way is better."""

    key: str
    header: str = Field(description="Column header; says the scale (e.g. 'attack (exp)').")
    description: str = Field("", description="What the number means, in one sentence.")
    digits: int = Field(2, ge=0, le=6)
    higher_is_better: bool = True
    #: 0 is always shown; higher numbers are left out first when the table does not fit the terminal.
    priority: int = Field(0, ge=0)
    text: bool = Field(False, description="A label (e.g. a division), not a number: shown, never ranked or drawn.")


class RatingFact(BaseModel):
    """A number about the competition as a whole (e.g. the league's home advantage)."""

    key: str
    label: str
    value: float | None
    digits: int = Field(3, ge=0, le=6)
    description: str = ""


class RatingsOutput(BaseModel):
    """Every participant's ratings as of a date; ``rows`` hold ``name`` and a number (or None) per column."""

    competition: str
    season: str | None = Field(None, description="Season whose participants are rated.")
    as_of: str = Field(description="Ratings use only results of days strictly before this day (ISO date).")
    title: str = Field(description="Names the model(s) and the data window.")
    entity: str = Field("team", description="Header of the name column (team, driver...).")
    columns: list[RatingColumn] = Field(min_length=1)
    headline: str = Field(description="Key of the column rows are sorted by (best first) and the bar chart shows.")
    axes: tuple[str, str] | None = Field(None, description="Keys of two columns for the scatter (x, y).")
    rows: list[dict[str, Any]]
    facts: list[RatingFact] = Field(default_factory=list)
    window: dict[str, Any] = Field(default_factory=dict, description="The data each model saw (first, last, events).")
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_and_sort(self) -> RatingsOutput:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys) or "name" in keys:
            raise ValueError(f"rating column keys must be distinct and not 'name', got {keys}")
        for key in (self.headline, *(self.axes or ())):
            if key not in keys:
                raise ValueError(f"{key!r} is not one of the rating columns {keys}")
            if self.column(key).text:
                raise ValueError(f"{key!r} is a text column: the headline and the axes must be numbers")
        for i, row in enumerate(self.rows):
            if "name" not in row:
                raise ValueError(f"ratings row {i} has no 'name'")
            for key in keys:
                value = row.get(key)
                if self.column(key).text:
                    if value is not None and not isinstance(value, str):
                        raise ValueError(f"ratings row {i} ({row['name']}), column {key}: {value!r} is not text")
                    continue
                if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
                    raise ValueError(f"ratings row {i} ({row['name']}), column {key}: {value!r} is not a finite "
                                     "number (use None for unknown)")
        self.rows = sorted(self.rows, key=self._rank_key)
        return self

    def column(self, key: str) -> RatingColumn:
        return next(c for c in self.columns if c.key == key)

    def _rank_key(self, row: dict[str, Any]) -> tuple[bool, float, str]:
        value = row.get(self.headline)
        if value is None:
            return True, 0.0, str(row["name"])
        return False, -value if self.column(self.headline).higher_is_better else value, str(row["name"])


def ratings_view(output: RatingsOutput) -> TableView:
    """The ratings as a table: rank, name, then the sport's columns in its order (headline first if not)."""
    ordered = sorted(output.columns, key=lambda c: c.key != output.headline)
    cols = [Column(key="rank", header="#", digits=0), Column(key="name", header=output.entity, align="left",
                                                             max_width=22)]
    cols += [Column(key=c.key, header=c.header, digits=c.digits, priority=c.priority,
                    align="left" if c.text else "right") for c in ordered]
    rows = [{"rank": i, **row} for i, row in enumerate(output.rows, start=1)]
    notes = [f"{f.label}: {'-' if f.value is None else f'{f.value:.{f.digits}f}'}"
             + (f" ({f.description})" if f.description else "") for f in output.facts]
    notes += [f"{c.header}: {c.description}" for c in ordered if c.description]
    notes += output.notes
    return TableView(title=output.title, columns=cols, rows=rows, notes=notes,
                     empty=f"no {output.entity}s to rate as of {output.as_of}")


def _values(output: RatingsOutput, key: str) -> list[float]:
    return [math.nan if row.get(key) is None else float(row[key]) for row in output.rows]


def ratings_figure(output: RatingsOutput) -> Figure:
    """The figure :func:`ratings_plot` saves, unsaved.

    Left: a horizontal bar per row of the headline, best at the top, each bar labelled with its value.
    Right, when the sport names ``axes``: a scatter of the two columns, every point labelled with its name,
    each axis oriented so that better is up and to the right (an axis where lower is better is inverted).
    """
    from formguide.core.plots import _new_figure

    if not output.rows:
        raise ValueError(f"no {output.entity}s to draw as of {output.as_of}")
    n = len(output.rows)
    names = [str(row["name"]) for row in output.rows]
    height = max(3.5, 0.32 * n + 1.5)
    fig = _new_figure((13.0 if output.axes else 6.5, height))
    axes = fig.subplots(1, 2 if output.axes else 1, gridspec_kw={"width_ratios": [1, 1.2]} if output.axes else None)
    bar_ax = axes[0] if output.axes else axes
    head = output.column(output.headline)
    values = _values(output, output.headline)
    y = list(range(n))[::-1]  # best at the top
    shown = [0.0 if math.isnan(v) else v for v in values]
    bars = bar_ax.barh(y, shown, color=["#4c72b0" if v >= 0 else "#c44e52" for v in shown], height=0.7)
    bar_ax.bar_label(bars, labels=["-" if math.isnan(v) else f"{v:.{head.digits}f}" for v in values],
                     padding=3, fontsize=7)
    bar_ax.set_yticks(y, names, fontsize=8)
    bar_ax.axvline(0.0, color="grey", linewidth=0.8)
    bar_ax.set_xlabel(head.header + ("" if head.higher_is_better else " (lower is better)"))
    bar_ax.margins(x=0.15)
    bar_ax.grid(axis="x", alpha=0.3)
    bar_ax.set_title(f"{output.competition} {head.header} before {output.as_of}", fontsize=10)
    if output.axes:
        _scatter(axes[1], output, names)
    fig.suptitle(output.title, fontsize=9, wrap=True)
    return fig


def _scatter(ax: Any, output: RatingsOutput, names: list[str]) -> None:
    x_col, y_col = (output.column(k) for k in output.axes or ())
    xs, ys = _values(output, x_col.key), _values(output, y_col.key)
    ax.scatter(xs, ys, s=22, color="#4c72b0")
    for name, x, y in zip(names, xs, ys, strict=True):
        if not (math.isnan(x) or math.isnan(y)):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.set_xlabel(x_col.header + ("" if x_col.higher_is_better else " (lower is better; axis inverted)"))
    ax.set_ylabel(y_col.header + ("" if y_col.higher_is_better else " (lower is better; axis inverted)"))
    if not x_col.higher_is_better:
        ax.invert_xaxis()
    if not y_col.higher_is_better:
        ax.invert_yaxis()
    ax.grid(alpha=0.3)
    ax.set_title(f"{x_col.header} against {y_col.header} (better: up and right)", fontsize=10)


def ratings_plot(output: RatingsOutput, path: str | Path) -> Path:
    """The ratings as one PNG (format from the suffix): the headline's bar chart and, with ``axes``, the scatter."""
    from formguide.core.plots import _save

    return _save(ratings_figure(output), path)
