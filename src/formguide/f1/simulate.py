"""Monte Carlo races and championships, race scenarios estimated from history, weekend updating, overrides.

Everything works on log-strengths (Plackett–Luce utilities) per driver and race, whatever model made them.

* **Scenarios** (:func:`estimate_scenario_effects`): how much a wet race or a safety-car race reshuffles the
  order and how many more cars retire, measured on past races. The spread is a *scale* on utilities: the
  Plackett–Luce likelihood of the finishers' order is maximised over ``c`` in ``u = c * x`` for a base
  utility ``x`` (by default the starting slot, ``-log(grid)``), separately in the scenario's races and in
  all races where the condition is known; ``scale = c_scenario / c_all``. Below 1 means a more random order.
  The *DNF multiplier* is observed over expected retirements in the scenario's races, expected from each
  season's retirement rate (so eras with fragile cars do not masquerade as a weather effect). Both are
  also reported against the complement (wet vs dry races, safety-car vs clean races).
* **Weekend updating** (:class:`WeekendUpdater`): the pre-weekend strength ``mu`` is a normal prior on the
  race-day strength ``theta ~ N(mu, tau^2)``; the starting grid and the sprint result are noisy linear
  signals of ``theta``. Their slopes, residual variances and the Kalman gains are estimated on past
  races (the gain maximises the Plackett–Luce likelihood of the race result given ``mu + gain * residual``),
  which identifies ``tau^2`` and each session's noise variance. See the class docstring.
* **Overrides** (:func:`apply_weights`): an analyst multiplies a driver's or a team's strength.
* **Races** (:func:`simulate_race`) and **championships** (:func:`simulate_championship`) go through the
  core's one probability layer (:mod:`formguide.core.field_forecast`: the winner drawn exactly from the
  strengths, retirements given not winning), the same layer race predictions and backtests use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.core.field import finishing_positions
from formguide.core.field_forecast import field_probabilities, sample_finishes
from formguide.f1.points import PointsSystem, points_system

__all__ = [
    "SCENARIOS",
    "ChampionshipSimulation",
    "RaceInput",
    "RaceSimulation",
    "ScenarioEffect",
    "WeekendPosterior",
    "WeekendUpdater",
    "apply_weights",
    "check_weights",
    "estimate_dnf_prob",
    "estimate_scenario_effects",
    "estimate_strength_drift",
    "fit_scale",
    "grid_slot",
    "simulate_championship",
    "simulate_race",
]

#: Scenarios and the race-level condition that defines each: (column, value).
SCENARIOS: dict[str, tuple[str, float]] = {
    "dry": ("wet", 0.0),
    "wet": ("wet", 1.0),
    "safety_car": ("safety_car", 1.0),
}
# Sprint distance over Grand Prix distance, from the FIA Sporting Regulations: a sprint is the fewest laps
# exceeding 100 km, a Grand Prix the fewest exceeding 305 km. Used to turn a race retirement probability
# into a sprint one at the same hazard per kilometre.
SPRINT_DISTANCE_RATIO = 100.0 / 305.0
_NEWTON_TOL = 1e-10
_NEWTON_MAX_ITER = 100
_EXP_FLOOR = -700.0  # keep exp() above the smallest normal double


# ------------------------------------------------------------------------------------------- helpers
def grid_slot(frame: pd.DataFrame) -> NDArray[np.float64]:
    """Starting slot per entry: ``grid`` with a pit-lane start (0) behind the last car of its race; NaN unknown."""
    g = frame["grid"].to_numpy(dtype=np.float64, na_value=np.nan)
    race = frame["race_id"].to_numpy()
    g_pos = np.where(g > 0, g, np.nan)
    last = pd.Series(g_pos).groupby(race).transform("max").to_numpy(dtype=np.float64)
    last = np.where(np.isnan(last), 0.0, last)
    return np.where(g == 0, last + 1.0, g_pos)


def _race_codes(frame: pd.DataFrame) -> tuple[NDArray[np.intp], int]:
    codes, uniques = pd.factorize(frame["race_id"], sort=False)
    return codes.astype(np.intp), len(uniques)


def _centre(values: NDArray[np.float64], codes: NDArray[np.intp], n: int) -> NDArray[np.float64]:
    """Subtract each race's mean over its finite entries (NaN stays NaN)."""
    ok = np.isfinite(values)
    s = np.bincount(codes[ok], weights=values[ok], minlength=n)
    c = np.bincount(codes[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / c
    return values - mean[codes]


@dataclass
class _Orders:
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


def _finisher_orders(frame: pd.DataFrame, usable: NDArray[np.bool_]) -> _Orders:
    """Orders of classified-or-running finishers (``dnf == 0``) among ``usable`` rows, races with 2+ of them."""
    pos = frame["position"].to_numpy(dtype=np.float64, na_value=np.nan)
    dnf = frame["dnf"].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = usable & np.isfinite(pos) & (dnf == 0)
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return _Orders(np.zeros((0, 0), dtype=np.intp), np.zeros((0, 0), dtype=bool))
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
    return _Orders(idx, idx >= 0)


def _pl_newton(base: NDArray[np.float64], direction: NDArray[np.float64], mask: NDArray[np.bool_],
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


# ----------------------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class ScenarioEffect:
    """What a scenario changes in a simulated race, and the evidence behind it."""

    name: str
    condition: str               # e.g. "wet == 1"
    scale: float                 # multiplies log-strengths (relative to all races where the flag is known)
    scale_se: float              # standard error of the scale (delta method)
    dnf_multiplier: float        # multiplies retirement probabilities (relative to all such races)
    n_races: int                 # races of the scenario the estimates use
    n_reference_races: int       # all races where the condition is known (the reference)
    scale_vs_complement: float   # scale against the races without the condition (e.g. wet vs dry)
    dnf_multiplier_vs_complement: float
    complement: str              # e.g. "wet == 0"
    observed_dnf: int
    expected_dnf: float
    utility: str                 # base utility the scale was fitted on
    seasons: tuple[int, int]     # first and last season of the races used

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seasons"] = list(self.seasons)
        return d


def _base_utility(frame: pd.DataFrame, utility: str) -> NDArray[np.float64]:
    if utility == "grid":
        return -np.log(grid_slot(frame))
    if utility not in frame.columns:
        raise DataValidationError(f"utility column {utility!r} not in the frame; use 'grid' or one of "
                                  f"{', '.join(map(str, frame.columns))}")
    return frame[utility].to_numpy(dtype=np.float64, na_value=np.nan)


def fit_scale(frame: pd.DataFrame, utility: ArrayLike, rows: ArrayLike | None = None) -> tuple[float, float, int]:
    """Scale ``c`` maximising the Plackett–Luce likelihood of the finishers' order under ``c * utility``.

    Finishers are entries with ``dnf == 0`` of run races (among ``rows`` when given); retirements are
    modelled apart, so this is the scale to use when a simulation draws them separately. Returns ``(c, its
    standard error, races used)``; ``(nan, nan, 0)`` when no race has two finishers with a utility.
    """
    x = np.asarray(utility, dtype=np.float64)
    if x.shape != (len(frame),):
        raise ValueError(f"utility must have one value per frame row ({len(frame)}), got shape {x.shape}")
    keep = np.ones(len(frame), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    orders = _finisher_orders(frame, keep & np.isfinite(x))
    if orders.n_races == 0:
        return float("nan"), float("nan"), 0
    xs = orders.take(x)
    c, se, _ = _pl_newton(np.zeros_like(xs), xs, orders.mask, start=1.0)
    return c, se, orders.n_races


def estimate_scenario_effects(
    frame: pd.DataFrame,
    scenarios: Sequence[str] = tuple(SCENARIOS),
    utility: str = "grid",
) -> dict[str, ScenarioEffect]:
    """Estimate each scenario's scale and DNF multiplier from the run races of ``frame``.

    Only races with a known finishing order and a known value of the scenario's condition count (``wet``
    comes from lap data, so the wet and dry scenarios use 2018 on; ``safety_car`` goes back to 1973: a
    condition counts from the first season in which it was ever 1, earlier zeros meaning "not recorded").
    ``utility`` is ``"grid"`` (``-log`` of the starting slot) or a column of base log-strengths. Raises
    :class:`DataValidationError` naming the scenario when it has no usable race.
    """
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise FormguideError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    run = frame["position"].notna().to_numpy()
    x = _base_utility(frame, utility)
    season = frame["season"].to_numpy()
    dnf = frame["dnf"].to_numpy(dtype=np.float64, na_value=np.nan)
    out: dict[str, ScenarioEffect] = {}
    for name in scenarios:
        col, value = SCENARIOS[name]
        flag = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
        known = run & np.isfinite(flag)
        ever = season[known & (flag == 1)]
        if ever.size:  # before a condition was first recorded, 0 means "not recorded", not "did not happen"
            known &= season >= ever.min()
        inside = known & (flag == value)
        outside = known & (flag != value)
        if not inside.any():
            raise DataValidationError(f"scenario {name!r}: no run race with {col} == {value:g} in the data "
                                      f"({int(known.sum())} entries have {col} known)")
        c_in, se_in, n_in = fit_scale(frame, x, inside)
        c_all, se_all, n_all = fit_scale(frame, x, known)
        c_out, _, _ = fit_scale(frame, x, outside) if outside.any() else (float("nan"), 0.0, 0)
        if n_in == 0:
            raise DataValidationError(f"scenario {name!r}: its races have no finishers with a known grid slot")
        # Retirements: observed over expected from each season's rate among the known races.
        has_dnf = known & np.isfinite(dnf)
        seasons, s_codes = np.unique(season[has_dnf], return_inverse=True)
        rate = (np.bincount(s_codes, weights=dnf[has_dnf], minlength=seasons.size)
                / np.bincount(s_codes, minlength=seasons.size))
        expected_all = np.full(len(frame), np.nan)
        expected_all[has_dnf] = rate[s_codes]
        o_in, e_in = float(dnf[inside & has_dnf].sum()), float(expected_all[inside & has_dnf].sum())
        o_out, e_out = float(dnf[outside & has_dnf].sum()), float(expected_all[outside & has_dnf].sum())
        mult = o_in / e_in if e_in > 0 else float("nan")
        mult_out = o_out / e_out if e_out > 0 else float("nan")
        scale = c_in / c_all
        se = abs(scale) * math.sqrt((se_in / c_in) ** 2 + (se_all / c_all) ** 2)
        used = season[inside]
        out[name] = ScenarioEffect(
            name=name, condition=f"{col} == {value:g}", scale=float(scale), scale_se=float(se),
            dnf_multiplier=float(mult), n_races=int(n_in), n_reference_races=int(n_all),
            scale_vs_complement=float(c_in / c_out) if np.isfinite(c_out) else float("nan"),
            dnf_multiplier_vs_complement=float(mult / mult_out) if mult_out and np.isfinite(mult_out) else float("nan"),
            complement=f"{col} != {value:g}", observed_dnf=int(o_in), expected_dnf=float(e_in), utility=utility,
            seasons=(int(used.min()), int(used.max())),
        )
    return out


# -------------------------------------------------------------------------------------- retirements
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


# ----------------------------------------------------------------------------------- weekend updating
@dataclass(frozen=True)
class _Session:
    name: str
    slope: float         # E[signal | strength] slope c
    residual_var: float  # Var(signal - c * strength), within races
    gain: float          # Kalman gain K: posterior mean = prior + K * residual
    gain_se: float
    n_races: int
    n_entries: int


@dataclass(frozen=True, eq=False)
class WeekendPosterior:
    """Pre-weekend prior and the posterior after the sessions that exist, per entry of one race."""

    prior_mean: NDArray[np.float64]
    prior_var: float
    posterior_mean: NDArray[np.float64]
    posterior_var: float
    sessions: tuple[str, ...]


def _grid_signal(frame: pd.DataFrame) -> NDArray[np.float64]:
    return -np.log(grid_slot(frame))


def _sprint_signal(frame: pd.DataFrame) -> NDArray[np.float64]:
    sp = frame["sprint_position"].to_numpy(dtype=np.float64, na_value=np.nan)
    return -np.log(np.where(sp >= 1, sp, np.nan))


_SIGNALS = {"grid": _grid_signal, "sprint": _sprint_signal}


class WeekendUpdater(BaseEstimator):
    """Bayesian update of pre-weekend strengths with the weekend's sessions (grid, then sprint).

    Model, within a race (all quantities centred on the race mean): ``theta = mu + e0``, ``e0 ~ N(0, tau2)``
    and for a session ``s = c * theta + e``, ``e ~ N(0, sigma2)``. Regressing ``s`` on the current mean gives
    ``c`` and the residual variance ``V = c^2 * tau2 + sigma2``; the Kalman gain ``K = c * tau2 / V`` is fitted
    as the coefficient on the residual that maximises the Plackett–Luce likelihood of the finishers' order.
    Then ``tau2 = K * V / c`` and ``sigma2 = V * (1 - K * c)``; the posterior variance after the session is
    ``tau2 * (1 - K * c)`` and is the prior of the next session (sprint). A session observed in fewer than
    ``min_races`` past races is not used. Simulations use posterior means: the strengths' own scale was fitted
    on race outcomes, so adding the posterior spread again would count the same noise twice.
    """

    def __init__(self, sessions: Sequence[str] = ("grid", "sprint"), min_races: int = 3) -> None:
        self.sessions = tuple(sessions)
        self.min_races = min_races

    def fit(self, frame: pd.DataFrame, prior: ArrayLike) -> WeekendUpdater:
        """``frame``: past entries (run races); ``prior``: their pre-weekend log-strengths (out of sample)."""
        unknown = [s for s in self.sessions if s not in _SIGNALS]
        if unknown:
            raise FormguideError(f"unknown session(s) {unknown}; known: {', '.join(_SIGNALS)}")
        mu = np.asarray(prior, dtype=np.float64)
        if mu.shape != (len(frame),):
            raise ValueError(f"prior must have one value per frame row ({len(frame)}), got shape {mu.shape}")
        frame = frame.reset_index(drop=True)
        run = frame["position"].notna().to_numpy() & np.isfinite(mu)
        codes, n = _race_codes(frame)
        mean = np.where(run, _centre(np.where(run, mu, np.nan), codes, n), np.nan)
        fitted: list[_Session] = []
        prior_var: float | None = None
        var = float("nan")
        for name in self.sessions:
            raw = _SIGNALS[name](frame)
            has = run & np.isfinite(raw)
            n_has = np.bincount(codes[has], minlength=n)
            has &= n_has[codes] >= 2
            if np.unique(codes[has]).size < self.min_races:
                continue
            s = _centre(np.where(has, raw, np.nan), codes, n)
            m = _centre(np.where(has, mean, np.nan), codes, n)
            ok = has & np.isfinite(m)
            mm = m[ok]
            if float(np.dot(mm, mm)) <= 0:
                continue
            slope = float(np.dot(mm, s[ok]) / np.dot(mm, mm))
            resid = np.where(ok, s - slope * m, 0.0)
            resid_var = float(np.mean(resid[ok] ** 2))
            race_rows = np.isin(codes, np.unique(codes[ok]))
            orders = _finisher_orders(frame, race_rows & np.isfinite(mean))
            if orders.n_races < self.min_races or resid_var <= 0:
                continue
            gain, gain_se, _ = _pl_newton(orders.take(np.nan_to_num(mean)), orders.take(resid), orders.mask, 0.0)
            gain = max(gain, 0.0)  # a negative gain would say a better grid slot hurts: no information instead
            if prior_var is None:
                if slope <= 0 or gain == 0:
                    prior_var = 0.0
                else:
                    prior_var = gain * resid_var / slope
                var = prior_var
            fitted.append(_Session(name, slope, resid_var, gain, gain_se, int(orders.n_races), int(ok.sum())))
            var = max(var * (1.0 - min(gain * slope, 1.0)), 0.0)
            mean = np.where(ok, mean + gain * resid, mean)
        if prior_var is None:
            raise DataValidationError(f"no session among {', '.join(self.sessions)} was observed in "
                                      f"{self.min_races}+ past races with a known prior; cannot fit the update")
        self.sessions_ = tuple(fitted)
        self.prior_var_ = float(prior_var)
        return self

    def update(self, race: pd.DataFrame, prior: ArrayLike) -> WeekendPosterior:
        """Posterior strengths of one race's entries given whichever fitted sessions it has results for."""
        check_is_fitted(self, "sessions_")
        mu = np.asarray(prior, dtype=np.float64)
        if mu.shape != (len(race),):
            raise ValueError(f"prior must have one value per race row ({len(race)}), got shape {mu.shape}")
        if race["race_id"].nunique() > 1:
            raise ValueError("update works on one race at a time")
        mean = mu.copy()
        var = self.prior_var_
        used: list[str] = []
        for sess in self.sessions_:
            raw = _SIGNALS[sess.name](race)
            ok = np.isfinite(raw)
            if ok.sum() < 2:
                continue
            s = raw[ok] - raw[ok].mean()
            m = mean[ok] - mean[ok].mean()
            resid = s - sess.slope * m
            mean[ok] = mean[ok] + sess.gain * resid
            var = max(var * (1.0 - min(sess.gain * sess.slope, 1.0)), 0.0)
            used.append(sess.name)
        return WeekendPosterior(mu, self.prior_var_, mean, var, tuple(used))

    def to_dict(self) -> dict:
        if not hasattr(self, "sessions_"):
            return {"fitted": False}
        out: dict = {"prior_var": self.prior_var_, "sessions": []}
        var = self.prior_var_
        for s in self.sessions_:
            kc = min(s.gain * s.slope, 1.0)
            out["sessions"].append({**asdict(s), "noise_var": s.residual_var * (1.0 - kc),
                                    "prior_var_before": var, "posterior_var_after": var * (1.0 - kc)})
            var = var * (1.0 - kc)
        return out


# ------------------------------------------------------------------------------------------ overrides
def check_weights(weights: Mapping[str, object] | None, known: Sequence[str], what: str) -> dict[str, float]:
    """Validated analyst weights: known keys, positive finite numbers. Errors list the known keys."""
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise FormguideError(f"{what} weights must be a mapping like {{\"VER\": 1.2}}, got {type(weights).__name__}")
    known_set = set(known)
    bad_keys = [k for k in weights if k not in known_set]
    if bad_keys:
        raise FormguideError(f"unknown {what}(s) {', '.join(map(repr, bad_keys))} in {what} weights; known: "
                             f"{', '.join(sorted(known_set))}")
    out: dict[str, float] = {}
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise FormguideError(f"{what} weight for {k!r} must be a positive number, got {v!r}")
        if not math.isfinite(float(v)) or float(v) <= 0:
            raise FormguideError(f"{what} weight for {k!r} must be a positive number, got {v!r}")
        out[str(k)] = float(v)
    return out


def apply_weights(
    log_strength: ArrayLike,
    drivers: Sequence[str],
    constructors: Sequence[str],
    driver_weights: Mapping[str, object] | None = None,
    team_weights: Mapping[str, object] | None = None,
    driver_aliases: Sequence[str] | None = None,
) -> NDArray[np.float64]:
    """Multiply strengths by analyst weights: ``log_strength + log(weight)`` per matching driver and team.

    Drivers match on ``drivers`` or, when given, ``driver_aliases`` (e.g. three-letter codes next to
    driverRefs); teams on ``constructors``. Unknown keys raise an error that lists the known ones.
    """
    u = np.array(log_strength, dtype=np.float64)
    drivers = [str(d) for d in drivers]
    aliases = [str(a) for a in driver_aliases] if driver_aliases is not None else drivers
    teams = [str(c) for c in constructors]
    if not (len(u) == len(drivers) == len(teams) == len(aliases)):
        raise ValueError("log_strength, drivers, constructors (and driver_aliases) must have equal lengths")
    known_drivers = sorted(set(drivers) | set(aliases))
    dw = check_weights(driver_weights, known_drivers, "driver")
    tw = check_weights(team_weights, sorted(set(teams)), "team")
    for key, w in dw.items():
        hit = np.array([d == key or a == key for d, a in zip(drivers, aliases, strict=True)])
        u[hit] += math.log(w)
    for key, w in tw.items():
        u[np.array([t == key for t in teams])] += math.log(w)
    return u


# -------------------------------------------------------------------------------------- strength drift
def estimate_strength_drift(frame: pd.DataFrame, strength: ArrayLike) -> tuple[float, int]:
    """Variance per race of the change in a driver's pre-race strength, for championship simulations.

    ``strength``: out-of-sample pre-race log-strengths per entry (centred within each race here). For every
    driver's consecutive entries within a season, the change in centred strength is divided by the rounds
    between them; the estimate is ``sum(change^2) / sum(rounds)`` (a random walk's increment variance).
    Returns ``(variance, number of pairs)``; ``(0.0, 0)`` without pairs.
    """
    u = np.asarray(strength, dtype=np.float64)
    if u.shape != (len(frame),):
        raise ValueError(f"strength must have one value per frame row ({len(frame)}), got shape {u.shape}")
    codes, n = _race_codes(frame)
    c = _centre(u, codes, n)
    ok = np.isfinite(c)
    d = pd.DataFrame({"driver": frame["driver"].astype(str).to_numpy()[ok], "season": frame["season"].to_numpy()[ok],
                      "round": frame["round"].to_numpy(dtype=np.float64)[ok], "u": c[ok]})
    d = d.sort_values(["driver", "season", "round"], kind="stable")
    same = ((d["driver"].to_numpy()[1:] == d["driver"].to_numpy()[:-1])
            & (d["season"].to_numpy()[1:] == d["season"].to_numpy()[:-1]))
    gap = np.diff(d["round"].to_numpy())[same]
    change = np.diff(d["u"].to_numpy())[same]
    good = gap > 0
    if not good.any():
        return 0.0, 0
    return float(np.sum(change[good] ** 2) / np.sum(gap[good])), int(good.sum())


# ------------------------------------------------------------------------------------------------ race
@dataclass(frozen=True, eq=False)
class RaceSimulation:
    """Per-driver outcome probabilities of one simulated race (arrays indexed like ``drivers``)."""

    drivers: list[str]
    constructors: list[str]
    scenario: str | None
    log_strength: NDArray[np.float64]   # after the scenario scale
    dnf_prob: NDArray[np.float64]       # after the scenario multiplier
    position_probs: NDArray[np.float64]  # (n, n): P[i, k] = P(driver i finishes k+1), retirements at the back
    win: NDArray[np.float64]
    podium: NDArray[np.float64]
    points_prob: NDArray[np.float64]    # P(scores points)
    expected_points: NDArray[np.float64]
    expected_position: NDArray[np.float64]
    retired: NDArray[np.float64]        # simulated retirement share
    n_simulations: int
    effect: ScenarioEffect | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"driver": self.drivers, "constructor": self.constructors, "win": self.win,
                             "podium": self.podium, "points_prob": self.points_prob,
                             "expected_points": self.expected_points, "expected_position": self.expected_position,
                             "dnf": self.retired}).sort_values("expected_position", kind="stable")


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 1:
        raise FormguideError(f"the number of simulations must be a positive integer, got {n!r}")
    return int(n)


def _scenario(scenario: str | None, effects: Mapping[str, ScenarioEffect] | None) -> ScenarioEffect | None:
    if scenario is None:
        return None
    if effects is None:
        raise FormguideError(f"scenario {scenario!r} needs scenario_effects (estimate_scenario_effects on "
                             "past races); pass scenario=None for the model's average race")
    if scenario not in effects:
        raise FormguideError(f"no effect estimated for scenario {scenario!r}; available: {', '.join(effects)}")
    return effects[scenario]


def simulate_race(
    drivers: Sequence[str],
    constructors: Sequence[str],
    log_strength: ArrayLike,
    dnf_prob: ArrayLike | float | None,
    n: int,
    scenario: str | None = None,
    scenario_effects: Mapping[str, ScenarioEffect] | None = None,
    rng: np.random.Generator | int | None = None,
    points: PointsSystem | Sequence[float] | None = None,
    driver_weights: Mapping[str, object] | None = None,
    team_weights: Mapping[str, object] | None = None,
    driver_aliases: Sequence[str] | None = None,
) -> RaceSimulation:
    """Simulate one race ``n`` times under a scenario.

    ``scenario=None`` uses the strengths as given (the average race the model was fitted on); a named
    scenario scales the log-strengths and multiplies the retirement probabilities by its estimated effect.
    ``points``: a season's :class:`PointsSystem` or points by position (default: the current system, 2025).
    Retired cars score nothing. Weights are analyst overrides (:func:`apply_weights`).
    """
    n = _check_n(n)
    drivers = [str(d) for d in drivers]
    constructors = [str(c) for c in constructors]
    u = apply_weights(log_strength, drivers, constructors, driver_weights, team_weights, driver_aliases)
    k = u.size
    q = (np.zeros(k) if dnf_prob is None
         else np.broadcast_to(np.asarray(dnf_prob, dtype=np.float64), (k,)).astype(np.float64))
    effect = _scenario(scenario, scenario_effects)
    if effect is not None:
        u = u * effect.scale
        q = np.clip(q * effect.dnf_multiplier, 0.0, 1.0)
    if points is None:
        points = points_system(2025)
    table = (points.race_table(k) if isinstance(points, PointsSystem)
             else np.pad(np.asarray(points, dtype=np.float64), (0, max(k - len(points), 0)))[:k])
    fc = field_probabilities(u, np.zeros(k), dnf_prob=q, n_sims=n, seed=rng, points=int(np.count_nonzero(table)),
                             points_table=table, positions=True)
    f = fc.frame
    return RaceSimulation(
        drivers=drivers, constructors=constructors, scenario=scenario, log_strength=u, dnf_prob=q,
        position_probs=fc.positions, win=f["p_win"].to_numpy(), podium=f["p_podium"].to_numpy(),
        points_prob=f["p_points"].to_numpy(), expected_points=f["expected_points"].to_numpy(),
        expected_position=f["expected_position"].to_numpy(), retired=f["p_retire"].to_numpy(), n_simulations=n,
        effect=effect,
    )


# -------------------------------------------------------------------------------------- championship
@dataclass(frozen=True)
class RaceInput:
    """One remaining race of a championship: its entrants, strengths, retirement probabilities, sprint."""

    drivers: Sequence[str]
    constructors: Sequence[str]
    log_strength: ArrayLike
    dnf_prob: ArrayLike | float | None = None
    has_sprint: bool = False
    round: int | None = None


@dataclass(frozen=True, eq=False)
class ChampionshipSimulation:
    drivers: list[str]
    constructors: list[str]
    driver_title: NDArray[np.float64]
    driver_expected_points: NDArray[np.float64]
    driver_current_points: NDArray[np.float64]
    driver_position_probs: NDArray[np.float64]
    constructor_title: NDArray[np.float64]
    constructor_expected_points: NDArray[np.float64]
    constructor_current_points: NDArray[np.float64]
    n_simulations: int
    n_remaining_races: int
    n_remaining_sprints: int
    strength_drift: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "n_simulations": self.n_simulations, "remaining_races": self.n_remaining_races,
            "remaining_sprints": self.n_remaining_sprints, "strength_drift": self.strength_drift,
            "notes": list(self.notes),
            "drivers": [{"driver": d, "title": float(t), "expected_points": float(e), "current_points": float(c)}
                        for d, t, e, c in sorted(zip(self.drivers, self.driver_title, self.driver_expected_points,
                                                     self.driver_current_points, strict=True),
                                                 key=lambda r: (-r[1], -r[2]))],
            "constructors": [{"constructor": d, "title": float(t), "expected_points": float(e),
                              "current_points": float(c)}
                             for d, t, e, c in sorted(zip(self.constructors, self.constructor_title,
                                                          self.constructor_expected_points,
                                                          self.constructor_current_points, strict=True),
                                                      key=lambda r: (-r[1], -r[2]))],
        }


def _title_shares(points: NDArray[np.float64], wins: NDArray[np.float64], rng: np.random.Generator
                  ) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Title share per competitor from ``(n_sims, k)`` totals; ties on points go to more wins, then a draw
    standing in for the rest of the countback (second places, ...). Also returns final positions."""
    n_sims, k = points.shape
    key = np.lexsort((rng.random(points.shape), -wins, -points), axis=-1) if k else np.zeros((n_sims, 0), int)
    champion = key[:, 0]
    share = np.bincount(champion, minlength=k) / n_sims
    return share, finishing_positions(key)


def simulate_championship(
    season: int,
    driver_points: Mapping[str, float],
    constructor_points: Mapping[str, float],
    races: Sequence[RaceInput],
    n: int,
    rng: np.random.Generator | int | None = None,
    driver_wins: Mapping[str, float] | None = None,
    constructor_wins: Mapping[str, float] | None = None,
    n_rounds: int | None = None,
    strength_drift: float = 0.0,
) -> ChampionshipSimulation:
    """Drivers' and constructors' title probabilities from current standings plus the remaining races.

    Each remaining race (and its sprint, if any) is simulated ``n`` times with the season's points system;
    a driver's points go to the constructor they drive for in that race. Sprint retirements use the race
    probability at the same hazard per kilometre (:data:`SPRINT_DISTANCE_RATIO`). The fastest-lap point is
    not simulated (no model of who sets it); ties on points are settled on wins, then at random.

    ``strength_drift``: variance per race of a random walk on each driver's log-strength, drawn per
    simulation (:func:`estimate_strength_drift`), so that a race further away is less certain than the next
    one. Races are taken in the given order; the first uses the strengths as given.
    """
    if not math.isfinite(strength_drift) or strength_drift < 0:
        raise FormguideError(f"strength_drift must be a finite variance >= 0, got {strength_drift!r}")
    n = _check_n(n)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    ps = points_system(season)
    drivers = sorted({str(d) for d in driver_points} | {str(d) for r in races for d in r.drivers})
    teams = sorted({str(c) for c in constructor_points} | {str(c) for r in races for c in r.constructors})
    d_index = {d: i for i, d in enumerate(drivers)}
    t_index = {t: i for i, t in enumerate(teams)}
    d_pts = np.zeros((n, len(drivers)))
    t_pts = np.zeros((n, len(teams)))
    d_wins = np.zeros((n, len(drivers)))
    t_wins = np.zeros((n, len(teams)))
    d_now = np.array([float(driver_points.get(d, 0.0)) for d in drivers])
    t_now = np.array([float(constructor_points.get(t, 0.0)) for t in teams])
    d_pts += d_now
    t_pts += t_now
    if driver_wins:
        d_wins += np.array([float(driver_wins.get(d, 0.0)) for d in drivers])
    if constructor_wins:
        t_wins += np.array([float(constructor_wins.get(t, 0.0)) for t in teams])
    total_rounds = n_rounds if n_rounds is not None else max((r.round or 0 for r in races), default=0)
    sprints = 0
    n_d, n_t = len(drivers), len(teams)
    sim_d = (np.arange(n, dtype=np.intp) * n_d)[:, None]
    sim_t = (np.arange(n, dtype=np.intp) * n_t)[:, None]
    walk = np.zeros((n, n_d)) if strength_drift > 0 else None
    for i_race, race in enumerate(races):
        dr = np.array([d_index[str(d)] for d in race.drivers], dtype=np.intp)
        tr = np.array([t_index[str(c)] for c in race.constructors], dtype=np.intp)
        k = dr.size
        if np.unique(dr).size != k or tr.size != k:
            raise FormguideError(f"race {race.round}: drivers must be unique and each needs a constructor")
        u = np.asarray(race.log_strength, dtype=np.float64)
        q = (np.zeros(k) if race.dnf_prob is None
             else np.broadcast_to(np.asarray(race.dnf_prob, dtype=np.float64), (k,)))
        mult = ps.multiplier(race.round, total_rounds) if race.round is not None else 1.0
        sessions = [(ps.race_table(k) * mult, q, True)]
        if race.has_sprint and ps.sprint:
            sessions.append((ps.sprint_table(k), 1.0 - (1.0 - q) ** SPRINT_DISTANCE_RATIO, False))
            sprints += 1
        if walk is not None and i_race > 0:
            walk += gen.normal(0.0, math.sqrt(strength_drift), size=walk.shape)
        for table, qq, counts_wins in sessions:
            if walk is None:
                orders, retired = sample_finishes(u, qq, n, gen)
            else:  # one field per simulation: its own strengths
                orders, retired = sample_finishes(u + walk[:, dr], qq, 1, gen)
                orders, retired = orders[:, 0, :], retired[:, 0, :]
            # Only the scoring places matter; a place is scored when a finisher holds it (retired cars are
            # behind every finisher, so that is "place < number of finishers").
            scoring = int(np.count_nonzero(table))
            top = orders[:, :scoring]
            finishers = k - retired.sum(axis=1)
            w = table[:scoring] * (np.arange(scoring) < finishers[:, None])
            d_pts += np.bincount((sim_d + dr[top]).ravel(), weights=w.ravel(), minlength=n * n_d).reshape(n, n_d)
            t_pts += np.bincount((sim_t + tr[top]).ravel(), weights=w.ravel(), minlength=n * n_t).reshape(n, n_t)
            if counts_wins:
                won = (finishers > 0).astype(np.float64)
                d_wins += np.bincount(sim_d[:, 0] + dr[orders[:, 0]], weights=won, minlength=n * n_d).reshape(n, n_d)
                t_wins += np.bincount(sim_t[:, 0] + tr[orders[:, 0]], weights=won, minlength=n * n_t).reshape(n, n_t)
    d_title, d_final = _title_shares(d_pts, d_wins, gen)
    t_title, _ = _title_shares(t_pts, t_wins, gen)
    d_dist = np.zeros((len(drivers), len(drivers)))
    if len(drivers):
        cell = (np.arange(len(drivers)) * len(drivers) + d_final).ravel()  # (sims, drivers) -> driver*K + pos
        d_dist = np.bincount(cell, minlength=len(drivers) ** 2).reshape(len(drivers), len(drivers)) / n
    notes = ["fastest-lap points are not simulated"] if ps.fastest_lap else []
    return ChampionshipSimulation(
        drivers=drivers, constructors=teams, driver_title=d_title, driver_expected_points=d_pts.mean(axis=0),
        driver_current_points=d_now, driver_position_probs=d_dist, constructor_title=t_title,
        constructor_expected_points=t_pts.mean(axis=0), constructor_current_points=t_now, n_simulations=n,
        n_remaining_races=len(races), n_remaining_sprints=sprints, strength_drift=float(strength_drift),
        notes=notes,
    )
