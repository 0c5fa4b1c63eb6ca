"""F1 field models: a driver utility per entry, turned into win, podium, points and position probabilities.

Every model here maps the entries of a race (rows of the canonical entry frame plus their feature rows)
to a log-strength ``u`` per driver. The probability layer is shared:

* win probability = softmax of ``u`` over the race (exact under Plackett-Luce, sums to 1 per race);
* podium, points and the full position distribution come from Plackett-Luce orders drawn with the
  Gumbel-max trick (:mod:`formguide.core.field`), so every position's probabilities over drivers and every
  driver's over positions sum to 1.

Models:

* :class:`PlackettLuceModel`: ``u = X . beta`` on standardised features, fitted by maximising the
  Plackett-Luce likelihood of each race's finishing order (top ``k`` places, analytic gradient, L2).
* :class:`LambdaRankModel`: LightGBM ``LGBMRanker`` (lambdarank); its scores are utilities.

Both carry a temperature ``a`` (``u -> a * u``) fitted on *out-of-sample* utilities of earlier races
(nested walk-forward, as football's ``BlendEstimator``), which calibrates the win probabilities: a
ranker's raw scores have no probability scale, and a likelihood over the whole order under-states how
often the favourite wins.

Baselines use the same layer with ``u = log p``: :class:`GridBaseline` (P(win | grid slot) from earlier
seasons), :class:`PoleBaseline` (pole gets the historical pole win rate) and :class:`LeaderBaseline` (the
championship leader gets the historical leader win rate).

Everything serialises to JSON only (``to_dict`` / :func:`model_from_dict`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize, minimize_scalar

from formguide.core.days import day_numbers
from formguide.core.field import position_distribution, sample_orders
from formguide.core.walkforward import Cadence, walk_forward

__all__ = [
    "BASELINE_TYPES",
    "MODEL_TYPES",
    "GridBaseline",
    "LambdaRankModel",
    "LeaderBaseline",
    "PlackettLuceModel",
    "PoleBaseline",
    "field_probabilities",
    "fit_temperature",
    "group_softmax",
    "make_model",
    "model_from_dict",
    "plackett_luce_loglik",
    "race_walk_forward",
]

Progress = Callable[[int, int], None]
_NEG_INF = -np.inf


# --------------------------------------------------------------------------------------------------
# Probability layer
# --------------------------------------------------------------------------------------------------


def _codes(race: ArrayLike) -> tuple[NDArray[np.intp], int]:
    codes, uniques = pd.factorize(pd.Series(np.asarray(race)), sort=False)
    if (codes < 0).any():
        raise ValueError("race ids must not be missing")
    return codes.astype(np.intp), len(uniques)


def group_softmax(u: ArrayLike, race: ArrayLike) -> NDArray[np.float64]:
    """Softmax of utilities within each race (``-inf`` = cannot win); each race sums to 1."""
    u = np.asarray(u, dtype=np.float64)
    codes, n = _codes(race)
    if np.isnan(u).any():
        i = int(np.flatnonzero(np.isnan(u))[0])
        raise ValueError(f"utility of row {i} is NaN; every entry of a predicted race needs a utility")
    top = np.full(n, _NEG_INF)
    np.maximum.at(top, codes, u)
    if np.isneginf(top).any():
        raise ValueError("a race has no entrant with a finite utility")
    e = np.exp(u - top[codes])
    return e / np.bincount(codes, weights=e, minlength=n)[codes]


def _padded(u: NDArray[np.float64], codes: NDArray[np.intp], n: int) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """(races, max field) matrix of utilities padded with -inf, and each row's column in it."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    col = np.empty(codes.size, dtype=np.intp)
    col[order] = np.arange(codes.size) - np.repeat(starts, counts)
    mat = np.full((n, int(counts.max(initial=1))), _NEG_INF)
    mat[codes, col] = u
    return mat, col


