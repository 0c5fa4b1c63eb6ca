"""Every estimator of every sport follows scikit-learn's idiom: parameters via get_params/set_params, clone,
and one NotFittedError before fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone

from formguide.core.estimators import NotFittedError
from formguide.core.sport import get_sport

MODELS = [("football", t) for t in ("dixon-coles", "poisson", "elo", "blend")] + \
         [("f1", t) for t in ("plackett-luce", "lambdarank", "grid", "pole", "leader")]


@pytest.mark.parametrize(("sport_name", "model_type"), MODELS)
def test_estimators_are_scikit_learn_estimators(sport_name, model_type):
    sport = get_sport(sport_name)
    est = sport.make_model(model_type)
    assert isinstance(est, BaseEstimator)
    params = est.get_params()
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    for key, value in params.items():  # set_params writes what get_params reads
        est.set_params(**{key: value})
    assert est.get_params() == params


@pytest.mark.parametrize(("sport_name", "model_type"), MODELS)
def test_use_before_fit_raises_one_error(sport_name, model_type):
    sport = get_sport(sport_name)
    est = sport.make_model(model_type)
    frame = pd.DataFrame({"home_team": ["a"], "away_team": ["b"], "race_id": [1], "date": [pd.Timestamp("2024-01-01")],
                          "position": [np.nan], "driver": ["x"], "grid": [1.0]})
    X = pd.DataFrame({"elo_diff": [0.0], "champ_position": [1.0], "champ_prev_season": [1.0]})
    with pytest.raises(NotFittedError, match="not fitted"):
        sport.forecast(est, frame, X)
