"""Report figures: reliability diagrams, bankroll curves and final-position heatmaps.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global backend switch, no display),
so they are safe in servers, tests and worker threads. Each public plotting function writes one file
(format from the suffix, PNG by default) and returns its path; the picture itself is built by a pure
``..._figure`` function (:func:`reliability_figure`, :func:`bankroll_figure`,
:func:`position_heatmap_figure`) that returns the :class:`~matplotlib.figure.Figure` unsaved, so tests
can check what it shows. The numbers behind each picture come from small pure helpers
(:func:`reliability_curves`, :func:`drawdown`, :func:`position_matrix`) that are tested apart from the
drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

from formguide.core.metrics import ReliabilityTable, reliability_table

__all__ = [
    "bankroll_curve",
    "bankroll_figure",
    "drawdown",
    "position_heatmap",
    "position_heatmap_figure",
    "position_matrix",
    "reliability_curves",
    "reliability_diagram",
    "reliability_figure",
]

_DPI = 120


def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)  # attach the Agg canvas: the figure can be drawn or saved without pyplot
    return fig


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.savefig(out, dpi=_DPI, bbox_inches="tight")
    return out


# ---------------------------------------------------------------- reliability


def _class_indices(outcome: ArrayLike, class_names: Sequence[str], n: int) -> NDArray[np.intp]:
    """Outcome as class indices; accepts indices ``0..k-1`` or labels from ``class_names``."""
    o = np.asarray(outcome)
    k = len(class_names)
    if o.ndim != 1 or o.shape[0] != n:
        raise ValueError(f"outcome must be 1-D with {n} entries to match probs, got shape {o.shape}")
    if o.dtype.kind in "iu" or (o.dtype.kind == "f" and np.isfinite(o).all() and (o == np.round(o)).all()):
        idx = o.astype(np.intp)
        bad = (idx < 0) | (idx >= k)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"outcome row {i} is {idx[i]}, outside the class range 0..{k - 1}")
        return idx
    lookup = {name: i for i, name in enumerate(class_names)}
    values = o.tolist()
    idx = np.array([lookup.get(v, -1) for v in values], dtype=np.intp)
    if (idx < 0).any():
        i = int(np.flatnonzero(idx < 0)[0])
        raise ValueError(f"outcome row {i} is {values[i]!r}, not one of the classes {list(class_names)}")
    return idx


def reliability_curves(
    probs: ArrayLike, outcome: ArrayLike, class_names: Sequence[str], n_bins: int = 10
) -> list[ReliabilityTable]:
    """One-vs-rest reliability table per class: equal-width bins of forecast against hit rate.

    ``count`` in each table is also the histogram of that class's forecasts drawn under the curves.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(class_names):
        raise ValueError(
            f"probs must have shape (n, {len(class_names)}) for classes {list(class_names)}, got {p.shape}"
        )
    if p.shape[0] == 0:
        raise ValueError("probs is empty: nothing to plot")
    idx = _class_indices(outcome, class_names, p.shape[0])
    return [reliability_table(p[:, j], idx == j, n_bins=n_bins) for j in range(p.shape[1])]


def reliability_figure(
    probs: ArrayLike,
    outcome: ArrayLike,
    class_names: Sequence[str],
    n_bins: int = 10,
    title: str = "Reliability diagram",
) -> Figure:
    """The figure :func:`reliability_diagram` saves, unsaved.

    Two axes: on top the diagonal (label ``"perfect calibration"``) and one error-bar curve per class
    (label = class name) through its non-empty bins; below, one step histogram of bin counts per class.
    """
    tables = reliability_curves(probs, outcome, class_names, n_bins=n_bins)
    fig = _new_figure((6.5, 7.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.08})
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    edges = tables[0].bin_edges
    for name, table in zip(class_names, tables, strict=True):
        filled = table.count > 0
        x, y, c = table.mean_predicted[filled], table.observed_freq[filled], table.count[filled]
        half_width = 1.96 * np.sqrt(y * (1 - y) / c)
        line = top.errorbar(
            x, y, yerr=half_width, marker="o", markersize=4, capsize=2, linewidth=1.5, label=name
        )
        bottom.stairs(table.count, edges, color=line[0].get_color(), linewidth=1.5)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("observed frequency")
    top.set_title(title)
    top.legend(loc="upper left", frameon=False)
    top.grid(alpha=0.3)
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("forecasts")
    bottom.grid(alpha=0.3)
    return fig


def reliability_diagram(
    probs: ArrayLike,
    outcome: ArrayLike,
    class_names: Sequence[str],
    path: str | Path,
    n_bins: int = 10,
    title: str = "Reliability diagram",
) -> Path:
    """Per-class reliability curves against the diagonal, with the forecast histogram underneath.

    Error bars are 95 % binomial intervals of the hit rate in each bin, so sparse bins look as
    uncertain as they are.
    """
    return _save(reliability_figure(probs, outcome, class_names, n_bins=n_bins, title=title), path)


# ---------------------------------------------------------------- bankroll


