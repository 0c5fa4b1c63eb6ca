"""F1 field models: Plackett-Luce likelihood, probability invariants, calibration, baselines, JSON round-trip."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.field import position_distribution, sample_orders
from formguide.core.field_forecast import fit_temperature, group_softmax
from formguide.f1.baselines import GridBaseline, LeaderBaseline, PoleBaseline
from formguide.f1.likelihood import RaceLayout as _RaceLayout
from formguide.f1.likelihood import plackett_luce_loglik
from formguide.f1.models import LambdaRankModel, PlackettLuceModel, make_model, model_from_dict


def position_matrix(u, *, n_sims=20000, seed=0):
    return position_distribution(sample_orders(np.asarray(u, dtype=np.float64), n_sims, seed))


def synthetic_field(n_races: int = 60, n_drivers: int = 10, beta=(1.0, -0.5), seed: int = 0,
                    full_order: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Races whose finishing orders are Plackett-Luce draws from ``u = X . beta`` (known truth)."""
    rng = np.random.default_rng(seed)
    beta = np.asarray(beta, dtype=float)
    rows, feats, utils = [], [], []
    for r in range(n_races):
        x = rng.normal(size=(n_drivers, beta.size))
        u = x @ beta
        order = np.argsort(-(u + rng.gumbel(size=n_drivers)))
        pos = np.empty(n_drivers)
        pos[order] = np.arange(1, n_drivers + 1)
        grid = np.empty(n_drivers)
        grid[np.argsort(-(u + rng.normal(0, 2.0, n_drivers)))] = np.arange(1, n_drivers + 1)
        for d in range(n_drivers):
            rows.append({"race_id": 1000 + r, "season": 2000 + r // 20, "date": pd.Timestamp("2000-01-02")
                         + pd.Timedelta(weeks=r), "driver": f"d{d}", "grid": grid[d], "position": pos[d],
                         "classified": True})
            feats.append(x[d])
        utils.append(u)
    frame = pd.DataFrame(rows)
    X = pd.DataFrame(np.vstack(feats), columns=[f"x{i}" for i in range(beta.size)])
    return frame, X, np.concatenate(utils)


# ---------------------------------------------------------------------------------------------- likelihood


def test_plackett_luce_loglik_matches_brute_force_and_gradient():
    rng = np.random.default_rng(3)
    race = np.repeat([1, 2, 3], [4, 6, 3])
    pos = np.concatenate([rng.permutation(4), rng.permutation(6), rng.permutation(3)]) + 1.0
    for top_k in (None, 1, 2, 10):
        layout = _RaceLayout(race, pos, None, top_k)
        u = rng.normal(size=race.size)
        ll, grad = plackett_luce_loglik(u, layout)
        for r, code in zip((1, 2, 3), range(3), strict=True):
            m = race == r
            order = np.argsort(pos[m])
            k = m.sum() - 1 if top_k is None else min(top_k, m.sum() - 1)
            expected = sum(u[m][order[j]] - np.log(np.exp(u[m][order[j:]]).sum()) for j in range(k))
            assert ll[code] == pytest.approx(expected, abs=1e-10)
        eps = 1e-6
        numeric = np.array([(plackett_luce_loglik(u + eps * e, layout)[0].sum()
                             - plackett_luce_loglik(u - eps * e, layout)[0].sum()) / (2 * eps)
                            for e in np.eye(u.size)])
        np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_plackett_luce_recovers_known_coefficients():
    frame, X, _ = synthetic_field(n_races=150, beta=(1.0, -0.5), seed=1)
    model = PlackettLuceModel(top_k=None, l2=0.1, half_life_days=None, calibration=None, max_age_days=None)
    model.fit(frame, X)
    coef = model.coefficients()
    scale = X.std(ddof=0).to_numpy()
    assert coef["x0"] / scale[0] == pytest.approx(1.0, abs=0.15)
    assert coef["x1"] / scale[1] == pytest.approx(-0.5, abs=0.15)
    assert model.converged_


