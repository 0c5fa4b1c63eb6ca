"""A probability matrix as an HTML heat map: cell colours from a sequential scale, computed on the server.

The web UI draws a race field's finishing-position distribution (entries x positions) this way, so the page
needs no JavaScript and no chart library: each cell is a table cell whose background is the scale's colour for
its value, with the exact probability in the cell's ``title`` and ``aria-label`` (a screen reader reads the
number, not the colour) and the text colour switched to stay readable on dark cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, Field

__all__ = ["SCALE", "HeatCell", "HeatMap", "HeatRow", "colour", "heat_map", "percent"]

#: ColorBrewer's sequential "Blues" (9 classes): light for low, dark for high; monotone in lightness, so it
#: reads in grey print and for colour-blind readers.
SCALE: tuple[str, ...] = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5",
                          "#08519c", "#08306b")
#: From this fraction of the scale on, cells are dark enough that their text is drawn white.
DARK_FROM = 0.55


class HeatCell(BaseModel):
    value: float = Field(description="The probability (0-1).")
    background: str = Field(description="The cell's colour (#rrggbb).")
    dark: bool = Field(description="The colour is dark: draw the text light.")
    text: str = Field(description="What the cell shows (a rounded percentage, empty when below 0.5%).")
    label: str = Field(description="The exact value for title/aria-label, e.g. 'VER finishes 1st: 47.37%'.")


class HeatRow(BaseModel):
    label: str
    cells: list[HeatCell]


class HeatMap(BaseModel):
    """Rows of cells under column headers, with the value the darkest colour stands for (the legend)."""

    columns: list[str]
    rows: list[HeatRow]
    vmax: float = Field(description="The value drawn in the darkest colour (the matrix's largest).")
    legend: list[HeatCell] = Field(default_factory=list, description="The scale from 0 to vmax.")


def _hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _rgb(code: str) -> tuple[int, int, int]:
    return int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16)


def colour(fraction: float) -> str:
    """The scale's colour at ``fraction`` (0-1, clipped), interpolated linearly between its stops."""
    f = 0.0 if not math.isfinite(fraction) else min(max(fraction, 0.0), 1.0)
    pos = f * (len(SCALE) - 1)
    lo = min(int(pos), len(SCALE) - 2)
    t = pos - lo
    a, b = _rgb(SCALE[lo]), _rgb(SCALE[lo + 1])
    return _hex([x + (y - x) * t for x, y in zip(a, b, strict=True)])


def percent(value: float | None, digits: int = 1) -> str:
    """A probability as a percentage for people: ``0.4737`` -> ``47.4%``; missing -> ``-``."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100.0 * value:.{digits}f}%"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _cell(value: float, vmax: float, label: str) -> HeatCell:
    fraction = value / vmax if vmax > 0 else 0.0
    return HeatCell(value=value, background=colour(fraction), dark=fraction >= DARK_FROM,
                    text=f"{100.0 * value:.0f}" if value >= 0.005 else "", label=label)


def heat_map(matrix: Sequence[Sequence[float]], row_labels: Sequence[str],
             column_labels: Sequence[str] | None = None) -> HeatMap:
    """The heat map of ``matrix[i][k]`` = probability that row ``i`` finishes ``k + 1``-th.

    Colours are relative to the largest value, so a spread-out field still shows its shape; the legend says
    which value the darkest colour is. A matrix whose rows do not match the labels is refused.
    """
    if len(matrix) != len(row_labels):
        raise ValueError(f"heat map: {len(matrix)} rows of values but {len(row_labels)} row labels")
    width = len(matrix[0]) if len(matrix) else 0
    if any(len(r) != width for r in matrix):
        raise ValueError("heat map: rows of different lengths")
    columns = list(column_labels) if column_labels is not None else [str(k + 1) for k in range(width)]
    if len(columns) != width:
        raise ValueError(f"heat map: {width} columns of values but {len(columns)} column labels")
    values = [float(v) for r in matrix for v in r if v is not None and math.isfinite(float(v))]
    vmax = max(values, default=0.0)
    rows = []
    for label, values_row in zip(row_labels, matrix, strict=True):
        cells = [_cell(float(v), vmax, f"{label} finishes {_ordinal(k + 1)}: {100.0 * float(v):.2f}%")
                 for k, v in enumerate(values_row)]
        rows.append(HeatRow(label=label, cells=cells))
    steps = 5
    legend = [_cell(vmax * i / steps, vmax, f"{100.0 * vmax * i / steps:.1f}%") for i in range(steps + 1)]
    return HeatMap(columns=columns, rows=rows, vmax=vmax, legend=legend)
