"""Plackett–Luce sampling, position distributions and field metrics (formguide.core.field)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from formguide.core.field import finishing_positions, position_distribution, sample_orders, win_probabilities
from formguide.core.field_metrics import (
    expected_top1_accuracy,
    podium_brier,
    top1_accuracy,
    win_ece,
    win_log_loss,
)

strengths = st.lists(st.floats(-4, 4, allow_nan=False), min_size=2, max_size=12)


def _pl_probability(u: np.ndarray, order: tuple[int, ...]) -> float:
    """Exact Plackett–Luce probability of a complete order."""
    w = np.exp(u)
    left = list(range(len(u)))
    p = 1.0
    for i in order:
        p *= w[i] / w[left].sum()
        left.remove(i)
    return p


def test_winner_frequencies_match_exact_softmax():
    u = np.array([1.2, 0.4, 0.0, -0.7, -1.5])
    n = 200_000
    orders = sample_orders(u, n, rng=np.random.default_rng(1))
    counts = np.bincount(orders[:, 0], minlength=u.size)
    expected = win_probabilities(u) * n
    assert stats.chisquare(counts, expected).pvalue > 1e-4


def test_whole_order_frequencies_match_plackett_luce():
    u = np.array([0.9, 0.0, -0.6])
    n = 120_000
    orders = sample_orders(u, n, rng=np.random.default_rng(2))
    perms = list(itertools.permutations(range(3)))
    code = orders[:, 0] * 9 + orders[:, 1] * 3 + orders[:, 2]
    counts = np.array([(code == a * 9 + b * 3 + c).sum() for a, b, c in perms])
    expected = np.array([_pl_probability(u, p) for p in perms]) * n
    assert counts.sum() == n
    assert stats.chisquare(counts, expected).pvalue > 1e-4


@settings(max_examples=40, deadline=None)
@given(u=strengths, n=st.integers(1, 300), seed=st.integers(0, 2**31))
def test_position_distribution_is_doubly_stochastic(u, n, seed):
    orders = sample_orders(np.array(u), n, rng=seed)
    dist = position_distribution(orders)
    assert dist.shape == (len(u), len(u))
    np.testing.assert_allclose(dist.sum(axis=0), 1.0)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    assert (np.sort(orders, axis=1) == np.arange(len(u))).all()  # every row is a permutation


@settings(max_examples=30, deadline=None)
@given(u=strengths)
def test_win_probabilities_sum_to_one_and_keep_order(u):
    p = win_probabilities(np.array(u))
    assert math.isclose(p.sum(), 1.0, rel_tol=1e-12)
    ua = np.array(u)
    assert np.all(p[np.argsort(ua)][1:] >= p[np.argsort(ua)][:-1])  # a stronger entrant never wins less often


def test_retirement_probability_is_respected_and_retired_finish_last():
    u = np.array([2.0, 1.0, 0.0, -1.0])
    q = np.array([0.05, 0.3, 0.5, 0.0])
    n = 40_000
    orders, retired = sample_orders(u, n, rng=np.random.default_rng(3), dnf_prob=q, return_retired=True)
    share = retired.mean(axis=0)
    assert np.all(np.abs(share - q) <= 4 * np.sqrt(q * (1 - q) / n) + 1e-12)
    pos = finishing_positions(orders)
    finishers = (~retired).sum(axis=1)
    # every retired car sits behind every finisher
    assert np.all(np.where(retired, pos >= finishers[:, None], pos < finishers[:, None]))


def test_order_among_retired_is_uniformly_random():
    u = np.array([3.0, 0.0, -3.0])
    n = 60_000
    orders = sample_orders(u, n, rng=np.random.default_rng(4), dnf_prob=1.0)
    code = orders[:, 0] * 9 + orders[:, 1] * 3 + orders[:, 2]
    counts = np.array([(code == a * 9 + b * 3 + c).sum() for a, b, c in itertools.permutations(range(3))])
    assert stats.chisquare(counts).pvalue > 1e-4  # uniform, whatever the strengths


def test_absent_entrants_finish_behind_everyone_and_batches_work():
    u = np.array([[0.5, 0.0, -np.inf], [0.0, 1.0, 2.0]])
    orders = sample_orders(u, 500, rng=5, dnf_prob=0.3)
    assert orders.shape == (2, 500, 3)
    assert (orders[0, :, 2] == 2).all()
    dist = position_distribution(orders)
    assert dist.shape == (2, 3, 3)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    assert dist[0, 2, 2] == 1.0


def test_same_seed_same_orders():
    u = np.linspace(1, -1, 20)
    a = sample_orders(u, 100, rng=7, dnf_prob=0.1)
    b = sample_orders(u, 100, rng=7, dnf_prob=0.1)
    assert (a == b).all()


@pytest.mark.parametrize("n_sims", [0, -3, 2.5, True])
def test_bad_simulation_counts_are_rejected(n_sims):
    with pytest.raises(ValueError, match="n_sims"):
        sample_orders(np.zeros(3), n_sims)


def test_bad_strengths_and_retirement_probabilities_are_rejected():
    with pytest.raises(ValueError, match="index"):
        sample_orders(np.array([0.0, np.nan]), 10)
    with pytest.raises(ValueError, match="dnf_prob"):
        sample_orders(np.zeros(3), 10, dnf_prob=[0.1, 1.2, 0.0])
    with pytest.raises(ValueError, match="absent"):
        sample_orders(np.full(2, -np.inf), 10)


# --------------------------------------------------------------------------------------------- metrics
def test_win_log_loss_of_a_uniform_field_is_log_n():
    p = np.full(10, 0.2)
    position = np.array([1, 2, 3, 4, 5, 3, 1, 2, 5, 4])
    race = np.repeat([1, 2], 5)
    assert math.isclose(win_log_loss(p, position, race), math.log(5))


def test_top1_accuracy_counts_races_won_by_the_favourite():
    p = np.array([0.6, 0.3, 0.1, 0.2, 0.5, 0.3])
    position = np.array([1, 2, 3, 1, 2, 3])  # race 1 favourite won, race 2 favourite did not
    race = np.array(["a", "a", "a", "b", "b", "b"])
    assert top1_accuracy(p, position, race) == 0.5


def test_expected_top1_accuracy_is_the_mean_favourite_probability():
    p = np.array([0.6, 0.3, 0.1, 0.2, 0.5, 0.3])
    position = np.array([1, 2, 3, 1, 2, 3])
    race = np.array(["a", "a", "a", "b", "b", "b"])
    assert expected_top1_accuracy(p, position, race) == pytest.approx((0.6 + 0.5) / 2)
    # a tie picks one favourite; its probability is the same either way
    tie = np.array([0.4, 0.4, 0.2])
    assert expected_top1_accuracy(tie, np.array([2, 1, 3]), np.zeros(3)) == pytest.approx(0.4)


def test_expected_top1_matches_realised_when_winners_follow_the_forecasts():
    """Draw each race's winner from the forecast itself: realised top-1 lands within 4 standard errors of the
    expected value; draw it from a sharper truth and the realised accuracy is clearly above it."""
    rng = np.random.default_rng(3)
    n_races, field = 4000, 8
    u = rng.normal(0.0, 1.0, (n_races, field))
    p = np.exp(u) / np.exp(u).sum(axis=1, keepdims=True)
    race = np.repeat(np.arange(n_races), field)

    def positions(probs):
        winner = (probs.cumsum(axis=1) > rng.random((n_races, 1))).argmax(axis=1)
        pos = np.tile(np.arange(2, field + 2, dtype=float), (n_races, 1))
        pos[np.arange(n_races), winner] = 1.0
        return pos.ravel()

    expected = expected_top1_accuracy(p.ravel(), positions(p), race)
    se = np.sqrt(np.sum(p.max(axis=1) * (1 - p.max(axis=1)))) / n_races
    assert abs(top1_accuracy(p.ravel(), positions(p), race) - expected) < 4 * se
    sharp = np.exp(3 * u) / np.exp(3 * u).sum(axis=1, keepdims=True)
    assert top1_accuracy(p.ravel(), positions(sharp), race) > expected + 10 * se


def test_podium_brier_and_win_ece():
    p = np.array([1.0, 1.0, 1.0, 0.0])
    position = np.array([1, 2, 3, 4])
    assert podium_brier(p, position) == 0.0
    assert podium_brier(1 - p, position) == 1.0
    # perfectly calibrated in each bin: 0.25 forecasts, one in four wins
    pw = np.full(8, 0.25)
    pos = np.array([1, 2, 3, 4, 1, 2, 3, 4])
    assert math.isclose(win_ece(pw, pos), 0.0, abs_tol=1e-12)
    assert math.isclose(win_ece(np.array([0.9, 0.1]), np.array([2, 1])), 0.9)


def test_metrics_reject_fields_that_are_not_distributions_or_have_no_single_winner():
    with pytest.raises(ValueError, match="sum to"):
        win_log_loss(np.array([0.5, 0.6]), np.array([1, 2]), np.array([1, 1]))
    with pytest.raises(ValueError, match="position 1"):
        win_log_loss(np.array([0.5, 0.5]), np.array([1, 1]), np.array([1, 1]))
    with pytest.raises(ValueError, match="position row 1"):
        podium_brier(np.array([0.5, 0.5]), np.array([1, np.nan]))
