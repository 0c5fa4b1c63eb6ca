"""Dixon-Coles (1997) goal model with time decay, and its plain Poisson special case.

Goals are independent Poisson counts with

    log lambda (home) = intercept + home_advantage + attack[home] + defence[away]
    log mu     (away) = intercept + attack[away] + defence[home]

and the four low scores (0-0, 0-1, 1-0, 1-1) are re-weighted by Dixon and Coles' ``tau(rho)`` to model
their dependence. ``attack`` and ``defence`` each sum to zero, so an average team has both ratings 0 and
``intercept`` is the log goal rate of an average away side; a positive ``defence`` means conceding more.
Each match is weighted ``exp(-xi * days before ref_date)``.

The weighted log-likelihood and its analytic gradient are computed from per-team-pair sufficient
statistics (see ``_Problem``) and minimised with diagonally preconditioned L-BFGS-B from a start found by a
few Maher (1982) Poisson sweeps. The sum-to-zero constraints are imposed after the fit: the likelihood is flat along
``attack + c, intercept - c`` (and the same for defence), L-BFGS never moves along a direction its gradients
are orthogonal to, and centring the optimum changes no prediction.

``rho`` is kept where ``tau > 0`` for every home/away pairing of the fitted teams (Dixon and Coles'
``max(-1/lam, -1/mu) < rho < min(1/(lam*mu), 1)``), not just for the scores observed: when the unconstrained
optimum breaks that, rho is refitted with bounds just inside the interval (at xi = 0.0018 this happens for
1 of the 170 league-seasons in the football-data set, Eredivisie 2023/24). penaltyblog only floors tau on
observed scores, so the two can differ in such seasons and agree (to ~1e-9 in log-likelihood) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from formguide.core.errors import FormguideError
from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.football.models import score_markets
from formguide.football.models.dixon_coles_problem import (
    RHO_LIMIT,
    Problem,
    check_identifiable,
    tau_observed,
)

__all__ = ["ConvergenceError", "DixonColesModel"]

_RHO_MARGIN = 1e-3  # relative gap kept from the edge of rho's feasible interval
_MAX_RHO_REFITS = 5


class ConvergenceError(FormguideError, RuntimeError):
    """The optimiser did not reach a valid maximum of the likelihood; no parameters are kept."""


def _names_or_raise(values: ArrayLike, name: str) -> NDArray[np.object_]:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(f"{name} has {int(missing.sum())} missing team names (first at position {int(np.argmax(missing))})")
    return arr


def _encode_teams(names: NDArray[np.object_]) -> tuple[NDArray[np.str_], NDArray[np.intp]]:
    """Sorted team names (as text) and each row's index into them; hashing first keeps this O(n)."""
    codes, uniques = pd.factorize(names)
    labels = np.asarray([str(u) for u in uniques], dtype=str)
    order = np.argsort(labels, kind="stable")
    teams = labels[order]
    if teams.size > 1 and (teams[1:] == teams[:-1]).any():
        dup = teams[1:][teams[1:] == teams[:-1]].tolist()
        raise ValueError(f"team identifiers {dup} are distinct values with the same text; use one type of name")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return teams, rank[codes]


def _goals_or_raise(values: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        g = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric goal counts: {exc}") from None
    if g.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {g.shape}")
    bad = ~np.isfinite(g)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} NaN/infinite values (first at position {int(np.argmax(bad))}); "
                         "fit only on played matches")
    bad = g < 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} has {int(bad.sum())} negative values (first at position {i}: {g[i]:g})")
    bad = g != np.round(g)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be whole numbers (position {i}: {g[i]:g})")
    return g