def field_probabilities(u: ArrayLike, race: ArrayLike, *, n_sims: int = 20000, seed: int | None = 0,
                        podium: int = 3, points: int = 10, chunk_cells: int = 4_000_000
                        ) -> pd.DataFrame:
    """Per-entry ``p_win`` (exact softmax), ``p_podium``, ``p_points`` and ``expected_position`` (simulated).

    Races are simulated together, padded to the largest field with absent (``-inf``) entrants, in chunks
    of about ``chunk_cells`` random numbers. ``points`` is the number of scoring places (10 since 2010).
    """
    u = np.asarray(u, dtype=np.float64)
    codes, n = _codes(race)
    p_win = group_softmax(u, race)
    mat, col = _padded(u, codes, n)
    width = mat.shape[1]
    rng = np.random.default_rng(seed)
    step = max(1, int(chunk_cells // max(1, n_sims * width)))
    p_pod = np.empty(n * width)
    p_pts = np.empty(n * width)
    exp_pos = np.empty(n * width)
    ranks = np.arange(1, width + 1, dtype=np.float64)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        dist = position_distribution(sample_orders(mat[lo:hi], n_sims, rng))  # (races, width, width)
        if dist.ndim == 2:
            dist = dist[None]
        cum = np.cumsum(dist, axis=2)
        sl = slice(lo * width, hi * width)
        p_pod[sl] = cum[:, :, min(podium, width) - 1].ravel()
        p_pts[sl] = cum[:, :, min(points, width) - 1].ravel()
        exp_pos[sl] = (dist @ ranks).ravel()
    cell = codes * width + col
    return pd.DataFrame({"p_win": p_win, "p_podium": p_pod[cell], "p_points": p_pts[cell],
                         "expected_position": exp_pos[cell]})


def position_matrix(u: ArrayLike, *, n_sims: int = 20000, seed: int | None = 0) -> NDArray[np.float64]:
    """``P[i, k]``: probability that entrant ``i`` of one race finishes in position ``k + 1``."""
    return position_distribution(sample_orders(np.asarray(u, dtype=np.float64), n_sims, seed))


def fit_temperature(u: ArrayLike, race: ArrayLike, won: ArrayLike, bounds: tuple[float, float] = (0.02, 20.0)
                    ) -> float:
    """The ``a`` maximising the winners' log-likelihood of ``softmax(a * u)`` per race (a 1-D convex fit)."""
    u = np.asarray(u, dtype=np.float64)
    won = np.asarray(won, dtype=bool)
    codes, n = _codes(race)
    has_winner = np.bincount(codes, weights=won, minlength=n) == 1
    keep = has_winner[codes] & np.isfinite(u)
    if not keep.any():
        raise ValueError("no race with exactly one winner to fit a temperature on")
    u, won, race_k = u[keep], won[keep], np.asarray(race)[keep]
    codes, n = _codes(race_k)
    u_win = u[won]

    def nll(a: float) -> float:
        z = a * u
        top = np.full(n, _NEG_INF)
        np.maximum.at(top, codes, z)
        lse = top + np.log(np.bincount(codes, weights=np.exp(z - top[codes]), minlength=n))
        return float(np.sum(lse[codes[won]] - a * u_win))

    res = minimize_scalar(nll, bounds=bounds, method="bounded", options={"xatol": 1e-4})
    return float(res.x)


# --------------------------------------------------------------------------------------------------
# Plackett-Luce likelihood
# --------------------------------------------------------------------------------------------------


class _RaceLayout:
    """Training rows arranged as (races, max field) by finishing order, with the stages that count."""

    def __init__(self, race: ArrayLike, position: ArrayLike, classified: ArrayLike | None,
                 top_k: int | None) -> None:
        pos = np.asarray(position, dtype=np.float64)
        codes, n = _codes(race)
        order = np.lexsort((np.arange(pos.size), pos, codes))
        counts = np.bincount(codes, minlength=n)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        col = np.empty(pos.size, dtype=np.intp)
        col[order] = np.arange(pos.size) - np.repeat(starts, counts)
        if top_k is None:
            cls = np.ones(pos.size) if classified is None else np.asarray(classified, dtype=np.float64)
            stages = np.bincount(codes, weights=np.nan_to_num(cls), minlength=n)
        else:
            stages = np.full(n, float(top_k))
        stages = np.clip(stages, 1, np.maximum(counts - 1, 0)).astype(np.intp)  # the last place is no choice
        width = int(counts.max(initial=1))
        self.codes, self.col, self.n_races, self.width = codes, col, n, width
        self.present = np.zeros((n, width), dtype=bool)
        self.present[codes, col] = True
        self.stage = np.arange(width)[None, :] < stages[:, None]
        self.counts = counts


def plackett_luce_loglik(u: ArrayLike, layout: _RaceLayout) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-race log-likelihood of the (top-k) finishing order and its gradient with respect to each ``u``.

    Stage ``j`` picks the ``j``-th finisher from those not placed yet: ``u_(j) - log sum_{t >= j} exp u_(t)``.
    The gradient of row ``i`` is ``1[i is a stage pick] - exp(u_i) * sum_{stages j <= pos_i} 1 / D_j``.
    """
    u = np.asarray(u, dtype=np.float64)
    L = layout
    mat = np.full((L.n_races, L.width), _NEG_INF)
    mat[L.codes, L.col] = u
    top = mat.max(axis=1, keepdims=True)
    e = np.exp(mat - top)
    denom = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]  # D_j = sum_{t >= j} e_t
    with np.errstate(divide="ignore"):
        log_d = np.log(denom) + top
    picked = np.where(L.stage, mat, 0.0)
    ll = np.sum(picked - np.where(L.stage, log_d, 0.0), axis=1)
    inv = np.where(L.stage, 1.0 / np.where(denom > 0, denom, 1.0), 0.0)
    grad_mat = L.stage.astype(np.float64) - e * np.cumsum(inv, axis=1)
    return ll, grad_mat[L.codes, L.col]


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


class _FieldModel(ABC):
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

    def get_params(self) -> dict[str, Any]:
        return {"calibration": self.calibration, "cal_races": self.cal_races, "cal_refit": self.cal_refit,
                "min_cal_races": self.min_cal_races, "max_age_days": self.max_age_days}

    def _fresh(self) -> _FieldModel:
        return type(self)(**self.get_params())

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
            m = self._fresh()
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
    def utilities(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        """Calibrated log-strengths ``a * u`` of each entry."""
        _check_aligned(frame, X)
        return self.temperature_ * self._base_utilities(frame, X)

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        """Win probability of each entry (sums to 1 over each race's entries)."""
        return group_softmax(self.utilities(frame, X), frame["race_id"].to_numpy())

    def predict_field(self, frame: pd.DataFrame, X: pd.DataFrame, *, n_sims: int = 20000,
                      seed: int | None = 0) -> pd.DataFrame:
        """``p_win``, ``p_podium``, ``p_points``, ``expected_position`` per entry, indexed like ``frame``."""
        out = field_probabilities(self.utilities(frame, X), frame["race_id"].to_numpy(), n_sims=n_sims,
                                  seed=seed)
        return out.set_axis(frame.index)

    def walk_forward_utilities(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int | None = None,
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

    def walk_forward_predict(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int | None = None,
                             end_day: int | None = None, refit_every: int = 1,
                             progress: Progress | None = None) -> NDArray[np.float64]:
        """Out-of-sample win probabilities (NaN outside the window or where no model could be fitted)."""
        u = self.walk_forward_utilities(frame, X, start_day=start_day, end_day=end_day, refit_every=refit_every,
                                        progress=progress)
        out = np.full(len(frame), np.nan)
        ok = np.isfinite(u)
        if ok.any():
            out[ok] = group_softmax(u[ok], frame["race_id"].to_numpy()[ok])
        return out

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

    def get_params(self) -> dict[str, Any]:
        return {"top_k": self.top_k, "l2": self.l2, "half_life_days": self.half_life_days,
                "censor_dnf": self.censor_dnf, **super().get_params()}

    def _fit_base(self, frame: pd.DataFrame, X: pd.DataFrame) -> None:
        rows = _train_rows(frame, self.max_age_days)
        if self.censor_dnf and "dnf" in frame.columns:
            rows &= frame["dnf"].to_numpy(dtype=np.float64, na_value=np.nan) != 1.0
        f, Xr = frame.loc[rows], X.loc[rows]
        self.std_ = _Standardiser().fit(Xr)
        Z = self.std_.transform(Xr)
        classified = f["classified"].to_numpy(dtype=np.float64, na_value=np.nan) if "classified" in f else None
        layout = _RaceLayout(f["race_id"].to_numpy(), f["position"].to_numpy(dtype=np.float64), classified,
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

    def get_params(self) -> dict[str, Any]:
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
                "label_top": self.label_top, "subsample": self.subsample,
                "colsample_bytree": self.colsample_bytree, "seed": self.seed, "n_jobs": self.n_jobs,
                **super().get_params()}

    def _fit_base(self, frame: pd.DataFrame, X: pd.DataFrame) -> None:
        import lightgbm as lgb

        rows = _train_rows(frame, self.max_age_days)
        f, Xr = frame.loc[rows], X.loc[rows]
        codes, _ = _codes(f["race_id"].to_numpy())
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
# Baselines
# --------------------------------------------------------------------------------------------------

_P_FLOOR = 1e-9


def _slot_rates(slot: NDArray[np.float64], won: NDArray[np.bool_], max_slot: int) -> NDArray[np.float64]:
    """Win rate per slot 1..max_slot: Laplace-smoothed frequencies, made non-increasing (weighted PAV).

    Slots never seen take the rate of the nearest better slot seen.
    """
    from sklearn.isotonic import IsotonicRegression

    s = np.clip(slot, 1, max_slot).astype(np.intp) - 1
    starts = np.bincount(s, minlength=max_slot).astype(np.float64)
    wins = np.bincount(s, weights=won.astype(np.float64), minlength=max_slot)
    seen = starts > 0
    if not seen.any():
        return np.full(max_slot, 1.0 / max_slot)
    x = np.flatnonzero(seen) + 1.0
    rate = (wins[seen] + 0.5) / (starts[seen] + 1.0)
    fitted = IsotonicRegression(increasing=False).fit(x, rate, sample_weight=starts[seen]).predict(x)
    out = np.full(max_slot, np.nan)
    out[seen] = fitted
    return pd.Series(out).ffill().bfill().to_numpy()


class _Baseline(ABC):
    """Win probabilities from a slot (grid, standing) per entry, renormalised per race."""

    model_type = "baseline"

    def __init__(self, seasons: int = 10, max_slot: int = 30) -> None:
        self.seasons = seasons
        self.max_slot = max_slot

    def get_params(self) -> dict[str, Any]:
        return {"seasons": self.seasons, "max_slot": self.max_slot}

    @abstractmethod
    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        ...

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> _Baseline:
        _check_aligned(frame, X)
        run = frame["position"].notna().to_numpy().copy()
        season = frame["season"].to_numpy()
        if run.any():
            run &= season > season[run].max() - self.seasons
        slot = self._slots(frame, X)
        ok = run & np.isfinite(slot)
        won = frame["position"].to_numpy(dtype=np.float64) == 1
        self.rates_ = _slot_rates(slot[ok], won[ok], self.max_slot)
        return self

    def _weights(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        slot = self._slots(frame, X)
        rate = np.where(np.isfinite(slot), self.rates_[np.clip(np.nan_to_num(slot, nan=1), 1, self.max_slot)
                                                        .astype(np.intp) - 1], np.nan)
        race = frame["race_id"].to_numpy()
        # a race with no slot known at all: every entry alike; otherwise an unknown slot cannot win
        any_known = pd.Series(np.isfinite(slot)).groupby(race, sort=False).transform("any").to_numpy()
        return np.where(np.isfinite(rate), rate, np.where(any_known, _P_FLOOR, 1.0))

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        w = self._weights(frame, X)
        race = frame["race_id"].to_numpy()
        return group_softmax(np.log(w), race)

    def utilities(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return np.log(np.maximum(self.predict_proba(frame, X), _P_FLOOR))

    def predict_field(self, frame: pd.DataFrame, X: pd.DataFrame, *, n_sims: int = 20000,
                      seed: int | None = 0) -> pd.DataFrame:
        out = field_probabilities(self.utilities(frame, X), frame["race_id"].to_numpy(), n_sims=n_sims,
                                  seed=seed)
        return out.set_axis(frame.index)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.model_type, "params": self.get_params(), "rates": self.rates_.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Baseline:
        m = cls(**data["params"])
        m.rates_ = np.asarray(data["rates"], dtype=np.float64)
        return m


def _grid_slots(frame: pd.DataFrame) -> NDArray[np.float64]:
    """Starting slot per entry (pit lane behind the last slot), as the grid features define it."""
    from formguide.f1.features import _grid_slot

    return _grid_slot(frame)


class GridBaseline(_Baseline):
    """P(win | grid slot) from the last ``seasons`` seasons of training races, renormalised per race."""

    model_type = "grid"

    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _grid_slots(frame)


class PoleBaseline(_Baseline):
    """The pole-sitter gets the historical pole win rate; the rest share what is left by grid-slot rate."""

    model_type = "pole"

    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _grid_slots(frame)

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _leader_share(self._slots(frame, X), super().predict_proba(frame, X), self.rates_[0],
                             frame["race_id"].to_numpy())


class LeaderBaseline(_Baseline):
    """The championship leader before the race gets the historical leader win rate; the others share the
    rest by their standing's historical win rate. At a season's first race last season's final standings
    stand in.
    """

    model_type = "leader"

    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        for col in ("champ_position", "champ_prev_season"):
            if col not in X.columns:
                raise ValueError(f"the leader baseline needs feature column {col!r} (championship features)")
        now = X["champ_position"].to_numpy(dtype=np.float64, na_value=np.nan)
        prev = X["champ_prev_season"].to_numpy(dtype=np.float64, na_value=np.nan)
        race = frame["race_id"].to_numpy()
        has_now = pd.Series(np.isfinite(now)).groupby(race, sort=False).transform("any").to_numpy()
        return np.where(has_now, now, prev)

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _leader_share(self._slots(frame, X), super().predict_proba(frame, X), self.rates_[0],
                             frame["race_id"].to_numpy())


def _leader_share(slot: NDArray[np.float64], p: NDArray[np.float64], top_rate: float,
                  race: NDArray[Any]) -> NDArray[np.float64]:
    """Give the slot-1 entries of each race ``top_rate`` in total, the others ``1 - top_rate`` in proportion
    to ``p``; races without a slot-1 entry keep ``p``."""
    first = slot == 1
    codes, n = _codes(race)
    n_first = np.bincount(codes, weights=first, minlength=n)
    rest = np.bincount(codes, weights=np.where(first, 0.0, p), minlength=n)
    has = (n_first[codes] > 0) & (rest[codes] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shared = np.where(first, top_rate / n_first[codes], (1.0 - top_rate) * p / rest[codes])
    return np.where(has, shared, p)


# --------------------------------------------------------------------------------------------------
# Factory and deserialisation
# --------------------------------------------------------------------------------------------------

MODEL_TYPES: dict[str, type[_FieldModel]] = {"plackett-luce": PlackettLuceModel, "lambdarank": LambdaRankModel}
BASELINE_TYPES: dict[str, type[_Baseline]] = {"grid": GridBaseline, "pole": PoleBaseline, "leader": LeaderBaseline}


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
