"""The NFL model: key-number distribution, frameworks, the two-stage estimator, baselines and scoring."""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pandas as pd
import pytest

from formguide.core import deadline
from formguide.core.errors import FormguideError
from formguide.nfl.evaluate import paired_difference, pick_record, side_probabilities, wilson
from formguide.nfl.models import frameworks
from formguide.nfl.models.baselines import NfeloBlend, devig_pair
from formguide.nfl.models.distribution import KeyNumberDistribution, tail_probabilities
from formguide.nfl.models.estimator import NFLDistributionEstimator, prior_columns


def _league(n_weeks: int = 60, games_per_week: int = 8, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic games whose margin is the line plus a strength signal plus noise rounded to key numbers."""
    rng = np.random.default_rng(seed)
    n = n_weeks * games_per_week
    week = np.repeat(np.arange(n_weeks), games_per_week)
    season = 2000 + week // 20
    kickoff = pd.Timestamp("2000-09-01") + pd.to_timedelta(week * 7, unit="D")
    strength = rng.normal(0, 3, n)
    spread = np.round(rng.normal(2, 5, n) * 2) / 2
    noise = rng.choice([-14, -10, -7, -3, 0, 3, 7, 10, 14], size=n) + rng.integers(-3, 4, n)
    margin = np.rint(spread + strength + noise).astype(int)
    margin[margin == 0] = 3
    total = np.rint(rng.normal(44, 10, n)).clip(3, 90)
    home = ((total + margin) // 2).astype(float)
    away = home - margin
    frame = pd.DataFrame({"season": season, "week": week % 20 + 1, "kickoff": kickoff, "home_score": home,
                          "away_score": away, "spread_line": spread, "total_line": np.round(total / 2) * 2 + 0.5})
    X = pd.DataFrame({"strength": strength, "spread_line": spread, "noise_feature": rng.normal(size=n)})
    return frame, X


# ----------------------------------------------------------------------------------- distribution
def test_tail_probabilities_by_hand():
    values = np.array([-1, 0, 1, 2])
    pmf = np.array([[0.1, 0.2, 0.3, 0.4]])
    above, equal, below = tail_probabilities(values, pmf, [0.0])
    assert (above[0], equal[0], below[0]) == pytest.approx((0.7, 0.2, 0.1))
    above, equal, below = tail_probabilities(values, pmf, [0.5])  # a half line never pushes
    assert (above[0], equal[0], below[0]) == pytest.approx((0.7, 0.0, 0.3))
    assert np.isnan(tail_probabilities(values, pmf, [np.nan])[0][0])


def test_key_numbers_carry_the_mass_history_gave_them():
    rng = np.random.default_rng(1)
    mean = rng.normal(0, 4, 4000)
    y = np.where(rng.random(4000) < 0.3, np.sign(rng.normal(size=4000)) * 3, np.rint(mean + rng.normal(0, 13, 4000)))
    dist = KeyNumberDistribution().fit(mean, y)
    pmf = dist.pmf(np.zeros(1))[0]
    v = dist.values
    assert pmf.sum() == pytest.approx(1.0)
    assert pmf[v == 3][0] > 2 * pmf[v == 2][0]  # the key number stands out of its neighbours
    observed_share = np.mean(np.abs(y) == 3)
    model_share = dist.pmf(mean)[:, np.isin(v, [-3, 3])].sum(axis=1).mean()
    assert model_share == pytest.approx(observed_share, abs=0.02)
    back = KeyNumberDistribution.from_dict(dist.to_dict())
    np.testing.assert_allclose(back.pmf(mean[:20]), dist.pmf(mean[:20]))


def test_distribution_needs_enough_games():
    with pytest.raises(ValueError, match="at least 50"):
        KeyNumberDistribution().fit(np.zeros(10), np.zeros(10))


# ------------------------------------------------------------------------------------- estimator
def test_forecasts_are_coherent_three_way_probabilities():
    frame, X = _league()
    for bt in ("moneyline", "spread", "total"):
        p = NFLDistributionEstimator(bet_type=bt, warmup_games=100).fit(frame, X).predict_proba(frame, X)
        assert p.shape == (len(frame), 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        half = (frame["spread_line"] % 1 != 0).to_numpy() if bt == "spread" else np.zeros(len(frame), bool)
        assert np.all(p[half, 1] == 0)  # half lines cannot push
        if bt == "moneyline":
            assert np.all(p[:, 1] < 0.02)  # ties are rare, but possible


def test_stronger_home_side_gets_a_higher_win_probability():
    frame, X = _league()
    est = NFLDistributionEstimator(warmup_games=100, framework_params={"alpha": 10.0}).fit(frame, X)
    probe = X.iloc[:2].copy()
    probe["strength"] = [-6.0, 6.0]
    probe["spread_line"] = [0.0, 0.0]
    p = est.predict_proba(frame.iloc[:2], probe)
    assert p[1, 0] > p[0, 0] + 0.1


def test_serialised_model_predicts_the_same():
    frame, X = _league()
    est = NFLDistributionEstimator(bet_type="spread", calibration="platt", warmup_games=100,
                                   min_calibration_games=100).fit(frame, X)
    back = NFLDistributionEstimator.from_dict(est.to_dict())
    np.testing.assert_allclose(back.predict_proba(frame, X), est.predict_proba(frame, X))


def test_prior_is_the_market_line_then_elo_then_nothing():
    both = (("spread_line", 1.0), ("elo_diff_qb", 1 / 25))
    assert prior_columns("margin", pd.Index(["spread_line", "elo_diff_qb"]), "auto") == both
    assert prior_columns("margin", pd.Index(["elo_diff_qb"]), "auto") == (("elo_diff_qb", 1 / 25),)
    assert prior_columns("total", pd.Index(["elo_diff_qb"]), "auto") == ()
    assert prior_columns("margin", pd.Index(["spread_line"]), "none") == ()
    with pytest.raises(ValueError, match="prior"):
        prior_columns("margin", pd.Index([]), "market")


def test_a_game_without_its_line_falls_back_to_the_elo_spread():
    frame, X = _league()
    X["elo_diff_qb"] = 25 * (X["strength"] + X["spread_line"])
    est = NFLDistributionEstimator(framework_params={"alpha": 1e9}, warmup_games=100).fit(frame, X)
    probe = X.iloc[:3].copy()
    probe["spread_line"] = np.nan  # a game weeks ahead: no line yet
    _, _, mean = est.predict_distribution(frame.iloc[:3], probe)
    _, _, with_line = est.predict_distribution(frame.iloc[:3], X.iloc[:3])
    offset_shift = probe["elo_diff_qb"].to_numpy() / 25 - X["spread_line"].iloc[:3].to_numpy()
    np.testing.assert_allclose(mean - with_line, offset_shift, atol=0.05)


def test_with_a_huge_penalty_the_mean_is_the_prior():
    frame, X = _league()
    est = NFLDistributionEstimator(framework_params={"alpha": 1e9}, warmup_games=100).fit(frame, X)
    _, _, mean = est.predict_distribution(frame, X)
    margin = (frame["home_score"] - frame["away_score"]).to_numpy()
    intercept = np.mean(margin - frame["spread_line"].to_numpy())
    np.testing.assert_allclose(mean, frame["spread_line"].to_numpy() + intercept, atol=0.05)


def test_walk_forward_never_sees_the_week_it_predicts():
    """Changing one week's results must leave every earlier forecast as it was (and may change later ones)."""
    frame, X = _league()
    est = NFLDistributionEstimator(warmup_games=100)
    start, end = 0, 10**6
    base = est.walk_forward_forecast(frame, X, start_day=start, end_day=end)
    changed = frame.copy()
    week = frame["kickoff"] == frame["kickoff"].unique()[40]
    changed.loc[week, "home_score"] += 30
    again = est.walk_forward_forecast(changed, X, start_day=start, end_day=end)
    earlier = (frame["kickoff"] <= frame["kickoff"].unique()[40]).to_numpy()
    np.testing.assert_array_equal(np.isnan(base[earlier]), np.isnan(again[earlier]))
    np.testing.assert_allclose(np.nan_to_num(base[earlier]), np.nan_to_num(again[earlier]))
    later = ~earlier
    assert np.nanmax(np.abs(base[later] - again[later])) > 1e-3  # the test can fail: later weeks learnt


def test_too_few_games_is_a_clear_error():
    frame, X = _league(n_weeks=10)
    with pytest.raises(ValueError, match="at least 250 played games"):
        NFLDistributionEstimator().fit(frame, X)


@pytest.mark.parametrize("framework", ["lightgbm", "xgboost"])
def test_tree_frameworks_fit_and_round_trip(framework):
    frame, X = _league()
    est = NFLDistributionEstimator(framework=framework, warmup_games=100,
                                   framework_params={"n_estimators": 30}).fit(frame, X)
    back = NFLDistributionEstimator.from_dict(est.to_dict())
    np.testing.assert_allclose(back.predict_proba(frame, X), est.predict_proba(frame, X), atol=1e-9)


def test_max_runtime_stops_the_walk_forward():
    frame, X = _league()
    with deadline.time_limit(0.001), pytest.raises(deadline.TimeLimitExceeded, match="max-runtime"):
        time.sleep(0.01)
        NFLDistributionEstimator(warmup_games=100).fit(frame, X)
    with pytest.raises(FormguideError, match="positive"):
        with deadline.time_limit(0):
            pass


def test_missing_extra_names_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "h2o" else real(name, *a))
    with pytest.raises(FormguideError, match=r"pip install 'formguide\[h2o\]'"):
        frameworks.require_framework("h2o")
    with pytest.raises(FormguideError, match="unknown framework 'torch'"):
        frameworks.require_framework("torch")


