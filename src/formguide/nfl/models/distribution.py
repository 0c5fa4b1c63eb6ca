"""A discrete distribution of a game's score difference (or total) around a predicted mean.

NFL scores move in 3s and 7s, so the home margin piles up on the *key numbers* 3, 7, 10 and 14 (about 15 %
of games end with a margin of exactly 3) and almost never on 0 (ties need a scoreless overtime). A normal
curve around the predicted mean spreads that mass evenly; the line and push probabilities of a spread bet
on -3 or -3.5 then come out wrong by several points. :class:`KeyNumberDistribution` keeps the normal
curve's shape around each game's mean and reweights every integer value by how much more (or less) often
it happened in the training games than the curve predicted (iterative proportional fitting, smoothed), so
the model's marginal frequency of each margin matches history while each game keeps its own mean.

Fitted state is plain numbers (``sigma_``, ``values_``, ``weights_``) and serialises to JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from formguide.core.estimators import BaseEstimator, check_is_fitted

__all__ = ["KeyNumberDistribution", "tail_probabilities"]


def tail_probabilities(values: NDArray[np.int64], pmf: NDArray[np.float64], line: ArrayLike
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``P(value > line)``, ``P(value == line)``, ``P(value < line)`` per row (NaN line -> NaN)."""
    line = np.asarray(line, dtype=np.float64).reshape(-1)
    if line.size == 1 and pmf.shape[0] != 1:
        line = np.full(pmf.shape[0], line[0])
    v = values.astype(np.float64)[None, :]
    ln = line[:, None]
    above = np.where(v > ln, pmf, 0.0).sum(axis=1)
    equal = np.where(v == ln, pmf, 0.0).sum(axis=1)
    below = np.where(v < ln, pmf, 0.0).sum(axis=1)
    bad = np.isnan(line)
    for a in (above, equal, below):
        a[bad] = np.nan
    return above, equal, below


class KeyNumberDistribution(BaseEstimator):
    """Integer-valued distribution: a normal curve around each mean, reweighted value by value.

    Parameters
    ----------
    low, high : the integer support (values outside are folded into the ends).
    smoothing : pseudo-count added to observed and expected counts of each value, so a value seen a few
        times (or never) gets a weight near 1 rather than an extreme one.
    iterations : rounds of iterative proportional fitting of the weights.
    """

    def __init__(self, low: int = -80, high: int = 80, smoothing: float = 5.0, iterations: int = 8) -> None:
        self.low = low
        self.high = high
        self.smoothing = smoothing
        self.iterations = iterations

    @property
    def values(self) -> NDArray[np.int64]:
        return np.arange(self.low, self.high + 1, dtype=np.int64)

    def _curve(self, mean: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
        """Normal mass on ``[v - 0.5, v + 0.5]`` of every value, with the tails folded into the ends."""
        v = self.values.astype(np.float64)
        edges = np.concatenate(([-np.inf], v[1:] - 0.5, [np.inf]))
        cdf = ndtr((edges[None, :] - mean[:, None]) / sigma)
        return np.diff(cdf, axis=1)

    def fit(self, mean: ArrayLike, observed: ArrayLike, sigma: float | None = None) -> KeyNumberDistribution:
        """Learn the spread (``sigma``: the residual standard deviation unless given) and the value weights."""
        mean = np.asarray(mean, dtype=np.float64)
        y = np.asarray(observed, dtype=np.float64)
        ok = np.isfinite(mean) & np.isfinite(y)
        if ok.sum() < 50:
            raise ValueError(f"a margin distribution needs at least 50 played games, got {int(ok.sum())}")
        mean, y = mean[ok], y[ok]
        self.sigma_ = float(sigma) if sigma is not None else float(np.sqrt(np.mean((y - mean) ** 2)))
        # the curves depend on the means only: one curve per mean rounded to 0.1 point, weighted by its count
        grid, count = np.unique(np.round(mean, 1), return_counts=True)
        curve = self._curve(grid, self.sigma_)
        idx = np.clip(np.rint(y).astype(np.int64), self.low, self.high) - self.low
        observed_counts = np.bincount(idx, minlength=self.values.size).astype(np.float64)
        weights = np.ones(self.values.size)
        for _ in range(self.iterations):
            p = curve * weights
            p /= p.sum(axis=1, keepdims=True)
            expected = count @ p
            weights = weights * (observed_counts + self.smoothing) / (expected + self.smoothing)
        self.weights_ = weights / np.average(weights, weights=count @ curve)
        return self

    def pmf(self, mean: ArrayLike) -> NDArray[np.float64]:
        """``(n, values)`` probabilities of each integer value for each mean (NaN mean -> NaN row)."""
        check_is_fitted(self, "weights_")
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        out = np.full((mean.size, self.values.size), np.nan)
        ok = np.isfinite(mean)
        if ok.any():
            p = self._curve(mean[ok], self.sigma_) * self.weights_
            out[ok] = p / p.sum(axis=1, keepdims=True)
        return out

    def to_dict(self) -> dict[str, Any]:
        check_is_fitted(self, "weights_")
        return {"params": self.get_params(), "sigma": self.sigma_, "weights": self.weights_.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyNumberDistribution:
        dist = cls(**data["params"])
        dist.sigma_ = float(data["sigma"])
        dist.weights_ = np.asarray(data["weights"], dtype=np.float64)
        return dist
