"""Frame-level football models: what the core fits, evaluates, registers and serves.

Each wraps a focused model (Dixon-Coles, Elo ordered logit, stacker, calibrator) behind the core's
``fit(frame, X)`` / ``predict_proba(frame, X)`` contract in scikit-learn's idiom (``BaseEstimator``), and
serialises to JSON only. Goal models also give score distributions (:class:`ScoreDistribution`), which
price the score markets and drive season simulations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from formguide.core.calibration import MulticlassCalibrator
from formguide.core.days import day_numbers
from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.core.walkforward import Cadence, walk_forward
from formguide.football.markets import market_probabilities
from formguide.football.models import score_markets
from formguide.football.models.dixon_coles import DixonColesModel, dixon_coles_matrix
from formguide.football.models.elo import EloOrderedModel

OUTCOMES = ("H", "D", "A")
_CODE = {"H": 0, "D": 1, "A": 2}


def outcome_index(frame: pd.DataFrame) -> np.ndarray:
    """0/1/2 for H/D/A, -1 for matches not played yet."""
    return frame["result"].map(_CODE).fillna(-1).to_numpy(dtype=np.int64)


@runtime_checkable
class ScoreDistribution(Protocol):
    """A model that gives each fixture's score-probability matrix (home goals x away goals)."""

    def score_matrix(self, frame: pd.DataFrame) -> np.ndarray: ...


def _played(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["home_goals"].notna() & frame["away_goals"].notna()]


