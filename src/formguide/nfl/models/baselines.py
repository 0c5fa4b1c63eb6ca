"""The NFL's baselines, walked forward exactly like the model and scored on the same games.

* ``elo``: FiveThirtyEight-style Elo alone (the feature set's ``elo_diff_qb`` — Elo with the starting-QB
  adjustment — read as a point spread, ``elo_diff / 25`` as 538 does, through a key-number distribution
  fitted on the training games; for the moneyline that is the Elo win probability itself).
* ``nfelo_blend`` (moneyline): nfelo's market line, a 70/30 logit blend of the spread-implied home win
  probability and the de-vigged closing moneyline (spread-implied alone where no moneyline exists).
* ``home_rate`` / ``over_rate``: side A every time, at its training frequency ("home team always").
* ``coin``: 50/50.

Each predicts the three-way forecast ``[side A, push, side B]`` of its bet type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.core.markets import american_to_decimal
from formguide.nfl.bettypes import bet_type
from formguide.nfl.models.distribution import KeyNumberDistribution
from formguide.nfl.models.estimator import three_way

__all__ = ["BASELINES", "CoinFlip", "EloLine", "NfeloBlend", "SideRate", "devig_pair", "make_baseline"]

#: 538: one point of spread per 25 Elo points.
ELO_PER_POINT = 25.0


def devig_pair(home_american: np.ndarray, away_american: np.ndarray) -> np.ndarray:
    """De-vigged (multiplicative) probability of side A from two American prices; NaN where either is missing."""
    a = np.asarray(american_to_decimal(np.asarray(home_american, dtype=np.float64)), dtype=np.float64)
    b = np.asarray(american_to_decimal(np.asarray(away_american, dtype=np.float64)), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (1 / a) / (1 / a + 1 / b)


class _Baseline(BaseEstimator):
    model_type = "baseline"

    def __init__(self, bet_type: str = "moneyline") -> None:
        self.bet_type = bet_type

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.model_type, "params": self.get_params(), "state": self._state()}

    def _state(self) -> dict[str, Any]:
        return {}


class CoinFlip(_Baseline):
    model_type = "coin"

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> CoinFlip:
        self.fitted_ = True
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        out = np.tile([0.5, 0.0, 0.5], (len(frame), 1))
        out[np.isnan(bet_type(self.bet_type).line(frame))] = np.nan
        return out


class SideRate(_Baseline):
    """Side A (home, over) at the rate it happened in the training games, pushes left out."""

    model_type = "side_rate"

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> SideRate:
        y = bet_type(self.bet_type).outcome(frame)
        decided = (y == 0) | (y == 2)
        self.rate_ = float((y[decided] == 0).mean()) if decided.any() else 0.5
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "rate_")
        out = np.tile([self.rate_, 0.0, 1 - self.rate_], (len(frame), 1))
        out[np.isnan(bet_type(self.bet_type).line(frame))] = np.nan
        return out

    def _state(self) -> dict[str, Any]:
        return {"rate": self.rate_}


class EloLine(_Baseline):
    """Elo (with the QB adjustment) as a point spread through a key-number distribution."""

    model_type = "elo"

    def __init__(self, bet_type: str = "moneyline", column: str = "elo_diff_qb") -> None:
        super().__init__(bet_type)
        self.column = column

    def _mean(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        bt = bet_type(self.bet_type)
        if bt.target == "margin":
            return X[self.column].to_numpy(dtype=np.float64) / ELO_PER_POINT
        return np.full(len(frame), self.mean_total_)  # Elo says nothing of totals: the training mean

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> EloLine:
        bt = bet_type(self.bet_type)
        y = bt.value(frame)
        self.mean_total_ = float(np.nanmean(y)) if bt.target == "total" else 0.0
        dist = KeyNumberDistribution(low=-80, high=80) if bt.target == "margin" else KeyNumberDistribution(0, 130)
        self.dist_ = dist.fit(self._mean(frame, X), y)
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "dist_")
        bt = bet_type(self.bet_type)
        return three_way(bt, self.dist_.values, self.dist_.pmf(self._mean(frame, X)), frame)


class NfeloBlend(_Baseline):
    """nfelo's market blend: 70 % spread-implied, 30 % moneyline-implied win probability, in logits."""

    model_type = "nfelo_blend"

    def __init__(self, bet_type: str = "moneyline", spread_weight: float = 0.7) -> None:
        super().__init__(bet_type)
        self.spread_weight = spread_weight

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> NfeloBlend:
        margin = bet_type("moneyline").value(frame)
        self.dist_ = KeyNumberDistribution().fit(frame["spread_line"].to_numpy(dtype=np.float64), margin)
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "dist_")
        spread = three_way(bet_type("moneyline"), self.dist_.values,
                           self.dist_.pmf(frame["spread_line"].to_numpy(dtype=np.float64)), frame)
        p_spread = spread[:, 0] / (spread[:, 0] + spread[:, 2])
        p_ml = devig_pair(frame["home_moneyline"].to_numpy(), frame["away_moneyline"].to_numpy())
        w = self.spread_weight

        def logit(p: np.ndarray) -> np.ndarray:
            p = np.clip(p, 1e-6, 1 - 1e-6)
            return np.log(p / (1 - p))

        blended = 1 / (1 + np.exp(-(w * logit(p_spread) + (1 - w) * logit(p_ml))))
        p = np.where(np.isnan(p_ml), p_spread, blended)
        tie = spread[:, 1]
        return np.column_stack([p * (1 - tie), tie, (1 - p) * (1 - tie)])


def make_baseline(name: str, bet_type_name: str) -> _Baseline:
    return BASELINES[name](bet_type=bet_type_name)


BASELINES: dict[str, type[_Baseline]] = {"elo": EloLine, "nfelo_blend": NfeloBlend, "side_rate": SideRate,
                                         "coin": CoinFlip}