def test_temperature_recovers_a_known_scale():
    rng = np.random.default_rng(7)
    n_races, n = 400, 12
    u = rng.normal(size=(n_races, n))
    p = np.exp(2.0 * u)
    p /= p.sum(axis=1, keepdims=True)
    winner = np.array([rng.choice(n, p=row) for row in p])
    won = np.zeros((n_races, n), dtype=bool)
    won[np.arange(n_races), winner] = True
    a = fit_temperature(u.ravel(), np.repeat(np.arange(n_races), n), won.ravel())
    assert a == pytest.approx(2.0, abs=0.35)


# ---------------------------------------------------------------------------------------------- probabilities


fields = st.lists(st.integers(min_value=2, max_value=12), min_size=1, max_size=4)


@settings(max_examples=30, deadline=None)
@given(sizes=fields, seed=st.integers(0, 10_000), spread=st.floats(0.0, 6.0))
def test_win_probabilities_sum_to_one_per_race(sizes, seed, spread):
    rng = np.random.default_rng(seed)
    race = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)
    u = rng.normal(0, spread, race.size)
    p = group_softmax(u, race)
    assert (p >= 0).all()
    np.testing.assert_allclose(pd.Series(p).groupby(race).sum().to_numpy(), 1.0, atol=1e-12)
    # softmax ranks like the utilities (weakly: tiny differences may round to equal probabilities)
    for r in np.unique(race):
        m = race == r
        pu, pp = u[m], p[m]
        higher = pu[:, None] > pu[None, :]
        assert (pp[:, None] >= pp[None, :])[higher].all()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 14), seed=st.integers(0, 10_000), spread=st.floats(0.0, 4.0))
def test_position_distribution_is_doubly_stochastic(n, seed, spread):
    u = np.random.default_rng(seed).normal(0, spread, n)
    P = position_matrix(u, n_sims=500, seed=seed)
    assert P.shape == (n, n)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)  # each driver over positions
    np.testing.assert_allclose(P.sum(axis=0), 1.0, atol=1e-12)  # each position over drivers


def test_sampled_winner_frequencies_match_the_exact_softmax():
    u = np.array([1.5, 1.0, 0.2, -0.5, -1.0, -3.0])
    P = position_matrix(u, n_sims=60000, seed=1)
    np.testing.assert_allclose(P[:, 0], group_softmax(u, np.zeros(6)), atol=0.01)
    # second place under Plackett-Luce, exactly
    e = np.exp(u)
    second = np.array([sum(e[j] / e.sum() * e[i] / (e.sum() - e[j]) for j in range(6) if j != i) for i in range(6)])
    np.testing.assert_allclose(P[:, 1], second, atol=0.01)


# ---------------------------------------------------------------------------------------------- models


def test_model_probabilities_sum_to_one_and_handle_missing_features():
    frame, X, _ = synthetic_field(n_races=50)
    X = X.copy()
    X.loc[::7, "x0"] = np.nan
    model = PlackettLuceModel(calibration=None).fit(frame, X)
    assert "x0__missing" in model.std_.names
    p = model.predict_win_proba(frame, X)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(pd.Series(p).groupby(frame["race_id"]).sum(), 1.0)
    u = model.predict_strength(frame.iloc[:10], X.iloc[:10])
    assert u.shape == (10,) and np.isfinite(u).all()


def _roundtrip(model, frame, X):
    text = json.dumps(model.to_dict())  # JSON only: no pickles, no numpy objects
    again = model_from_dict(json.loads(text))
    np.testing.assert_allclose(again.predict_win_proba(frame, X), model.predict_win_proba(frame, X), rtol=1e-12)
    return again


def test_plackett_luce_json_roundtrip_keeps_calibration():
    frame, X, _ = synthetic_field(n_races=70)
    model = PlackettLuceModel(cal_races=30, cal_refit=10, min_cal_races=20).fit(frame, X)
    assert model.calibrated_on_ > 0 and model.temperature_ != 1.0
    again = _roundtrip(model, frame, X)
    assert again.temperature_ == model.temperature_
    assert again.get_params() == model.get_params()


