"""Dixon-Coles' use of match statistics: per-match weights (sending-offs) and the shots-on-target fit.

Each test pins a property that a wrong implementation breaks: a zero weight must be the same as leaving
the match out, a weight of 2 the same as the match twice, the options at their neutral values must give
exactly the goals-only model, and shots on target must move expected goals toward the side that creates
more chances.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.helpers import e0_frame

from formguide.core.registry import canonical_json
from formguide.football.models.dixon_coles import DixonColesModel
from formguide.football.models.estimators import DixonColesEstimator, estimator_from_dict


@pytest.fixture(scope="module")
def e0(football_dir) -> pd.DataFrame:
    frame = e0_frame(football_dir, ("2223", "2324"))
    return frame[frame["home_goals"].notna()].reset_index(drop=True)


def _fit(frame: pd.DataFrame, **kw) -> DixonColesModel:
    return DixonColesModel(xi=0.0, l2=1.0, **kw).fit(frame["home_team"], frame["away_team"], frame["home_goals"],
                                                     frame["away_goals"])


def _params(m: DixonColesModel) -> np.ndarray:
    return np.r_[m.attack_, m.defence_, m.intercept_, m.home_advantage_, m.rho_]


def test_sample_weight_zero_is_leaving_the_match_out_and_two_is_counting_it_twice(e0):
    w = np.ones(len(e0))
    w[:50] = 0.0
    weighted = DixonColesModel(xi=0.0, l2=1.0).fit(e0["home_team"], e0["away_team"], e0["home_goals"],
                                                     e0["away_goals"], sample_weight=w)
    dropped = _fit(e0.iloc[50:])
    np.testing.assert_allclose(_params(weighted), _params(dropped), atol=1e-5)

    w = np.ones(len(e0))
    w[:30] = 2.0
    doubled = DixonColesModel(xi=0.0, l2=1.0).fit(e0["home_team"], e0["away_team"], e0["home_goals"],
                                                    e0["away_goals"], sample_weight=w)
    twice = _fit(pd.concat([e0, e0.iloc[:30]], ignore_index=True))
    np.testing.assert_allclose(_params(doubled), _params(twice), atol=1e-5)
    assert not np.allclose(_params(doubled), _params(_fit(e0)), atol=1e-4)  # the weights did change the fit


@pytest.mark.parametrize("make_bad", [lambda n: np.ones(3), lambda n: -np.ones(n), lambda n: np.full(n, np.nan)])
def test_bad_sample_weights_are_refused(e0, make_bad):
    with pytest.raises(ValueError, match="sample_weight"):
        DixonColesModel(xi=0.0).fit(e0["home_team"], e0["away_team"], e0["home_goals"], e0["away_goals"],
                                    sample_weight=make_bad(len(e0)))


def test_neutral_options_give_exactly_the_goals_only_model(e0):
    est = DixonColesEstimator(red_card_weight=1.0, shots_weight=0.0).fit(e0)
    ref = e0["kickoff"].max()
    plain = DixonColesModel(xi=0.0018, ref_date=ref, unknown="average", promoted_penalty=0.2, l2=5.0).fit(
        e0["home_team"], e0["away_team"], e0["home_goals"], e0["away_goals"], e0["kickoff"])
    assert est.shots_model_ is None
    np.testing.assert_array_equal(est.predict_proba(e0), plain.predict_proba(e0["home_team"], e0["away_team"]))


def test_red_card_weight_zero_fits_as_if_those_matches_were_not_played(e0):
    reds = ((e0["home_red"].fillna(0) + e0["away_red"].fillna(0)) > 0).to_numpy()
    assert 10 < reds.sum() < len(e0)  # real seasons have sendings-off
    e0 = e0.iloc[: int(np.flatnonzero(~reds)[-1]) + 1]  # end on a clean match: both fits decay from that day
    reds = reds[: len(e0)]
    zero = DixonColesEstimator(red_card_weight=0.0, shots_weight=0.0).fit(e0)
    without = DixonColesEstimator(red_card_weight=1.0, shots_weight=0.0).fit(e0[~reds])
    np.testing.assert_allclose(zero.predict_proba(e0), without.predict_proba(e0), atol=1e-6)
    full = DixonColesEstimator(red_card_weight=1.0, shots_weight=0.0).fit(e0)
    assert not np.allclose(zero.predict_proba(e0), full.predict_proba(e0), atol=1e-4)


def _league(n_rounds: int = 6) -> pd.DataFrame:
    """Four equal teams on goals; team "A" takes twice the shots on target of everyone else."""
    teams = ["A", "B", "C", "D"]
    rows = []
    day = pd.Timestamp("2024-08-01")
    for r in range(n_rounds):
        for h in teams:
            for a in teams:
                if h == a:
                    continue
                rows.append({"kickoff": day, "home_team": h, "away_team": a, "home_goals": 1.0 + (r % 2),
                             "away_goals": 1.0, "home_shots_on_target": 8.0 if h == "A" else 4.0,
                             "away_shots_on_target": 8.0 if a == "A" else 4.0, "home_red": 0.0, "away_red": 0.0})
                day += pd.Timedelta(days=1)
    return pd.DataFrame(rows)


def test_shots_on_target_raise_the_expected_goals_of_the_side_that_creates_more():
    league = _league()
    fixture = pd.DataFrame({"home_team": ["A", "B"], "away_team": ["B", "A"]})
    goals_only = DixonColesEstimator(shots_weight=0.0).fit(league)
    with_shots = DixonColesEstimator(shots_weight=0.5).fit(league)
    lam0, mu0 = goals_only.expected_goals(fixture)
    lam1, mu1 = with_shots.expected_goals(fixture)
    assert lam1[0] > lam0[0] * 1.1 and mu1[1] > mu0[1] * 1.1  # A scores more at home and away
    assert with_shots.predict_proba(fixture)[0, 0] > goals_only.predict_proba(fixture)[0, 0]
    # league-wide scale is kept: goals per shot converts the shots fit back into goals
    everyone = pd.DataFrame({"home_team": ["B", "C"], "away_team": ["C", "D"]})
    np.testing.assert_allclose(with_shots.expected_goals(everyone)[0], goals_only.expected_goals(everyone)[0],
                               rtol=0.1)


def test_without_shot_data_the_model_is_the_goals_fit():
    league = _league()
    league[["home_shots_on_target", "away_shots_on_target"]] = np.nan
    est = DixonColesEstimator(shots_weight=0.3).fit(league)
    assert est.shots_model_ is None
    ref = DixonColesEstimator(shots_weight=0.0).fit(league)
    np.testing.assert_array_equal(est.predict_proba(league), ref.predict_proba(league))


def test_artifacts_from_before_the_options_load_as_goals_only(e0):
    goals_only = DixonColesEstimator(red_card_weight=1.0, shots_weight=0.0).fit(e0)
    old = goals_only.to_dict()
    for key in ("red_card_weight", "shots_weight"):
        old["params"].pop(key)
    old.pop("shots_model")
    loaded = estimator_from_dict(json.loads(canonical_json(old)))
    assert loaded.get_params()["shots_weight"] == 0.0 and loaded.get_params()["red_card_weight"] == 1.0
    assert loaded.shots_model_ is None
    np.testing.assert_array_equal(loaded.predict_proba(e0), goals_only.predict_proba(e0))


@pytest.mark.parametrize("params", [{"shots_weight": 1.5}, {"shots_weight": -0.1}, {"red_card_weight": -1.0},
                                    {"red_card_weight": float("nan")}])
def test_out_of_range_options_are_refused(e0, params):
    with pytest.raises(ValueError, match=next(iter(params))):
        DixonColesEstimator(**params).fit(e0)
