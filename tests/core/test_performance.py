"""core.performance: per-event scores, chunks, the mean ± 3σ band from the walk-forward reference, the alert state,
and the reference re-run from a stored model (on a real E0 store: it scores what training scored)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import ingest_e0

from formguide.core import metrics, performance, training
from formguide.core.sport import get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import ModelRecord


def _forecasts(probs: np.ndarray, outcome: np.ndarray) -> performance.Forecasts:
    times = pd.date_range("2024-01-01", periods=len(outcome), freq="D").to_numpy()
    return performance.Forecasts(probs, outcome.astype(np.intp), times)


def _simulate(n: int, seed: int, *, skill: float = 1.0) -> performance.Forecasts:
    """Events drawn from known three-way probabilities; the forecaster says ``skill`` x the truth + the rest flat
    (1: calibrated; 0: always a third each); a negative skill is a broken model."""
    rng = np.random.default_rng(seed)
    truth = rng.dirichlet([4.0, 2.5, 3.0], size=n)
    outcome = (rng.random(n)[:, None] > np.cumsum(truth, axis=1)).sum(axis=1)
    probs = np.clip(skill * truth + (1 - skill) / 3, 0.01, None)
    return _forecasts(probs / probs.sum(axis=1, keepdims=True), outcome)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(2, 5), st.integers(0, 10_000))
def test_event_scores_average_to_core_metrics(n, k, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k), size=n)
    outcome = rng.integers(0, k, size=n)
    scores = performance.event_scores(probs, outcome)
    assert scores["brier"].mean() == pytest.approx(metrics.brier(probs, outcome))
    assert scores["log_loss"].mean() == pytest.approx(metrics.log_loss(probs, outcome))
    assert scores["rps"].mean() == pytest.approx(metrics.rps(probs, outcome))


def test_chunks_are_consecutive_and_the_rest_is_pending():
    f = _simulate(125, 1)
    chunks = performance.chunk_scores(f, 50)
    assert chunks.count == 2 and chunks.n == [50, 50] and chunks.pending == 25
    assert chunks.values["brier"][1] == pytest.approx(metrics.brier(f.probs[50:100], f.outcome[50:100]))
    assert chunks.first[1] == pd.Timestamp(f.times[50]).isoformat()
    assert chunks.last[0] == pd.Timestamp(f.times[49]).isoformat()
    with pytest.raises(ValueError, match="chunk_size"):
        performance.chunk_scores(f, 1)


def test_band_is_mean_plus_minus_three_sd_of_reference_chunks():
    ref = _simulate(1000, 2)
    band = performance.bands(performance.chunk_scores(ref, 50))
    values = np.asarray(performance.chunk_scores(ref, 50).values["log_loss"])
    assert band["log_loss"].n_chunks == 20
    assert band["log_loss"].upper == pytest.approx(values.mean() + 3 * values.std(ddof=1))
    assert band["log_loss"].lower == pytest.approx(values.mean() - 3 * values.std(ddof=1))


def test_same_model_stays_in_band_and_a_broken_one_alerts():
    ref = _simulate(1000, 3)
    same = performance.performance_report(_simulate(2000, 4), ref, chunk_size=50)
    assert same.state == "ok", same.message
    outside = [p != "in" for chunk in same.position for p in chunk.values()]
    assert len(outside) == 120 and np.mean(outside) < 0.05  # chance alone leaves a 3-sigma band rarely
    broken = performance.performance_report(_simulate(200, 5, skill=-0.9), ref, chunk_size=50)
    assert broken.state == "alert"
    assert broken.position[-1]["log_loss"] == "above" and "log_loss above" in broken.message


def test_states_without_enough_reference_or_results():
    ref = _simulate(80, 6)
    assert performance.performance_report(_simulate(200, 7), ref, chunk_size=50).state == "no_reference"
    few = performance.performance_report(_simulate(30, 8), _simulate(500, 9), chunk_size=50)
    assert few.state == "no_results" and few.current.pending == 30 and "30 stored predictions" in few.message


@pytest.fixture
def e0_model(engine, football_dir, tmp_path):
    """Two real E0 seasons and a Dixon-Coles champion evaluated walk-forward on the second."""
    ingest_e0(engine, football_dir, ("2324", "2425"))
    sport = get_sport("football")
    plan = training.TrainPlan(competition="E0", line="football-E0", model_type="dixon-coles",
                              cadence=sport.train_cadence)
    out = training.train(engine, sport, plan, artifacts_dir=tmp_path / "artifacts")
    with session_scope(engine) as s:
        record = s.get(ModelRecord, out.model_id)
        s.expunge(record)
    return sport, record


def test_walk_forward_reference_scores_what_training_scored(engine, e0_model):
    sport, record = e0_model
    ref = performance.walk_forward_reference(engine, sport, record)
    stored = record.metrics["evaluation"]["model"]
    assert len(ref) == stored["n"] == record.metrics["evaluation"]["window"]["n"]
    for m in performance.METRICS:
        assert performance.event_scores(ref.probs, ref.outcome)[m].mean() == pytest.approx(stored[m], rel=1e-9)
    assert np.all(np.diff(ref.times.astype("datetime64[ns]").astype(np.int64)) >= 0)


def test_scored_predictions_keep_played_events_in_order(engine, e0_model):
    sport, _ = e0_model
    frame = sport.load_frame(engine, ["E0"])
    played = frame[sport.trainable(frame)]
    last, first = played.iloc[-1], played.iloc[0]
    rows = [(int(last.event_id), {"H": 0.5, "D": 0.3, "A": 0.2}, None),
            (int(first.event_id), {"H": 0.2, "D": 0.3, "A": 0.5}, None),
            (10**9, {"H": 0.4, "D": 0.3, "A": 0.3}, None)]  # an event the store lacks is left out
    f = performance.scored_predictions(sport, frame, rows)
    assert list(f.event_ids) == [int(first.event_id), int(last.event_id)]
    assert f.outcome.tolist() == sport.outcome(played.iloc[[0, -1]]).tolist()
    assert f.probs[0].tolist() == [0.2, 0.3, 0.5]


def test_a_sport_not_of_the_match_shape_is_not_scored():
    f1 = get_sport("f1")
    assert "not a match sport" in performance.scored_predictions(f1, pd.DataFrame(), [])
    assert "not a match sport" in performance.walk_forward_reference(None, f1, None)
