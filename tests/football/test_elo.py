"""Elo history (pre-match ratings, goal-difference multiplier, season regression) and the ordered-logit map."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.football.models.elo import EloOrderedModel, EloRatings, elo_history


def _dates(n: int, start: str = "2021-08-14", step_days: int = 3) -> pd.DatetimeIndex:
    return pd.Timestamp(start) + pd.to_timedelta(np.arange(n) * step_days, unit="D")


def _expected(dr: float) -> float:
    return 1 / (1 + 10 ** (-dr / 400))


def test_single_match_update_by_hand():
    hist = elo_history(["A"], ["B"], [3], [0], _dates(1), k=20, home_advantage=65)
    assert hist.home_elo[0] == hist.away_elo[0] == 1500
    g = math.log(4) / math.log(2) * 2.2 / (0.001 * 65 + 2.2)
    delta = 20 * g * (1 - _expected(65))
    assert hist.final["A"] == pytest.approx(1500 + delta)
    assert hist.final["B"] == pytest.approx(1500 - delta)


def test_draw_ignores_goal_multiplier_and_moves_towards_the_away_side():
    a = elo_history(["A"], ["B"], [2], [2], _dates(1))
    b = elo_history(["A"], ["B"], [0], [0], _dates(1), goal_diff_multiplier=False)
    assert a.final == b.final
    assert a.final["A"] == pytest.approx(1500 + 20 * (0.5 - _expected(65)))


def test_pre_match_ratings_and_zero_sum():
    home = ["A", "B", "A", "C"]
    away = ["B", "C", "C", "B"]
    hist = elo_history(home, away, [2, 0, 1, 1], [0, 0, 1, 3], _dates(4), k=25)
    # rating before match 3 (A's second) equals A's rating after match 1
    after_first = elo_history(home[:1], away[:1], [2], [0], _dates(1), k=25).final["A"]
    assert hist.home_elo[2] == pytest.approx(after_first)
    assert hist.home_elo[0] == hist.away_elo[0] == hist.away_elo[1] == 1500  # first appearances
    assert hist.home_elo[1] == pytest.approx(3000 - after_first)  # B after losing to A
    assert sum(hist.final.values()) == pytest.approx(1500 * 3)


def test_bigger_wins_move_more_and_favourites_less():
    gd1 = elo_history(["A"], ["B"], [1], [0], _dates(1)).final["A"]
    gd3 = elo_history(["A"], ["B"], [4], [1], _dates(1)).final["A"]
    assert gd3 - 1500 > gd1 - 1500 > 0
    # the same 3-goal margin is worth less to a heavy favourite than to an underdog (autocorrelation fix)
    build = (["A", "A", "A", "A", "A"], ["B", "B", "B", "B", "B"])
    hist = elo_history(*build, [3, 3, 3, 3, 3], [0, 0, 0, 0, 0], _dates(5))
    gains = np.diff(np.r_[hist.home_elo, hist.final["A"]])
    assert (np.diff(gains) < 0).all()
    no_fix = elo_history(*build, [3] * 5, [0] * 5, _dates(5), goal_diff_multiplier=False)
    assert no_fix.final["A"] < hist.final["A"]


def test_rows_come_back_in_input_order():
    rng = np.random.default_rng(0)
    n = 200
    teams = np.array(list("ABCDEFGH"))
    h = rng.integers(0, 8, n)
    a = (h + rng.integers(1, 8, n)) % 8
    hg, ag = rng.poisson(1.5, n), rng.poisson(1.1, n)
    dates = _dates(n)
    base = elo_history(teams[h], teams[a], hg, ag, dates)
    perm = rng.permutation(n)
    shuffled = elo_history(teams[h][perm], teams[a][perm], hg[perm], ag[perm], dates[perm])
    np.testing.assert_allclose(shuffled.home_elo, base.home_elo[perm])
    np.testing.assert_allclose(shuffled.away_elo, base.away_elo[perm])
    assert shuffled.final == pytest.approx(base.final)


def test_season_regression_pulls_towards_initial():
    home, away = ["A", "A"], ["B", "B"]
    dates = pd.to_datetime(["2022-05-01", "2022-08-10"])
    kept = elo_history(home, away, [3, 0], [0, 0], dates, season_regression=0.0)
    pulled = elo_history(home, away, [3, 0], [0, 0], dates, season_regression=0.5)
    gain = kept.home_elo[1] - 1500
    assert gain > 0
    assert pulled.home_elo[1] == pytest.approx(1500 + gain / 2)
    # explicit labels decide the season, not the calendar
    same = elo_history(home, away, [3, 0], [0, 0], dates, season_regression=0.5, seasons=["2122", "2122"])
    assert same.home_elo[1] == pytest.approx(kept.home_elo[1])


def test_fixtures_get_ratings_without_updating():
    hist = elo_history(["A", "A", "B"], ["B", "B", "A"], [2, np.nan, np.nan], [0, np.nan, np.nan], _dates(3))
    assert hist.home_elo[1] == hist.final["A"]
    assert hist.away_elo[2] == hist.final["A"]
    assert hist.final["A"] > 1500


def test_sixty_thousand_matches_well_under_a_second():
    rng = np.random.default_rng(1)
    n = 61_770
    names = np.array([f"club{i}" for i in range(400)])
    h = rng.integers(0, 400, n)
    a = (h + rng.integers(1, 400, n)) % 400
    dates = pd.Timestamp("2005-08-01") + pd.to_timedelta(np.sort(rng.integers(0, 7000, n)), unit="D")
    start = time.perf_counter()
    hist = elo_history(names[h], names[a], rng.poisson(1.5, n), rng.poisson(1.1, n), dates)
    elapsed = time.perf_counter() - start
    assert hist.home_elo.shape == (n,)
    assert elapsed < 1.0, f"elo_history took {elapsed:.2f}s for {n} matches"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"away_goals": [0, np.nan]}, "only one of home_goals/away_goals is NaN at position 1"),
        ({"home_goals": [1, -1]}, "position 1 has -1-0"),
        ({"away": ["B"]}, "mismatched lengths"),
        ({"home": ["A", None]}, "home has 1 missing team names"),
        ({"season_regression": 1.5}, "season_regression"),
    ],
)
def test_bad_inputs_raise(kwargs, message):
    args = {"home": ["A", "B"], "away": ["B", "A"], "home_goals": [1, 1], "away_goals": [0, 0], "dates": _dates(2)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        elo_history(**args)


def test_elo_ratings_wrapper_on_frame():
    frame = pd.DataFrame({
        "home_team": ["A", "B", "C"], "away_team": ["B", "C", "A"], "home_goals": [1.0, 2.0, np.nan],
        "away_goals": [0.0, 2.0, np.nan], "kickoff": _dates(3), "season": ["2122"] * 3,
    })
    r = EloRatings().fit_frame(frame)
    direct = elo_history(frame.home_team, frame.away_team, frame.home_goals, frame.away_goals, frame.kickoff)
    np.testing.assert_allclose(r.elo_diff(), direct.home_elo - direct.away_elo)
    np.testing.assert_allclose(r.rating(["A", "Z"]), [direct.final["A"], 1500.0])


# ---------------------------------------------------------------- ordered logit
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
    with pytest.raises(RuntimeError, match="not fitted"):
        EloOrderedModel().predict_proba([0.0])
