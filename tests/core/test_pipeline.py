"""The core's training orchestrator on SQLite and PostgreSQL: runs recorded, fingerprint skips, promotion,
atomic failures, and serving as of a date.

Football is the sport plugged in (found through its entry point, as the CLI finds it); two real Premier
League seasons keep each training to a couple of seconds.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text
from tests.helpers import ingest_e0

from formguide.core import registry, training
from formguide.core.backtest import backtest
from formguide.core.errors import DataValidationError
from formguide.core.jsonio import canonical_json
from formguide.core.serving import serve
from formguide.core.sport import get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import FeatureSetRecord, FeatureValue, ModelRecord, TrainingRun
from formguide.core.walkforward import Cadence

SEASONS = ("2324", "2425")
NAME = "football-E0"
SPORT = get_sport("football")


@pytest.fixture
def store(engine, football_dir):
    ingest_e0(engine, football_dir, SEASONS)
    return engine


def _cfg(model: str = "dixon-coles", **kwargs) -> training.TrainPlan:
    return training.TrainPlan(competition="E0", line=NAME, model_type=model, cadence=SPORT.train_cadence, **kwargs)


def _train(engine, tmp_path, cfg: training.TrainPlan, **kwargs) -> training.TrainOutcome:
    return training.train(engine, SPORT, cfg, artifacts_dir=tmp_path / "artifacts", **kwargs)


def _count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def _runs(engine, run_type: str | None = None) -> list[TrainingRun]:
    with session_scope(engine) as s:
        runs = registry.list_runs(s, model_name=NAME, limit=100)
        for r in runs:
            s.expunge(r)
    return [r for r in runs if run_type is None or r.run_type == run_type]


def _model(engine, model_id: int) -> ModelRecord:
    with session_scope(engine) as s:
        record = s.get(ModelRecord, model_id)
        s.expunge(record)
    return record


def _champion_id(engine) -> int | None:
    with session_scope(engine) as s:
        champ = registry.champion(s, NAME)
        return champ.id if champ else None


def test_train_records_a_succeeded_run_with_its_metrics(store, tmp_path):
    outcome = _train(store, tmp_path, _cfg())
    assert (outcome.status, outcome.version, outcome.promoted) == ("registered", 1, True)
    evaluation = outcome.metrics["evaluation"]

    run = next(r for r in _runs(store, "train") if r.id == outcome.run_id)
    assert run.status == "succeeded" and run.error_message is None and run.completed_at is not None
    assert run.model_id == outcome.model_id
    for key in registry.RUN_METRIC_COLUMNS:
        assert getattr(run, key) == pytest.approx(evaluation["model"][key], rel=1e-12, abs=1e-12)
    assert run.metrics == pytest.approx({k: v for k, v in evaluation["model"].items() if v == v}, rel=1e-12)
    assert (run.headline_metric, run.headline_value) == ("log_loss", pytest.approx(evaluation["model"]["log_loss"]))
    # the evaluation window is the last season, all of it played and priced
    assert run.event_count == evaluation["window"]["n"] == evaluation["model"]["n"] == 380
    assert run.date_from == pd.Timestamp(evaluation["window"]["from"]).to_pydatetime()
    assert run.date_from.year == 2024 and run.date_to.year == 2025
    assert [step["step"] for step in run.logs] == ["validated", "walk-forward evaluation", "fit final model",
                                                   "registered"]

    record = _model(store, outcome.model_id)
    assert record.status == "champion" and record.data_fingerprint == run.data_fingerprint
    assert set(evaluation) >= {"window", "model", "market", "baselines"}
    assert evaluation["market"]["n"] == 380 and set(evaluation["baselines"]) == {"base_rates", "elo"}
    # a working model beats the naive base rates on its own window
    assert evaluation["model"]["log_loss"] < evaluation["baselines"]["base_rates"]["log_loss"]
    assert outcome.metrics["data"]["n_events"] == 760
    assert [r.run_type for r in _runs(store)].count("promotion") == 1

    # the stored parameters load back into a working model
    est = SPORT.model_from_dict(registry.verified_parameters(record))
    frame = SPORT.load_frame(store, ["E0"])
    probs = est.predict_proba(frame.tail(10), SPORT.feature_set().build(frame).tail(10))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)

    # features of every played event stored under the feature-set version the model records
    assert _count(store, FeatureValue) == 760
    with session_scope(store) as s:
        fs_rec = s.scalars(select(FeatureSetRecord)).one()
        assert fs_rec.version == record.feature_set_version == SPORT.feature_set().version
        assert fs_rec.columns == list(SPORT.feature_set().columns)

    card = tmp_path / "artifacts" / "models" / f"{NAME}-v1" / "MODEL_CARD.md"
    assert outcome.card_path == str(card) and card.read_text() == record.model_card
    assert "- Status: champion" in record.model_card  # promoted before the card was written
    assert (card.parent / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(card.parent.parent.glob(".staging-*"))


def test_unchanged_data_and_config_skip_and_force_retrains(store, tmp_path):
    first = _train(store, tmp_path, _cfg())
    again = _train(store, tmp_path, _cfg())
    assert again.status == "skipped" and again.model_id == first.model_id and again.version == 1
    assert "unchanged" in again.message and "--force" in again.message
    skipped = next(r for r in _runs(store, "train") if r.id == again.run_id)
    assert skipped.status == "skipped" and skipped.model_id == first.model_id
    assert skipped.data_fingerprint == _model(store, first.model_id).data_fingerprint
    assert _count(store, ModelRecord) == 1

    forced = _train(store, tmp_path, _cfg(), force=True)
    assert forced.status == "registered" and forced.version == 2
    promotion = forced.metrics["promotion"]
    # the same configuration on the same window scores the same: a refit of the champion replaces it
    assert promotion["candidate"] == pytest.approx(promotion["champion"], rel=1e-12)
    assert promotion["same_configuration"] is True and promotion["promoted"] is True
    assert _champion_id(store) == forced.model_id

    other_config = _train(store, tmp_path, _cfg(params={"xi": 0.002}))
    assert other_config.status == "registered" and other_config.version == 3

    # a corrected result changes the fingerprint: the unchanged configuration trains again
    with store.begin() as conn:
        event_id = conn.execute(text("SELECT event_id FROM results WHERE outcome = 'H' ORDER BY event_id LIMIT 1"))\
            .scalar_one()
        conn.execute(text("UPDATE results SET home_score = home_score + 1 WHERE event_id = :e"), {"e": event_id})
    corrected = _train(store, tmp_path, _cfg())
    assert corrected.status == "registered" and corrected.version == 4
    assert _model(store, corrected.model_id).data_fingerprint != _model(store, first.model_id).data_fingerprint


def test_a_candidate_is_promoted_only_if_it_beats_the_champion_on_its_own_window(store, tmp_path):
    # the champion is evaluated on a shorter window (results from 2025 hidden) than the candidates
    champion = _train(store, tmp_path, _cfg(until=datetime(2025, 1, 1)))
    assert champion.promoted
    assert champion.metrics["data"]["date_to"] < "2025-01-01"
    assert champion.metrics["evaluation"]["window"]["to"] < "2025-01-01"

    weak = _train(store, tmp_path, _cfg(params={"l2": 1e6}))  # ratings shrunk to nothing: near base rates
    elo = _train(store, tmp_path, _cfg("elo"))
    outcomes = [weak, elo]
    champion_now = champion.model_id
    for out in outcomes:
        promo = out.metrics["promotion"]
        assert promo["metric"] == "log_loss"
        assert promo["candidate"] == out.metrics["evaluation"]["model"]["log_loss"]
        assert promo["champion_id"] == champion_now
        assert promo["promoted"] is (promo["candidate"] < promo["champion"])
        assert out.promoted is promo["promoted"]
        if promo["promoted"]:
            champion_now = out.model_id
        assert _champion_id(store) == champion_now
    assert not weak.metrics["promotion"]["promoted"]  # one branch is certain to be exercised
    assert _model(store, weak.model_id).status == "candidate"

    # the champion was scored on the candidate's window (all of 2024/25), not on its own shorter one
    window = weak.metrics["evaluation"]["window"]
    bt = backtest(store, SPORT, "E0", model_type="dixon-coles", date_from=datetime.fromisoformat(window["from"]),
                  date_to=datetime.fromisoformat(window["to"]), cadence=Cadence(period="month"))
    assert bt["model"]["n"] == window["n"] == 380
    assert weak.metrics["promotion"]["champion"] == pytest.approx(bt["model"]["log_loss"], rel=1e-9)
    assert weak.metrics["promotion"]["champion"] != pytest.approx(champion.metrics["evaluation"]["model"]["log_loss"])

    retired = [m for m in (champion.model_id, elo.model_id) if m != champion_now]
    for model_id in retired:
        assert _model(store, model_id).status in ("retired", "candidate")
    promotions = _runs(store, "promotion")
    assert len(promotions) == 1 + int(elo.promoted)


def test_the_promotion_metric_can_be_rps(store, tmp_path):
    _train(store, tmp_path, _cfg(params={"l2": 1e6}))
    better = _train(store, tmp_path, _cfg(promote_metric="rps"))
    promo = better.metrics["promotion"]
    assert promo["metric"] == "rps" and promo["candidate"] == better.metrics["evaluation"]["model"]["rps"]
    assert promo["promoted"] is True and promo["candidate"] < promo["champion"]


def test_a_failing_fit_is_recorded_and_registers_nothing(store, tmp_path, monkeypatch):
    from formguide.football.models import estimators

    def broken_fit(self, frame, X=None):
        raise RuntimeError("boom in fit")

    monkeypatch.setattr(estimators.DixonColesEstimator, "fit", broken_fit)
    with pytest.raises(RuntimeError, match="boom in fit"):
        _train(store, tmp_path, _cfg())
    (run,) = _runs(store)
    assert run.status == "failed" and run.error_message == "RuntimeError: boom in fit"
    assert run.completed_at is not None and run.model_id is None
    assert [step["step"] for step in run.logs] == ["validated", "walk-forward evaluation"]
    for table in (ModelRecord, FeatureValue, FeatureSetRecord):
        assert _count(store, table) == 0


@pytest.mark.parametrize("failing", ["store_features", "promote"])
def test_a_failure_inside_registration_leaves_nothing_half_written(store, tmp_path, monkeypatch, failing):
    weak = _train(store, tmp_path, _cfg(params={"l2": 1e6}))  # a champion the default model will beat
    with session_scope(store) as s:
        features_before = sorted(s.execute(select(FeatureValue.id, FeatureValue.event_id)).all())
    runs_before = len(_runs(store))

    target = training if failing == "store_features" else registry
    real = getattr(target, failing)

    def fail_after(*args, **kwargs):
        real(*args, **kwargs)  # the writes happen, then the process dies before the commit
        raise RuntimeError(f"crash after {failing}")

    monkeypatch.setattr(target, failing, fail_after)
    with pytest.raises(RuntimeError, match=f"crash after {failing}"):
        _train(store, tmp_path, _cfg())

    with session_scope(store) as s:
        models = s.execute(select(ModelRecord.id, ModelRecord.status)).all()
        features_after = sorted(s.execute(select(FeatureValue.id, FeatureValue.event_id)).all())
    assert models == [(weak.model_id, "champion")]
    assert features_after == features_before
    runs = _runs(store)
    assert len(runs) == runs_before + 1
    failed = runs[0]
    assert failed.status == "failed" and failed.error_message == f"RuntimeError: crash after {failing}"
    assert failed.model_id is None
    assert [r.run_type for r in runs].count("promotion") == 1  # only the weak model's own promotion
    folders = sorted(p.name for p in (tmp_path / "artifacts" / "models").iterdir())
    assert folders == [f"{NAME}-v1"]  # no card of the failed version, no staging folder left behind

    monkeypatch.setattr(target, failing, real)
    retry = _train(store, tmp_path, _cfg())  # the failed attempt left no trace that blocks a retry
    assert retry.status == "registered" and retry.version == 2 and retry.promoted


def test_too_little_data_is_a_failed_run_with_a_clear_message(engine, football_dir, tmp_path):
    ingest_e0(engine, football_dir, ("2425",))
    with pytest.raises(DataValidationError, match="at least two seasons"):
        _train(engine, tmp_path, _cfg())
    with pytest.raises(DataValidationError, match="no football events for competition 'SP1'"):
        training.train(engine, SPORT, training.TrainPlan(competition="SP1", line="football-SP1",
                                                         model_type="dixon-coles"), artifacts_dir=tmp_path)
    with pytest.raises(DataValidationError, match="seasons not in the store for E0: 1920"):
        _train(engine, tmp_path, _cfg(seasons=["1920", "2425"]))
    runs = _runs(engine) + [r for r in _all_runs(engine) if r.model_name == "football-SP1"]
    assert sorted(r.status for r in runs) == ["failed"] * 3
    messages = " | ".join(r.error_message for r in runs)
    assert "DataValidationError: training needs at least two seasons" in messages
    assert "DataValidationError: no football events for competition 'SP1'" in messages
    assert _count(engine, ModelRecord) == 0 and _count(engine, FeatureValue) == 0


def _all_runs(engine) -> list[TrainingRun]:
    with session_scope(engine) as s:
        runs = registry.list_runs(s, limit=100)
        for r in runs:
            s.expunge(r)
    return runs


def test_serving_refits_only_when_the_champion_saw_that_date_and_caches_the_refit(store, tmp_path):
    outcome = _train(store, tmp_path, _cfg())
    record = _model(store, outcome.model_id)

    past = serve(store, SPORT, "E0", NAME, datetime(2025, 5, 18))
    assert past.refitted and "2025-05-18" in past.refitted and past.record.id == outcome.model_id
    assert past.refit_source == "fit"
    frame = past.frame
    _, target = SPORT.prediction_window(frame, pd.Timestamp("2025-05-18"), 3, None)
    rows = frame[target]
    assert len(rows) == 8 and rows["kickoff"].min() >= pd.Timestamp("2025-05-18")
    assert rows["kickoff"].max() < pd.Timestamp("2025-05-21")
    # the results of the predicted days are hidden from the frame the refit used
    assert frame.loc[frame["kickoff"] >= pd.Timestamp("2025-05-18"), "home_goals"].isna().all()
    assert frame.loc[frame["kickoff"] < pd.Timestamp("2025-05-18"), "home_goals"].notna().all()
    assert past.estimator.to_dict() != registry.verified_parameters(record)
    # asking again reuses the refit from the fit cache, the same model
    again = serve(store, SPORT, "E0", NAME, datetime(2025, 5, 18))
    assert again.refit_source == "cache"
    assert canonical_json(again.estimator.to_dict()) == canonical_json(past.estimator.to_dict())

    future = serve(store, SPORT, "E0", NAME, datetime(2025, 6, 1))
    assert future.refitted is None
    assert canonical_json(future.estimator.to_dict()) == canonical_json(registry.verified_parameters(record))
