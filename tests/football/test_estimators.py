"""Frame-level football estimators: JSON round trips, probability invariants, and the blend's nested
walk-forward, which must never let a stage learn from a forecast that had already seen its result.

Leakage checks and how they fail
--------------------------------
* Perturbation: every result from day D on is turned around (home and away goals swapped). Every stage's
  prediction for a match before D must be bit-for-bit unchanged. A stacker (or calibrator) fitted in
  sample on all played rows, future included, changes those predictions: the test running that variant
  asserts the check reports it.
* Instrumentation: each ``walk_forward`` fit records the last day it trained on, each prediction the first
  day it predicts; training must end strictly before. A fit that also sees the first day of the period it
  predicts (a same-day leak, invisible to the perturbation check) is reported by the same instrument.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import BLEND_SEASONS, e0_frame

from formguide.core import walkforward
from formguide.core.days import day_numbers
from formguide.core.registry import canonical_json
from formguide.football.features import football_feature_set
from formguide.football.models import estimators
from formguide.football.models.estimators import (
    BlendEstimator,
    DixonColesEstimator,
    EloEstimator,
    estimator_from_dict,
    make_estimator,
    stack_inputs,
)

PERTURB_FROM = pd.Timestamp("2025-01-01")
STAGES = ("base", "stack", "final")
REAL_WALK_FORWARD = walkforward.walk_forward


@pytest.fixture(scope="module")
def data(football_dir):
    frame = e0_frame(football_dir, BLEND_SEASONS)
    X = football_feature_set().build(frame)
    return frame, X


def _capture_fits(mp: pytest.MonkeyPatch) -> dict[str, list]:
    """Record what the blend's stackers and calibrators are fitted on (inputs and outcomes)."""
    seen: dict[str, list] = {"stacker": [], "calibrator": []}
    real_make = estimators._make_stacker

    def make(kind):
        st_ = real_make(kind)
        real_fit = st_.fit

        def fit(Z, y):
            seen["stacker"].append((np.array(Z), np.array(y)))
            return real_fit(Z, y)

        st_.fit = fit
        return st_

    class RecordingCalibrator(estimators.MulticlassCalibrator):
        def fit(self, probs, outcome):
            seen["calibrator"].append((np.array(probs), np.array(outcome)))
            return super().fit(probs, outcome)

    mp.setattr(estimators, "_make_stacker", make)
    mp.setattr(estimators, "MulticlassCalibrator", RecordingCalibrator)
    return seen


@pytest.fixture(scope="module")
def fitted(data):
    frame, X = data
    with pytest.MonkeyPatch.context() as mp:
        seen = _capture_fits(mp)
        blend = BlendEstimator().fit(frame, X)
    return {
        "dixon-coles": DixonColesEstimator().fit(frame),
        "poisson": make_estimator("poisson").fit(frame),
        "elo": EloEstimator().fit(frame, X),
        "blend-logistic": blend,
        "blend-lightgbm": BlendEstimator(stacker="lightgbm", calibration="platt").fit(frame, X),
        "blend-uncalibrated": BlendEstimator(calibration=None).fit(frame, X),
        "_seen": seen,
    }


MODELS = ("dixon-coles", "poisson", "elo", "blend-logistic", "blend-lightgbm", "blend-uncalibrated")


# --------------------------------------------------------------------------------------------------
# Serialisation and probability invariants
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_through_stored_json_predicts_identically(fitted, data, name):
    frame, X = data
    est = fitted[name]
    stored = json.loads(canonical_json(est.to_dict()))  # what the registry keeps and hands back
    loaded = estimator_from_dict(stored)
    assert type(loaded) is type(est) and loaded.model_type == est.model_type == stored["type"]
    np.testing.assert_array_equal(loaded.predict_proba(frame, X), est.predict_proba(frame, X))
    assert canonical_json(loaded.to_dict()) == canonical_json(stored)
    if hasattr(est, "score_matrix"):
        np.testing.assert_array_equal(loaded.score_matrix(frame.tail(20)), est.score_matrix(frame.tail(20)))


@pytest.mark.parametrize("name", MODELS)
def test_probabilities_are_a_distribution_on_every_real_match(fitted, data, name):
    frame, X = data
    p = fitted[name].predict_proba(frame, X)
    assert p.shape == (len(frame), 3) and np.isfinite(p).all()
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)


def test_poisson_is_dixon_coles_without_the_low_score_correction(fitted):
    assert fitted["poisson"].rho is False and fitted["poisson"].to_dict()["type"] == "poisson"
    assert fitted["dixon-coles"].rho is True


def test_unknown_model_types_are_refused():
    with pytest.raises(ValueError, match="unknown football model 'xgb'"):
        make_estimator("xgb")
    with pytest.raises(ValueError, match="unknown stored football model type 'xgb'"):
        estimator_from_dict({"type": "xgb", "params": {}})
    with pytest.raises(ValueError, match="unknown stacker 'forest'"):
        estimators._make_stacker("forest")