# ------------------------------------------------------------------------------ baselines, scores
def test_devig_and_the_nfelo_blend_by_hand():
    p = devig_pair(np.array([-150.0]), np.array([130.0]))
    raw = np.array([150 / 250, 100 / 230])
    assert p[0] == pytest.approx(raw[0] / raw.sum())
    frame, X = _league()
    frame["home_moneyline"] = np.where(frame["spread_line"] > 0, -150.0, 130.0)
    frame["away_moneyline"] = np.where(frame["spread_line"] > 0, 130.0, -150.0)

    def side(weight):
        f = NfeloBlend(spread_weight=weight).fit(frame, X).predict_proba(frame, X)
        return f[:, 0] / (f[:, 0] + f[:, 2])

    def logit(q):
        return np.log(q / (1 - q))

    p_spread, p_ml = side(1.0), side(0.0)
    np.testing.assert_allclose(p_ml, devig_pair(frame["home_moneyline"].to_numpy(), frame["away_moneyline"].to_numpy()))
    expected = 1 / (1 + np.exp(-(0.7 * logit(p_spread) + 0.3 * logit(p_ml))))
    np.testing.assert_allclose(side(0.7), expected, atol=1e-9)
    assert np.abs(p_spread - p_ml).max() > 0.05  # the two inputs differ, so the weight matters