class DixonColesEstimator(BaseEstimator):
    """Dixon-Coles (or plain Poisson with ``rho=False``) refitted on all matches before the cut-off.

    ``max_age_days`` drops matches whose decay weight is negligible (exp(-xi * age)); with the default
    xi = 0.0018 and 4 years the oldest match kept still weighs 7% and the fit stays fast. Teams never
    seen (promoted sides in their first match) get average ratings worsened by ``promoted_penalty``
    (about 0.2 on the log scale is what promoted big-five sides averaged in their first season).
    A ridge ``l2`` keeps ratings finite for a side that has not scored yet in its first weeks and
    shrinks noisy early-season ratings.

    Two uses of the match statistics, neither of them odds:

    * ``red_card_weight``: a match with a sending-off says less about the two sides at full strength, so
      its weight is multiplied by this (1 = plain Dixon-Coles).
    * ``shots_weight``: shots on target are a less noisy measure of chances than goals. A second,
      Poisson fit of shots on target (same decay, weights and ridge) gives each side's expected shots;
      converted to goals at the fitted goals-per-shot rate, they are blended into the expected goals
      geometrically, ``lam = lam_goals^(1-w) * lam_shots^w`` (0 = goals only). The score matrix, with the
      Dixon-Coles rho, is built from the blended rates. Without shot data (none in the window) the model
      is the goals-only fit.

    Defaults (xi=0.0018, l2=5, 4 years, red-card weight 0.5, shots weight 0.2) were chosen by walk-forward
    RPS on E0/SP1/D1 2007/08-2011/12 only, seasons before any closing odds exist, so the skill reported
    against the closing market (2012/13 on) is out of sample for these choices too.
    """

    model_type = "dixon-coles"

    def __init__(self, xi: float = 0.0018, rho: bool = True, max_goals: int = 10, max_age_days: int | None = 1460,
                 promoted_penalty: float = 0.2, l2: float = 5.0, red_card_weight: float = 0.5,
                 shots_weight: float = 0.2) -> None:
        self.l2 = l2
        self.xi = xi
        self.rho = rho
        self.max_goals = max_goals
        self.max_age_days = max_age_days
        self.promoted_penalty = promoted_penalty
        self.red_card_weight = red_card_weight
        self.shots_weight = shots_weight

    def _check_params(self) -> None:
        if not (np.isfinite(self.red_card_weight) and self.red_card_weight >= 0):
            raise ValueError(f"red_card_weight must be a non-negative number, got {self.red_card_weight!r}")
        if not (np.isfinite(self.shots_weight) and 0 <= self.shots_weight <= 1):
            raise ValueError(f"shots_weight must lie in [0, 1], got {self.shots_weight!r}")

    def _model(self, ref: pd.Timestamp, rho: bool) -> DixonColesModel:
        return DixonColesModel(xi=self.xi, rho=rho, max_goals=self.max_goals, ref_date=ref, unknown="average",
                               promoted_penalty=self.promoted_penalty, l2=self.l2)

    def _match_weights(self, played: pd.DataFrame) -> np.ndarray:
        reds = [played[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in ("home_red", "away_red")
                if c in played.columns]
        sent_off = np.nansum(np.column_stack(reds), axis=1) > 0 if reds else np.zeros(len(played), dtype=bool)
        return np.where(sent_off, float(self.red_card_weight), 1.0)

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame | None = None) -> DixonColesEstimator:
        self._check_params()
        played = _played(frame)
        if played.empty:
            raise ValueError("Dixon-Coles needs at least one played match to fit")
        ref = played["kickoff"].max()
        if self.max_age_days is not None:
            played = played[played["kickoff"] >= ref - pd.Timedelta(days=self.max_age_days)]
        weights = self._match_weights(played)
        if not weights.sum() > 0:
            weights = np.ones(len(played))  # every match had a red card and weight 0: keep them all
        home, away, kickoff = (played[c].to_numpy() for c in ("home_team", "away_team", "kickoff"))
        self.model_ = self._model(ref, self.rho).fit(home, away, played["home_goals"].to_numpy(),
                                                      played["away_goals"].to_numpy(), kickoff, sample_weight=weights)
        self.shots_model_ = None
        shot_cols = ("home_shots_on_target", "away_shots_on_target")
        if self.shots_weight > 0 and all(c in played.columns for c in shot_cols):
            has = played[list(shot_cols)].notna().all(axis=1).to_numpy()
            if has.any() and weights[has].sum() > 0:
                self.shots_model_ = self._model(ref, False).fit(
                    home[has], away[has], played[shot_cols[0]].to_numpy()[has],
                    played[shot_cols[1]].to_numpy()[has], kickoff[has], sample_weight=weights[has])
        return self

    def expected_goals(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Expected home and away goals of each fixture: the goals fit, blended with the shots fit."""
        check_is_fitted(self, "model_")
        home, away = frame["home_team"].to_numpy(), frame["away_team"].to_numpy()
        lam, mu = self.model_.expected_goals(home, away)
        s = self.shots_model_
        if s is None:
            return lam, mu
        s_lam, s_mu = s.expected_goals(home, away)
        g = self.model_
        per_shot_home = np.exp(g.intercept_ + g.home_advantage_ - s.intercept_ - s.home_advantage_)
        per_shot_away = np.exp(g.intercept_ - s.intercept_)
        w = float(self.shots_weight)
        return lam ** (1 - w) * (per_shot_home * s_lam) ** w, mu ** (1 - w) * (per_shot_away * s_mu) ** w

    def score_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        lam, mu = self.expected_goals(frame)
        return dixon_coles_matrix(lam, mu, self.model_.rho_, int(self.max_goals))

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame | None = None) -> np.ndarray:
        return score_markets.probs_1x2(self.score_matrix(frame))

    def to_dict(self) -> dict[str, Any]:
        shots = self.shots_model_
        return {"type": self.model_type, "params": self.get_params(), "model": self.model_.to_dict(),
                "shots_model": None if shots is None else shots.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DixonColesEstimator:
        # artifacts written before the match-statistics options were plain goals-only fits
        params = {"red_card_weight": 1.0, "shots_weight": 0.0, **data["params"]}
        est = cls(**params)
        est.model_ = DixonColesModel.from_dict(data["model"])
        shots = data.get("shots_model")
        est.shots_model_ = None if shots is None else DixonColesModel.from_dict(shots)
        return est


class PoissonEstimator(DixonColesEstimator):
    """Independent Poisson goals (Dixon-Coles without the low-score correction ``rho``)."""

    model_type = "poisson"

    def __init__(self, xi: float = 0.0018, rho: bool = False, max_goals: int = 10, max_age_days: int | None = 1460,
                 promoted_penalty: float = 0.2, l2: float = 5.0, red_card_weight: float = 0.5,
                 shots_weight: float = 0.2) -> None:
        super().__init__(xi=xi, rho=rho, max_goals=max_goals, max_age_days=max_age_days,
                         promoted_penalty=promoted_penalty, l2=l2, red_card_weight=red_card_weight,
                         shots_weight=shots_weight)


class EloEstimator(BaseEstimator):
    """Ordered logit of the result on the pre-match Elo difference (a FiveThirtyEight-style baseline)."""

    model_type = "elo"

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> EloEstimator:
        y = outcome_index(frame)
        ok = (y >= 0) & X["elo_diff"].notna().to_numpy()
        self.model_ = EloOrderedModel().fit(X["elo_diff"].to_numpy(dtype=float)[ok], _to_ordered(y[ok]))
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "model_")
        diff = X["elo_diff"].to_numpy(dtype=float)
        return self.model_.predict_proba(np.nan_to_num(diff, nan=0.0))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.model_type, "params": {}, "model": self.model_.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EloEstimator:
        est = cls()
        est.model_ = EloOrderedModel.from_dict(data["model"])
        return est


def _to_ordered(y: np.ndarray) -> np.ndarray:
    """EloOrderedModel takes result codes; our index is in H/D/A order."""
    return np.asarray(OUTCOMES)[y]


STACK_FEATURES = ("elo_diff",)


def stack_inputs(frame: pd.DataFrame, X: pd.DataFrame, base_probs: np.ndarray, market_method: str) -> np.ndarray:
    """Stacker inputs: log base probabilities, latest de-margined market (or base where none), Elo gap."""
    market = market_probabilities(frame, "latest", market_method)
    has_market = ~np.isnan(market).any(axis=1)
    market = np.where(has_market[:, None], market, base_probs)
    eps = 1e-6
    cols = [np.log(np.clip(base_probs, eps, 1.0)), np.log(np.clip(market, eps, 1.0)), has_market[:, None].astype(float)]
    for name in STACK_FEATURES:
        if name in X.columns:
            cols.append((X[name].to_numpy(dtype=float, na_value=np.nan) / 400.0)[:, None])
    Z = np.hstack(cols)
    return np.nan_to_num(Z, nan=0.0)


class _LogisticStacker(BaseEstimator):
    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, Z: np.ndarray, y: np.ndarray) -> _LogisticStacker:
        from sklearn.linear_model import LogisticRegression

        self.mean_ = Z.mean(axis=0)
        self.scale_ = Z.std(axis=0) + 1e-9
        lr = LogisticRegression(C=self.C, max_iter=500)
        lr.fit((Z - self.mean_) / self.scale_, y)
        coef = np.zeros((3, Z.shape[1]))
        icpt = np.full(3, -30.0)
        coef[lr.classes_] = lr.coef_
        icpt[lr.classes_] = lr.intercept_
        self.coef_, self.intercept_ = coef, icpt
        return self

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        logits = ((Z - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "logistic", "C": self.C, "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist(), "intercept": self.intercept_.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _LogisticStacker:
        s = cls(C=d["C"])
        s.mean_, s.scale_ = np.asarray(d["mean"]), np.asarray(d["scale"])
        s.coef_, s.intercept_ = np.asarray(d["coef"]), np.asarray(d["intercept"])
        return s


class _LightGBMStacker(BaseEstimator):
    def __init__(self, n_estimators: int = 150, learning_rate: float = 0.03, num_leaves: int = 7,
                 min_child_samples: int = 100) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples

    def fit(self, Z: np.ndarray, y: np.ndarray) -> _LightGBMStacker:
        import lightgbm as lgb

        clf = lgb.LGBMClassifier(objective="multiclass", num_class=3, verbose=-1, n_jobs=1, **self.get_params())
        clf.fit(Z, y)
        self.booster_ = clf.booster_
        return self

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster_.predict(Z))

    def feature_importance(self) -> np.ndarray:
        return self.booster_.feature_importance(importance_type="gain")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "lightgbm", "params": self.get_params(), "booster": self.booster_.model_to_string()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _LightGBMStacker:
        import lightgbm as lgb

        s = cls(**d["params"])
        s.booster_ = lgb.Booster(model_str=d["booster"])
        return s


def _make_stacker(kind: str) -> _LogisticStacker | _LightGBMStacker:
    if kind == "logistic":
        return _LogisticStacker()
    if kind == "lightgbm":
        return _LightGBMStacker()
    raise ValueError(f"unknown stacker {kind!r}; choose logistic or lightgbm")


def _stacker_from_dict(d: dict[str, Any]) -> _LogisticStacker | _LightGBMStacker:
    return _LogisticStacker.from_dict(d) if d["kind"] == "logistic" else _LightGBMStacker.from_dict(d)


class BlendEstimator(BaseEstimator):
    """Dixon-Coles -> stacker over (DC, market, Elo) -> isotonic/Platt calibration, by nested walk-forward.

    The stacker only ever sees Dixon-Coles predictions made out of sample (by fits on earlier periods),
    and the calibrator only stacker predictions made out of sample, so no stage learns from a
    forecast that had already seen the result.
    """

    model_type = "blend"

    def __init__(self, stacker: str = "logistic", calibration: str | None = "isotonic",
                 market_method: str = "shin", warmup_days: int = 300, stack_refit: str = "month",
                 base_params: dict[str, Any] | None = None) -> None:
        self.stacker = stacker
        self.calibration = calibration
        self.market_method = market_method
        self.warmup_days = warmup_days
        self.stack_refit = stack_refit
        self.base_params = base_params

    # -- the nested walk-forward shared by fit() and the backtest ---------------------------------
    def staged_predictions(self, frame: pd.DataFrame, X: pd.DataFrame, *, base_refit: str = "month",
                           start_day: int | None = None, end_day: int | None = None,
                           progress=None) -> dict[str, np.ndarray]:
        """Out-of-sample base, stacker and calibrated probabilities for every row the stages reach."""
        y = outcome_index(frame)
        days = day_numbers(frame["kickoff"])
        played = y >= 0
        first = int(days[0]) if len(days) else 0
        base_est = DixonColesEstimator(**(self.base_params or {}))

        def fit_base(idx: np.ndarray) -> DixonColesEstimator:
            return base_est.fit(frame.iloc[idx])

        p_base = walk_forward(days, played, fit=fit_base, predict=lambda m, idx: m.predict_proba(frame.iloc[idx]),
                              n_outputs=3, start_day=first + self.warmup_days, end_day=end_day,
                              group_period="week" if base_refit == "week" else "month", cadence=base_refit,
                              min_train=100, progress=progress)
        Z = stack_inputs(frame, X, np.nan_to_num(p_base, nan=1 / 3), self.market_method)

        def next_stage(previous: np.ndarray, fit, predict, min_train: int) -> np.ndarray:
            """Walk forward on the rows the previous stage reached, starting ``warmup_days`` after its first."""
            reached = ~np.isnan(previous).any(axis=1)
            start = int(days[reached][0]) + self.warmup_days if reached.any() else None
            p = walk_forward(days, played & reached, fit=fit, predict=predict, n_outputs=3, start_day=start,
                             end_day=end_day, group_period="month", cadence=self.stack_refit, min_train=min_train)
            p[~reached] = np.nan
            return p

        p_stack = next_stage(p_base, lambda idx: _make_stacker(self.stacker).fit(Z[idx], y[idx]),
                             lambda m, idx: m.predict_proba(Z[idx]), min_train=200)
        out = {"base": p_base, "stack": p_stack, "Z": Z, "y": y, "days": days, "final": p_stack}
        if self.calibration:
            out["final"] = next_stage(
                p_stack, lambda idx: MulticlassCalibrator(self.calibration).fit(p_stack[idx], y[idx]),
                lambda m, idx: m.predict_proba(p_stack[idx]), min_train=300)
        return out

    def walk_forward_forecast(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int, end_day: int,
                              cadence: Cadence | str = "weekly", progress: Callable[[int, int], None] | None = None
                              ) -> np.ndarray:
        """Out-of-sample forecasts of ``[start_day, end_day)``: base refitted at ``cadence``, later stages monthly."""
        cadence = Cadence.parse(cadence)
        if cadence.period is None:
            raise ValueError("the blend refits by calendar (daily, weekly or monthly), not by a number of groups")
        staged = self.staged_predictions(frame, X, base_refit=cadence.period, end_day=end_day, progress=progress)
        final = staged["final"]
        days = staged["days"]
        final[(days < start_day) | (days >= end_day)] = np.nan
        return final

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> BlendEstimator:
        staged = self.staged_predictions(frame, X, base_refit="month")
        y = staged["y"]
        has_base = ~np.isnan(staged["base"]).any(axis=1) & (y >= 0)
        if has_base.sum() < 200:
            raise ValueError(f"the blend needs at least 200 out-of-sample base predictions to train its stacker, "
                             f"got {int(has_base.sum())}; train on more seasons")
        self.stacker_ = _make_stacker(self.stacker).fit(staged["Z"][has_base], y[has_base])
        self.calibrator_ = None
        if self.calibration:
            has_stack = ~np.isnan(staged["stack"]).any(axis=1) & (y >= 0)
            if has_stack.sum() < 100:
                raise ValueError("the blend's calibrator needs at least 100 out-of-sample stacker predictions")
            self.calibrator_ = MulticlassCalibrator(self.calibration).fit(staged["stack"][has_stack], y[has_stack])
        self.base_ = DixonColesEstimator(**(self.base_params or {})).fit(frame)
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "stacker_")
        p_base = self.base_.predict_proba(frame)
        p = self.stacker_.predict_proba(stack_inputs(frame, X, p_base, self.market_method))
        if self.calibrator_ is not None:
            p = self.calibrator_.predict_proba(p)
        return p

    def score_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return self.base_.score_matrix(frame)

    def feature_importance(self) -> dict[str, float]:
        names = ["log_dc_H", "log_dc_D", "log_dc_A", "log_mkt_H", "log_mkt_D", "log_mkt_A", "has_market",
                 *STACK_FEATURES]
        st = self.stacker_
        if isinstance(st, _LightGBMStacker):
            imp = st.feature_importance()
        else:
            imp = np.abs(st.coef_).sum(axis=0)
        imp = imp / (imp.sum() or 1.0)
        return {n: float(v) for n, v in zip(names, imp, strict=False)}

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.model_type, "params": self.get_params(), "base": self.base_.to_dict(),
                "stacker": self.stacker_.to_dict(),
                "calibrator": self.calibrator_.to_dict() if self.calibrator_ is not None else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlendEstimator:
        est = cls(**data["params"])
        est.base_ = DixonColesEstimator.from_dict(data["base"])
        est.stacker_ = _stacker_from_dict(data["stacker"])
        est.calibrator_ = MulticlassCalibrator.from_dict(data["calibrator"]) if data["calibrator"] else None
        return est


MODEL_TYPES = {
    "dixon-coles": DixonColesEstimator,
    "poisson": PoissonEstimator,
    "elo": EloEstimator,
    "blend": BlendEstimator,
}


def make_estimator(model_type: str, **params: Any):
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown football model {model_type!r}; choose one of {', '.join(MODEL_TYPES)}")
    return MODEL_TYPES[model_type](**params)


def estimator_from_dict(data: dict[str, Any]):
    kind = data["type"]
    if kind not in MODEL_TYPES:
        raise ValueError(f"unknown stored football model type {kind!r}")
    return MODEL_TYPES[kind].from_dict(data)
