"""core.drift: PSI and Jensen–Shannon on fixed bins, states by the 0.1/0.25 thresholds, permutation calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from formguide.core import drift

finite = st.floats(-1e6, 1e6, allow_nan=False)
samples = arrays(np.float64, st.integers(1, 80), elements=st.one_of(finite, st.just(np.nan)))


def _shares(ref: np.ndarray, cur: np.ndarray, max_categories: int = drift.MAX_CATEGORIES):
    b = drift.binning(pd.Series(ref), max_categories=max_categories)
    return drift.shares(b.assign(pd.Series(ref)), b.n_bins), drift.shares(b.assign(pd.Series(cur)), b.n_bins)


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_psi_is_non_negative_and_js_in_unit_interval_and_symmetric(ref, cur):
    p, q = _shares(ref, cur)
    assert drift.psi(p, q) >= 0
    js = drift.js_distance(p, q)
    assert 0.0 <= js <= 1.0
    assert drift.js_distance(q, p) == pytest.approx(js, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(samples)
def test_identical_samples_have_zero_psi_and_js(ref):
    p, q = _shares(ref, ref.copy())
    assert drift.psi(p, q) == 0.0
    assert drift.js_distance(p, q) == pytest.approx(0.0, abs=1e-7)


def test_disjoint_samples_reach_js_one():
    p, q = _shares(np.zeros(50), np.ones(50))
    assert drift.js_distance(p, q) == pytest.approx(1.0)
    assert drift.psi(p, q) > drift.ALERT


def test_bins_are_fixed_by_the_reference_with_open_ends_and_a_missing_bin():
    ref = pd.Series(np.arange(100, dtype=float))
    b = drift.binning(ref)
    assert b.kind == "quantile" and b.n_bins == 11 and len(b.edges) == 9
    idx = b.assign(pd.Series([-1e9, 0.0, 50.0, 1e9, np.nan]))
    assert idx.tolist() == [0, 0, 5, 9, 10]  # below and above the reference's range land in the end bins
    cats = drift.binning(pd.Series([True, False, True]))
    assert cats.kind == "categorical" and cats.n_bins == 4
    assert cats.assign(pd.Series([True, False, None])).tolist() == [0, 1, 3]
    small = drift.binning(pd.Series([0.0, 1.0, 2.0, 1.0]))  # few distinct numeric values: by value
    assert small.kind == "categorical" and small.assign(pd.Series([7.0])).tolist() == [3]  # unseen value bin


def test_empty_bins_use_the_documented_epsilon():
    p, q = np.array([1.0, 0.0]), np.array([0.5, 0.5])
    expected = (0.5 - 1.0) * np.log(0.5 / 1.0) + (0.5 - drift.EPS) * np.log(0.5 / drift.EPS)
    assert drift.psi(p, q) == pytest.approx(expected)


def test_shifted_feature_alerts_and_unchanged_one_does_not():
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"shifted": rng.normal(size=4000), "same": rng.normal(size=4000),
                        "flag": rng.random(4000) < 0.3})
    cur = pd.DataFrame({"shifted": rng.normal(0.8, 1.0, size=400), "same": rng.normal(size=400),
                        "flag": rng.random(400) < 0.3})
    table = drift.drift_table(ref, cur, permutations=200)
    assert table["shifted"].state == "alert" and table["shifted"].psi > drift.ALERT
    assert table["shifted"].p_value == pytest.approx(1 / 201)
    for name in ("same", "flag"):
        assert table[name].state == "ok", table[name]
        assert table[name].p_value > 0.01
    assert table["same"].n_ref == 4000 and table["same"].n_cur == 400
    # with 4000 vs 400 rows the fixed thresholds almost never fire on unchanged data
    assert table["same"].false_alarm_warn < 0.05 and table["same"].false_alarm_alert == 0.0


def test_false_alarm_rate_is_high_for_a_tiny_current_sample():
    """The fixed 0.1 threshold on 15 rows of unchanged data fires most of the time: the calibration says so."""
    rng = np.random.default_rng(3)
    out = drift.permutation_calibration(pd.Series(rng.normal(size=3000)), pd.Series(rng.normal(size=15)))
    assert out["false_alarm_warn"] > 0.5
    assert 0 < out["p_value"] <= 1


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_permutation_bins_match_the_observed_bins_on_the_identity_shuffle(ref, cur):
    """The vectorised permutation path bins a shuffle exactly as the observed path bins the data."""
    x = np.concatenate([ref, cur])
    perms = np.arange(x.size)[None, :]
    for kind in (0, drift.MAX_CATEGORIES):
        b = drift.binning(pd.Series(ref), max_categories=kind)
        p, q = _shares(ref, cur, max_categories=kind)
        pp, qq = drift._permuted_shares(pd.Series(x), b, ref.size, perms, drift.N_BINS)
        assert drift.psi(pp[0], qq[0]) == pytest.approx(drift.psi(p, q), rel=1e-9, abs=1e-12)


def test_calibration_is_seeded_and_vectorised_over_shuffles():
    rng = np.random.default_rng(1)
    ref, cur = pd.Series(rng.normal(size=500)), pd.Series(rng.normal(size=50))
    a = drift.permutation_calibration(ref, cur, permutations=50, seed=11)
    assert a == drift.permutation_calibration(ref, cur, permutations=50, seed=11)
    with pytest.raises(ValueError, match="permutations"):
        drift.permutation_calibration(ref, cur, permutations=0)


def test_drift_table_refuses_missing_columns_and_empty_samples():
    ref = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="lack feature columns: a"):
        drift.drift_table(ref, pd.DataFrame({"b": [1.0]}))
    with pytest.raises(ValueError, match="rows on both sides"):
        drift.drift_table(ref, ref.iloc[:0])
