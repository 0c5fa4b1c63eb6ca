"""Closing-market features: the spread, the total and the home win probabilities they imply.

Prices and lines of a game are known before kick-off, so they are pre-game information. With
``include_market=False`` the feature set has none of these columns, nor any other column that reads a
price or a line.

* ``spread_line``: points the home team is favoured by; ``total_line``: the over/under.
* ``ml_prob_home``: the moneyline pair converted to decimal odds
  (:func:`formguide.core.markets.american_to_decimal`) with the margin removed
  (:func:`formguide.core.markets.remove_overround`, multiplicative by default); NaN without both prices
  (before 2006 and part of 2006-2009).
* ``spread_prob_home``: ``Phi(spread_line / sigma)``, the chance that a margin normally distributed
  around the spread is positive. ``sigma`` = 13.35 points is the standard deviation of
  ``margin - spread_line`` over seasons 1999-2008 (:func:`spread_sigma`), chosen before the seasons
  reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from formguide.core.markets import METHODS, american_to_decimal, remove_overround

__all__ = ["MARKET_COLUMNS", "MARKET_INPUTS", "SPREAD_SIGMA", "market_features", "spread_sigma"]

MARKET_COLUMNS: tuple[str, ...] = ("spread_line", "total_line", "ml_prob_home", "spread_prob_home")
#: Frame columns holding prices or lines (no feature outside this module may read them).
MARKET_INPUTS: tuple[str, ...] = ("spread_line", "total_line", "home_moneyline", "away_moneyline",
                                  "home_spread_odds", "away_spread_odds", "over_odds", "under_odds")
#: sd of (margin - spread_line), seasons 1999-2008 (:func:`spread_sigma`, rounded to 0.05).
SPREAD_SIGMA = 13.35


def _decimal(values: pd.Series) -> np.ndarray:
    """American odds to decimal; missing or impossible prices (|odds| < 100) become NaN."""
    arr = values.to_numpy(dtype=np.float64)
    arr = np.where(np.abs(arr) >= 100, arr, np.nan)
    return np.asarray(american_to_decimal(arr), dtype=np.float64)


def market_features(frame: pd.DataFrame, overround_method: str = "multiplicative",
                    sigma: float = SPREAD_SIGMA) -> pd.DataFrame:
    """Closing spread and total, de-vigged moneyline and spread-implied home win probabilities."""
    if overround_method not in METHODS:
        raise ValueError(f"unknown overround method {overround_method!r}; choose one of {METHODS}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    odds = np.column_stack([_decimal(frame["home_moneyline"]), _decimal(frame["away_moneyline"])])
    probs = remove_overround(odds, method=overround_method)
    spread = frame["spread_line"].to_numpy(dtype=np.float64)
    return pd.DataFrame({
        "spread_line": spread,
        "total_line": frame["total_line"].to_numpy(dtype=np.float64),
        "ml_prob_home": probs[:, 0],
        "spread_prob_home": norm.cdf(spread / float(sigma)),
    }, index=frame.index)


def spread_sigma(frame: pd.DataFrame, last_season: int = 2008) -> float:
    """Standard deviation of ``margin - spread_line`` over played games of seasons <= ``last_season``."""
    seasons = frame["season"].astype(int).to_numpy()
    resid = (frame["home_score"] - frame["away_score"] - frame["spread_line"]).to_numpy(dtype=np.float64)
    resid = resid[(seasons <= last_season) & ~np.isnan(resid)]
    if resid.size < 2:
        raise ValueError(f"no played games with a spread up to {last_season}")
    return float(np.std(resid, ddof=1))
