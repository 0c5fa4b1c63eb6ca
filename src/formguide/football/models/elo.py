"""Ordered logit from pre-match Elo difference to H/D/A probabilities: the Elo baseline model.

The ratings themselves are a feature (``formguide.football.ratings.elo_ratings``, one implementation used by
training and serving); this module only maps the rating gap to three outcome probabilities with two
cut-points, ``P(A) = 1 - expit(b*x - c1)`` ... as an ordered (A < D < H) logistic model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit

from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.football.models.dixon_coles import ConvergenceError
from formguide.football.models.dixon_coles_problem import single_threaded_blas

__all__ = ["EloOrderedModel"]

OUTCOMES_1X2 = ("H", "D", "A")
_LN2 = math.log(2.0)


def _outcome_codes(outcome: ArrayLike) -> NDArray[np.intp]:
    """``"A"/"D"/"H"`` as 0/1/2 (the order of the latent scale)."""
    y = np.asarray(outcome, dtype=object)
    codes = np.full(y.shape, -1, dtype=np.intp)
    for code, label in enumerate(("A", "D", "H")):
        codes[y == label] = code
    if (codes < 0).any():
        i = int(np.argmax(codes < 0))
        raise ValueError(f"outcome must be 'H', 'D' or 'A'; position {i} has {y[i]!r}")
    return codes


class EloOrderedModel(BaseEstimator):
    """Ordered logit of the result (A < D < H) on the pre-match Elo difference.

    ``P(A) = s(c1 - b x)``, ``P(A or D) = s(c2 - b x)`` with ``x = elo_diff / 400`` and ``c1 < c2``. Home
    advantage is a constant shift of ``x``, so the cutpoints absorb it: pass ``home - away`` with or without
    it. ``predict_proba`` returns columns H, D, A.
    """

    def __init__(self, l2: float = 0.0) -> None:
        self.l2 = l2

    @staticmethod
    def _x(elo_diff: ArrayLike) -> NDArray[np.float64]:
        x = np.asarray(elo_diff, dtype=np.float64)
        if x.ndim != 1:
            x = x.reshape(-1)
        if not np.isfinite(x).all():
            raise ValueError(f"elo_diff has NaN/infinite values (first at position {int(np.argmax(~np.isfinite(x)))})")
        return x / 400.0

    def _objective(self, theta, x, y, w):
        b, c1, log_gap = theta
        gap = math.exp(log_gap)
        e1 = c1 - b * x
        e2 = e1 + gap
        f1, f2 = expit(e1), expit(e2)
        is_a, is_d, is_h = y == 0, y == 1, y == 2
        pd_ = np.maximum(f2 - f1, 1e-300)
        # log-likelihood per row and its derivative with respect to e1 and e2
        ll = np.where(is_a, -np.logaddexp(0, -e1), 0.0)
        ll = ll + np.where(is_h, -np.logaddexp(0, e2), 0.0)
        ll = ll + np.where(is_d, np.log(pd_), 0.0)
        d1 = np.where(is_a, 1 - f1, 0.0) + np.where(is_d, -f1 * (1 - f1) / pd_, 0.0)
        d2 = np.where(is_h, -f2, 0.0) + np.where(is_d, f2 * (1 - f2) / pd_, 0.0)
        wsum = w.sum()
        f = -(w @ ll) / wsum + self.l2 * b * b
        g_b = -(w @ (-(d1 + d2) * x)) / wsum + 2 * self.l2 * b
        g_c1 = -(w @ (d1 + d2)) / wsum
        g_gap = -(w @ d2) / wsum * gap
        return f, np.array([g_b, g_c1, g_gap])

    def fit(self, elo_diff: ArrayLike, outcome: ArrayLike, sample_weight: ArrayLike | None = None) -> EloOrderedModel:
        x = self._x(elo_diff)
        y = _outcome_codes(outcome)
        if y.shape != x.shape:
            raise ValueError(f"elo_diff has {x.size} rows but outcome has {y.size}")
        if np.unique(y).size < 3:
            raise ValueError("outcome must contain all of 'H', 'D' and 'A' to fit the cutpoints")
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != x.shape or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("sample_weight must be finite, non-negative, one per row, with a positive sum")
        share = np.bincount(y, w, 3) / w.sum()
        c1 = math.log(share[0] / (1 - share[0]))
        c2 = math.log((share[0] + share[1]) / share[2])
        theta0 = np.array([0.0, c1, math.log(c2 - c1)])
        with single_threaded_blas():
            res = minimize(self._objective, theta0, args=(x, y, w), jac=True, method="L-BFGS-B",
                           options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-9})
        if not res.success and float(np.abs(res.jac).max()) > 1e-6:
            raise ConvergenceError(f"ordered logit did not converge: {res.message}")
        b, c1, log_gap = res.x
        self.coef_ = float(b) / 400.0  # per Elo point
        self.cutpoints_ = np.array([c1, c1 + math.exp(log_gap)])
        self.n_iter_ = int(res.nit)
        self.loglik_ = float(-res.fun * w.sum())
        return self

    def predict_proba(self, elo_diff: ArrayLike) -> NDArray[np.float64]:
        check_is_fitted(self, "coef_")
        eta = self.coef_ * self._x(elo_diff) * 400.0
        f1 = expit(self.cutpoints_[0] - eta)
        f2 = expit(self.cutpoints_[1] - eta)
        return np.stack([1 - f2, f2 - f1, f1], axis=1)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": "EloOrderedModel", "version": 1, "params": {"l2": float(self.l2)}}
        if hasattr(self, "coef_"):
            out["fitted"] = {"coef": self.coef_, "cutpoints": self.cutpoints_.tolist(),
                             "n_iter": self.n_iter_, "loglik": self.loglik_}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EloOrderedModel:
        if data.get("model") != "EloOrderedModel":
            raise ValueError(f"not an EloOrderedModel dict: model={data.get('model')!r}")
        model = cls(**data["params"])
        fitted = data.get("fitted")
        if fitted:
            cut = np.asarray(fitted["cutpoints"], dtype=np.float64)
            if cut.shape != (2,) or not cut[0] < cut[1]:
                raise ValueError(f"cutpoints must be two increasing numbers, got {fitted['cutpoints']}")
            model.coef_ = float(fitted["coef"])
            model.cutpoints_ = cut
            model.n_iter_ = int(fitted["n_iter"])
            model.loglik_ = float(fitted["loglik"])
        return model
