"""The NFL's model: a regression of the game's mean margin (or total), a key-number distribution around it,
and a calibration of the bet type's side probability — each stage trained only on what came before.

Stage 1 (:class:`_Base`) regresses the home margin (moneyline, spread) or total points (total) on the
features with the chosen framework, and fits a :class:`KeyNumberDistribution` around it whose spread and
value weights come from earlier *out-of-sample* means (the walk-forward's own predictions), so a flexible
learner's small in-sample residuals never make it over-confident. The distribution gives the three-way
forecast ``[value > line, push, value < line]`` of the bet type. Stage 2 calibrates the side probability given
no push (isotonic or Platt, ``core.calibration``) on stage 1's out-of-sample forecasts of earlier weeks —
the nested walk-forward football's blend uses. Ties and pushes keep the distribution's probability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from formguide.core import deadline
from formguide.core.calibration import MulticlassCalibrator
from formguide.core.days import day_numbers
from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.core.walkforward import Cadence, walk_forward
from formguide.nfl.bettypes import BetType, bet_type, week_ids
from formguide.nfl.models.distribution import KeyNumberDistribution, tail_probabilities
from formguide.nfl.models.frameworks import Regressor, make_regressor, regressor_from_dict, require_framework

__all__ = ["NFLDistributionEstimator", "three_way"]

#: Out-of-sample means a stage-1 fit needs before its distribution is fitted on them (else: in-sample).
_MIN_OOS_FOR_SPREAD = 300


def three_way(bt: BetType, values: np.ndarray, pmf: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """``(n, 3)`` side A / push / side B probabilities of the bet type from a distribution of its value."""
    above, equal, below = tail_probabilities(values, pmf, bt.line(frame))
    return np.column_stack([above, equal, below])


def _support(bt: BetType) -> KeyNumberDistribution:
    return KeyNumberDistribution(low=-80, high=80) if bt.target == "margin" else KeyNumberDistribution(low=0, high=130)


#: Prior means the regressor corrects (``prior="auto"``), in order of preference per game: the closing line
#: where the features have it, else the QB-adjusted Elo's point spread (538: 25 Elo points a point) for the
#: margin; nothing for the total without its line. A game whose line is not known yet (a season simulated
#: weeks ahead) falls back to the next prior, so it is forecast from Elo rather than from a pick'em.
_PRIORS = {"margin": (("spread_line", 1.0), ("elo_diff_qb", 1 / 25)), "total": (("total_line", 1.0),)}


def prior_columns(target: str, columns: pd.Index, prior: str | None) -> tuple[tuple[str, float], ...]:
    """The features (and their scales) whose first finite value is a game's prior mean of ``target``."""
    if prior in (None, "none"):
        return ()
    if prior != "auto":
        raise ValueError(f"prior must be 'auto' or 'none', got {prior!r}")
    return tuple((c, k) for c, k in _PRIORS[target] if c in columns)


class _Base:
    """Stage 1: the framework's regressor of the mean (around the prior mean) and the distribution."""

    def __init__(self, regressor: Regressor, dist: KeyNumberDistribution | None,
                 prior: tuple[tuple[str, float], ...] = ()) -> None:
        self.regressor, self.dist, self.prior = regressor, dist, prior

    def offset(self, X: pd.DataFrame) -> np.ndarray:
        """Each game's first finite prior mean (0 where none is: the regressor's intercept stands in)."""
        out = np.full(len(X), np.nan)
        for column, scale in self.prior:
            out = np.where(np.isnan(out), X[column].to_numpy(dtype=np.float64) * scale, out)
        return np.nan_to_num(out, nan=0.0)

    def mean(self, X: pd.DataFrame) -> np.ndarray:
        return self.regressor.predict(X.to_numpy(dtype=np.float64)) + self.offset(X)


def _conditional(p3: np.ndarray) -> np.ndarray:
    """Side probabilities given no push, ``(n, 2)``."""
    sides = p3[:, [0, 2]]
    return sides / sides.sum(axis=1, keepdims=True)


