"""Retirement probabilities: each constructor's record before a race, shrunk towards the field's rate; the
sprint's probability from the race's at the same hazard per kilometre."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from formguide.core.errors import DataValidationError

__all__ = ["SPRINT_DISTANCE_RATIO", "estimate_dnf_prob"]

# Sprint distance over Grand Prix distance, from the FIA Sporting Regulations: a sprint is the fewest laps
# exceeding 100 km, a Grand Prix the fewest exceeding 305 km. Used to turn a race retirement probability
# into a sprint one at the same hazard per kilometre.
SPRINT_DISTANCE_RATIO = 100.0 / 305.0


def estimate_dnf_prob(history: pd.DataFrame, race: pd.DataFrame, window_days: int = 365) -> NDArray[np.float64]:
    """Retirement probability per entry of ``race`` from its constructor's record before the race.

    Uses run races in the ``window_days`` before the race date. Each constructor's rate is shrunk towards
    the field's rate with a beta prior whose strength comes from the spread of constructor rates (beta-
    binomial method of moments), so a new team starts at the field rate. Only ``history`` rows dated
    strictly before the race count.
    """
    if race.empty:
        return np.zeros(0)
    day = pd.Timestamp(race["date"].iloc[0])
    h = history[(history["date"] < day) & (history["date"] >= day - pd.Timedelta(days=window_days))
                & history["position"].notna() & history["dnf"].notna()]
    if h.empty:
        h = history[(history["date"] < day) & history["position"].notna() & history["dnf"].notna()]
    if h.empty:
        raise DataValidationError(f"no run race before {day.date()} to estimate retirement rates from")
    g = h.groupby("constructor")["dnf"].agg(["sum", "size"])
    k, n = g["sum"].to_numpy(dtype=np.float64), g["size"].to_numpy(dtype=np.float64)
    p = k.sum() / n.sum()
    # Method of moments: Var(k/n) = p(1-p)/n * (1 + (n-1)/(kappa+1)) for beta-binomial with strength kappa.
    rates = k / n
    w = n / n.sum()
    observed_var = float(np.sum(w * (rates - p) ** 2))
    binom_var = float(np.sum(w * p * (1 - p) / n))
    extra = observed_var - binom_var
    mean_n = float(np.sum(w * n))
    if extra <= 0 or p <= 0 or p >= 1:
        kappa = float("inf")
    else:
        # extra ~= p(1-p) * (mean_n - 1) / (mean_n * (kappa + 1))
        kappa = max(p * (1 - p) * (mean_n - 1) / (mean_n * extra) - 1.0, 0.0)
    team = race["constructor"].astype(str).to_numpy()
    at = g.index.get_indexer(team)
    kk = np.where(at >= 0, k[np.maximum(at, 0)], 0.0)
    nn = np.where(at >= 0, n[np.maximum(at, 0)], 0.0)
    if math.isinf(kappa):
        return np.full(len(race), p)
    return (kk + kappa * p) / (nn + kappa)