def test_side_probabilities_leave_pushes_out():
    f = np.array([[0.5, 0.1, 0.4], [0.3, 0.0, 0.7], [0.2, 0.1, 0.7]])
    p, y, ok = side_probabilities(f, np.array([0, 1, 2]))
    assert p[0] == pytest.approx(0.5 / 0.9)
    assert ok.tolist() == [True, False, True]
    assert y.tolist() == [1.0, 0.0, 0.0]


def test_wilson_and_pick_record_by_hand():
    lo, hi = wilson(55, 100)
    assert (lo, hi) == pytest.approx((0.4524, 0.6438), abs=1e-4)
    p = np.array([0.6, 0.4, 0.7, 0.55])
    settle = np.array([[1.0, -1.0], [1.0, -1.0], [0.0, 0.0], [-1.0, 1.0]])
    odds = np.full((4, 2), 1.909)
    rec = pick_record(p, settle, odds)
    # picks: home (won), away (lost), home (push), home (lost)
    assert (rec["picks"], rec["decided"], rec["pushes"], rec["hits"]) == (4, 3, 1, 1)
    assert rec["roi"] == pytest.approx((0.909 - 1 + 0 - 1) / 4)
    assert rec["edge_claimed"] is False


def test_paired_difference_interval_covers_a_known_shift():
    rng = np.random.default_rng(3)
    a = rng.normal(0.20, 0.05, 3000)
    d = paired_difference(a, a + 0.01 + rng.normal(0, 0.05, 3000))
    assert d["lo"] < d["mean"] < d["hi"] < 0  # an interval around a real, visible shift
    assert d["mean"] == pytest.approx(-0.01, abs=0.005)


@pytest.mark.skipif(importlib.util.find_spec("h2o") is None, reason="the h2o extra is not installed")
def test_h2o_framework_when_java_is_present():
    import shutil

    if shutil.which("java") is None:
        pytest.skip("H2O needs Java; none on PATH")
    frame, X = _league()
    reg = frameworks.make_regressor("h2o", max_models=2, max_runtime_secs=60)
    y = (frame["home_score"] - frame["away_score"]).to_numpy(dtype=float)
    reg.fit(X.to_numpy(dtype=float), y)
    back = frameworks.regressor_from_dict(reg.to_dict())
    np.testing.assert_allclose(back.predict(X.to_numpy(dtype=float)[:20]), reg.predict(X.to_numpy(dtype=float)[:20]),
                               atol=1e-6)
