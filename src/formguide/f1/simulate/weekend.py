"""Weekend updating: the pre-weekend strength as a normal prior, the grid and the sprint result as noisy
signals of the race-day strength (:class:`WeekendUpdater`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.f1.simulate.plackett_luce import centre, finisher_orders, grid_slot, pl_newton, race_codes

__all__ = ["WeekendPosterior", "WeekendUpdater"]


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
        codes, n = race_codes(frame)
        mean = np.where(run, centre(np.where(run, mu, np.nan), codes, n), np.nan)
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
            s = centre(np.where(has, raw, np.nan), codes, n)
            m = centre(np.where(has, mean, np.nan), codes, n)
            ok = has & np.isfinite(m)
            mm = m[ok]
            if float(np.dot(mm, mm)) <= 0:
                continue
            slope = float(np.dot(mm, s[ok]) / np.dot(mm, mm))
            resid = np.where(ok, s - slope * m, 0.0)
            resid_var = float(np.mean(resid[ok] ** 2))
            race_rows = np.isin(codes, np.unique(codes[ok]))
            orders = finisher_orders(frame, race_rows & np.isfinite(mean))
            if orders.n_races < self.min_races or resid_var <= 0:
                continue
            gain, gain_se, _ = pl_newton(orders.take(np.nan_to_num(mean)), orders.take(resid), orders.mask, 0.0)
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
