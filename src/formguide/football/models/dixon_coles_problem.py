"""The Dixon-Coles likelihood as an optimisation problem: sufficient statistics, objective, gradient, solver.

:class:`Problem` reduces the matches once to sufficient statistics, so an evaluation of the negative weighted
log-likelihood and its gradient costs O(teams^2), not O(matches); it is minimised with diagonally
preconditioned L-BFGS-B. :func:`check_identifiable` refuses data whose maximum-likelihood estimate does not
exist (a side that never scored or never conceded) instead of returning huge ratings.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.sparse import coo_matrix
from scipy.special import gammaln
from threadpoolctl import ThreadpoolController

__all__ = ["LOG_FLOOR", "RHO_LIMIT", "Problem", "check_identifiable", "single_threaded_blas", "tau_observed"]

LOG_FLOOR = 1e-10  # tau is floored here only at trial points the line search then rejects
RHO_LIMIT = 0.99  # |rho| < 1 keeps tau(1, 1) = 1 - rho positive
START_SWEEPS = 3


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas() -> AbstractContextManager:
    """Run small optimisations with one BLAS thread.

    L-BFGS-B's few-dozen-parameter linear algebra gains nothing from threads, and on a busy machine
    OpenBLAS's thread hand-offs made each iteration up to 50x slower (measured: 0.5 ms vs 0.01 ms).
    """
    return _threadpools().limit(limits=1, user_api="blas")


def check_identifiable(teams: NDArray[np.str_], problem: Problem) -> None:
    """Refuse data whose maximum-likelihood estimate does not exist, rather than return huge ratings."""
    for label, arr in (("scored", problem.scored), ("conceded", problem.conceded)):
        if (arr <= 0).any():
            names = teams[arr <= 0].tolist()
            raise ValueError(f"teams {names} {label} no goals, so their ratings are unbounded; use l2 > 0")
    # Teams reachable from the first one through matches; anyone left over sits in a separate group.
    met = problem.W + problem.WT
    reached = np.zeros(teams.size, dtype=bool)
    reached[0] = True
    while True:
        grown = reached | (met @ reached.astype(np.float64) > 0)
        if (grown == reached).all():
            break
        reached = grown
    if not reached.all():
        raise ValueError(f"teams {teams[~reached][:5].tolist()}... never met teams {teams[reached][:5].tolist()}..., "
                         "so their relative strength is not identified: fit the groups separately or use l2 > 0")


def tau_observed(hg, ag, lam, mu, rho: float) -> NDArray[np.float64]:
    """Dixon-Coles dependence factor for the observed scores."""
    tau = np.ones_like(lam)
    m00 = (hg == 0) & (ag == 0)
    m01 = (hg == 0) & (ag == 1)
    m10 = (hg == 1) & (ag == 0)
    m11 = (hg == 1) & (ag == 1)
    tau[m00] = 1 - rho * lam[m00] * mu[m00]
    tau[m01] = 1 + rho * lam[m01]
    tau[m10] = 1 + rho * mu[m10]
    tau[m11] = 1 - rho
    return tau


class Problem:
    """Negative weighted log-likelihood and gradient over ``theta = [attack, defence, intercept, home, (rho)]``.

    Everything is reduced once to sufficient statistics, so an evaluation costs O(teams^2), not O(matches):
    the ``goals * log rate`` terms are linear in theta (a fixed vector ``s``); the ``-rate`` terms are
    ``e^(c+h) * exp(attack) . W exp(defence)`` and ``e^c * exp(defence) . W exp(attack)`` with ``W[i, j]``
    the total weight of ``i`` at home to ``j``; and only the home/away pairs that produced a 0-0, 0-1 or 1-0
    need their own rates for the tau terms. All tau cells share one form, ``tau = 1 + rho * z`` with
    ``z = -lam*mu`` (0-0), ``lam`` (0-1) or ``mu`` (1-0); 1-1 contributes ``log(1 - rho)`` times its weight.
    """

    _DENSE_TEAMS = 400  # beyond this many teams W is kept sparse

    def __init__(self, hi, ai, hg, ag, w, n_teams: int, use_rho: bool, l2: float) -> None:
        t = n_teams
        self.n_teams, self.use_rho, self.l2 = t, use_rho, l2
        self.wsum = float(w.sum())
        if not self.wsum > 0:
            raise ValueError("match weights sum to zero")
        # The objective is divided by the total weight so tolerances mean the same for any data size.
        self.scale = 1.0 / self.wsum
        self.const = float(w @ (gammaln(hg + 1) + gammaln(ag + 1)))
        whg, wag = w * hg, w * ag
        self.home_goals_w, self.away_goals_w = float(whg.sum()), float(wag.sum())
        s = np.zeros(self.size)
        s[:t] = np.bincount(hi, whg, t) + np.bincount(ai, wag, t)
        s[t : 2 * t] = np.bincount(ai, whg, t) + np.bincount(hi, wag, t)
        s[2 * t] = self.home_goals_w + self.away_goals_w
        s[2 * t + 1] = self.home_goals_w
        self.s = s
        self.played = np.bincount(hi, w, t) + np.bincount(ai, w, t)
        self.scored, self.conceded = s[:t].copy(), s[t : 2 * t].copy()
        pair = hi * t + ai
        if t <= self._DENSE_TEAMS:
            self.W = np.bincount(pair, w, t * t).reshape(t, t)
        else:
            self.W = coo_matrix((w, (hi, ai)), shape=(t, t)).tocsr()
        self.WT = self.W.T.copy()
        # tau cells: low scores aggregated per (home, away, score)
        low = (hg <= 1) & (ag <= 1)
        score = (hg * 2 + ag).astype(np.intp)  # 0: 0-0, 1: 0-1, 2: 1-0, 3: 1-1
        self.w11 = float(w[low & (score == 3)].sum())
        cell = low & (score < 3)
        keys, inv = np.unique(pair[cell] * 3 + score[cell], return_inverse=True)
        self.tw = np.bincount(inv.ravel(), w[cell], keys.size)
        kind = keys % 3
        self.th, self.ta = (keys // 3) // t, (keys // 3) % t
        # z = alpha * lam * mu + beta * lam + gamma * mu
        self.alpha = -(kind == 0).astype(np.float64)
        self.beta = (kind == 1).astype(np.float64)
        self.gamma = (kind == 2).astype(np.float64)

    @property
    def size(self) -> int:
        return 2 * self.n_teams + 2 + int(self.use_rho)

    def unpack(self, theta):
        t = self.n_teams
        rho = theta[2 * t + 2] if self.use_rho else 0.0
        return theta[:t], theta[t : 2 * t], theta[2 * t], theta[2 * t + 1], rho

    def start(self) -> NDArray[np.float64]:
        """Log goal-rate ratios per team: close to the optimum, so L-BFGS needs few iterations."""
        t = self.n_teams
        mh = max(self.home_goals_w / self.wsum, 1e-3)
        ma = max(self.away_goals_w / self.wsum, 1e-3)
        mean_rate = 0.5 * (mh + ma)
        attack = np.log((self.scored + 0.5) / (self.played + 0.5) / mean_rate)
        defence = np.log((self.conceded + 0.5) / (self.played + 0.5) / mean_rate)
        theta = np.zeros(self.size)
        theta[:t] = attack - attack.mean()
        theta[t : 2 * t] = defence - defence.mean()
        theta[2 * t] = np.log(ma)
        theta[2 * t + 1] = np.log(mh / ma)
        if self.l2 == 0 and (self.scored > 0).all() and (self.conceded > 0).all():
            theta = self._poisson_sweeps(theta, START_SWEEPS)
        return theta

    def _poisson_sweeps(self, theta, sweeps: int) -> NDArray[np.float64]:
        """Block updates that solve the Poisson score equations for one block at a time (Maher 1982).

        Each update is exact given the other blocks, so a few sweeps land near the Poisson optimum: on three
        Premier League seasons the Poisson fit then needs 4 L-BFGS iterations instead of 10 (Dixon-Coles
        gains little, as rho still has to move). Needs every team to have scored and conceded.
        """
        t = self.n_teams
        s_a, s_d, s_c, s_h = self.s[:t], self.s[t : 2 * t], self.s[2 * t], self.s[2 * t + 1]
        ea, ed = np.exp(theta[:t]), np.exp(theta[t : 2 * t])
        ec, e_home = np.exp(theta[2 * t]), np.exp(theta[2 * t + 1])
        for _ in range(sweeps):
            ea = s_a / (ec * e_home * (self.W @ ed) + ec * (self.WT @ ed))
            ed = s_d / (ec * e_home * (self.WT @ ea) + ec * (self.W @ ea))
            x_home, x_away = float(ea @ (self.W @ ed)), float(ed @ (self.W @ ea))
            e_home = s_h / (ec * x_home)
            ec = s_c / (e_home * x_home + x_away)
        out = theta.copy()
        out[:t], out[t : 2 * t] = np.log(ea), np.log(ed)
        out[2 * t], out[2 * t + 1] = np.log(ec), np.log(e_home)
        return out

    def loglik(self, theta) -> float:
        """Unpenalised weighted log-likelihood including the log-factorial constants."""
        return -(self.objective(theta)[0] / self.scale - self._penalty(theta)) - self.const

    def _penalty(self, theta) -> float:
        if self.l2 == 0:
            return 0.0
        t = self.n_teams
        return self.l2 * float(theta[: 2 * t] @ theta[: 2 * t])

    def objective(self, theta) -> tuple[float, NDArray[np.float64]]:
        t = self.n_teams
        attack, defence, c, home, rho = self.unpack(theta)
        ea, ed = np.exp(attack), np.exp(defence)
        eh, ec = np.exp(c + home), np.exp(c)
        w_ed, w_ea = self.W @ ed, self.W @ ea  # row sums weighted by the opponent's rating
        wt_ea, wt_ed = self.WT @ ea, self.WT @ ed
        s_lam = eh * float(ea @ w_ed)  # sum of weight * lam over matches
        s_mu = ec * float(ed @ w_ea)
        ll = float(self.s @ theta) - s_lam - s_mu
        grad = self.s.copy()
        grad[:t] -= eh * ea * w_ed + ec * ea * wt_ed
        grad[t : 2 * t] -= eh * ed * wt_ea + ec * ed * w_ea
        grad[2 * t] -= s_lam + s_mu
        grad[2 * t + 1] -= s_lam
        if self.use_rho:
            lam = eh * ea[self.th] * ed[self.ta]
            mu = ec * ea[self.ta] * ed[self.th]
            lm = self.alpha * lam * mu
            z = lm + self.beta * lam + self.gamma * mu
            arg = np.maximum(1.0 + rho * z, LOG_FLOOR)
            a11 = max(1.0 - rho, LOG_FLOOR)
            ll += float(self.tw @ np.log(arg)) + self.w11 * np.log(a11)
            q = self.tw * rho / arg
            g_lam = q * (lm + self.beta * lam)  # d ll / d log lam per tau cell
            g_mu = q * (lm + self.gamma * mu)
            grad[:t] += np.bincount(self.th, g_lam, t) + np.bincount(self.ta, g_mu, t)
            grad[t : 2 * t] += np.bincount(self.ta, g_lam, t) + np.bincount(self.th, g_mu, t)
            sum_lam = float(g_lam.sum())
            grad[2 * t] += sum_lam + float(g_mu.sum())
            grad[2 * t + 1] += sum_lam
            grad[2 * t + 2] = float(self.tw @ (z / arg)) - self.w11 / a11
        f = -ll
        grad = -grad
        if self.l2 > 0:
            f += self._penalty(theta)
            grad[: 2 * t] += 2 * self.l2 * theta[: 2 * t]
        return f * self.scale, grad * self.scale

    def _precondition(self) -> NDArray[np.float64]:
        """Square roots of the Hessian diagonal's scale: goals for and against per team, totals, low-score weight.

        L-BFGS works on ``u = theta * sqrt(d)``, which evens out curvature between teams with much and little
        (decayed) data; on three Premier League seasons it takes Dixon-Coles from 19 to 8 iterations.
        """
        t = self.n_teams
        d = np.empty(self.size)
        d[: 2 * t] = np.maximum(self.s[: 2 * t], 1e-3 * self.wsum)
        d[2 * t], d[2 * t + 1] = max(self.s[2 * t], 1e-3 * self.wsum), max(self.s[2 * t + 1], 1e-3 * self.wsum)
        if self.use_rho:
            d[2 * t + 2] = max(float(self.tw.sum()) + self.w11, 1e-3 * self.wsum)
        return np.sqrt(d * self.scale)

    def solve(self, theta0, rho_bounds, maxiter: int):
        """L-BFGS-B on the preconditioned parameters; the result's ``x`` and ``jac`` are in theta units."""
        pre = self._precondition()

        def scaled(u):
            f, g = self.objective(u / pre)
            return f, g / pre

        bounds = [(None, None)] * (2 * self.n_teams + 2)
        if self.use_rho:
            bounds.append((rho_bounds[0] * pre[-1], rho_bounds[1] * pre[-1]))
        with single_threaded_blas():
            res = minimize(scaled, theta0 * pre, jac=True, method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": maxiter, "ftol": 1e-12, "gtol": 1e-8, "maxcor": 20})
        res.x = res.x / pre
        res.jac = res.jac * pre
        return res

    def at_optimum(self, res, rho_bounds) -> bool:
        """A line-search stop at a point whose projected gradient is already negligible is an optimum."""
        if res.status != 2:  # 2: stopped by the line search, not by maxiter or a failure
            return False
        g = res.jac.copy()
        if self.use_rho:
            at_lo, at_hi = res.x[-1] <= rho_bounds[0] + 1e-12, res.x[-1] >= rho_bounds[1] - 1e-12
            if (at_lo and g[-1] > 0) or (at_hi and g[-1] < 0):
                g[-1] = 0.0
        return float(np.abs(g).max()) < 1e-6

    def rho_feasible(self, theta) -> tuple[float, float]:
        """Open interval of rho keeping tau > 0 for every home/away pairing of the fitted teams."""
        attack, defence, intercept, home, _ = self.unpack(theta)
        log_lam = intercept + home + attack[:, None] + defence[None, :]
        log_mu = intercept + attack[None, :] + defence[:, None]
        off = ~np.eye(self.n_teams, dtype=bool)
        lam, mu = np.exp(log_lam[off]), np.exp(log_mu[off])
        lo = -1.0 / max(lam.max(), mu.max())
        hi = min(1.0, 1.0 / float((lam * mu).max()))
        return max(lo, -1.0), hi
