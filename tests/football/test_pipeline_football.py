"""Football through the whole pipeline: training/serving feature parity via the store and the CLI, no
look-ahead when predicting a past date, and the blend trained, compared, promoted and served."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text
from tests.helpers import BLEND_SEASONS, E0_SEASONS, e0_files, ingest_e0, run_cli

from formguide.core import registry
from formguide.core.backtest import backtest
from formguide.core.options import PredictBettingOptions
from formguide.core.serving import serve
from formguide.core.sport import get_sport
from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import FeatureSetRecord, FeatureValue, ModelRecord, Prediction
from formguide.core.training import TrainPlan, train
from formguide.core.walkforward import Cadence

SPORT = get_sport("football")
LINE = "football-E0"


def _plan(model: str = "dixon-coles", **params) -> TrainPlan:
    return TrainPlan("E0", LINE, model, params=params, cadence=SPORT.train_cadence)


def predict_fixtures(engine, as_of: datetime, days: int = 7) -> tuple[list[dict], object]:
    """The prediction rows a user reads for ``[as_of, as_of + days)``, and the served model."""
    served = serve(engine, SPORT, "E0", LINE, as_of)
    _, target = SPORT.prediction_window(served.frame, pd.Timestamp(as_of), days, PredictBettingOptions())
    return SPORT.predictions(served, target, PredictBettingOptions()).events, served

# Kick-off days of the parity check: the season opener, Boxing Day and New Year (several matches on one
# day, so a same-day result leaking into another match's features would show), and the final day.
PARITY_DAYS = ("2024-08-16", "2024-12-26", "2024-12-29", "2025-05-25")


def _same(a: float | None, b: float | None) -> bool:
    a = np.nan if a is None else float(a)
    b = np.nan if b is None else float(b)
    return (np.isnan(a) and np.isnan(b)) or a == b


def test_served_features_equal_the_rows_training_stored(db_url, football_dir, tmp_path, capsys):
    files = e0_files(football_dir, E0_SEASONS)
    assert run_cli(["ingest", "football", *files, "--db", db_url], capsys).code == 0
    engine = open_store(db_url)
    try:
        frame = SPORT.load_frame(engine, ["E0"])
        days = frame["kickoff"].dt.normalize()
        chosen = frame[days.isin(pd.to_datetime(PARITY_DAYS))]
        assert len(chosen) >= 25
        # one Boxing Day match loses every price, so parity is also checked where market features are missing
        no_odds = int(chosen.loc[days[chosen.index] == pd.Timestamp("2024-12-26"), "event_id"].iloc[0])
        with engine.begin() as conn:
            assert conn.execute(text("DELETE FROM odds WHERE event_id = :e"), {"e": no_odds}).rowcount > 0

        train = run_cli(["train", "--league", "E0", "--db", db_url], capsys, cwd=tmp_path)
        assert train.code == 0, train.text
        with session_scope(engine) as s:
            champ = registry.champion(s, "football-E0")
            fs_rec = s.scalars(select(FeatureSetRecord).where(
                FeatureSetRecord.version == champ.feature_set_version)).one()
            stored = {eid: vals for eid, vals in s.execute(
                select(FeatureValue.event_id, FeatureValue.values).where(FeatureValue.feature_set_id == fs_rec.id))}
            options = (champ.config or {}).get("feature_options") or {}
        full = SPORT.load_frame(engine, ["E0"])
        fs = SPORT.feature_set(**options)
        built = fs.build(full).set_axis(full["event_id"].to_numpy())
        columns = list(fs.columns)
        assert fs_rec.columns == columns and len(stored) == len(full)

        checked = 0
        for day in PARITY_DAYS:
            ctx = serve(engine, SPORT, "E0", LINE, datetime.fromisoformat(day))
            assert ctx.feature_set_version == champ.feature_set_version
            served = ctx.X.set_axis(ctx.frame["event_id"].to_numpy())
            _, target = SPORT.prediction_window(ctx.frame, pd.Timestamp(day), 1, PredictBettingOptions())
            targets = ctx.frame.loc[target, "event_id"].to_numpy()
            assert set(targets) == set(chosen.loc[days[chosen.index] == pd.Timestamp(day), "event_id"])
            for eid in targets:
                row = served.loc[eid]
                diffs = {c: (stored[eid].get(c), row[c]) for c in columns if not _same(stored[eid].get(c), row[c])}
                assert not diffs, f"event {eid} on {day}: stored training row vs served row differ: {diffs}"
                diffs = {c: (built.at[eid, c], row[c]) for c in columns if not _same(built.at[eid, c], row[c])}
                assert not diffs, f"event {eid} on {day}: fs.build row vs served row differ: {diffs}"
                has_close = not np.isnan(row["mkt_close_H"])
                assert has_close is bool(eid != no_odds)
                checked += 1
        assert checked == len(chosen)

        # the CLI serves those same fixtures and records which model and feature set produced them
        pred = run_cli(["predict", "--league", "E0", "--date", "2024-12-26", "--days", "1", "--db", db_url,
                        "--json", "-"], capsys)
        assert pred.code == 0, pred.text
        with session_scope(engine) as s:
            rows = s.execute(select(Prediction.event_id, Prediction.model_id, Prediction.feature_set_version,
                                    Prediction.market, Prediction.line, Prediction.entry_id)).all()
        assert {r.event_id for r in rows} == set(chosen.loc[days[chosen.index] == pd.Timestamp("2024-12-26"),
                                                             "event_id"])
        assert {(r.model_id, r.feature_set_version) for r in rows} == {(champ.id, champ.feature_set_version)}
        # one row per event and market: the 1X2, the over/under 2.5 goals and the Asian handicap (at the event's
        # own line) the score matrix prices
        assert {(r.market, r.line, r.entry_id) for r in rows if r.market != "asian_handicap"} == {
            ("1x2", None, 0), ("total", 2.5, 0)}
        per_event = pd.Series([(r.event_id, r.market) for r in rows]).value_counts()
        assert (per_event == 1).all() and len(per_event) == 3 * len({r.event_id for r in rows})
    finally:
        engine.dispose()


def _swap_results_from(engine, day: str) -> int:
    """Turn every result on or after ``day`` around (home and away goals swapped): a different future."""
    with engine.begin() as conn:
        ids = conn.execute(text("SELECT id FROM events WHERE kickoff >= :d"), {"d": datetime.fromisoformat(day)})\
            .scalars().all()
        conn.execute(text(
            "UPDATE results SET home_score = away_score, away_score = home_score, "
            "ht_home_score = ht_away_score, ht_away_score = ht_home_score, "
            "outcome = CASE outcome WHEN 'H' THEN 'A' WHEN 'A' THEN 'H' ELSE outcome END "
            "WHERE event_id IN (SELECT id FROM events WHERE kickoff >= :d)"), {"d": datetime.fromisoformat(day)})
    return len(ids)


def test_predicting_a_past_date_does_not_see_results_from_that_date_on(football_dir, tmp_path):
    """Two stores that agree up to 2025-04-01 and disagree after it: their champions differ (each saw its
    own later results), yet predictions as of 2025-04-01 must be identical."""
    as_of = datetime(2025, 4, 1)
    outputs, params = [], []
    for name, alter in (("real", False), ("altered", True)):
        engine = open_store(f"sqlite:///{tmp_path / name}.sqlite")
        ingest_e0(engine, football_dir, E0_SEASONS)
        if alter:
            assert _swap_results_from(engine, "2025-04-01") > 50
        out = train(engine, SPORT, _plan(), artifacts_dir=tmp_path / name)
        with session_scope(engine) as s:
            params.append(registry.verified_parameters(s.get(ModelRecord, out.model_id)))
        events, served = predict_fixtures(engine, as_of, days=10)
        assert served.refitted
        outputs.append(events)
        engine.dispose()
    assert params[0] != params[1]  # the champions did learn from their different futures
    real, altered = outputs
    assert len(real) >= 10
    assert [r["event_id"] for r in real] == [r["event_id"] for r in altered]
    for a, b in zip(real, altered, strict=True):
        assert a["probabilities"] == b["probabilities"], (a["home_team"], a["away_team"])
        assert a["market_prices"] == b["market_prices"]
    # the results shown beside the predictions are the store's own, so they do differ where a side won
    assert any(a["actual"] != b["actual"] for a, b in zip(real, altered, strict=True))


# --------------------------------------------------------------------------------------------------
# The blend on four seasons, trained once for the module
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blend_store(tmp_path_factory, football_dir):
    tmp = tmp_path_factory.mktemp("blend")
    engine = open_store(f"sqlite:///{tmp / 'store.sqlite'}")
    ingest_e0(engine, football_dir, BLEND_SEASONS)
    dc = train(engine, SPORT, _plan(), artifacts_dir=tmp)
    blend = train(engine, SPORT, _plan("blend", stacker="logistic"), artifacts_dir=tmp)
    yield engine, dc, blend
    engine.dispose()


def test_the_blend_is_compared_with_the_champion_on_the_events_it_predicted(blend_store):
    engine, dc, blend = blend_store
    assert dc.promoted
    window = blend.metrics["evaluation"]["window"]
    # the calibrated blend only starts predicting once its stacker and calibrator have out-of-sample history
    assert window["n"] == blend.metrics["evaluation"]["model"]["n"] == 380
    assert window["from"] > dc.metrics["evaluation"]["window"]["from"]
    promo = blend.metrics["promotion"]
    assert promo["champion_id"] == dc.model_id
    # the champion's score must come from exactly the candidate's events
    bt = backtest(engine, SPORT, "E0", model_type="dixon-coles", cadence=Cadence(period="month"),
                  date_from=datetime.fromisoformat(window["from"]), date_to=datetime.fromisoformat(window["to"]))
    assert bt["model"]["n"] == window["n"]
    assert promo["champion"] == pytest.approx(bt["model"]["log_loss"], rel=1e-9)
    assert promo["promoted"] is (promo["candidate"] < promo["champion"])  # different configurations: a tie keeps
    with session_scope(engine) as s:
        assert registry.champion(s, "football-E0").id == (blend.model_id if promo["promoted"] else dc.model_id)


def test_a_blend_champion_serves_predictions_with_goal_markets(blend_store):
    engine, _dc, blend = blend_store
    with session_scope(engine) as s:
        registry.promote(s, blend.model_id, reason="test: serve the blend")
    events, served = predict_fixtures(engine, datetime(2025, 5, 18))
    assert "(blend)" in served.label and served.refitted
    assert len(events) == 8
    for row in events:
        p = row["probabilities"]
        assert min(p.values()) >= 0
        assert p["H"] + p["D"] + p["A"] == pytest.approx(1.0, abs=1e-9)
        total, ah = row["markets"]
        assert (total["market"], total["line"]) == ("total", 2.5)
        assert total["probabilities"]["over"] + total["probabilities"]["under"] == pytest.approx(1.0, abs=1e-9)
        # the Asian handicap at the stored line (every 2024/25 match has one), priced with an edge per side
        assert ah["market"] == "asian_handicap" and ah["label"] == "AH" and ah["line"] % 0.25 == 0
        assert set(ah["price"]) == set(ah["edge"]) == {"home", "away"}
