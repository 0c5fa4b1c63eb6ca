"""The one probability layer of field sports: exact winners, retirements given not winning, coherent places."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.field_forecast import field_probabilities, fit_temperature, group_softmax, sample_finishes

fields = st.lists(st.integers(2, 7), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None)
@given(sizes=fields, seed=st.integers(0, 10_000), with_dnf=st.booleans())
def test_probabilities_are_coherent(sizes, seed, with_dnf):
    rng = np.random.default_rng(seed)
    race = np.repeat(np.arange(len(sizes)), sizes)
    u = rng.normal(0, 2, race.size)
    dnf = rng.uniform(0, 0.3, race.size) if with_dnf else None
    fc = field_probabilities(u, race, dnf_prob=dnf, n_sims=400, seed=seed, points=3, positions=True)
    fp = fc.frame
    np.testing.assert_allclose(fp.groupby(race)["p_win"].sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(fp["p_win"], group_softmax(u, race))  # exact, not simulated
    assert (fp["p_points"] >= fp["p_podium"] - 1e-12).all()  # 3 scoring places = the podium here
    assert ((fp["expected_position"] >= 1) & (fp["expected_position"] <= np.asarray(sizes)[race])).all()
    np.testing.assert_allclose(fc.positions.sum(axis=1), 1.0)  # every entry finishes somewhere
    podium = fp.groupby(race)["p_podium"].sum().to_numpy()
    if with_dnf:
        assert (podium <= np.minimum(3, sizes) + 1e-9).all()  # retired cars leave podium places empty
    else:
        np.testing.assert_allclose(podium, np.minimum(3, sizes), atol=1e-9)
        assert (fp["p_retire"] == 0).all()


def test_winners_follow_the_softmax_and_retirements_their_probability():
    u = np.log(np.array([0.5, 0.2, 0.15, 0.1, 0.05]))
    d = np.array([0.1, 0.2, 0.05, 0.3, 0.1])
    fc = field_probabilities(u, np.zeros(5), dnf_prob=d, n_sims=200_000, seed=3, positions=True)
    np.testing.assert_allclose(fc.positions[:, 0], [0.5, 0.2, 0.15, 0.1, 0.05], atol=0.004)
    np.testing.assert_allclose(fc.frame["p_retire"], d, atol=0.004)  # overall, winners included
    # a retired car scores nothing: P(points) of the favourite is at most P(finishing)
    assert fc.frame["p_points"].iloc[0] <= 1 - d[0] + 0.004


def test_without_retirements_places_are_plackett_luce():
    u = np.array([1.0, 0.3, -0.2, -1.0])
    e = np.exp(u)
    exact_podium = np.zeros(4)
    for order in itertools.permutations(range(4)):
        left, p = e.sum(), 1.0
        for i in order:
            p *= e[i] / left
            left -= e[i]
        exact_podium[list(order[:3])] += p
    fp = field_probabilities(u, np.zeros(4), n_sims=200_000, seed=5).frame
    np.testing.assert_allclose(fp["p_podium"], exact_podium, atol=0.004)


def test_a_likely_winner_with_a_high_retirement_risk_stays_coherent():
    u = np.log(np.array([0.9, 0.05, 0.05]))
    orders, retired = sample_finishes(u, np.array([0.5, 0.0, 0.0]), 50_000, 0)
    winner = orders[:, 0]
    assert not retired[np.arange(len(winner)), winner].any()  # the winner never retired
    assert abs(np.mean(winner == 0) - 0.9) < 0.01


def test_fit_temperature_recovers_the_scale_of_simulated_races():
    rng = np.random.default_rng(0)
    n_races, n = 3000, 8
    x = rng.normal(size=(n_races, n))
    true = 1.7
    p = np.exp(true * x)
    p /= p.sum(axis=1, keepdims=True)
    winner = np.array([rng.choice(n, p=row) for row in p])
    won = np.zeros((n_races, n), bool)
    won[np.arange(n_races), winner] = True
    a = fit_temperature(x.ravel(), np.repeat(np.arange(n_races), n), won.ravel())
    assert a == pytest.approx(true, rel=0.08)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="n_sims"):
        field_probabilities(np.zeros(3), np.zeros(3), n_sims=0)
    with pytest.raises(ValueError, match="retirement probability"):
        field_probabilities(np.zeros(3), np.zeros(3), dnf_prob=[0.1, 1.5, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        field_probabilities(np.array([0.0, np.nan]), np.zeros(2))
