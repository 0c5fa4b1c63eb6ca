"""Elo history (pre-match ratings, goal-difference multiplier, season regression) and the ordered-logit map."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.estimators import NotFittedError
from formguide.football.models.elo import EloOrderedModel


def _dates(n: int, start: str = "2021-08-14", step_days: int = 3) -> pd.DatetimeIndex:
    return pd.Timestamp(start) + pd.to_timedelta(np.arange(n) * step_days, unit="D")


def _expected(dr: float) -> float:
    return 1 / (1 + 10 ** (-dr / 400))


def _simulate_outcomes(seed: int, n: int, coef: float = 0.004, cut=(-1.0, 0.2)):
    rng = np.random.default_rng(seed)
    diff = rng.normal(60, 150, n)
    latent = coef * diff + rng.logistic(size=n)
    outcome = np.where(latent < cut[0], "A", np.where(latent < cut[1], "D", "H"))
    return diff, outcome


def test_ordered_logit_recovers_parameters():
    diff, outcome = _simulate_outcomes(2, 20_000)
    m = EloOrderedModel().fit(diff, outcome)
    assert m.coef_ == pytest.approx(0.004, rel=0.1)
    np.testing.assert_allclose(m.cutpoints_, [-1.0, 0.2], atol=0.06)


def test_ordered_logit_gradient_matches_numeric():
    diff, outcome = _simulate_outcomes(3, 500)
    m = EloOrderedModel(l2=0.1)
    x = m._x(diff)
    y = np.searchsorted(np.array(["A", "D", "H"]), outcome)
    w = np.random.default_rng(4).uniform(0.5, 1.5, x.size)
    theta = np.array([0.7, -0.8, np.log(1.1)])
    _, grad = m._objective(theta, x, y, w)
    eps = 1e-6
    numeric = [(m._objective(theta + e, x, y, w)[0] - m._objective(theta - e, x, y, w)[0]) / (2 * eps)
               for e in np.eye(3) * eps]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1500, 1500), min_size=1, max_size=20))
def test_ordered_logit_probabilities_valid_and_monotone(diffs):
    diff, outcome = _simulate_outcomes(5, 3000)
    m = EloOrderedModel().fit(diff, outcome)
    x = np.sort(np.asarray(diffs))
    p = m.predict_proba(x)
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (np.diff(p[:, 0]) >= -1e-12).all()  # stronger home side, higher P(H)
    assert (np.diff(p[:, 2]) <= 1e-12).all()


def test_ordered_logit_json_round_trip_and_errors():
    diff, outcome = _simulate_outcomes(6, 2000)
    m = EloOrderedModel().fit(diff, outcome)
    back = EloOrderedModel.from_dict(json.loads(json.dumps(m.to_dict())))
    np.testing.assert_array_equal(back.predict_proba([-200, 0, 300]), m.predict_proba([-200, 0, 300]))
    with pytest.raises(ValueError, match="position 1 has 'X'"):
        EloOrderedModel().fit([0, 1, 2], ["H", "X", "A"])
    with pytest.raises(ValueError, match="all of 'H', 'D' and 'A'"):
        EloOrderedModel().fit([0, 1, 2], ["H", "H", "A"])
    with pytest.raises(ValueError, match="NaN"):
        EloOrderedModel().fit([0, np.nan, 2], ["H", "D", "A"])
    with pytest.raises(NotFittedError, match="not fitted"):
        EloOrderedModel().predict_proba([0.0])
