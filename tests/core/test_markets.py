import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from formguide.core.markets import (
    METHODS,
    SignalTiers,
    american_to_decimal,
    american_to_fractional,
    decimal_to_american,
    decimal_to_fractional,
    edge,
    fair_odds,
    fractional_to_american,
    fractional_to_decimal,
    implied_probabilities,
    kelly_fraction,
    overround,
    remove_overround,
)

# ------------------------------------------------------------------ conversions


@pytest.mark.parametrize(
    ("frac", "dec"),
    [
        ("5/2", 3.5),
        ("1/2", 1.5),
        ("evens", 2.0),
        ("EVS", 2.0),
        ("1/1", 2.0),
        ("100/30", 1 + 10 / 3),
        ("11-4", 3.75),
    ],
)
def test_fractional_to_decimal(frac, dec):
    assert fractional_to_decimal(frac) == pytest.approx(dec)


@pytest.mark.parametrize(
    ("dec", "frac"), [(3.5, "5/2"), (1.5, "1/2"), (2.0, "1/1"), (1.91, "91/100"), (11.0, "10/1")]
)
def test_decimal_to_fractional(dec, frac):
    assert decimal_to_fractional(dec) == frac


@pytest.mark.parametrize(
    ("am", "dec"), [(150, 2.5), ("+150", 2.5), (-200, 1.5), ("-200", 1.5), (100, 2.0), (-100, 2.0)]
)
def test_american_to_decimal(am, dec):
    assert american_to_decimal(am) == pytest.approx(dec)


@pytest.mark.parametrize(
    ("dec", "am"), [(2.5, 150.0), (1.5, -200.0), (2.0, 100.0), (1.25, -400.0), (11.0, 1000.0)]
)
def test_decimal_to_american(dec, am):
    assert decimal_to_american(dec) == pytest.approx(am)


def test_cross_conversions():
    assert fractional_to_american("5/2") == pytest.approx(250.0)
    assert american_to_fractional(-200) == "1/2"
    assert american_to_fractional("+250") == "5/2"


def test_american_decimal_vectorised_with_nan():
    out = decimal_to_american(np.array([2.5, 1.5, np.nan]))
    np.testing.assert_allclose(out[:2], [150.0, -200.0])
    assert np.isnan(out[2])
    np.testing.assert_allclose(american_to_decimal(np.array([150.0, -200.0])), [2.5, 1.5])


@given(st.floats(1.01, 1000.0))
def test_decimal_american_round_trip(d):
    assert american_to_decimal(decimal_to_american(d)) == pytest.approx(d, rel=1e-12)


@given(st.integers(1, 200), st.integers(1, 200))
def test_fractional_round_trip(num, den):
    text = f"{num}/{den}"
    d = fractional_to_decimal(text)
    assert d == pytest.approx(1 + num / den)
    back = decimal_to_fractional(d)
    n2, d2 = (int(x) for x in back.split("/"))
    assert n2 / d2 == pytest.approx(num / den, rel=1e-9)


@pytest.mark.parametrize("bad", [1.0, 0.5, 0, -3, "abc", float("nan"), float("inf"), None, True])
def test_decimal_invalid(bad):
    with pytest.raises(ValueError, match="decimal odds"):
        decimal_to_fractional(bad)
    with pytest.raises(ValueError, match="decimal odds"):
        decimal_to_american(bad)


@pytest.mark.parametrize("bad", ["5/0", "0/1", "abc", "5/2/1", "x/2", 2.5, "-1/2"])
def test_fractional_invalid(bad):
    with pytest.raises(ValueError, match="fractional odds"):
        fractional_to_decimal(bad)


@pytest.mark.parametrize("bad", [0, 50, -99, "xyz", "", float("nan")])
def test_american_invalid(bad):
    with pytest.raises(ValueError, match="American odds"):
        american_to_decimal(bad)


def test_array_error_names_row_and_column():
    with pytest.raises(ValueError, match=r"row 1, column 2"):
        implied_probabilities([[2.0, 3.0, 4.0], [2.0, 3.0, 1.0]])
    with pytest.raises(ValueError, match="> 1.0"):
        remove_overround([[2.0, 0.0]])
    with pytest.raises(ValueError, match="numeric"):
        implied_probabilities([["a", "b"]])


# ------------------------------------------------------------------ implied probabilities / margin