def _weights_or_raise(values: ArrayLike, n: int, name: str) -> NDArray[np.float64]:
    w = np.asarray(values, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{name} must be {n} finite non-negative numbers")
    return w


def _dates_or_raise(values: ArrayLike, name: str) -> NDArray[np.datetime64]:
    try:
        idx = pd.DatetimeIndex(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be datetimes: {exc}") from None
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    if idx.isna().any():
        raise ValueError(f"{name} has {int(idx.isna().sum())} missing dates (first at position {int(np.argmax(idx.isna()))})")
    return idx.to_numpy(dtype="datetime64[ns]")


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        raise ValueError(f"{name} is missing")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


class DixonColesModel(BaseEstimator):
    """Dixon-Coles goal model; ``rho=False`` gives independent Poisson goals.

    Parameters
    ----------
    xi : time decay per day; match weight is ``exp(-xi * days before ref_date)``. 0 weights all matches equally.
    rho : estimate the low-score dependence parameter (``False`` fixes it at 0).
    max_goals : largest goal count per team in score matrices; the truncated grid is renormalised.
    ref_date : date the decay is measured from; ``None`` uses the last match passed to ``fit``.
    l2 : ridge penalty ``l2 * (sum attack^2 + sum defence^2)`` added to the negative log-likelihood; needed
        when a team scored or conceded nothing, or when teams form groups that never met.
    unknown : ``"raise"`` (KeyError listing unseen teams at predict time) or ``"average"``: an unseen team
        gets the average ratings (0, 0) worsened by ``promoted_penalty``.
    promoted_penalty : log-rate handicap for unseen teams under ``unknown="average"``: attack
        ``-promoted_penalty`` and defence ``+promoted_penalty``. For scale: the 253 promoted sides of the big
        five leagues 2006/07-2023/24, fitted on their first top-flight season, averaged attack -0.19 and
        defence +0.17, so about 0.2 (18% fewer goals scored, 22% more conceded).
    maxiter : L-BFGS-B iteration limit.
    """

    def __init__(
        self,
        xi: float = 0.0018,
        rho: bool = True,
        max_goals: int = 10,
        ref_date: Any = None,
        l2: float = 0.0,
        unknown: str = "raise",
        promoted_penalty: float = 0.0,
        maxiter: int = 1000,
    ) -> None:
        self.xi = xi
        self.rho = rho
        self.max_goals = max_goals
        self.ref_date = ref_date
        self.l2 = l2
        self.unknown = unknown
        self.promoted_penalty = promoted_penalty
        self.maxiter = maxiter

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        if not (np.isfinite(self.xi) and self.xi >= 0):
            raise ValueError(f"xi must be a non-negative number, got {self.xi!r}")
        if not (np.isfinite(self.l2) and self.l2 >= 0):
            raise ValueError(f"l2 must be a non-negative number, got {self.l2!r}")
        if int(self.max_goals) != self.max_goals or self.max_goals < 1:
            raise ValueError(f"max_goals must be a positive integer, got {self.max_goals!r}")
        if self.unknown not in ("raise", "average"):
            raise ValueError(f"unknown must be 'raise' or 'average', got {self.unknown!r}")
        if not np.isfinite(self.promoted_penalty):
            raise ValueError(f"promoted_penalty must be finite, got {self.promoted_penalty!r}")

    def _json_params(self) -> dict[str, Any]:
        """The parameters as plain JSON values (``ref_date`` as an ISO date)."""
        return {
            "xi": float(self.xi),
            "rho": bool(self.rho),
            "max_goals": int(self.max_goals),
            "ref_date": None if self.ref_date is None else _timestamp(self.ref_date, "ref_date").isoformat(),
            "l2": float(self.l2),
            "unknown": self.unknown,
            "promoted_penalty": float(self.promoted_penalty),
            "maxiter": int(self.maxiter),
        }

    # ------------------------------------------------------------------ data preparation
    def _weights(self, dates: ArrayLike | None, n: int, ref_date: pd.Timestamp | None) -> NDArray[np.float64]:
        if self.xi == 0:
            return np.ones(n)
        if dates is None:
            raise ValueError("dates are required when xi > 0 (time decay)")
        d = _dates_or_raise(dates, "dates")
        if d.shape[0] != n:
            raise ValueError(f"dates has {d.shape[0]} entries but there are {n} matches")
        if ref_date is None:
            raise ValueError("ref_date is unknown: fit the model or set ref_date")
        return self._decay(d, ref_date)

    def _decay(self, d: NDArray[np.datetime64], ref_date: pd.Timestamp) -> NDArray[np.float64]:
        days = (np.datetime64(ref_date.to_datetime64(), "ns") - d) / np.timedelta64(1, "D")
        if (days < 0).any():
            i = int(np.argmax(days < 0))
            raise ValueError(f"{int((days < 0).sum())} matches are after ref_date {ref_date.date()} "
                             f"(first at position {i}); fitting on them would leak the future")
        return np.exp(-self.xi * days)

    @staticmethod
    def _arrays(home_teams, away_teams, home_goals, away_goals):
        home = _names_or_raise(home_teams, "home_teams")
        away = _names_or_raise(away_teams, "away_teams")
        hg = _goals_or_raise(home_goals, "home_goals")
        ag = _goals_or_raise(away_goals, "away_goals")
        lengths = {"home_teams": home.size, "away_teams": away.size, "home_goals": hg.size, "away_goals": ag.size}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"inputs have mismatched lengths: {lengths}")
        if home.size == 0:
            raise ValueError("no matches to fit")
        same = home == away
        if same.any():
            i = int(np.argmax(same))
            raise ValueError(f"home and away team are the same ({home[i]!r}) at position {i}")
        return home, away, hg, ag

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        home_teams: ArrayLike,
        away_teams: ArrayLike,
        home_goals: ArrayLike,
        away_goals: ArrayLike,
        dates: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> DixonColesModel:
        """Fit on played matches. ``dates`` may be omitted only when ``xi == 0``.

        ``sample_weight`` multiplies each match's decay weight (e.g. to count a match played with ten men
        for less); a weight of 2 counts a match twice, 0 leaves it out.
        """
        self._check_params()
        home, away, hg, ag = self._arrays(home_teams, away_teams, home_goals, away_goals)
        n = home.size
        sw = None if sample_weight is None else _weights_or_raise(sample_weight, n, "sample_weight")
        ref: pd.Timestamp | None = None
        w = np.ones(n)
        if dates is not None:
            d = _dates_or_raise(dates, "dates")
            if d.shape[0] != n:
                raise ValueError(f"dates has {d.shape[0]} entries but there are {n} matches")
            ref = _timestamp(self.ref_date, "ref_date") if self.ref_date is not None else pd.Timestamp(d.max())
            if self.xi > 0:
                w = self._decay(d, ref)
        elif self.xi > 0:
            raise ValueError("dates are required when xi > 0 (time decay)")
        if sw is not None:
            w = w * sw

        teams, codes = _encode_teams(np.concatenate([home, away]))
        hi, ai = codes[:n], codes[n:]
        if teams.size < 2:
            raise ValueError("need at least two teams")
        problem = Problem(hi, ai, hg, ag, w, teams.size, bool(self.rho), float(self.l2))
        if self.l2 == 0:
            check_identifiable(teams, problem)
        theta0 = problem.start()
        rho_bounds = (-RHO_LIMIT, RHO_LIMIT)
        n_iter = 0
        for _ in range(_MAX_RHO_REFITS + 1):
            res = problem.solve(theta0, rho_bounds, int(self.maxiter))
            n_iter += int(res.nit)
            theta = res.x
            if not res.success and not problem.at_optimum(res, rho_bounds):
                raise ConvergenceError(f"L-BFGS-B stopped without converging after {res.nit} iterations: {res.message}")
            if not np.isfinite(theta).all() or not np.isfinite(res.fun):
                raise ConvergenceError("optimisation produced non-finite parameters")
            if not problem.use_rho:
                break
            lo, hi_ = problem.rho_feasible(theta)
            r = theta[-1]
            if lo < r < hi_:
                break
            # tau would go negative for some pair of teams: keep rho inside the feasible interval and refit.
            width = hi_ - lo
            rho_bounds = (lo + _RHO_MARGIN * width, hi_ - _RHO_MARGIN * width)
            theta0 = theta.copy()
            theta0[-1] = float(np.clip(r, *rho_bounds))
        else:
            raise ConvergenceError(f"rho stays outside its feasible interval after {_MAX_RHO_REFITS} refits")

        attack, defence, intercept, home_adv, rho = problem.unpack(theta)
        a_mean, d_mean = attack.mean(), defence.mean()
        self.teams_ = teams
        self.attack_ = attack - a_mean
        self.defence_ = defence - d_mean
        self.intercept_ = float(intercept + a_mean + d_mean)
        self.home_advantage_ = float(home_adv)
        self.rho_ = float(rho)
        self.ref_date_ = ref
        self.n_matches_ = int(n)
        self.n_iter_ = n_iter
        self.converged_ = True
        self.loglik_ = float(-(res.fun / problem.scale - problem._penalty(theta)) - problem.const)
        return self

    def fit_frame(self, frame: pd.DataFrame) -> DixonColesModel:
        """Fit on the canonical match frame, using only rows whose goals are known."""
        required = ["home_team", "away_team", "home_goals", "away_goals", "kickoff"]
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise ValueError(f"match frame lacks columns {missing}")
        played = frame["home_goals"].notna() & frame["away_goals"].notna()
        if not played.any():
            raise ValueError("match frame has no played matches (all goals are NaN)")
        f = frame.loc[played]
        return self.fit(f["home_team"], f["away_team"], f["home_goals"], f["away_goals"], f["kickoff"])

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        check_is_fitted(self, "attack_")

    def _ratings(self, teams: ArrayLike, name: str):
        """Attack and defence of each named team (unseen ones get the ``unknown`` default), and the unseen names."""
        names = _names_or_raise(np.atleast_1d(np.asarray(teams, dtype=object)), name).astype(str)
        pos = np.minimum(np.searchsorted(self.teams_, names), self.teams_.size - 1)
        known = self.teams_[pos] == names
        attack = np.where(known, self.attack_[pos], -self.promoted_penalty)
        defence = np.where(known, self.defence_[pos], self.promoted_penalty)
        return attack, defence, names[~known]

    def expected_goals(self, home: ArrayLike, away: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Expected home and away goals ``(lam, mu)`` for each fixture."""
        self._check_fitted()
        ah, dh, unseen_h = self._ratings(home, "home")
        aa, da, unseen_a = self._ratings(away, "away")
        if ah.size != aa.size:
            raise ValueError(f"home has {ah.size} teams but away has {aa.size}")
        if self.unknown == "raise" and (unseen_h.size or unseen_a.size):
            unseen = sorted(set(unseen_h.tolist()) | set(unseen_a.tolist()))
            raise KeyError(f"teams not seen in training: {unseen} (pass unknown='average' to rate them as average)")
        lam = np.exp(self.intercept_ + self.home_advantage_ + ah + da)
        mu = np.exp(self.intercept_ + aa + dh)
        return lam, mu

    def score_matrix(self, home: ArrayLike, away: ArrayLike) -> NDArray[np.float64]:
        """``(n, G+1, G+1)`` score probabilities, home goals on axis 1, tau-corrected and renormalised."""
        lam, mu = self.expected_goals(home, away)
        return dixon_coles_matrix(lam, mu, self.rho_, int(self.max_goals))

    def predict_proba(self, home: ArrayLike, away: ArrayLike) -> NDArray[np.float64]:
        """Home / draw / away probabilities, shape ``(n, 3)``."""
        return score_markets.probs_1x2(self.score_matrix(home, away))

    def predict_markets(
        self,
        home: ArrayLike,
        away: ArrayLike,
        total_lines: tuple[float, ...] = (2.5,),
        ah_lines: tuple[float, ...] = (),
    ) -> dict[str, NDArray[np.float64]]:
        """Market probabilities per fixture: 1X2, over/under per half line, BTTS, and Asian handicaps.

        Asian handicap entries are the sides' break-even probabilities at the home line (see
        ``score_markets.effective_probs``), keyed ``ah_{line:+g}_home`` / ``ah_{line:+g}_away``.
        """
        lam, mu = self.expected_goals(home, away)
        m = dixon_coles_matrix(lam, mu, self.rho_, int(self.max_goals))
        x = score_markets.probs_1x2(m)
        out = {"home_xg": lam, "away_xg": mu, "home": x[:, 0], "draw": x[:, 1], "away": x[:, 2]}
        for line in total_lines:
            ou = score_markets.over_under(m, line)
            out[f"over_{line:g}"], out[f"under_{line:g}"] = ou[:, 0], ou[:, 1]
        b = score_markets.btts(m)
        out["btts_yes"], out["btts_no"] = b[:, 0], b[:, 1]
        for line in ah_lines:
            p = score_markets.effective_probs(score_markets.asian_handicap(m, line))
            out[f"ah_{line:+g}_home"], out[f"ah_{line:+g}_away"] = p[:, 0], p[:, 1]
        return out

    def loglik(
        self,
        home_teams: ArrayLike,
        away_teams: ArrayLike,
        home_goals: ArrayLike,
        away_goals: ArrayLike,
        dates: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> float:
        """Weighted log-likelihood of played matches under the fitted parameters (full Poisson terms).

        Weights default to this model's decay from its fitted ``ref_date_``; pass ``weights`` to override.
        """
        self._check_fitted()
        home, away, hg, ag = self._arrays(home_teams, away_teams, home_goals, away_goals)
        if weights is None:
            w = self._weights(dates, home.size, self.ref_date_)
        else:
            w = _weights_or_raise(weights, home.size, "weights")
        lam, mu = self.expected_goals(home, away)
        ll = hg * np.log(lam) - lam - gammaln(hg + 1) + ag * np.log(mu) - mu - gammaln(ag + 1)
        tau = tau_observed(hg, ag, lam, mu, self.rho_)
        with np.errstate(divide="ignore"):
            ll = ll + np.log(np.maximum(tau, 0.0))  # an impossible observed score gives -inf
        return float(np.sum(w * ll))

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe parameters and fitted state."""
        out: dict[str, Any] = {"model": type(self).__name__, "version": 1, "params": self._json_params()}
        if hasattr(self, "attack_"):
            out["fitted"] = {
                "teams": self.teams_.tolist(),
                "attack": self.attack_.tolist(),
                "defence": self.defence_.tolist(),
                "intercept": self.intercept_,
                "home_advantage": self.home_advantage_,
                "rho": self.rho_,
                "ref_date": None if self.ref_date_ is None else self.ref_date_.isoformat(),
                "n_matches": self.n_matches_,
                "loglik": self.loglik_,
                "n_iter": self.n_iter_,
                "converged": self.converged_,
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DixonColesModel:
        """Rebuild a model written by ``to_dict`` (the class recorded there is used)."""
        name = data.get("model")
        if name not in _MODEL_NAMES:
            raise ValueError(f"unknown model {name!r}; expected one of {sorted(_MODEL_NAMES)}")
        params = dict(data["params"])
        if name == "PoissonModel":  # an older name of the model with rho fixed at 0
            params["rho"] = False
        model = cls(**params)
        fitted = data.get("fitted")
        if fitted:
            teams = np.asarray(fitted["teams"], dtype=str)
            attack = np.asarray(fitted["attack"], dtype=np.float64)
            defence = np.asarray(fitted["defence"], dtype=np.float64)
            if not (teams.size == attack.size == defence.size) or (np.sort(teams) != teams).any():
                raise ValueError("fitted teams, attack and defence must be equal-length, teams sorted")
            model.teams_, model.attack_, model.defence_ = teams, attack, defence
            model.intercept_ = float(fitted["intercept"])
            model.home_advantage_ = float(fitted["home_advantage"])
            model.rho_ = float(fitted["rho"])
            model.ref_date_ = None if fitted["ref_date"] is None else pd.Timestamp(fitted["ref_date"])
            model.n_matches_ = int(fitted["n_matches"])
            model.loglik_ = float(fitted["loglik"])
            model.n_iter_ = int(fitted["n_iter"])
            model.converged_ = bool(fitted["converged"])
        return model



_MODEL_NAMES = ("DixonColesModel", "PoissonModel")


def dixon_coles_matrix(lam: ArrayLike, mu: ArrayLike, rho: float, max_goals: int) -> NDArray[np.float64]:
    """Score matrices ``(n, G+1, G+1)`` for expected goals ``lam`` (home) and ``mu`` (away).

    Negative tau entries (possible for extreme rates the fit never saw) are set to 0, and each grid is
    renormalised to sum to 1, which also spreads the mass beyond ``max_goals``.
    """
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    k = np.arange(max_goals + 1, dtype=np.float64)
    log_fact = gammaln(k + 1)
    ph = np.exp(k * np.log(lam)[:, None] - lam[:, None] - log_fact)
    pa = np.exp(k * np.log(mu)[:, None] - mu[:, None] - log_fact)
    m = ph[:, :, None] * pa[:, None, :]
    if rho != 0:
        m[:, 0, 0] *= np.maximum(1 - rho * lam * mu, 0.0)
        m[:, 0, 1] *= np.maximum(1 + rho * lam, 0.0)
        m[:, 1, 0] *= np.maximum(1 + rho * mu, 0.0)
        m[:, 1, 1] *= max(1 - rho, 0.0)
    m /= m.sum(axis=(1, 2), keepdims=True)
    return m
