"""Markets derived from score matrices: invariants (hypothesis) and hand-checked settlements."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from formguide.football.models import score_markets as sm


def _normalised(raw: np.ndarray) -> np.ndarray:
    m = raw + 1e-12
    return m / m.sum(axis=(1, 2), keepdims=True)


score_batches = st.integers(1, 4).flatmap(
    lambda n: st.integers(1, 7).flatmap(
        lambda g: arrays(np.float64, (n, g, g + 1), elements=st.floats(0, 1, allow_nan=False))
    )
).map(_normalised)

quarter_lines = st.integers(-16, 16).map(lambda k: k / 4)


def _point_mass(home: int, away: int, size: int = 8) -> np.ndarray:
    m = np.zeros((1, size, size))
    m[0, home, away] = 1.0
    return m


@settings(max_examples=60, deadline=None)
@given(score_batches)
def test_1x2_sums_to_one_and_matches_triangles(m):
    p = sm.probs_1x2(m)
    assert p.shape == (m.shape[0], 3)
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    i, j = np.indices(m.shape[1:])
    np.testing.assert_allclose(p[:, 0], (m * (i > j)).sum(axis=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(p[:, 1], (m * (i == j)).sum(axis=(1, 2)), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(score_batches, st.integers(0, 8))
def test_over_plus_under_is_one(m, k):
    ou = sm.over_under(m, k + 0.5)
    np.testing.assert_allclose(ou.sum(axis=1), 1.0, atol=1e-12)
    i, j = np.indices(m.shape[1:])
    np.testing.assert_allclose(ou[:, 0], (m * (i + j > k)).sum(axis=(1, 2)), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(score_batches, quarter_lines)
def test_asian_tables_sum_to_one_and_effective_probs_pair_up(m, line):
    for table in (sm.asian_handicap(m, line), sm.asian_total(m, abs(line))):
        assert table.shape == (m.shape[0], 5)
        assert (table >= -1e-15).all()
        np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-12)
        eff = sm.effective_probs(table)
        ok = ~np.isnan(eff[:, 0])
        np.testing.assert_allclose(eff[ok].sum(axis=1), 1.0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(score_batches, quarter_lines)
def test_asian_handicap_matches_brute_force(m, line):
    def settle(margin: float) -> float:  # stake return per unit, win counted as +1
        return float(np.sign(margin))

    expected = np.zeros((m.shape[0], 5))
    for i in range(m.shape[1]):
        for j in range(m.shape[2]):
            if (line * 4) % 2 == 1:
                s = settle(i - j + line - 0.25) + settle(i - j + line + 0.25)
            else:
                s = 2 * settle(i - j + line)
            expected[:, int(2 - s)] += m[:, i, j]
    np.testing.assert_allclose(sm.asian_handicap(m, line), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("line", "outcome"),
    [(-0.25, "win"), (-0.5, "win"), (-0.75, "half_win"), (-1.0, "push"), (-1.25, "half_loss"),
     (-1.5, "loss"), (0.0, "win")],
)
def test_asian_handicap_one_goal_home_win(line, outcome):
    table = sm.asian_handicap(_point_mass(2, 1), line)
    assert table[0, sm.AH_OUTCOMES.index(outcome)] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("line", "outcome"),
    [(1.75, "half_win"), (2.0, "push"), (2.25, "half_loss"), (2.5, "loss"), (1.5, "win"), (1.25, "win")],
)
def test_asian_total_two_goals(line, outcome):
    table = sm.asian_total(_point_mass(1, 1), line)
    assert table[0, sm.AH_OUTCOMES.index(outcome)] == pytest.approx(1.0)


def test_effective_probs_of_half_win_line():
    # 50% win outright, 50% half-win for home: home never loses, away never wins
    table = np.array([[0.5, 0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.5]])
    eff = sm.effective_probs(table)
    np.testing.assert_allclose(eff, [[1.0, 0.0], [0.0, 1.0]])
    # half win + half loss halves: gain 0.25 vs loss 0.25
    np.testing.assert_allclose(sm.effective_probs([[0, 0.5, 0, 0.5, 0]]), [[0.5, 0.5]])
    assert np.isnan(sm.effective_probs([[0, 0, 1.0, 0, 0]])).all()


def test_btts_and_correct_score():
    m = np.zeros((1, 4, 4))
    m[0, 1, 1], m[0, 2, 0], m[0, 0, 0], m[0, 3, 2] = 0.4, 0.3, 0.2, 0.1
    np.testing.assert_allclose(sm.btts(m), [[0.5, 0.5]])
    scores, probs = sm.correct_score(m, top=3)
    assert scores.tolist() == [[[1, 1], [2, 0], [0, 0]]]
    np.testing.assert_allclose(probs, [[0.4, 0.3, 0.2]])


def test_single_matrix_is_a_batch_of_one():
    m = _point_mass(0, 2)[0]
    np.testing.assert_allclose(sm.probs_1x2(m), [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: sm.over_under(m, 2.0), "half line"),
        (lambda m: sm.asian_handicap(m, 0.3), "multiple of 0.25"),
        (lambda m: sm.asian_total(m, -0.5), "non-negative"),
        (lambda m: sm.correct_score(m, top=0), "top must be"),
        (lambda m: sm.probs_1x2(-m), "negative"),
        (lambda m: sm.probs_1x2(m[0, 0]), "shape"),
        (lambda m: sm.probs_1x2(m * np.nan), "NaN"),
        (lambda m: sm.effective_probs(np.ones((2, 4))), r"\(n, 5\)"),
    ],
)
def test_bad_inputs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call(_point_mass(1, 0))