def test_implied_and_overround():
    np.testing.assert_allclose(implied_probabilities([2.0, 4.0]), [0.5, 0.25])
    assert overround([1.9, 1.9]) == pytest.approx(2 / 1.9 - 1)
    both = overround([[1.9, 1.9], [2.0, np.nan]])
    assert both[0] == pytest.approx(2 / 1.9 - 1) and np.isnan(both[1])


def test_multiplicative_hand_computed():
    pi = np.array([1 / 2.1, 1 / 3.4, 1 / 3.6])
    np.testing.assert_allclose(remove_overround([2.1, 3.4, 3.6], "multiplicative"), pi / pi.sum())


def test_additive_hand_computed_and_clipping():
    pi = np.array([1 / 2.1, 1 / 3.4, 1 / 3.6])
    np.testing.assert_allclose(remove_overround([2.1, 3.4, 3.6], "additive"), pi - (pi.sum() - 1) / 3)
    # long shot at 200 with a 8% book: its share of the margin exceeds 1/200 -> clipped to 0
    p = remove_overround([1.1, 6.0, 200.0], "additive")
    assert p[2] == 0.0
    assert p.sum() == pytest.approx(1.0)
    raw = np.array([1 / 1.1, 1 / 6.0]) - (1 / 1.1 + 1 / 6 + 1 / 200 - 1) / 3
    np.testing.assert_allclose(p[:2], raw / raw.sum())


def test_power_is_a_power_of_implied():
    odds = np.array([[2.1, 3.4, 3.6], [1.3, 5.5, 9.0], [1.8, 2.05, 10.0]])
    p = remove_overround(odds, "power")
    k = np.log(p) / np.log(1 / odds)
    np.testing.assert_allclose(k, k[:, :1].repeat(3, axis=1), rtol=1e-9)
    assert np.all(k[:, 0] > 1)  # over-round books need k > 1


def _shin_fixed_point(odds):
    """Reference scalar implementation of the literature's fixed-point iteration (k >= 3)."""
    pi = 1 / np.asarray(odds, dtype=float)
    b, k, z = pi.sum(), len(pi), 0.0
    for _ in range(10_000):
        z_new = (np.sum(np.sqrt(z**2 + 4 * (1 - z) * pi**2 / b)) - 2) / (k - 2)
        if abs(z_new - z) < 1e-15:
            break
        z = z_new
    return (np.sqrt(z**2 + 4 * (1 - z) * pi**2 / b) - z) / (2 * (1 - z))


@pytest.mark.parametrize(
    "odds", [[2.1, 3.4, 3.6], [1.3, 5.5, 9.0], [1.05, 15.0, 34.0], [2.5, 3.1, 3.0, 12.0]]
)
def test_shin_matches_fixed_point(odds):
    np.testing.assert_allclose(remove_overround(odds, "shin"), _shin_fixed_point(odds), atol=1e-10)


def test_favourite_longshot_adjustment():
    odds = [1.3, 5.5, 9.0]
    mult = remove_overround(odds, "multiplicative")
    for method in ("power", "shin", "additive"):
        p = remove_overround(odds, method)
        assert p[0] > mult[0] and p[2] < mult[2], method


odds_rows = st.integers(2, 6).flatmap(
    lambda k: hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.just(k)),
        elements=st.floats(1.01, 200.0, allow_subnormal=False),
    )
)


@settings(max_examples=150, deadline=None)
@given(odds_rows, st.sampled_from(METHODS))
def test_demargined_rows_sum_to_one(odds, method):
    p = remove_overround(odds, method)
    assert p.shape == odds.shape
    assert np.all(np.isfinite(p))
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(odds_rows, st.sampled_from(METHODS))
def test_demargin_preserves_order_and_is_rowwise(odds, method):
    p = remove_overround(odds, method)
    # a longer price never gets a higher probability
    for row_o, row_p in zip(odds, p, strict=True):
        order = np.argsort(row_o, kind="stable")
        assert np.all(np.diff(row_p[order]) <= 1e-12)
    # vectorised result equals the one-event call
    np.testing.assert_allclose(p[-1], remove_overround(odds[-1], method), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(2, 5), elements=st.floats(0.02, 1.0)),
    st.sampled_from(METHODS),
)
def test_fair_book_is_unchanged(weights, method):
    p = weights / weights.sum()
    np.testing.assert_allclose(remove_overround(1 / p, method), p, atol=1e-9)