def drawdown(bankroll: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Running peak of a bankroll series and the drawdown below it (``peak - bankroll``, >= 0)."""
    b = np.asarray(bankroll, dtype=np.float64)
    if b.ndim != 1 or b.size == 0:
        raise ValueError(f"bankroll must be a non-empty 1-D series, got shape {b.shape}")
    if not np.isfinite(b).all():
        i = int(np.flatnonzero(~np.isfinite(b))[0])
        raise ValueError(f"bankroll entry {i} is not finite: {b[i]!r}")
    peak = np.maximum.accumulate(b)
    return peak, peak - b


def _max_drawdown_label(peak: NDArray[np.float64], dd: NDArray[np.float64]) -> str:
    if (peak > 0).all():
        return f"max drawdown {np.max(dd / peak):.1%}"
    return f"max drawdown {np.max(dd):.4g}"


def bankroll_figure(curves: Mapping[str, tuple[ArrayLike, ArrayLike]], title: str = "Bankroll") -> Figure:
    """The figure :func:`bankroll_curve` saves, unsaved.

    One axes: one line per strategy, in the mapping's order, labelled
    ``"<name> (final <last value>, max drawdown <worst drop>)"``, and one shaded band per strategy
    between the line and its running peak.
    """
    if not curves:
        raise ValueError("curves is empty: give at least one strategy as name -> (dates, bankroll)")
    fig = _new_figure((9, 5))
    ax = fig.subplots()
    for name, (dates, bankroll) in curves.items():
        x = np.asarray(dates)
        try:
            peak, dd = drawdown(bankroll)
        except ValueError as exc:
            raise ValueError(f"curve {name!r}: {exc}") from None
        if x.shape != peak.shape:
            raise ValueError(
                f"curve {name!r}: {x.shape[0] if x.ndim else 0} dates but {peak.size} bankroll values"
            )
        y = peak - dd
        (line,) = ax.plot(
            x, y, linewidth=1.5, label=f"{name} (final {y[-1]:.4g}, {_max_drawdown_label(peak, dd)})"
        )
        ax.fill_between(
            x, y, peak, where=dd > 0, interpolate=True, color=line.get_color(), alpha=0.15, linewidth=0
        )
    ax.set_title(title)
    ax.set_ylabel("bankroll")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", frameon=False, fontsize="small")
    fig.autofmt_xdate()
    return fig


def bankroll_curve(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]], path: str | Path, title: str = "Bankroll"
) -> Path:
    """Bankroll over time for several staking strategies, drawdowns shaded below each running peak.

    ``curves`` maps a strategy name to ``(dates, bankroll)`` of equal length; dates may be datetimes
    or plain numbers (e.g. bet index).
    """
    return _save(bankroll_figure(curves, title=title), path)


# ---------------------------------------------------------------- season simulation


def position_matrix(sim_frame: pd.DataFrame) -> tuple[list[str], list[int], NDArray[np.float64]]:
    """Team labels, positions and the (teams x positions) probability matrix from ``pos_<k>`` columns.

    Rows keep the frame's order (e.g. by expected points); labels come from a ``team`` column if
    there is one, else from the index.
    """
    cols = [c for c in sim_frame.columns if isinstance(c, str) and c.startswith("pos_") and c[4:].isdigit()]
    if not cols:
        raise ValueError(f"sim_frame has no position columns pos_1..pos_T; it has {list(sim_frame.columns)}")
    cols.sort(key=lambda c: int(c[4:]))
    teams = sim_frame["team"] if "team" in sim_frame.columns else sim_frame.index
    matrix = sim_frame[cols].to_numpy(dtype=np.float64)
    if not np.isfinite(matrix).all() or (matrix < 0).any() or (matrix > 1).any():
        raise ValueError("sim_frame position columns must hold probabilities in [0, 1]")
    return [str(t) for t in teams], [int(c[4:]) for c in cols], matrix


def position_heatmap_figure(sim_frame: pd.DataFrame, title: str = "Final position probabilities") -> Figure:
    """The figure :func:`position_heatmap` saves, unsaved.

    Two axes: the heatmap (one row per team, one column per position, a percent label in every cell
    of at least 0.5 %) and its colorbar.
    """
    teams, positions, matrix = position_matrix(sim_frame)
    n_teams, n_pos = matrix.shape
    fig = _new_figure((max(5.0, 0.45 * n_pos + 2.5), max(3.0, 0.4 * n_teams + 1.5)))
    ax = fig.subplots()
    vmax = max(float(matrix.max()), 1e-12)
    image = ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=vmax, aspect="auto")
    rows, cols = np.nonzero(matrix >= 0.005)
    for i, j in zip(rows, cols, strict=True):
        value = matrix[i, j]
        ax.text(
            j,
            i,
            f"{100 * value:.0f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value > 0.6 * vmax else "black",
        )
    ax.set_xticks(np.arange(n_pos), [str(p) for p in positions])
    ax.set_yticks(np.arange(n_teams), teams)
    ax.set_xlabel("final position")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="probability", fraction=0.04, pad=0.02)
    return fig


def position_heatmap(
    sim_frame: pd.DataFrame, path: str | Path, title: str = "Final position probabilities"
) -> Path:
    """Heatmap of each team's probability of finishing in each position, labelled in percent."""
    return _save(position_heatmap_figure(sim_frame, title=title), path)
