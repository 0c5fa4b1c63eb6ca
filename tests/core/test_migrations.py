"""Every migration upgrades an existing store without loss: a store made at revision 0002, with rows in every
table 0003 touches, is upgraded to the newest revision and read back."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from formguide.core.store.db import MIGRATIONS_DIR, make_engine, open_store, session_scope, table_names
from formguide.core.store.models import FeatureValue, FitCacheEntry, ModelRecord, Prediction, TrainingRun

T0 = datetime(2024, 5, 1, 12, 0)


def _upgrade_to(engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _seed_0002(engine) -> None:
    rows = [
        "INSERT INTO competitions (id, sport, code, name) VALUES (1, 'football', 'E0', 'Premier League')",
        "INSERT INTO seasons (id, competition_id, code) VALUES (1, 1, '2425')",
        "INSERT INTO teams (id, sport, kind, name) VALUES (1, 'football', 'team', 'Arsenal'), "
        "(2, 'football', 'team', 'Chelsea')",
        "INSERT INTO events (id, sport, competition_id, season_id, external_key, kickoff, home_team_id, away_team_id, "
        "status) VALUES (1, 'football', 1, 1, 'E0|2425|1', '2024-08-17 15:00:00', 1, 2, 'played'), "
        "(2, 'football', 1, 1, 'E0|2425|2', '2024-08-24 15:00:00', 2, 1, 'scheduled')",
        "INSERT INTO feature_sets (id, sport, name, version, columns, definition) VALUES "
        "(1, 'football', 'football-core', 'v1', '[\"elo_diff\"]', NULL)",
        "INSERT INTO feature_values (id, feature_set_id, event_id, \"values\", computed_at) VALUES "
        "(1, 1, 1, '{\"elo_diff\": 12.5}', '2024-08-16 00:00:00'), (2, 1, 2, '{\"elo_diff\": null}', "
        "'2024-08-16 00:00:00')",
        "INSERT INTO models (id, sport, name, version, model_type, status, parameters, artifact_sha256, "
        "data_fingerprint, created_at) VALUES "
        "(1, 'football', 'football-E0', 1, 'dixon-coles', 'champion', '{\"a\": 1}', 'sha-real', 'fp-real', "
        "'2024-08-16 00:00:00'), "
        "(2, 'f1', 'f1-season-plackett-luce', 1, 'plackett-luce', 'candidate', '{\"b\": 2}', 'sha-cache', "
        "'fp-season', '2024-08-16 00:00:00')",
        "INSERT INTO training_runs (id, sport, model_id, model_name, run_type, status, started_at, log_loss, rps) "
        "VALUES (1, 'football', 1, 'football-E0', 'train', 'succeeded', '2024-08-16 00:00:00', 0.97, 0.2), "
        "(2, 'f1', 2, 'f1-season-plackett-luce', 'season', 'ok', '2024-08-16 00:00:00', NULL, NULL)",
        "INSERT INTO predictions (id, model_id, event_id, feature_set_version, probabilities, tier) VALUES "
        "(1, 1, 2, 'v1', '{\"H\": 0.5, \"D\": 0.3, \"A\": 0.2}', 'B')",
        "INSERT INTO tasks (kind, status) VALUES ('train', 'queued')",
    ]
    with engine.begin() as conn:
        for sql in rows:
            conn.execute(text(sql))


def test_a_0002_store_upgrades_without_loss(db_url):
    engine = make_engine(db_url)
    try:
        _upgrade_to(engine, "0002")
        assert "tasks" in table_names(engine) and "fit_cache" not in table_names(engine)
        _seed_0002(engine)
    finally:
        engine.dispose()

    engine = open_store(db_url)  # migrates to the newest revision
    try:
        tables = table_names(engine)
        assert "fit_cache" in tables
        with engine.connect() as conn:  # 0003 dropped the unused tasks table; 0006 made the queue's, empty
            assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 0
        with session_scope(engine) as s:
            values = {v.event_id: (v.entry_id, v.values) for v in s.scalars(sa.select(FeatureValue))}
            assert values == {1: (0, {"elo_diff": 12.5}), 2: (0, {"elo_diff": None})}
            (pred,) = s.scalars(sa.select(Prediction)).all()
            assert (pred.event_id, pred.entry_id, pred.market, pred.line, pred.tier) == (2, 0, "1x2", None, "B")
            assert pred.probabilities == {"H": 0.5, "D": 0.3, "A": 0.2}
            # the registry keeps the real model only; the season pipeline's fit moved to the fit cache
            assert [m.name for m in s.scalars(sa.select(ModelRecord))] == ["football-E0"]
            (cached,) = s.scalars(sa.select(FitCacheEntry)).all()
            assert (cached.key, cached.model_type, cached.parameters, cached.parameters_sha256) == (
                "fp-season", "plackett-luce", {"b": 2}, "sha-cache")
            runs = {r.id: r for r in s.scalars(sa.select(TrainingRun))}
            assert runs[1].model_id == 1 and runs[1].log_loss == 0.97 and runs[1].metrics is None
            assert runs[2].model_id is None and runs[2].run_type == "season"  # the run record itself stays
            # the new keys work: two entries of one event, and ids continue after the copied rows
            s.add_all([FeatureValue(feature_set_id=1, event_id=1, entry_id=1, values={"x": 1.0}),
                       FeatureValue(feature_set_id=1, event_id=1, entry_id=2, values={"x": 2.0})])
            s.flush()
            assert min(v.id for v in s.scalars(sa.select(FeatureValue).where(FeatureValue.entry_id > 0))) > 2
    finally:
        engine.dispose()


def test_the_feature_key_is_unique_per_event_and_entry(engine):
    from sqlalchemy.exc import IntegrityError

    with engine.begin() as conn:
        conn.execute(text("INSERT INTO competitions (id, sport, code) VALUES (1, 'f1', 'WC')"))
        conn.execute(text("INSERT INTO seasons (id, competition_id, code) VALUES (1, 1, '2024')"))
        conn.execute(text("INSERT INTO events (id, sport, competition_id, season_id, external_key, kickoff, status) "
                          "VALUES (1, 'f1', 1, 1, 'r1', '2024-03-02 15:00:00', 'scheduled')"))
        conn.execute(text("INSERT INTO feature_sets (id, sport, name, version, columns) VALUES "
                          "(1, 'f1', 'f1', 'v', '[]')"))
    row = {"feature_set_id": 1, "event_id": 1, "entry_id": 7, "values": {}}
    with session_scope(engine) as s:
        s.add(FeatureValue(**row))
    try:
        with session_scope(engine) as s:
            s.add(FeatureValue(**row))
        raise AssertionError("a second row with the same (feature set, event, entry) was accepted")
    except IntegrityError:
        pass


def test_a_0004_store_gets_lines_on_its_odds(db_url):
    """0005 adds the line of a price: football's stored over/under 2.5 prices get 2.5, 1X2 prices none."""
    engine = make_engine(db_url)
    try:
        _upgrade_to(engine, "0004")
        with engine.begin() as conn:
            for sql in (
                "INSERT INTO competitions (id, sport, code) VALUES (1, 'football', 'E0')",
                "INSERT INTO seasons (id, competition_id, code) VALUES (1, 1, '2425')",
                "INSERT INTO events (id, sport, competition_id, season_id, external_key, kickoff, status) VALUES "
                "(1, 'football', 1, 1, 'E0|2425|1', '2024-08-17 15:00:00', 'played')",
                "INSERT INTO odds_types (id, bookmaker, market, selection, is_closing) VALUES "
                "(1, 'Pinnacle', '1X2', 'H', false), (2, 'Pinnacle', 'OU2.5', 'over', false)",
                "INSERT INTO odds (event_id, type_id, price) VALUES (1, 1, 2.1), (1, 2, 1.9)",
            ):
                conn.execute(text(sql))
    finally:
        engine.dispose()
    engine = open_store(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT market, price, line FROM odds_long ORDER BY market")).all()
        assert [tuple(r) for r in rows] == [("1X2", 2.1, None), ("OU2.5", 1.9, 2.5)]
        assert "team_reports" in table_names(engine)
    finally:
        engine.dispose()