def test_nan_rows_are_nan_and_isolated():
    odds = np.array([[2.1, 3.4, 3.6], [np.nan, 3.0, 3.0], [1.3, 5.5, 9.0]])
    for method in METHODS:
        p = remove_overround(odds, method)
        assert np.isnan(p[1]).all()
        np.testing.assert_allclose(p[[0, 2]], remove_overround(odds[[0, 2]], method))


def test_underround_rows_handled():
    odds = [[2.2, 3.9, 4.2]]  # sum(1/odds) < 1, e.g. best prices across books
    assert overround(odds)[0] < 0
    for method in METHODS:
        p = remove_overround(odds, method)[0]
        assert p.sum() == pytest.approx(1.0)
        assert np.all(p > 1 / np.array(odds[0]))  # probabilities move up to fill the book


def test_remove_overround_bad_args():
    with pytest.raises(ValueError, match="unknown margin-removal method"):
        remove_overround([2.0, 2.0], "magic")
    with pytest.raises(ValueError, match="at least 2 outcomes"):
        remove_overround([[2.0]])
    with pytest.raises(ValueError, match="shape"):
        remove_overround(np.full((2, 2, 2), 2.0))


def test_methods_tuple():
    assert METHODS == ("multiplicative", "additive", "power", "shin")


# ------------------------------------------------------------------ value


def test_fair_odds_and_edge():
    assert fair_odds(0.25) == pytest.approx(4.0)
    assert math.isinf(fair_odds(0.0))
    np.testing.assert_allclose(fair_odds([0.5, 0.2]), [2.0, 5.0])
    assert edge(0.5, 2.5) == pytest.approx(0.25)
    np.testing.assert_allclose(edge([0.5, 0.3], [2.5, 3.0]), [0.25, -0.1])
    assert np.isnan(edge([0.5], [np.nan])[0])
    with pytest.raises(ValueError):
        fair_odds(1.5)


def test_kelly_hand_computed():
    assert kelly_fraction(0.5, 2.5) == pytest.approx(0.25 / 1.5)
    assert kelly_fraction(0.5, 2.5, fraction=0.5) == pytest.approx(0.25 / 3.0)
    assert kelly_fraction(0.5, 2.5, fraction=0.5, cap=0.05) == pytest.approx(0.05)
    assert kelly_fraction(0.3, 3.0) == 0.0
    np.testing.assert_allclose(kelly_fraction([0.5, 0.3, 0.6], [2.5, 3.0, np.nan]), [0.25 / 1.5, 0.0, 0.0])
    with pytest.raises(ValueError, match="fraction"):
        kelly_fraction(0.5, 2.5, fraction=1.5)
    with pytest.raises(ValueError, match="cap"):
        kelly_fraction(0.5, 2.5, cap=-0.1)


@given(st.floats(0.0, 1.0), st.floats(1.01, 100.0), st.floats(0.0, 1.0), st.none() | st.floats(0.0, 1.0))
def test_kelly_properties(p, odds, fraction, cap):
    f = kelly_fraction(p, odds, fraction=fraction, cap=cap)
    assert 0.0 <= f <= 1.0
    if p * odds - 1 <= 0:
        assert f == 0.0
    if cap is not None:
        assert f <= cap


@given(st.floats(0.05, 0.95), st.floats(1.05, 20.0))
def test_full_kelly_maximises_log_growth(p, odds):
    f_star = kelly_fraction(p, odds)
    grid = np.linspace(0.0, 0.999, 2001)
    growth = p * np.log1p(grid * (odds - 1)) + (1 - p) * np.log1p(-grid)
    g_star = p * np.log1p(f_star * (odds - 1)) + (1 - p) * np.log1p(-f_star)
    assert g_star >= growth.max() - 1e-9


def test_signal_tiers():
    tiers = SignalTiers()
    out = tiers.tier([0.25, 0.10, 0.0999, 0.05, 0.02, 0.0199, -0.3, np.nan])
    assert out.tolist() == ["A", "A", "B", "B", "C", "D", "D", "D"]
    assert tiers.tier(0.07) == "B"
    custom = SignalTiers(a=0.2, b=0.1, c=0.0)
    assert custom.tier([0.15, 0.0, -0.01]).tolist() == ["B", "C", "D"]
    with pytest.raises(ValueError, match="a >= b >= c"):
        SignalTiers(a=0.01, b=0.05, c=0.02)
