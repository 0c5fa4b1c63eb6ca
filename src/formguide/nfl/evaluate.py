"""How an NFL forecast is scored: the side probability given no push, next to the market, with intervals.

Every bet type is two-sided once pushes (and moneyline ties) are left out, so the metrics are the binary
ones the NFL's public models report: Brier ``mean((p - y)^2)``, log loss, straight-up accuracy and the
expected calibration error of ``p``. The market varies by season far more than models differ from it, so a
model is compared with the market and each baseline on the *same* games, as a paired difference with a
bootstrap interval; picks against the spread or total report their hit rate with a Wilson interval and the
return at the real closing prices with a bootstrap interval, so an edge is claimed only when the whole
interval clears break-even (52.4 % at -110).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from formguide.core.metrics import reliability_table

__all__ = ["METRICS", "paired_difference", "pick_record", "side_probabilities", "side_summary", "wilson"]

METRICS = ("n", "brier", "log_loss", "accuracy", "ece")
_EPS = 1e-15
_BOOT = 2000


def side_probabilities(forecast: NDArray[np.float64], outcome: NDArray[np.intp]
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Side-A probability given no push, its 0/1 outcome, and the rows they exist for (no push, forecast)."""
    f = np.asarray(forecast, dtype=np.float64)
    sides = f[:, 0] + f[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = f[:, 0] / sides
    ok = np.isfinite(p) & ((outcome == 0) | (outcome == 2))
    return p, (outcome == 0).astype(np.float64), ok


def side_summary(p: NDArray[np.float64], y: NDArray[np.float64]) -> dict[str, Any] | None:
    """n, Brier, log loss, accuracy and ECE of a side probability ``p`` against 0/1 outcomes ``y``."""
    if p.size == 0:
        return None
    q = np.clip(p, _EPS, 1 - _EPS)
    table = reliability_table(p, y)
    filled = table.count > 0
    ece = float(np.sum(table.count[filled] * np.abs(table.mean_predicted[filled] - table.observed_freq[filled]))
                / table.count.sum())
    return {"n": int(p.size), "brier": float(np.mean((p - y) ** 2)),
            "log_loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
            "accuracy": float(np.mean((p >= 0.5) == (y == 1))), "ece": ece}


def paired_difference(loss_model: NDArray[np.float64], loss_other: NDArray[np.float64], *, seed: int = 0,
                      n_boot: int = _BOOT) -> dict[str, float]:
    """Mean of ``loss_model - loss_other`` over the same games with a 95 % bootstrap interval (negative: better)."""
    d = np.asarray(loss_model, dtype=np.float64) - np.asarray(loss_other, dtype=np.float64)
    if d.size == 0:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 0}
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for b in range(0, n_boot, 250):  # resample in blocks: bounded memory for long windows
        k = min(250, n_boot - b)
        means[b:b + k] = d[rng.integers(0, d.size, size=(k, d.size))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return {"mean": float(d.mean()), "lo": float(lo), "hi": float(hi), "n": int(d.size)}


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a hit rate."""
    if n == 0:
        return float("nan"), float("nan")
    phat = hits / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def pick_record(p: NDArray[np.float64], settlement: NDArray[np.float64], odds: NDArray[np.float64], *,
                seed: int = 0) -> dict[str, Any]:
    """Picking the likelier side of every game at 1 unit: hit rate (Wilson interval, pushes left out) and ROI
    at the prices given (bootstrap interval), with the break-even hit rate of the average price.

    ``p``: side-A probability given no push; ``settlement`` (n, 2): how a bet on side A / side B settled
    (1 win, 0 push, -1 loss); ``odds`` (n, 2): decimal prices of the two sides.
    """
    pick = np.where(p >= 0.5, 0, 1)
    rows = np.arange(p.size)
    s, o = settlement[rows, pick], odds[rows, pick]
    ok = np.isfinite(s) & np.isfinite(o)
    s, o = s[ok], o[ok]
    decided = s != 0
    hits, n = int((s[decided] > 0).sum()), int(decided.sum())
    lo, hi = wilson(hits, n)
    profit = np.where(s > 0, s * (o - 1), s)
    roi = paired_difference(profit, np.zeros_like(profit), seed=seed) if profit.size else None
    break_even = float(np.mean(1 / o)) if o.size else float("nan")
    return {"picks": int(ok.sum()), "decided": n, "pushes": int((~decided).sum()), "hits": hits,
            "hit_rate": hits / n if n else float("nan"), "hit_rate_lo": lo, "hit_rate_hi": hi,
            "break_even": break_even, "edge_claimed": bool(n and lo > break_even),
            "roi": None if roi is None else roi["mean"], "roi_lo": None if roi is None else roi["lo"],
            "roi_hi": None if roi is None else roi["hi"]}
