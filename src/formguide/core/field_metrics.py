"""Scores of field forecasts (a race's entrants ranked): win log loss, top-1 accuracy, podium Brier, ECE.

Metrics take the long "one row per entry" layout a field sport's frame already has: a forecast per entry,
the entry's finishing position (1 = winner) and an event key grouping the entries of one event.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from formguide.core.metrics import reliability_table

__all__ = [
    "binary_ece",
    "binary_reliability",
    "expected_top1_accuracy",
    "podium_brier",
    "top1_accuracy",
    "win_ece",
    "win_log_loss",
]

LOG_LOSS_EPS = 1e-15
_SUM_TOL = 1e-5


def _long(p: ArrayLike, position: ArrayLike, what: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    pa = np.asarray(p, dtype=np.float64)
    pos = np.asarray(position, dtype=np.float64)
    if pa.ndim != 1 or pos.shape != pa.shape:
        raise ValueError(f"{what} and position must be 1-D of equal length, got {pa.shape} and {pos.shape}")
    if pa.size == 0:
        raise ValueError(f"{what} is empty: no forecasts to score")
    bad = ~np.isfinite(pa) | (pa < 0) | (pa > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} row {i} is not a probability in [0, 1]: {pa[i]!r}")
    bad = ~np.isfinite(pos) | (pos < 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"position row {i} must be a finishing position >= 1 (events not yet run cannot be "
                         f"scored), got {pos[i]!r}")
    return pa, pos


def _winners(p_win: ArrayLike, position: ArrayLike, event: ArrayLike
             ) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.intp], NDArray[np.intp]]:
    """Validated forecasts, winner flags, event codes and the row of each event's winner."""
    p, pos = _long(p_win, position, "p_win")
    ev = np.asarray(event)
    if ev.shape != p.shape:
        raise ValueError(f"event must have one key per entry ({p.shape[0]}), got shape {ev.shape}")
    keys, codes = np.unique(ev, return_inverse=True)
    total = np.bincount(codes, weights=p, minlength=keys.size)
    off = np.abs(total - 1.0) > _SUM_TOL
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise ValueError(f"win probabilities of event {keys[k]!r} sum to {total[k]:.6f}, not 1 "
                         f"({int(off.sum())} events off)")
    won = pos == 1
    n_won = np.bincount(codes, weights=won, minlength=keys.size)
    bad = n_won != 1
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"event {keys[k]!r} has {int(n_won[k])} entries in position 1; exactly one is needed")
    winner_row = np.empty(keys.size, dtype=np.intp)
    winner_row[codes[won]] = np.flatnonzero(won)
    return p, won, codes, winner_row


def win_log_loss(p_win: ArrayLike, position: ArrayLike, event: ArrayLike) -> float:
    """Mean over events of ``-log p(winner)``; a uniform field of ``n`` scores ``log n``."""
    p, _, _, winner_row = _winners(p_win, position, event)
    return float(-np.mean(np.log(np.clip(p[winner_row], LOG_LOSS_EPS, 1.0))))


def _favourites(p: NDArray[np.float64], codes: NDArray[np.intp], n_events: int) -> NDArray[np.intp]:
    """Row of each event's favourite: highest win probability, the first such row on ties."""
    order = np.lexsort((np.arange(p.size), -p, codes))
    first = np.ones(order.size, dtype=bool)
    first[1:] = codes[order][1:] != codes[order][:-1]
    favourite = np.empty(n_events, dtype=np.intp)
    favourite[codes[order][first]] = order[first]
    return favourite


def top1_accuracy(p_win: ArrayLike, position: ArrayLike, event: ArrayLike) -> float:
    """Share of events whose favourite (highest win probability, first such entry on ties) won."""
    p, _, codes, winner_row = _winners(p_win, position, event)
    return float(np.mean(_favourites(p, codes, winner_row.size) == winner_row))


def expected_top1_accuracy(p_win: ArrayLike, position: ArrayLike, event: ArrayLike) -> float:
    """The top-1 accuracy the forecasts themselves expect: mean over events of the favourite's win probability.

    A calibrated forecaster's realised :func:`top1_accuracy` scatters around this value (binomial, standard
    error ``sqrt(sum p(1-p)) / n_events``), so the pair tells a sharpness limit (low expected value: the
    forecasts are not confident enough to pick more winners) from bad luck or over-confidence in favourites
    (realised well below expected).
    """
    p, _, codes, winner_row = _winners(p_win, position, event)
    return float(np.mean(p[_favourites(p, codes, winner_row.size)]))


def podium_brier(p_podium: ArrayLike, position: ArrayLike, top: int = 3) -> float:
    """Mean squared error of each entry's "finishes in the top ``top``" probability against what happened."""
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    p, pos = _long(p_podium, position, "p_podium")
    return float(np.mean((p - (pos <= top)) ** 2))


def win_ece(p_win: ArrayLike, position: ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error of win probabilities, every entry a binary forecast of winning.

    Entries are put in ``n_bins`` equal-width probability bins; the result is the count-weighted mean of
    ``|mean forecast - win rate|`` per bin. Most entries sit near 0, so look at the reliability table
    (``core.metrics.reliability_table``) too.
    """
    p, pos = _long(p_win, position, "p_win")
    return binary_ece(p, (pos == 1).astype(np.float64), n_bins=n_bins)


def binary_reliability(p: ArrayLike, hit: ArrayLike, n_bins: int = 10) -> list[dict[str, float | int]]:
    """Reliability table of binary forecasts (e.g. "finishes on the podium") as JSON rows of the filled bins:
    bin range, count, mean forecast and observed frequency, with the calibration error over all of them."""
    table = reliability_table(np.asarray(p, dtype=np.float64), np.asarray(hit, dtype=np.float64), n_bins=n_bins)
    edges = table.bin_edges
    return [{"from": float(edges[i]), "to": float(edges[i + 1]), "n": int(table.count[i]),
             "mean_forecast": float(table.mean_predicted[i]), "observed": float(table.observed_freq[i])}
            for i in range(n_bins) if table.count[i] > 0]


def binary_ece(p: ArrayLike, hit: ArrayLike, n_bins: int = 10) -> float:
    """Count-weighted mean ``|mean forecast - observed frequency|`` over equal-width bins."""
    table = reliability_table(np.asarray(p, dtype=np.float64), np.asarray(hit, dtype=np.float64), n_bins=n_bins)
    filled = table.count > 0
    gaps = np.abs(table.mean_predicted[filled] - table.observed_freq[filled])
    return float(np.sum(table.count[filled] * gaps) / table.count.sum())