def test_lambdarank_json_roundtrip_and_skill():
    frame, X, u = synthetic_field(n_races=70, seed=4)
    model = LambdaRankModel(n_estimators=40, min_child_samples=10, n_jobs=1, calibration=None)
    model.fit(frame.iloc[:500], X.iloc[:500])
    _roundtrip(model, frame, X)
    test = slice(500, None)
    p = model.predict_win_proba(frame.iloc[test], X.iloc[test])
    race = frame["race_id"].to_numpy()[test]
    # the favourite is the truly strongest driver far more often than chance (1 in 10)
    fav = pd.Series(p).groupby(race).idxmax().to_numpy()
    best = pd.Series(u[test]).groupby(race).idxmax().to_numpy()
    assert np.mean(fav == best) > 0.4
    assert set(model.feature_importance()) == {"x0", "x1"}


@pytest.mark.parametrize("cls", [GridBaseline, PoleBaseline, LeaderBaseline])
def test_baselines_json_roundtrip(cls):
    frame, X, _ = synthetic_field(n_races=40)
    X = X.assign(champ_position=frame["grid"], champ_prev_season=frame["grid"])
    model = cls().fit(frame, X)
    _roundtrip(model, frame, X)


def test_grid_baseline_rates_fall_with_the_grid_slot():
    frame, X, _ = synthetic_field(n_races=80)
    model = GridBaseline().fit(frame, X)
    assert (np.diff(model.rates_) <= 1e-12).all()
    p = model.predict_win_proba(frame, X)
    np.testing.assert_allclose(pd.Series(p).groupby(frame["race_id"]).sum(), 1.0)
    pole = frame["grid"].to_numpy() == 1
    by_race = pd.DataFrame({"race": frame["race_id"], "p": p, "pole": pole})
    assert (by_race.groupby("race").apply(lambda g: g.loc[g["pole"], "p"].iloc[0] == g["p"].max())).all()


def test_pole_and_leader_baselines_give_the_historical_rate():
    frame, X, _ = synthetic_field(n_races=80)
    X = X.assign(champ_position=frame["grid"], champ_prev_season=np.nan)
    pole = PoleBaseline().fit(frame, X)
    p = pole.predict_win_proba(frame, X)
    np.testing.assert_allclose(p[frame["grid"].to_numpy() == 1], pole.rates_[0])
    np.testing.assert_allclose(pd.Series(p).groupby(frame["race_id"]).sum(), 1.0)
    leader = LeaderBaseline().fit(frame, X)
    q = leader.predict_win_proba(frame, X)
    np.testing.assert_allclose(q[X["champ_position"].to_numpy() == 1], leader.rates_[0])
    # a season opener has no standings: last season's final standings stand in
    opener = X.assign(champ_position=np.nan, champ_prev_season=frame["grid"])
    np.testing.assert_allclose(leader.predict_win_proba(frame, opener), q)


def test_unknown_types_are_refused():
    with pytest.raises(ValueError, match="unknown F1 model"):
        make_model("xgboost")
    with pytest.raises(ValueError, match="unknown stored F1 model"):
        model_from_dict({"type": "xgboost"})
    with pytest.raises(ValueError, match="calibration"):
        PlackettLuceModel(calibration="isotonic")


def test_feature_columns_must_match_training():
    frame, X, _ = synthetic_field(n_races=30)
    model = PlackettLuceModel(calibration=None).fit(frame, X)
    with pytest.raises(ValueError, match="x1"):
        model.predict_win_proba(frame, X.drop(columns=["x1"]))


def test_all_pairs_of_small_fields_rank_by_utility():
    """With two entrants, Plackett-Luce win probability is the logistic of the utility difference."""
    for a, b in itertools.product([-2.0, 0.0, 1.5], repeat=2):
        p = group_softmax(np.array([a, b]), np.array([1, 1]))
        assert p[0] == pytest.approx(1 / (1 + np.exp(b - a)))
