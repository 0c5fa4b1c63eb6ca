"""F1 field models: a log-strength per entry, turned into probabilities by the core's probability layer.

Every model maps the entries of a race (rows of the canonical entry frame plus their feature rows) to a
log-strength ``u`` per driver (:meth:`predict_strength`, shape ``(n,)``); its win probability within the
race is ``softmax(u)`` (:meth:`predict_win_proba`, ``(n,)``, summing to 1 per race). Podium, points and
position probabilities, with retirements, come from :mod:`formguide.core.field_forecast`, the one layer
every F1 forecast goes through.

Models (scikit-learn estimators):

* :class:`PlackettLuceModel`: ``u = X . beta`` on standardised features, fitted by maximising the
  Plackett-Luce likelihood of each race's finishing order (:mod:`formguide.f1.likelihood`; top ``k`` places,
  analytic gradient, L2).
* :class:`LambdaRankModel`: LightGBM ``LGBMRanker`` (lambdarank); its scores are utilities.

Both carry a temperature ``a`` (``u -> a * u``) fitted on *out-of-sample* utilities of earlier races
(nested walk-forward, as football's blend), which calibrates the win probabilities: a ranker's raw scores
have no probability scale, and a likelihood over the whole order under-states how often the favourite wins.
Baselines (:mod:`formguide.f1.baselines`) use the same interface. Everything serialises to JSON only
(``to_dict`` / :func:`model_from_dict`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import minimize
from sklearn.base import clone

from formguide.core.days import day_numbers
from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.core.field_forecast import event_codes, fit_temperature, group_softmax
from formguide.core.walkforward import Cadence, walk_forward
from formguide.f1.baselines import BASELINE_TYPES, _Baseline
from formguide.f1.likelihood import RaceLayout, plackett_luce_loglik

__all__ = [
    "BASELINE_TYPES",
    "MODEL_TYPES",
    "LambdaRankModel",
    "PlackettLuceModel",
    "make_model",
    "model_from_dict",
    "race_walk_forward",
]

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------------
# Walk-forward over races
# --------------------------------------------------------------------------------------------------


def _race_table(frame: pd.DataFrame) -> pd.DataFrame:
    days = day_numbers(frame["date"])
    run = frame["position"].notna().to_numpy()
    t = pd.DataFrame({"race_id": frame["race_id"].to_numpy(), "day": days, "run": run})
    races = t.groupby("race_id", sort=False).agg(day=("day", "min"), run=("run", "all")).reset_index()
    return races.sort_values(["day", "race_id"], kind="stable").reset_index(drop=True)


def race_walk_forward(frame: pd.DataFrame, *, fit: Callable[[np.ndarray], Any],
                      predict: Callable[[Any, np.ndarray], np.ndarray], start_day: int | None = None,
                      end_day: int | None = None, refit_every: int = 1, min_train_races: int = 1,
                      progress: Progress | None = None) -> NDArray[np.float64]:
    """The core walk-forward race by race: one value per entry for races whose day lies in ``[start_day, end_day)``.

    Before a race the model is (re)fitted every ``refit_every`` races on the entries of races run on days
    strictly before its day; races with fewer than ``min_train_races`` earlier races run stay NaN.
    """
    if frame.empty:
        return np.full(0, np.nan)
    out = walk_forward(day_numbers(frame["date"]), frame["position"].notna().to_numpy(), fit=fit,
                       predict=lambda m, idx: np.asarray(predict(m, idx), dtype=np.float64)[:, None], n_outputs=1,
                       start_day=start_day, end_day=end_day, groups=frame["race_id"].to_numpy(),
                       cadence=Cadence(groups=refit_every), min_train=min_train_races, min_train_groups=True,
                       progress=progress)
    return out[:, 0]


# --------------------------------------------------------------------------------------------------
# Feature preparation
# --------------------------------------------------------------------------------------------------


class _Standardiser:
    """Impute NaN with training means, add missing-value indicators, standardise; stored as plain numbers."""

    def __init__(self, indicator_min_share: float = 0.005) -> None:
        self.indicator_min_share = indicator_min_share

    def fit(self, X: pd.DataFrame) -> _Standardiser:
        A = X.to_numpy(dtype=np.float64, na_value=np.nan)
        miss = np.isnan(A)
        self.columns_ = list(X.columns)
        with np.errstate(invalid="ignore"):
            fill = np.nanmean(np.where(miss.all(axis=0), 0.0, A), axis=0)
        self.fill_ = np.nan_to_num(fill)
        share = miss.mean(axis=0) if len(A) else np.zeros(A.shape[1])
        self.indicators_ = [c for c, s in zip(self.columns_, share, strict=True)
                            if self.indicator_min_share <= s < 1.0]
        Z = self._raw(A)
        self.mean_ = Z.mean(axis=0) if len(Z) else np.zeros(Z.shape[1])
        scale = Z.std(axis=0) if len(Z) else np.ones(Z.shape[1])
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        return self

    @property
    def names(self) -> list[str]:
        return self.columns_ + [f"{c}__missing" for c in self.indicators_]

    def _raw(self, A: NDArray[np.float64]) -> NDArray[np.float64]:
        miss = np.isnan(A)
        filled = np.where(miss, self.fill_, A)
        pos = {c: i for i, c in enumerate(self.columns_)}
        ind = np.column_stack([miss[:, pos[c]] for c in self.indicators_]).astype(np.float64) \
            if self.indicators_ else np.zeros((len(A), 0))
        return np.hstack([filled, ind])

    def transform(self, X: pd.DataFrame) -> NDArray[np.float64]:
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise ValueError(f"feature rows lack column(s) {missing} the model was trained on")
        A = X[self.columns_].to_numpy(dtype=np.float64, na_value=np.nan)
        return (self._raw(A) - self.mean_) / self.scale_

    def to_dict(self) -> dict[str, Any]:
        return {"indicator_min_share": self.indicator_min_share, "columns": self.columns_,
                "fill": self.fill_.tolist(), "indicators": self.indicators_, "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _Standardiser:
        s = cls(d["indicator_min_share"])
        s.columns_, s.indicators_ = list(d["columns"]), list(d["indicators"])
        s.fill_, s.mean_, s.scale_ = (np.asarray(d[k], dtype=np.float64) for k in ("fill", "mean", "scale"))
        return s


def _check_aligned(frame: pd.DataFrame, X: pd.DataFrame) -> None:
    if len(frame) != len(X):
        raise ValueError(f"frame has {len(frame)} rows but the feature rows {len(X)}; they must be aligned")
    for col in ("race_id", "date", "position"):
        if col not in frame.columns:
            raise ValueError(f"entry frame has no column {col!r}")


def _train_rows(frame: pd.DataFrame, max_age_days: int | None) -> NDArray[np.bool_]:
    """Entries of races run, within ``max_age_days`` of the latest one."""
    run = frame["position"].notna().to_numpy().copy()
    if not run.any():
        raise ValueError("no race with a known finishing order to fit on")
    if max_age_days is not None:
        days = day_numbers(frame["date"])
        run &= days >= days[run].max() - int(max_age_days)
    return run


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class _FieldModel(BaseEstimator, ABC):
    """Shared calibration, probability layer and walk-forward of the field models.

    Subclasses implement ``_fit_base(frame, X)`` and ``_base_utilities(frame, X)``.
    """

    model_type = "field"

    def __init__(self, calibration: str | None = "temperature", cal_races: int = 80, cal_refit: int = 10,
                 min_cal_races: int = 20, max_age_days: int | None = None) -> None:
        if calibration not in (None, "temperature"):
            raise ValueError(f"unknown calibration {calibration!r}; use 'temperature' or None")
        self.calibration = calibration
        self.cal_races = cal_races
        self.cal_refit = cal_refit
        self.min_cal_races = min_cal_races
        self.max_age_days = max_age_days

    # -- subclass hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _fit_base(self, frame: pd.DataFrame, X: pd.DataFrame) -> None:
        ...

    @abstractmethod
    def _base_utilities(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        ...


    # -- fitting ----------------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> _FieldModel:
        """Fit on races with a known order; the temperature on out-of-sample utilities of the latest ones."""
        _check_aligned(frame, X)
        frame = frame.reset_index(drop=True)
        X = X.reset_index(drop=True)
        self.temperature_ = 1.0
        self.calibrated_on_ = 0
        if self.calibration == "temperature":
            self._fit_temperature(frame, X)
        self._fit_base(frame, X)
        return self

    def _base_walk_forward(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int | None,
                           end_day: int | None, refit_every: int, progress: Progress | None = None
                           ) -> NDArray[np.float64]:
        def fit(idx: np.ndarray) -> _FieldModel:
            m = clone(self)
            m._fit_base(frame.iloc[idx], X.iloc[idx])
            return m

        return race_walk_forward(frame, fit=fit, predict=lambda m, idx: m._base_utilities(frame.iloc[idx], X.iloc[idx]),
                                 start_day=start_day, end_day=end_day, refit_every=refit_every,
                                 min_train_races=self.min_cal_races, progress=progress)

    def _fit_temperature(self, frame: pd.DataFrame, X: pd.DataFrame) -> None:
        races = _race_table(frame)
        run = races[races["run"]]
        if len(run) < 2 * self.min_cal_races:
            return  # too little history for out-of-sample utilities: keep a = 1
        first = run["day"].iloc[max(self.min_cal_races, len(run) - self.cal_races)]
        u = self._base_walk_forward(frame, X, start_day=int(first), end_day=None, refit_every=self.cal_refit)
        ok = np.isfinite(u) & frame["position"].notna().to_numpy()
        if ok.sum() == 0:
            return
        self.temperature_ = fit_temperature(u[ok], frame["race_id"].to_numpy()[ok],
                                            (frame["position"].to_numpy(dtype=np.float64) == 1)[ok])
        self.calibrated_on_ = int(pd.unique(frame["race_id"].to_numpy()[ok]).size)

    # -- prediction ------------------------------------------------------------------------------------
    def predict_strength(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        """``(n,)`` calibrated log-strength ``a * u`` of each entry."""
        check_is_fitted(self, "temperature_")
        _check_aligned(frame, X)
        return self.temperature_ * self._base_utilities(frame, X)

    def predict_win_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        """``(n,)`` win probability of each entry within its race (sums to 1 over each race's entries)."""
        return group_softmax(self.predict_strength(frame, X), frame["race_id"].to_numpy())

    def walk_forward_strengths(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int | None = None,
                               end_day: int | None = None, refit_every: int = 1,
                               progress: Progress | None = None) -> NDArray[np.float64]:
        """Out-of-sample calibrated utilities for races in ``[start_day, end_day)`` (nested walk-forward).

        Stage 1 refits the base model every ``refit_every`` races on all earlier races, from
        ``cal_races`` races before ``start_day`` on. Stage 2 fits each race's temperature on the stage-1
        utilities of the ``cal_races`` races run before its day, so no stage sees its own future.
        """
        _check_aligned(frame, X)
        frame = frame.reset_index(drop=True)
        X = X.reset_index(drop=True)
        races = _race_table(frame)
        lo = int(races["day"].min()) if start_day is None else int(start_day)
        warm = races[(races["day"] < lo) & races["run"]]
        stage1_start = lo
        if self.calibration == "temperature" and len(warm):
            stage1_start = int(warm["day"].iloc[max(0, len(warm) - self.cal_races)])
        u = self._base_walk_forward(frame, X, start_day=stage1_start, end_day=end_day, refit_every=refit_every,
                                    progress=progress)
        days = day_numbers(frame["date"])
        if self.calibration != "temperature":
            u[days < lo] = np.nan
            return u
        race = frame["race_id"].to_numpy()
        won = frame["position"].to_numpy(dtype=np.float64) == 1
        known = np.isfinite(u) & frame["position"].notna().to_numpy()
        race_day = pd.Series(days).groupby(race, sort=False).transform("min").to_numpy()

        def fit(idx: np.ndarray) -> float:
            idx = idx[known[idx]]
            recent = np.unique(race_day[idx])[-self.cal_races:] if idx.size else np.array([])
            idx = idx[np.isin(race_day[idx], recent)]
            if pd.unique(race[idx]).size < self.min_cal_races:
                return 1.0
            return fit_temperature(u[idx], race[idx], won[idx])

        a = race_walk_forward(frame, fit=fit, predict=lambda t, idx: np.full(idx.size, t), start_day=lo,
                              end_day=end_day, refit_every=1, min_train_races=0)
        return a * u

    def walk_forward_forecast(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int, end_day: int,
                              cadence: Cadence, progress: Progress | None = None) -> NDArray[np.float64]:
        """The core's view of :meth:`walk_forward_strengths`: ``(n, 1)``, refitted every ``cadence.groups`` races."""
        if cadence.groups is None:
            raise ValueError("F1 models refit every N races (e.g. --refit 1), not by calendar")
        u = self.walk_forward_strengths(frame, X, start_day=start_day, end_day=end_day, refit_every=cadence.groups,
                                        progress=progress)
        return u[:, None]

    # -- serialisation ---------------------------------------------------------------------------------
    @abstractmethod
    def _state(self) -> dict[str, Any]:
        ...

    @abstractmethod
    def _load_state(self, state: dict[str, Any]) -> None:
        ...

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.model_type, "params": self.get_params(), "temperature": self.temperature_,
                "calibrated_on": self.calibrated_on_, "state": self._state()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _FieldModel:
        if data.get("type") != cls.model_type:
            raise ValueError(f"stored model is a {data.get('type')!r}, not a {cls.model_type!r}")
        m = cls(**data["params"])
        m.temperature_ = float(data["temperature"])
        m.calibrated_on_ = int(data["calibrated_on"])
        m._load_state(data["state"])
        return m


class PlackettLuceModel(_FieldModel):
    """Linear Plackett-Luce ranking model: ``u = z(X) . beta``, fitted by penalised maximum likelihood.

    ``top_k``: the number of places whose order enters the likelihood (None: every classified finisher;
    retirements still sit in the choice sets of the places before them). ``l2``: ridge penalty on the
    standardised coefficients, in units of races. ``half_life_days``: races weigh ``0.5 ** (age / h)``
    relative to the latest one (None: equal weights). ``max_age_days`` drops older races entirely.
    ``censor_dnf`` fits the order of the finishers only (a retirement says little about pace); the
    win probabilities still cover every entrant and the temperature absorbs the retirement risk.

    Defaults (top 3 places, l2 = 30, half-life 2 years, 10 years of races, retirements censored) were
    chosen by walk-forward win log loss on 2006-2013 only, so the 2014-2024 evaluation is out of sample
    for these choices.
    """

    model_type = "plackett-luce"

    def __init__(self, top_k: int | None = 3, l2: float = 30.0, half_life_days: float | None = 730.0,
                 censor_dnf: bool = True, calibration: str | None = "temperature", cal_races: int = 80,
                 cal_refit: int = 10, min_cal_races: int = 20, max_age_days: int | None = 3650) -> None:
        super().__init__(calibration=calibration, cal_races=cal_races, cal_refit=cal_refit,
                         min_cal_races=min_cal_races, max_age_days=max_age_days)
        self.top_k = top_k
        self.l2 = l2
        self.half_life_days = half_life_days
        self.censor_dnf = censor_dnf


    def _fit_base(self, frame: pd.DataFrame, X: pd.DataFrame) -> None:
        rows = _train_rows(frame, self.max_age_days)
        if self.censor_dnf and "dnf" in frame.columns:
            rows &= frame["dnf"].to_numpy(dtype=np.float64, na_value=np.nan) != 1.0
        f, Xr = frame.loc[rows], X.loc[rows]
        self.std_ = _Standardiser().fit(Xr)
        Z = self.std_.transform(Xr)
        classified = f["classified"].to_numpy(dtype=np.float64, na_value=np.nan) if "classified" in f else None
        layout = RaceLayout(f["race_id"].to_numpy(), f["position"].to_numpy(dtype=np.float64), classified,
                             self.top_k)
        w = np.ones(layout.n_races)
        if self.half_life_days is not None:
            days = day_numbers(f["date"]).astype(np.float64)
            race_day = np.zeros(layout.n_races)
            race_day[layout.codes] = days
            w = 0.5 ** ((race_day.max() - race_day) / float(self.half_life_days))
        w_row = w[layout.codes]
        total = float(w.sum())

        def objective(beta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            ll, g_u = plackett_luce_loglik(Z @ beta, layout)
            value = -float(w @ ll) + 0.5 * self.l2 * float(beta @ beta)
            grad = -(Z.T @ (w_row * g_u)) + self.l2 * beta
            return value / total, grad / total

        res = minimize(objective, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B",
                       options={"maxiter": 500, "gtol": 1e-7})
        self.coef_ = res.x
        self.n_races_ = int(layout.n_races)
        self.converged_ = bool(res.success)

    def _base_utilities(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return self.std_.transform(X) @ self.coef_

    def feature_importance(self) -> dict[str, float]:
        """|standardised coefficient| per input (a unit change is one training standard deviation)."""
        return {n: float(abs(c)) for n, c in zip(self.std_.names, self.coef_, strict=True)}

    def coefficients(self) -> dict[str, float]:
        return {n: float(c) for n, c in zip(self.std_.names, self.coef_, strict=True)}

    def _state(self) -> dict[str, Any]:
        return {"standardiser": self.std_.to_dict(), "coef": self.coef_.tolist(), "n_races": self.n_races_,
                "converged": self.converged_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.std_ = _Standardiser.from_dict(state["standardiser"])
        self.coef_ = np.asarray(state["coef"], dtype=np.float64)
        self.n_races_ = int(state["n_races"])
        self.converged_ = bool(state["converged"])


class LambdaRankModel(_FieldModel):
    """LightGBM lambdarank over each race's entries; relevance ``label_top + 1 - position`` in the top places.

    Scores are utilities for the shared probability layer; the temperature (fitted out of sample) gives
    them a probability scale. Missing feature values are handled by LightGBM itself.
    """

    model_type = "lambdarank"

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.03, num_leaves: int = 15,
                 min_child_samples: int = 50, label_top: int = 10, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, seed: int = 0, n_jobs: int = 2,
                 calibration: str | None = "temperature", cal_races: int = 80, cal_refit: int = 10,
                 min_cal_races: int = 20, max_age_days: int | None = None) -> None:
        super().__init__(calibration=calibration, cal_races=cal_races, cal_refit=cal_refit,
                         min_cal_races=min_cal_races, max_age_days=max_age_days)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.label_top = label_top
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.seed = seed
        self.n_jobs = n_jobs


    def _fit_base(self, frame: pd.DataFrame, X: pd.DataFrame) -> None:
        import lightgbm as lgb

        rows = _train_rows(frame, self.max_age_days)
        f, Xr = frame.loc[rows], X.loc[rows]
        codes, _ = event_codes(f["race_id"].to_numpy())
        order = np.argsort(codes, kind="stable")
        pos = f["position"].to_numpy(dtype=np.float64)[order]
        label = np.where(pos <= self.label_top, self.label_top + 1 - pos, 0.0).astype(np.int64)
        groups = np.bincount(codes)
        groups = groups[groups > 0]
        self.features_ = list(X.columns)
        ranker = lgb.LGBMRanker(
            objective="lambdarank", n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1 else 0, colsample_bytree=self.colsample_bytree,
            random_state=self.seed, n_jobs=self.n_jobs, verbose=-1,
            label_gain=[float(2 ** i - 1) for i in range(self.label_top + 1)],
        )
        ranker.fit(Xr.to_numpy(dtype=np.float64, na_value=np.nan)[order], label, group=groups)
        self.booster_ = ranker.booster_

    def _base_utilities(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise ValueError(f"feature rows lack column(s) {missing} the model was trained on")
        return np.asarray(self.booster_.predict(X[self.features_].to_numpy(dtype=np.float64, na_value=np.nan)),
                          dtype=np.float64)

    def feature_importance(self) -> dict[str, float]:
        """Total split gain per feature, as a share of the total."""
        gain = np.asarray(self.booster_.feature_importance(importance_type="gain"), dtype=np.float64)
        gain = gain / (gain.sum() or 1.0)
        return {n: float(g) for n, g in zip(self.features_, gain, strict=True)}

    def _state(self) -> dict[str, Any]:
        return {"features": self.features_, "booster": self.booster_.model_to_string()}

    def _load_state(self, state: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.features_ = list(state["features"])
        self.booster_ = lgb.Booster(model_str=state["booster"])


# --------------------------------------------------------------------------------------------------
# Factory and deserialisation
# --------------------------------------------------------------------------------------------------

MODEL_TYPES: dict[str, type[_FieldModel]] = {"plackett-luce": PlackettLuceModel, "lambdarank": LambdaRankModel}


def make_model(model_type: str, **params: Any) -> _FieldModel | _Baseline:
    """A new, unfitted model or baseline of the given type."""
    kinds = {**MODEL_TYPES, **BASELINE_TYPES}
    if model_type not in kinds:
        raise ValueError(f"unknown F1 model {model_type!r}; choose one of {', '.join(kinds)}")
    return kinds[model_type](**params)


def model_from_dict(data: dict[str, Any]) -> _FieldModel | _Baseline:
    """Rebuild a fitted model from its ``to_dict`` JSON."""
    kinds = {**MODEL_TYPES, **BASELINE_TYPES}
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in kinds:
        raise ValueError(f"unknown stored F1 model type {kind!r}; known: {', '.join(kinds)}")
    return kinds[kind].from_dict(data)
