"""Injury-report features: who is listed Out or Doubtful before the game, weighted by position.

The report is filed before kick-off, so it is pre-game information of the game itself (not an outcome).
The data has no depth charts or snap counts, so "starters" cannot be told apart except the quarterback:
``prev_qb_out`` flags the QB who started the team's previous game listed Out or Doubtful. Every other
listed player counts by position group (:data:`formguide.nfl.frame.POSITION_GROUPS`).

``inj_points`` of a side is ``sum(weight[g] * out_g) + weight["prev_qb_out"] * prev_qb_out``, in points of
margin the side is expected to lose. The weights (:data:`INJURY_WEIGHTS`) were chosen on seasons
2009-2012 only (the reports start in 2009): non-negative least squares of each game's margin beyond 538
Elo's expectation (``margin - elo_diff / 25``) on the home-minus-away differences of the counts
(:func:`choose_injury_weights`), rounded to 0.05 points: a QB listed 1.40, the previous starter QB
out 4.80 more, specialists (K/P/LS) 2.80, linebackers 0.60, running backs 0.30, defensive line 0.25,
offensive line 0.15, defensive backs 0.10, TE and WR 0 (the fit gave them none). Four seasons are
few: these weights are noisy, the QB ones least so. Everything is NaN where no report exists (before 2009, 2023's later playoff rounds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from formguide.nfl.features.elo import elo_ratings
from formguide.nfl.frame import POSITION_GROUPS

__all__ = ["INJURY_COLUMNS", "INJURY_WEIGHTS", "WEIGHTED_FIELDS", "choose_injury_weights", "injury_features"]

WEIGHTED_FIELDS: tuple[str, ...] = tuple(f"out_{g}" for g in POSITION_GROUPS) + ("prev_qb_out",)
#: Points of margin per listed player (choose_injury_weights on 2009-2012, rounded to 0.05).
INJURY_WEIGHTS: dict[str, float] = {
    "out_qb": 1.40, "out_ol": 0.15, "out_te": 0.0, "out_wr": 0.0, "out_rb": 0.30, "out_dl": 0.25, "out_lb": 0.60,
    "out_db": 0.10, "out_st": 2.80, "prev_qb_out": 4.80,
}
INJURY_COLUMNS: tuple[str, ...] = ("home_inj_out_total", "away_inj_out_total", "home_inj_qb_out", "away_inj_qb_out",
                                   "home_inj_points", "away_inj_points", "inj_points_diff")
#: 538's conversion of Elo points to points of spread.
_ELO_PER_POINT = 25.0


def _counts(frame: pd.DataFrame, side: str) -> np.ndarray:
    return np.column_stack([frame[f"{side}_inj_{f}"].to_numpy(dtype=np.float64) for f in WEIGHTED_FIELDS])


def injury_features(frame: pd.DataFrame, injury_weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Listed-out counts, the previous starter QB flag and the position-weighted burden of both sides."""
    weights = dict(INJURY_WEIGHTS if injury_weights is None else injury_weights)
    unknown = sorted(set(weights) - set(WEIGHTED_FIELDS))
    if unknown:
        raise ValueError(f"unknown injury weight(s) {unknown}; known: {list(WEIGHTED_FIELDS)}")
    w = np.array([float(weights.get(f, 0.0)) for f in WEIGHTED_FIELDS])
    home, away = _counts(frame, "home") @ w, _counts(frame, "away") @ w
    return pd.DataFrame({
        "home_inj_out_total": frame["home_inj_out_total"].to_numpy(dtype=np.float64),
        "away_inj_out_total": frame["away_inj_out_total"].to_numpy(dtype=np.float64),
        "home_inj_qb_out": frame["home_inj_prev_qb_out"].to_numpy(dtype=np.float64),
        "away_inj_qb_out": frame["away_inj_prev_qb_out"].to_numpy(dtype=np.float64),
        "home_inj_points": home, "away_inj_points": away, "inj_points_diff": home - away,
    }, index=frame.index)


def choose_injury_weights(frame: pd.DataFrame, last_season: int = 2012) -> dict[str, float]:
    """Non-negative weights (points per listed player) fitted on reported games of seasons <= ``last_season``.

    Target: the home margin minus 538 Elo's expected margin (``elo_diff / 25``, Elo point in time with
    538's defaults); regressors: away-minus-home counts (a listed home player should lower the margin).
    """
    elo = elo_ratings(frame)
    margin = (frame["home_score"] - frame["away_score"]).to_numpy(dtype=np.float64)
    x = _counts(frame, "away") - _counts(frame, "home")
    y = margin - elo["elo_diff"].to_numpy() / _ELO_PER_POINT
    rows = (frame["season"].astype(int).to_numpy() <= last_season) & ~np.isnan(y) & ~np.isnan(x).any(axis=1)
    if rows.sum() < len(WEIGHTED_FIELDS):
        raise ValueError(f"too few games with injury reports up to {last_season} to choose weights")
    coef, _ = nnls(x[rows], y[rows])
    return {f: float(c) for f, c in zip(WEIGHTED_FIELDS, coef, strict=True)}