@st.composite
def fixtures(draw, teams):
    names = list(teams) + ["Brand New FC", "Another Newcomer"]
    n = draw(st.integers(1, 12))
    home = draw(st.lists(st.sampled_from(names), min_size=n, max_size=n))
    away = draw(st.lists(st.sampled_from(names), min_size=n, max_size=n))
    price = st.one_of(st.just(np.nan), st.floats(1.01, 40.0))
    prices = draw(st.lists(st.tuples(price, price, price), min_size=n, max_size=n))
    elo = draw(st.lists(st.one_of(st.just(np.nan), st.floats(-1500, 1500)), min_size=n, max_size=n))
    return home, away, np.array(prices, dtype=float), np.array(elo, dtype=float)


def _fixture_frame(data, home, away, prices, elo):
    frame, X = data
    rows = frame.tail(len(home)).copy().reset_index(drop=True)
    rows["home_team"], rows["away_team"] = home, away
    for kind in ("open", "close", "best"):
        for j, o in enumerate("HDA"):
            rows[f"odds_{kind}_{o}"] = prices[:, j]
    feats = X.tail(len(home)).copy().reset_index(drop=True)
    feats["elo_diff"] = elo
    return rows, feats


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data())
def test_every_model_gives_a_distribution_for_any_fixture(fitted, data, draw):
    home, away, prices, elo = draw.draw(fixtures(sorted(set(data[0]["home_team"]))))
    rows, feats = _fixture_frame(data, home, away, prices, elo)
    for name in MODELS:
        p = fitted[name].predict_proba(rows, feats)
        assert p.shape == (len(rows), 3) and np.isfinite(p).all() and (p >= 0).all(), name
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9, err_msg=name)
    m = fitted["dixon-coles"].score_matrix(rows)
    assert (m >= 0).all() and np.all(m.sum(axis=(1, 2)) <= 1 + 1e-9) and np.all(m.sum(axis=(1, 2)) > 0.99)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1500, 1500), min_size=2, max_size=30))
def test_elo_home_win_probability_rises_with_the_rating_gap(fitted, diffs):
    elo = fitted["elo"]
    diffs = np.sort(np.asarray(diffs))
    p = elo.predict_proba(None, pd.DataFrame({"elo_diff": diffs}))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.diff(p[:, 0]) >= -1e-12) and np.all(np.diff(p[:, 2]) <= 1e-12)


# --------------------------------------------------------------------------------------------------
# The blend's nested walk-forward: no stage learns from a forecast that had seen its result
# --------------------------------------------------------------------------------------------------


