import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from formguide.core.lines import (
    MARKETS,
    LineMarket,
    expected_profit,
    kelly_stake,
    outcome_probabilities,
    profit_per_unit,
    selection_lines,
    settle,
    settlement_words,
    win_lose,
)
from formguide.core.markets import edge, kelly_fraction

lines_st = st.integers(-40, 40).map(lambda q: q / 4.0)
margins_st = st.integers(-30, 30)


def test_settle_integer_half_and_quarter_lines():
    m = np.array([-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(settle(m, -1.0), [-1, -1, -1, 0, 1])  # whole line pushes on 0
    np.testing.assert_array_equal(settle(m, -0.5), [-1, -1, -1, 1, 1])  # half line never pushes
    np.testing.assert_array_equal(settle(m, -0.75), [-1, -1, -1, 0.5, 1])  # half on -0.5 wins, half on -1 pushes
    np.testing.assert_array_equal(settle(m, -0.25), [-1, -1, -0.5, 1, 1])  # half on 0 pushes, half on -0.5 loses
    np.testing.assert_array_equal(settle(m, 0.25), [-1, -1, 0.5, 1, 1])
    np.testing.assert_array_equal(settle(m, 0.0), [-1, -1, 0, 1, 1])


def test_settle_nan_and_bad_lines():
    assert np.isnan(settle(np.nan, -3.5))
    assert np.isnan(settle(3, np.nan))
    with pytest.raises(ValueError, match="line 0.3 is not a multiple of 0.25"):
        settle(1, 0.3)
    with pytest.raises(ValueError, match=r"line -2\.6"):
        settle([1, 2], [-2.5, -2.6])


def test_profit_and_words():
    s = np.array([1, 0.5, 0, -0.5, -1, np.nan])
    np.testing.assert_allclose(profit_per_unit(s, 1.9), [0.9, 0.45, 0, -0.5, -1, np.nan])
    assert settlement_words(s).tolist() == ["win", "half-win", "push", "half-loss", "loss", ""]


@given(margins_st, lines_st)
def test_quarter_line_is_the_mean_of_its_halves(margin, line):
    if (line * 4) % 2 == 1:  # a quarter line
        assert settle(margin, line) == pytest.approx(0.5 * (settle(margin, line - 0.25) + settle(margin, line + 0.25)))
    else:
        assert settle(margin, line) in (-1.0, 0.0, 1.0)


@given(margins_st, lines_st)
def test_home_and_away_are_symmetric(margin, line):
    assert settle(-margin, -line) == -settle(margin, line)


pmf_st = hnp.arrays(np.float64, 15, elements=st.floats(0.0, 1.0)).filter(lambda a: a.sum() > 1e-6)


@settings(max_examples=60)
@given(pmf_st, st.lists(lines_st, min_size=1, max_size=4))
def test_state_probabilities_sum_to_one_and_half_lines_never_push(pmf, lines):
    values = np.arange(-7, 8)
    d = outcome_probabilities(values, np.stack([pmf, pmf[::-1]]), np.tile(lines, (2, 1)))
    assert d.shape == (2, len(lines), 5)
    np.testing.assert_allclose(d.sum(axis=-1), 1.0, atol=1e-12)
    assert (d >= 0).all()
    half = np.array([(q * 4) % 4 == 2 for q in lines])
    assert (d[:, half, 2] == 0).all()
    quarter = np.array([(q * 4) % 2 == 1 for q in lines])
    assert (d[:, quarter, 2] == 0).all()  # quarter lines split into halves: never a full push
    whole = ~half & ~quarter
    assert (d[:, whole, 1] == 0).all() and (d[:, whole, 3] == 0).all()


@settings(max_examples=60)
@given(pmf_st, lines_st)
def test_state_probabilities_symmetric_and_match_settlement(pmf, line):
    values = np.arange(-7, 8)
    home = outcome_probabilities(values, pmf, line)[0]
    away = outcome_probabilities(-values[::-1], pmf[::-1], -line)[0]
    np.testing.assert_allclose(away, home[::-1], atol=1e-12)
    # expectation of the settlement equals the sum over states
    s = settle(values, line)
    p = pmf / pmf.sum()
    assert float((s * p).sum()) == pytest.approx(float(home @ np.array([1, 0.5, 0, -0.5, -1])), abs=1e-12)


def test_state_probabilities_shapes_and_nan():
    values = np.arange(-2, 3)
    pmf = np.array([[0.1, 0.2, 0.3, 0.2, 0.2], [np.nan] * 5])
    d = outcome_probabilities(values, pmf, np.array([-0.5, 0.0]))
    assert d.shape == (2, 5)
    np.testing.assert_allclose(d[0], [0.4, 0, 0, 0, 0.6])
    assert np.isnan(d[1]).all()
    one = outcome_probabilities(values, pmf[0], np.array([0.0, -1.0]))  # one distribution, two lines
    np.testing.assert_allclose(one, [[0.4, 0, 0.3, 0, 0.3], [0.2, 0, 0.2, 0, 0.6]])
    with pytest.raises(ValueError, match="pmf must be"):
        outcome_probabilities(values, np.ones(4), 0.0)
    with pytest.raises(ValueError, match="line has 3 rows"):
        outcome_probabilities(values, pmf, np.zeros(3))


def test_win_lose_counts_halves_half():
    pw, pl = win_lose(np.array([[0.3, 0.2, 0.1, 0.2, 0.2]]))
    assert pw[0] == pytest.approx(0.4) and pl[0] == pytest.approx(0.3)


def test_expected_profit_and_kelly_with_a_push():
    # p = 0.45 win, 0.15 push, 0.4 lose at 2.1: EV = .45 * 1.1 - .4; f* = (b p - q) / (b (p + q))
    assert float(expected_profit(0.45, 0.40, 2.1)) == pytest.approx(0.45 * 1.1 - 0.40)
    f = (1.1 * 0.45 - 0.40) / (1.1 * 0.85)
    assert float(kelly_stake(0.45, 0.40, 2.1)) == pytest.approx(f)
    # f* maximises expected log growth
    grid = np.linspace(0, 0.5, 50001)
    growth = 0.45 * np.log1p(1.1 * grid) + 0.40 * np.log1p(-grid)
    assert grid[np.argmax(growth)] == pytest.approx(f, abs=1e-4)
    assert float(kelly_stake(0.45, 0.40, 2.1, fraction=0.5, cap=0.05)) == 0.05
    assert float(kelly_stake(0.3, 0.6, 2.1)) == 0.0
    assert float(kelly_stake(0.0, 0.0, 2.1)) == 0.0  # certain push
    assert float(kelly_stake(0.5, 0.4, np.nan)) == 0.0
    with pytest.raises(ValueError, match="kelly fraction"):
        kelly_stake(0.5, 0.5, 2.0, fraction=2.0)


@given(st.floats(0.0, 1.0), st.floats(1.01, 50.0), st.floats(0.01, 1.0))
def test_no_push_reduces_to_fixed_outcome_edge_and_kelly(p, odds, fraction):
    assert float(expected_profit(p, 1.0 - p, odds)) == float(edge(p, odds))
    assert float(kelly_stake(p, 1.0 - p, odds, fraction, 0.05)) == float(kelly_fraction(p, odds, fraction, 0.05))
    assert float(kelly_stake(p, 1.0 - p, odds, fraction)) == pytest.approx(float(kelly_fraction(p, odds, fraction)),
                                                                         rel=1e-12, abs=1e-15)


def test_markets_settle_from_scores():
    spread = MARKETS["spread"].with_line(-3.0)
    np.testing.assert_array_equal(spread.settle([24, 20, 17], [17, 17, 17]), [[1, -1], [0, 0], [-1, 1]])
    total = MARKETS["total"].with_line(47.5)
    np.testing.assert_array_equal(total.settle([30, 20], [20, 20]), [[1, -1], [-1, 1]])
    ml = MARKETS["moneyline"]
    np.testing.assert_array_equal(ml.settle([20, 20, 10], [10, 20, 20]), [[1, -1], [0, 0], [-1, 1]])
    x12 = MARKETS["1x2"]
    np.testing.assert_array_equal(x12.settle([2, 1, 0], [1, 1, 3]), [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    ah = MARKETS["asian_handicap"]
    np.testing.assert_array_equal(ah.settle([1, 2], [0, 0], line=np.array([-0.75, -0.75])), [[0.5, -0.5], [1, -1]])
    np.testing.assert_array_equal(selection_lines("total", [47.5, 44.0]), [[-47.5, 47.5], [-44.0, 44.0]])


def test_market_probabilities_agree_with_settlement():
    values = np.arange(-5, 6)
    rng = np.random.default_rng(3)
    pmf = rng.dirichlet(np.ones(values.size), size=4)
    ah = MARKETS["asian_handicap"].with_line(-0.75)
    d = ah.probabilities(values, pmf)
    assert d.shape == (4, 2, 5)
    for j in range(2):  # expected settlement from the states equals the pmf-weighted settlement per selection
        s = ah.settle(np.maximum(values, 0), np.maximum(-values, 0))[:, j]
        np.testing.assert_allclose(d[:, j] @ np.array([1, 0.5, 0, -0.5, -1]), pmf @ s, atol=1e-12)
    x12 = MARKETS["1x2"].probabilities(values, pmf)
    np.testing.assert_allclose(x12[:, :, 0].sum(axis=1), 1.0)
    np.testing.assert_allclose(x12[:, 1, 0], pmf[:, 5])


def test_line_market_validation():
    with pytest.raises(ValueError, match="needs a line"):
        LineMarket("spread", ("home", "away"), None, "handicap")
    with pytest.raises(ValueError, match="takes no line"):
        LineMarket("moneyline", ("home", "away"), 0.5, "moneyline")
    with pytest.raises(ValueError, match="3 selections"):
        LineMarket("1x2", ("home", "away"), None, "1x2")
    with pytest.raises(ValueError, match="multiple of 0.25"):
        MARKETS["spread"].with_line(-3.1)
