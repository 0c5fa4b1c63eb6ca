"""Scoring rules and calibration diagnostics for categorical forecasts.

Inputs are ``probs`` of shape ``(n, k)`` (rows sum to 1) and ``outcome``, an integer array of
shape ``(n,)`` holding the index of the class that happened. For the ranked probability score the
column order is taken as the ordinal order of outcomes (e.g. home, draw, away).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ReliabilityTable",
    "accuracy",
    "brier",
    "draw_accuracy",
    "draw_share_predicted",
    "ece",
    "log_loss",
    "reliability_table",
    "rps",
    "summarise",
]

LOG_LOSS_EPS = 1e-15
_SUM_TOL = 1e-5


def _check_probs(probs: ArrayLike) -> NDArray[np.float64]:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (n, k), got shape {p.shape}")
    if p.shape[1] < 2:
        raise ValueError(f"probs need at least 2 classes, got {p.shape[1]}")
    if p.shape[0] == 0:
        raise ValueError("probs is empty: no forecasts to score")
    bad_rows = ~np.isfinite(p).all(axis=1) | (p < 0).any(axis=1) | (p > 1).any(axis=1)
    bad_rows |= np.abs(p.sum(axis=1) - 1.0) > _SUM_TOL
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        raise ValueError(
            f"probs row {i} is not a probability distribution (finite, in [0, 1], sum 1): {p[i].tolist()}"
            f" ({int(bad_rows.sum())} bad rows in total)"
        )
    return p


def _check_outcome(outcome: ArrayLike, n: int, k: int) -> NDArray[np.intp]:
    o = np.asarray(outcome)
    if o.ndim != 1 or o.shape[0] != n:
        raise ValueError(f"outcome must be 1-D with {n} entries to match probs, got shape {o.shape}")
    if o.dtype.kind == "f":
        bad = ~np.isfinite(o) | (o != np.round(o))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"outcome row {i} is not an integer class index: {o[i]!r}")
    elif o.dtype.kind not in "iub":
        raise ValueError(f"outcome must hold integer class indices, got dtype {o.dtype}")
    oi = o.astype(np.intp)
    bad = (oi < 0) | (oi >= k)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"outcome row {i} is {oi[i]}, outside the class range 0..{k - 1}")
    return oi


def _validate(probs: ArrayLike, outcome: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    p = _check_probs(probs)
    return p, _check_outcome(outcome, p.shape[0], p.shape[1])


def _one_hot(outcome: NDArray[np.intp], k: int) -> NDArray[np.float64]:
    y = np.zeros((outcome.shape[0], k))
    y[np.arange(outcome.shape[0]), outcome] = 1.0
    return y


def rps(probs: ArrayLike, outcome: ArrayLike) -> float:
    """Mean ranked probability score (Epstein 1969): squared error of cumulative distributions.

    Rewards putting mass *near* the true outcome on the ordinal scale; 0 is perfect.
    """
    p, o = _validate(probs, outcome)
    k = p.shape[1]
    diff = np.cumsum(p - _one_hot(o, k), axis=1)[:, :-1]
    return float(np.mean(np.sum(diff * diff, axis=1) / (k - 1)))


def brier(probs: ArrayLike, outcome: ArrayLike) -> float:
    """Multiclass Brier score: sum of squared errors over classes, averaged over rows (0..2)."""
    p, o = _validate(probs, outcome)
    d = p - _one_hot(o, p.shape[1])
    return float(np.mean(np.sum(d * d, axis=1)))


def log_loss(probs: ArrayLike, outcome: ArrayLike) -> float:
    """Mean negative log-likelihood of the true class, with probabilities clipped at 1e-15."""
    p, o = _validate(probs, outcome)
    p_true = np.clip(p[np.arange(p.shape[0]), o], LOG_LOSS_EPS, 1.0)
    return float(-np.mean(np.log(p_true)))


def accuracy(probs: ArrayLike, outcome: ArrayLike) -> float:
    """Share of rows whose most probable class happened (ties go to the first column)."""
    p, o = _validate(probs, outcome)
    return float(np.mean(np.argmax(p, axis=1) == o))


def draw_accuracy(probs: ArrayLike, outcome: ArrayLike, draw_index: int = 1) -> float:
    """Among events that ended in a draw, the share where the draw was the most probable class.

    Draws are the hardest class to call; models that never pick one score 0 here however good
    their log loss. ``NaN`` when no event in the sample was a draw.
    """
    p, o = _validate(probs, outcome)
    if not 0 <= draw_index < p.shape[1]:
        raise ValueError(f"draw_index {draw_index} outside the class range 0..{p.shape[1] - 1}")
    drawn = o == draw_index
    if not drawn.any():
        return float("nan")
    return float(np.mean(np.argmax(p[drawn], axis=1) == draw_index))


def draw_share_predicted(probs: ArrayLike, draw_index: int = 1) -> float:
    """Share of all events where the draw is the most probable class (compare to the draw rate)."""
    p = _check_probs(probs)
    if not 0 <= draw_index < p.shape[1]:
        raise ValueError(f"draw_index {draw_index} outside the class range 0..{p.shape[1] - 1}")
    return float(np.mean(np.argmax(p, axis=1) == draw_index))


@dataclass(frozen=True)
class ReliabilityTable:
    """Equal-width bins of predicted probability against observed frequency.

    Empty bins have ``count == 0`` and ``NaN`` means, so plots can drop them.
    """

    bin_edges: NDArray[np.float64]
    mean_predicted: NDArray[np.float64]
    observed_freq: NDArray[np.float64]
    count: NDArray[np.int64]


def _bin_index(p: NDArray[np.float64], n_bins: int) -> NDArray[np.intp]:
    # Equal-width bins on [0, 1]; p == 1 falls in the last bin.
    return np.minimum((p * n_bins).astype(np.intp), n_bins - 1)


def reliability_table(probs_for_class: ArrayLike, hit: ArrayLike, n_bins: int = 10) -> ReliabilityTable:
    """Reliability-diagram data for one class: per bin, mean forecast, hit rate and count."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    p = np.asarray(probs_for_class, dtype=np.float64)
    y = np.asarray(hit, dtype=np.float64)
    if p.ndim != 1 or y.shape != p.shape:
        raise ValueError(f"probs_for_class and hit must be 1-D of equal length, got {p.shape} and {y.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        i = int(np.flatnonzero(~(np.isfinite(p) & (p >= 0) & (p <= 1)))[0])
        raise ValueError(f"probs_for_class row {i} is not a probability: {p[i]!r}")
    if not np.isin(y, (0.0, 1.0)).all():
        i = int(np.flatnonzero(~np.isin(y, (0.0, 1.0)))[0])
        raise ValueError(f"hit row {i} must be 0/1 (or bool), got {y[i]!r}")
    b = _bin_index(p, n_bins)
    count = np.bincount(b, minlength=n_bins).astype(np.int64)
    sum_p = np.bincount(b, weights=p, minlength=n_bins)
    sum_y = np.bincount(b, weights=y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        freq = np.where(count > 0, sum_y / count, np.nan)
    return ReliabilityTable(np.linspace(0.0, 1.0, n_bins + 1), mean_p, freq, count)


def ece(probs: ArrayLike, outcome: ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error, pooled one-vs-rest over all classes.

    Every (event, class) pair contributes its forecast and a 0/1 hit; pairs are put in ``n_bins``
    equal-width bins and ECE is the count-weighted mean of ``|mean forecast - hit rate|``. Pooling
    (rather than only the top-class confidence) checks the draw and underdog columns too.
    """
    p, o = _validate(probs, outcome)
    table = reliability_table(p.ravel(), _one_hot(o, p.shape[1]).ravel(), n_bins=n_bins)
    filled = table.count > 0
    gaps = np.abs(table.mean_predicted[filled] - table.observed_freq[filled])
    return float(np.sum(table.count[filled] * gaps) / table.count.sum())


def summarise(probs: ArrayLike, outcome: ArrayLike, draw_index: int | None = 1, n_bins: int = 10) -> dict:
    """All headline metrics in one dict with the fixed keys used in reports.

    Keys: ``n`` (int), ``rps``, ``brier``, ``log_loss``, ``accuracy``, ``draw_accuracy``, ``ece``
    (floats). ``draw_accuracy`` is ``NaN`` when ``draw_index`` is None, when there are fewer than 3
    classes (no draw in a two-way market) or when no event ended in a draw.
    """
    p, o = _validate(probs, outcome)
    has_draw = draw_index is not None and p.shape[1] >= 3
    return {
        "n": int(p.shape[0]),
        "rps": rps(p, o),
        "brier": brier(p, o),
        "log_loss": log_loss(p, o),
        "accuracy": accuracy(p, o),
        "draw_accuracy": draw_accuracy(p, o, draw_index) if has_draw else float("nan"),
        "ece": ece(p, o, n_bins=n_bins),
    }