def _recombine(p_side: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """Calibrated side-A probability given no push, back into the three-way forecast."""
    push = p3[:, 1]
    return np.column_stack([p_side * (1 - push), push, (1 - p_side) * (1 - push)])


class NFLDistributionEstimator(BaseEstimator):
    """One bet type's model (see the module docstring); ``framework`` picks the regressor of the mean.

    Parameters
    ----------
    bet_type : moneyline, spread or total.
    framework : sklearn (ridge, the default), lightgbm, xgboost or h2o (optional extra).
    prior : ``"auto"`` (the default) regresses the game's value *around a prior mean* — the closing spread or
        total when the features hold it, else the QB-adjusted Elo spread (margin) — so the ridge penalty
        shrinks towards the market (or Elo) instead of towards the average game; ``"none"``: plain
        regression. Chosen on 2003-2008 walk-forward moneyline Brier at ridge alpha 1,000: with market
        features 0.2153 -> 0.2133, without 0.2180 -> 0.2171 (see ``frameworks.RidgeRegressor``).
    calibration : isotonic, platt or None (the default: on 2003-2008, walk-forward moneyline Brier with and
        without market features was 0.2153 / 0.2180 uncalibrated, 0.2156 / 0.2183 with Platt and
        0.2153 / 0.2194 with isotonic; the distribution's own out-of-sample spread already calibrates it).
    framework_params : parameters of the framework's regressor (its defaults otherwise).
    fit_refit_weeks : refit interval (weeks) of the stage-1 walk-forward that ``fit`` runs to get the
        out-of-sample forecasts its calibrator learns from (the backtest refits stage 1 weekly).
    warmup_games : played games before stage 1 predicts; ``min_calibration_games``: stage-1 forecasts
        before stage 2 calibrates (earlier games keep the uncalibrated forecast), refitted every
        ``calibration_refit_weeks`` weeks.
    """

    model_type = "distribution"

    def __init__(self, bet_type: str = "moneyline", framework: str = "sklearn", calibration: str | None = None,
                 framework_params: dict[str, Any] | None = None, fit_refit_weeks: int = 4, warmup_games: int = 250,
                 min_calibration_games: int = 500, calibration_refit_weeks: int = 4, prior: str = "auto") -> None:
        self.bet_type = bet_type
        self.framework = framework
        self.prior = prior
        self.calibration = calibration
        self.framework_params = framework_params
        self.fit_refit_weeks = fit_refit_weeks
        self.warmup_games = warmup_games
        self.min_calibration_games = min_calibration_games
        self.calibration_refit_weeks = calibration_refit_weeks

    # ------------------------------------------------------------------------------------ stages
    @property
    def _bt(self) -> BetType:
        return bet_type(self.bet_type)

    def _fit_base(self, frame: pd.DataFrame, X: pd.DataFrame, rows: np.ndarray, oos_mean: np.ndarray) -> _Base:
        y = self._bt.value(frame)
        base = _Base(make_regressor(self.framework, **(self.framework_params or {})), None,
                     prior_columns(self._bt.target, X.columns, self.prior))
        train = X.iloc[rows]
        base.regressor.fit(train.to_numpy(dtype=np.float64), y[rows] - base.offset(train))
        known = rows[np.isfinite(oos_mean[rows])]
        if known.size >= _MIN_OOS_FOR_SPREAD:  # spread and key numbers from honest, earlier forecasts
            base.dist = _support(self._bt).fit(oos_mean[known], y[known])
        else:
            base.dist = _support(self._bt).fit(base.mean(train), y[rows])
        return base

    def _three_way(self, base: _Base, frame: pd.DataFrame, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        mean = base.mean(X)
        return mean, three_way(self._bt, base.dist.values, base.dist.pmf(mean), frame)

    def staged_predictions(self, frame: pd.DataFrame, X: pd.DataFrame, *, refit_weeks: int = 1,
                           end_day: int | None = None, progress: Callable[[int, int], None] | None = None
                           ) -> dict[str, np.ndarray]:
        """Out-of-sample stage-1 and calibrated forecasts of every row the stages reach, week by week."""
        require_framework(self.framework)
        bt = self._bt
        days = day_numbers(frame["kickoff"])
        weeks = week_ids(frame)
        played = np.isfinite(bt.value(frame))
        oos_mean = np.full(len(frame), np.nan)

        def fit_base(rows: np.ndarray) -> _Base:
            return self._fit_base(frame, X, rows, oos_mean)

        def predict_base(base: _Base, rows: np.ndarray) -> np.ndarray:
            mean, p3 = self._three_way(base, frame.iloc[rows], X.iloc[rows])
            oos_mean[rows] = mean
            return p3

        p_base = walk_forward(days, played, fit=fit_base, predict=predict_base, n_outputs=3, end_day=end_day,
                              groups=weeks, cadence=Cadence(groups=refit_weeks), min_train=self.warmup_games,
                              progress=progress)
        out = {"base": p_base, "mean": oos_mean, "final": p_base.copy(), "days": days}
        if not self.calibration:
            return out
        y = bt.outcome(frame)
        reached = ~np.isnan(p_base).any(axis=1)
        sided = reached & ((y == 0) | (y == 2))
        cond = np.where(reached[:, None], _conditional(np.nan_to_num(p_base, nan=1 / 3)), np.nan)
        y_side = np.where(y == 0, 0, 1)

        def fit_cal(rows: np.ndarray) -> MulticlassCalibrator:
            return MulticlassCalibrator(self.calibration).fit(cond[rows], y_side[rows])

        def predict_cal(cal: MulticlassCalibrator, rows: np.ndarray) -> np.ndarray:
            return _recombine(cal.predict_proba(cond[rows])[:, 0], p_base[rows])

        p_cal = walk_forward(days, sided, fit=fit_cal, predict=predict_cal, n_outputs=3, end_day=end_day,
                             groups=weeks, cadence=Cadence(groups=self.calibration_refit_weeks),
                             min_train=self.min_calibration_games)
        calibrated = reached & ~np.isnan(p_cal).any(axis=1)
        out["final"][calibrated] = p_cal[calibrated]
        out["cond"], out["sided"] = cond, sided
        return out

    # ------------------------------------------------------------------------------- estimator API
    def walk_forward_forecast(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int, end_day: int,
                              cadence: Cadence | str = "1", progress: Callable[[int, int], None] | None = None
                              ) -> np.ndarray:
        """Out-of-sample forecasts of ``[start_day, end_day)``, stage 1 refitted every ``cadence`` weeks."""
        cadence = Cadence.parse(cadence)
        if cadence.groups is None:
            raise ValueError("the NFL model refits every N weeks (--refit 1 = weekly), not by calendar period")
        staged = self.staged_predictions(frame, X, refit_weeks=cadence.groups, end_day=end_day, progress=progress)
        final = staged["final"]
        final[(staged["days"] < start_day) | (staged["days"] >= end_day)] = np.nan
        return final

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> NFLDistributionEstimator:
        staged = self.staged_predictions(frame, X, refit_weeks=self.fit_refit_weeks)
        deadline.check("training")
        played = np.flatnonzero(np.isfinite(self._bt.value(frame)))
        if played.size < self.warmup_games:
            raise ValueError(f"the NFL model needs at least {self.warmup_games} played games, got {played.size}")
        self.base_ = self._fit_base(frame, X, played, staged["mean"])
        self.calibrator_ = None
        if self.calibration:
            sided = staged["sided"]
            if sided.sum() >= self.min_calibration_games:
                y_side = np.where(self._bt.outcome(frame) == 0, 0, 1)
                self.calibrator_ = MulticlassCalibrator(self.calibration).fit(staged["cond"][sided], y_side[sided])
        self.n_train_ = int(played.size)
        return self

    def predict_distribution(self, frame: pd.DataFrame, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Integer values, ``(n, values)`` probabilities and the mean of each game's margin or total."""
        check_is_fitted(self, "base_")
        mean = self.base_.mean(X)
        return self.base_.dist.values, self.base_.dist.pmf(mean), mean

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        values, pmf, _ = self.predict_distribution(frame, X)
        p3 = three_way(self._bt, values, pmf, frame)
        if self.calibrator_ is None:
            return p3
        ok = ~np.isnan(p3).any(axis=1)
        out = p3.copy()
        if ok.any():
            out[ok] = _recombine(self.calibrator_.predict_proba(_conditional(p3[ok]))[:, 0], p3[ok])
        return out

    def model_facts(self) -> dict[str, Any]:
        check_is_fitted(self, "base_")
        return {"framework": self.framework, "sigma": round(self.base_.dist.sigma_, 3), "games": self.n_train_}

    def to_dict(self) -> dict[str, Any]:
        check_is_fitted(self, "base_")
        return {"type": self.model_type, "params": self.get_params(), "regressor": self.base_.regressor.to_dict(),
                "distribution": self.base_.dist.to_dict(), "n_train": self.n_train_,
                "prior": [list(p) for p in self.base_.prior],
                "calibrator": None if self.calibrator_ is None else self.calibrator_.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NFLDistributionEstimator:
        est = cls(**data["params"])
        prior = data.get("prior") or ()
        if prior and isinstance(prior[0], str):  # saved with a single prior column
            prior = [prior]
        prior = tuple((str(c), float(k)) for c, k in prior)
        est.base_ = _Base(regressor_from_dict(data["regressor"]), KeyNumberDistribution.from_dict(data["distribution"]),
                          prior)
        cal = data.get("calibrator")
        est.calibrator_ = None if cal is None else MulticlassCalibrator.from_dict(cal)
        est.n_train_ = int(data.get("n_train", 0))
        return est
