import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import log_loss as sk_log_loss

from formguide.core.metrics import (
    accuracy,
    brier,
    draw_accuracy,
    draw_share_predicted,
    ece,
    log_loss,
    reliability_table,
    rps,
    summarise,
)

P = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
Y = np.array([0, 1])


def test_hand_computed_example():
    # row 0: cum p (.5, .8) vs (1, 1) -> (.25 + .04)/2; row 1: (.2, .5) vs (0, 1) -> (.04 + .25)/2
    assert rps(P, Y) == pytest.approx(0.145)
    # row 0: .25 + .09 + .04 = .38; row 1: .04 + .49 + .25 = .78
    assert brier(P, Y) == pytest.approx(0.58)
    assert log_loss(P, Y) == pytest.approx(-(math.log(0.5) + math.log(0.3)) / 2)
    assert accuracy(P, Y) == pytest.approx(0.5)
    assert draw_accuracy(P, Y) == 0.0
    assert draw_share_predicted(P) == 0.0


def test_rps_is_ordinal():
    # home win; both forecasts give it .5 (same Brier and log loss), but RPS prefers the one whose
    # remaining mass sits on the neighbouring draw rather than the far-away away win
    y = np.array([0])
    near = np.array([[0.5, 0.5, 0.0]])
    far = np.array([[0.5, 0.0, 0.5]])
    assert brier(near, y) == pytest.approx(brier(far, y))
    assert log_loss(near, y) == pytest.approx(log_loss(far, y))
    assert rps(near, y) == pytest.approx(0.125)  # cum (.5, 1) vs (1, 1) -> .25/2
    assert rps(far, y) == pytest.approx(0.25)  # cum (.5, .5) vs (1, 1) -> .5/2
    assert rps(np.array([[0.0, 0.0, 1.0]]), y) == pytest.approx(1.0)


def test_draw_metrics():
    probs = np.array([[0.3, 0.4, 0.3], [0.5, 0.3, 0.2], [0.25, 0.45, 0.3], [0.2, 0.3, 0.5]])
    y = np.array([1, 1, 0, 2])
    assert draw_accuracy(probs, y) == pytest.approx(0.5)  # 2 draws, first called, second not
    assert draw_share_predicted(probs) == pytest.approx(0.5)
    assert math.isnan(draw_accuracy(probs, np.array([0, 0, 2, 2])))
    assert draw_accuracy(probs, y, draw_index=2) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="draw_index"):
        draw_accuracy(probs, y, draw_index=3)


def test_log_loss_clips():
    assert log_loss(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-math.log(1e-15))


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda k: st.tuples(st.just(k), st.lists(st.integers(0, k - 1), min_size=1, max_size=30))
    )
)
def test_perfect_forecast_scores_zero(k_and_y):
    k, y = k_and_y
    y = np.array(y)
    probs = np.eye(k)[y]
    assert rps(probs, y) == 0.0
    assert brier(probs, y) == 0.0
    assert log_loss(probs, y) == pytest.approx(0.0, abs=1e-12)
    assert accuracy(probs, y) == 1.0
    assert ece(probs, y) == 0.0


prob_rows = st.integers(2, 5).flatmap(
    lambda k: hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.just(k)), elements=st.floats(0.01, 1.0))
)


@settings(max_examples=80, deadline=None)
@given(prob_rows, st.data())
def test_metric_ranges_and_sklearn_agreement(weights, data):
    probs = weights / weights.sum(axis=1, keepdims=True)
    n, k = probs.shape
    y = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    assert 0.0 <= rps(probs, y) <= 1.0
    assert 0.0 <= brier(probs, y) <= 2.0
    assert 0.0 <= ece(probs, y) <= 1.0
    assert log_loss(probs, y) == pytest.approx(sk_log_loss(y, probs, labels=list(range(k))), rel=1e-9)


def test_ece_hand_computed():
    # pooled pairs: (.8, hit), (.2, miss), (.8, miss), (.2, hit) -> both bins off by .3
    assert ece(np.array([[0.8, 0.2], [0.8, 0.2]]), np.array([0, 1])) == pytest.approx(0.3)
    # calibrated coin flips
    assert ece(np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 1])) == pytest.approx(0.0)


def test_reliability_table():
    p = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    hit = np.array([0, 1, 0, 1, True])
    t = reliability_table(p, hit, n_bins=10)
    assert t.count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert t.mean_predicted[1] == pytest.approx(0.135)
    assert t.observed_freq[1] == pytest.approx(0.5)
    assert t.observed_freq[9] == pytest.approx(1.0)
    assert np.isnan(t.mean_predicted[2]) and np.isnan(t.observed_freq[2])
    np.testing.assert_allclose(t.bin_edges, np.linspace(0, 1, 11))
    with pytest.raises(ValueError, match="hit row 1"):
        reliability_table([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="probs_for_class row 0"):
        reliability_table([1.2, 0.2], [0, 1])


def test_summarise_keys_and_values():
    s = summarise(P, Y)
    assert list(s) == ["n", "rps", "brier", "log_loss", "accuracy", "draw_accuracy", "ece"]
    assert s["n"] == 2 and isinstance(s["n"], int)
    assert all(isinstance(v, float) for key, v in s.items() if key != "n")
    assert s["rps"] == pytest.approx(0.145) and s["brier"] == pytest.approx(0.58)
    assert s["ece"] == pytest.approx(ece(P, Y))
    two_way = summarise(np.array([[0.6, 0.4], [0.3, 0.7]]), np.array([0, 1]))
    assert math.isnan(two_way["draw_accuracy"])
    assert two_way["accuracy"] == 1.0
    assert math.isnan(summarise(P, Y, draw_index=None)["draw_accuracy"])


def test_outcome_as_integral_floats_is_accepted():
    assert rps(P, np.array([0.0, 1.0])) == pytest.approx(0.145)


@pytest.mark.parametrize(
    ("probs", "outcome", "match"),
    [
        (np.array([[0.5, 0.3, 0.2], [0.5, 0.5, 0.5]]), [0, 1], "row 1 is not a probability"),
        (np.array([[0.5, np.nan, 0.5]]), [0], "row 0"),
        (np.array([0.5, 0.5]), [0], "2-D"),
        (P, [0, 3], "outcome row 1 is 3"),
        (P, [0, -1], "outcome row 1"),
        (P, [0.0, 1.5], "outcome row 1 is not an integer"),
        (P, [0, 1, 2], "2 entries"),
        (P, ["H", "D"], "integer class indices"),
        (np.empty((0, 3)), [], "empty"),
    ],
)
def test_invalid_inputs(probs, outcome, match):
    with pytest.raises(ValueError, match=match):
        rps(probs, np.asarray(outcome))
