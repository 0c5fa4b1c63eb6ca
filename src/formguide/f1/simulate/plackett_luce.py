"""Plackett–Luce helpers shared by the scenario and weekend estimates: starting slots, per-race centring,
finishers' orders as a padded rectangle and a one-parameter likelihood maximiser."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from formguide.core.errors import DataValidationError

__all__ = ["Orders", "centre", "finisher_orders", "grid_slot", "pl_newton", "race_codes"]

_NEWTON_TOL = 1e-10
_NEWTON_MAX_ITER = 100
_EXP_FLOOR = -700.0  # keep exp() above the smallest normal double


def grid_slot(frame: pd.DataFrame) -> NDArray[np.float64]:
    """Starting slot per entry: ``grid`` with a pit-lane start (0) behind the last car of its race; NaN unknown."""
    g = frame["grid"].to_numpy(dtype=np.float64, na_value=np.nan)
    race = frame["race_id"].to_numpy()
    g_pos = np.where(g > 0, g, np.nan)
    last = pd.Series(g_pos).groupby(race).transform("max").to_numpy(dtype=np.float64)
    last = np.where(np.isnan(last), 0.0, last)
    return np.where(g == 0, last + 1.0, g_pos)


def race_codes(frame: pd.DataFrame) -> tuple[NDArray[np.intp], int]:
    codes, uniques = pd.factorize(frame["race_id"], sort=False)
    return codes.astype(np.intp), len(uniques)


def centre(values: NDArray[np.float64], codes: NDArray[np.intp], n: int) -> NDArray[np.float64]:
    """Subtract each race's mean over its finite entries (NaN stays NaN)."""
    ok = np.isfinite(values)
    s = np.bincount(codes[ok], weights=values[ok], minlength=n)
    c = np.bincount(codes[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / c
    return values - mean[codes]


@dataclass
class Orders:
    """Finishers of many races in finishing order, padded to a rectangle: ``idx[r, k]`` is the row of the
    entry that finished ``k``-th among race ``r``'s finishers (-1 padding)."""

    idx: NDArray[np.intp]
    mask: NDArray[np.bool_]

    @property
    def n_races(self) -> int:
        return int(self.idx.shape[0])

    def take(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.where(self.mask, values[np.maximum(self.idx, 0)], 0.0)
        return out


def finisher_orders(frame: pd.DataFrame, usable: NDArray[np.bool_]) -> Orders:
    """Orders of classified-or-running finishers (``dnf == 0``) among ``usable`` rows, races with 2+ of them."""
    pos = frame["position"].to_numpy(dtype=np.float64, na_value=np.nan)
    dnf = frame["dnf"].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = usable & np.isfinite(pos) & (dnf == 0)
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return Orders(np.zeros((0, 0), dtype=np.intp), np.zeros((0, 0), dtype=bool))
    race = frame["race_id"].to_numpy()[rows]
    codes, _ = pd.factorize(race, sort=False)
    order = np.lexsort((pos[rows], codes))
    rows, codes = rows[order], codes[order]
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(rows.size) - starts[codes]
    width = int(counts.max())
    idx = np.full((counts.size, width), -1, dtype=np.intp)
    idx[codes, slot] = rows
    good = counts >= 2
    idx = idx[good]
    return Orders(idx, idx >= 0)


def pl_newton(base: NDArray[np.float64], direction: NDArray[np.float64], mask: NDArray[np.bool_],
               start: float) -> tuple[float, float, float]:
    """Maximise the Plackett–Luce log-likelihood of ``base + c * direction`` over ``c``.

    Rows are races with entries in finishing order. The log-likelihood is concave in ``c``, so Newton with
    step halving converges to the unique maximum. Returns ``(c, standard error, log-likelihood)``.
    """
    if not mask.any():
        raise DataValidationError("no finishing orders to fit")

    def parts(c: float) -> tuple[float, float, float]:
        z = np.where(mask, base + c * direction, -np.inf)
        zmax = z.max(axis=1, keepdims=True)
        e = np.where(mask, np.exp(np.maximum(z - zmax, _EXP_FLOOR)), 0.0)
        d = np.where(mask, direction, 0.0)
        s0 = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]
        s1 = np.cumsum((e * d)[:, ::-1], axis=1)[:, ::-1]
        s2 = np.cumsum((e * d * d)[:, ::-1], axis=1)[:, ::-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            log_s0 = np.log(s0) + zmax
            m1 = s1 / s0
            var = s2 / s0 - m1 * m1
            ll = float(np.sum(np.where(mask, z - log_s0, 0.0)))
        grad = float(np.sum(np.where(mask, d - m1, 0.0)))
        hess = -float(np.sum(np.where(mask, np.maximum(var, 0.0), 0.0)))
        return ll, grad, hess

    c = float(start)
    ll, grad, hess = parts(c)
    for _ in range(_NEWTON_MAX_ITER):
        if hess >= 0:  # direction constant within every race: c is not identified
            raise DataValidationError("the signal does not vary within races; its coefficient cannot be fitted")
        step = -grad / hess
        new_c = c + step
        new = parts(new_c)
        halvings = 0
        while new[0] < ll - 1e-12 and halvings < 50:
            step /= 2.0
            new_c = c + step
            new = parts(new_c)
            halvings += 1
        c, (ll, grad, hess) = new_c, new
        if abs(step) < _NEWTON_TOL * max(1.0, abs(c)):
            break
    return c, (1.0 / math.sqrt(-hess) if hess < 0 else float("inf")), ll