def _turn_around_from(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    out = frame.copy()
    late = out["kickoff"] >= day
    for a, b in (("home_goals", "away_goals"), ("ht_home_goals", "ht_away_goals")):
        out.loc[late, [a, b]] = out.loc[late, [b, a]].to_numpy()
    out.loc[late, "result"] = out.loc[late, "result"].map({"H": "A", "A": "H", "D": "D"})
    return out


def _recording(wf, log: list):
    """A walk_forward that logs (last training day, first predicted day) for every prediction it makes."""

    def recorded(days, trainable, *, fit, predict, **kwargs):
        stage: list[tuple[int, int]] = []
        log.append(stage)

        def fit_(idx):
            return fit(idx), (int(days[idx].max()) if len(idx) else -1)

        def predict_(wrapped, idx):
            model, last_train_day = wrapped
            stage.append((last_train_day, int(days[idx].min())))
            return predict(model, idx)

        return wf(days, trainable, fit=fit_, predict=predict_, **kwargs)

    return recorded


def _same_day_leak(days, trainable, *, fit, **kwargs):
    """Deliberately leaky: each fit also sees the next match day, i.e. the first day it will predict."""

    def fit_(idx):
        last = days[idx].max() if len(idx) else days.min() - 1
        later = days[days > last]
        until = later.min() if later.size else last
        return fit(np.flatnonzero(trainable & (days <= until)))

    return REAL_WALK_FORWARD(days, trainable, fit=fit_, **kwargs)


def _in_sample_after_base(calls: list):
    """Deliberately leaky: the base stage is honest, but stacker and calibrator fit on every played row."""

    def wf(days, trainable, *, fit, **kwargs):
        calls.append(1)
        if len(calls) % 3 == 1:
            return REAL_WALK_FORWARD(days, trainable, fit=fit, **kwargs)
        return REAL_WALK_FORWARD(days, trainable, fit=lambda idx: fit(np.flatnonzero(trainable)), **kwargs)

    return wf


def _staged(frame, X, walk_forward=None) -> dict[str, np.ndarray]:
    with pytest.MonkeyPatch.context() as mp:
        if walk_forward is not None:
            mp.setattr(estimators, "walk_forward", walk_forward)
        return BlendEstimator().staged_predictions(frame, X)


def _changed_before(a: dict, b: dict, before: np.ndarray) -> dict[str, int]:
    """Per stage, how many rows before the perturbation day differ between two staged runs."""
    out = {}
    for stage in STAGES:
        x, y = a[stage][before], b[stage][before]
        same = (np.isnan(x) & np.isnan(y)) | (x == y)
        out[stage] = int((~same.all(axis=1)).sum())
    return out


def _violations(log: list) -> list[tuple[int, int, int]]:
    return [(i, last, first) for i, stage in enumerate(log) for last, first in stage if last >= first]


@pytest.fixture(scope="module")
def staged_runs(data):
    frame, X = data
    perturbed = _turn_around_from(frame, PERTURB_FROM)
    X_perturbed = football_feature_set().build(perturbed)
    log: list = []
    runs = {
        "honest": _staged(frame, X, _recording(REAL_WALK_FORWARD, log)),
        "honest_perturbed": _staged(perturbed, X_perturbed),
    }
    calls: list = []
    runs["leaky"] = _staged(frame, X, _in_sample_after_base(calls))
    runs["leaky_perturbed"] = _staged(perturbed, X_perturbed, _in_sample_after_base(calls))
    before = (frame["kickoff"] < PERTURB_FROM).to_numpy()
    return {"runs": runs, "log": log, "before": before, "X": X, "X_perturbed": X_perturbed}


def test_perturbing_later_results_leaves_every_stage_before_unchanged(staged_runs):
    runs, before = staged_runs["runs"], staged_runs["before"]
    honest, perturbed = runs["honest"], runs["honest_perturbed"]
    # the check is not vacuous: every stage predicts matches before the perturbation day ...
    for stage in STAGES:
        assert (~np.isnan(honest[stage][before]).any(axis=1)).sum() >= 150, stage
    # ... the features before it are untouched, and the perturbation does change what comes after
    pd.testing.assert_frame_equal(staged_runs["X"][before], staged_runs["X_perturbed"][before])
    after = ~before & ~np.isnan(honest["base"]).any(axis=1)
    assert np.abs(honest["base"][after] - perturbed["base"][after]).max() > 0.01
    assert _changed_before(honest, perturbed, before) == {"base": 0, "stack": 0, "final": 0}


def test_the_perturbation_check_catches_an_in_sample_stacker(staged_runs):
    runs, before = staged_runs["runs"], staged_runs["before"]
    changed = _changed_before(runs["leaky"], runs["leaky_perturbed"], before)
    assert changed["base"] == 0  # the base stage was left honest in this variant
    assert changed["stack"] > 100 and changed["final"] > 50


def test_no_stage_trains_on_the_days_it_predicts(staged_runs):
    log = staged_runs["log"]
    assert len(log) == 3 and all(len(stage) > 5 for stage in log)  # base, stacker and calibrator all ran
    assert _violations(log) == []


def test_the_instrument_catches_a_same_day_leak(data):
    frame, X = data
    log: list = []
    _staged(frame, X, _recording(_same_day_leak, log))
    bad = _violations(log)
    assert {stage for stage, _, _ in bad} == {0, 1, 2}
    assert all(last == first for _, last, first in bad)


def test_the_final_stacker_and_calibrator_learn_only_from_out_of_sample_forecasts(fitted, data, staged_runs):
    frame, X = data
    blend = fitted["blend-logistic"]
    honest = staged_runs["runs"]["honest"]
    y = estimators.outcome_index(frame)
    seen = fitted["_seen"]
    Z_final, y_final = seen["stacker"][-1]
    has_base = ~np.isnan(honest["base"]).any(axis=1) & (y >= 0)
    assert Z_final.shape[0] == has_base.sum() == 1140  # 2022/23 to 2024/25: one warm-up season
    np.testing.assert_array_equal(Z_final, honest["Z"][has_base])
    np.testing.assert_array_equal(y_final, y[has_base])
    oos_base = np.log(np.clip(honest["base"][has_base], 1e-6, 1.0))
    np.testing.assert_array_equal(Z_final[:, :3], oos_base)
    # an in-sample base forecast would look different: the check above can tell them apart
    in_sample = stack_inputs(frame[has_base], X[has_base], blend.base_.predict_proba(frame[has_base]),
                             blend.market_method)
    assert np.abs(in_sample[:, :3] - Z_final[:, :3]).max() > 0.05

    p_cal, y_cal = seen["calibrator"][-1]
    has_stack = ~np.isnan(honest["stack"]).any(axis=1) & (y >= 0)
    np.testing.assert_array_equal(p_cal, honest["stack"][has_stack])
    np.testing.assert_array_equal(y_cal, y[has_stack])
    days = day_numbers(frame["kickoff"])
    assert days[has_stack].min() > days[has_base].min()
