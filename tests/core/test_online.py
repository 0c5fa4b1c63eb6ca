"""Online rows (core.online, app.online) on real stores: a materialised row equals the offline row (every feature
value from the feature library over the training frame, and the champion's prediction to 1e-12) for football
and the NFL; a request is answered from the rows only while they are current (champion, data, window); each
served forecast is recorded once; the Redis mirror round-trips and a new champion leaves its old rows unread.
"""

from __future__ import annotations

import csv
import os
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from tests.conftest import DATA_DIR
from tests.helpers import copy_sqlite, ingest_e0

from formguide.app import Context, PredictRequest, TrainRequest, predict, promote_model, train
from formguide.app.online import MaterialiseRequest, materialise, refresh_online
from formguide.core import online
from formguide.core.serving import serve
from formguide.core.settings import Settings
from formguide.core.sport import get_sport
from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import ImportRecord, OnlineFeature, Prediction, ServedResult

REDIS_URL = os.environ.get("FORMGUIDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NFL_GAMES = DATA_DIR / "nfl_games" / "games.csv"
DAY = datetime(2024, 12, 26)  # Boxing Day: eight E0 matches on one day


def _ctx(db: str, tmp: Path, **extra) -> Context:
    return Context(Settings(db_url=db, artifacts_dir=tmp / "artifacts", **extra))


@pytest.fixture(scope="module")
def e0_store(tmp_path_factory, football_dir) -> tuple[str, Path]:
    """(URL, folder) of three E0 seasons with an Elo champion and a Dixon-Coles version beside it."""
    tmp = tmp_path_factory.mktemp("online-e0")
    db = f"sqlite:///{tmp / 'store.sqlite'}"
    engine = open_store(db)
    ingest_e0(engine, football_dir)
    engine.dispose()
    with _ctx(db, tmp) as ctx:
        elo = train(ctx, TrainRequest(competition="E0", model_type="elo"))
        assert elo.promoted
    return db, tmp


@pytest.fixture
def e0(e0_store, tmp_path) -> Context:
    """A context over a private copy of the E0 store."""
    copy_sqlite(e0_store[0].removeprefix("sqlite:///"), tmp_path / "store.sqlite")
    with _ctx(f"sqlite:///{tmp_path / 'store.sqlite'}", tmp_path) as ctx:
        yield ctx


def _equal(a, b) -> bool:
    a = np.nan if a is None else float(a)
    b = np.nan if b is None else float(b)
    return bool((np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-12)


def _offline_check(ctx: Context, sport_name: str, competition: str, line: str, day: datetime, bet_type=None) -> int:
    """Materialise ``day``, then rebuild each event's features with the feature library over the training frame
    (the same rows training stores) and the champion's probabilities from them: every value must agree."""
    sport = get_sport(sport_name).for_bet_type(bet_type)
    done = materialise(ctx, MaterialiseRequest(sport=sport_name, competition=competition, date=day, days=1))
    assert any(x.line == line and x.rows > 0 for x in done.lines), done.lines
    served = serve(ctx.engine, sport, competition, line, day)  # the champion as known that day (refit cached)
    full = sport.load_frame(ctx.engine, [competition]).reset_index(drop=True)
    fs = sport.feature_set(**(served.record.config.get("feature_options") or {}))
    offline = fs.build(full)  # the training frame: each row uses only outcomes of earlier days
    before = fs.hide_outcomes(full, pd.Timestamp(day))  # the fixtures as known before kick-off
    with session_scope(ctx.engine) as s:
        rows = s.execute(select(OnlineFeature.event_id, OnlineFeature.values, OnlineFeature.prediction)
                         .where(OnlineFeature.line == line)).all()
    assert rows
    by_event = {int(e): i for i, e in enumerate(full[sport.event_column])}
    for event_id, values, prediction in rows:
        i = by_event[int(event_id)]
        assert set(values) == set(fs.columns)
        diffs = {c: (values[c], offline.iloc[i][c]) for c in fs.columns if not _equal(values[c], offline.iloc[i][c])}
        assert not diffs, f"event {event_id}: online vs offline features differ: {diffs}"
        probs = served.estimator.predict_proba(before.iloc[[i]], offline.iloc[[i]])[0]
        main = prediction["stored"][0]
        assert main["market"] == sport.main_market
        got = [main["probabilities"][o] for o in sport.outcome_labels]
        assert np.max(np.abs(np.asarray(got) - probs)) <= 1e-12, (event_id, got, probs)
    return len(rows)


def test_football_online_rows_equal_the_offline_rows_and_the_computed_answer(e0):
    assert _offline_check(e0, "football", "E0", "football-E0", DAY) == 8
    request = PredictRequest(competition="E0", date=DAY, days=1)
    with session_scope(e0.engine) as s:
        kept = s.scalar(select(func.count()).select_from(ServedResult))
    answered = predict(e0, request)
    with session_scope(e0.engine) as s:
        assert s.scalar(select(func.count()).select_from(ServedResult)) == kept  # nothing computed, nothing kept
        s.execute(OnlineFeature.__table__.delete())
    computed = predict(e0, request)
    assert answered.json_data() == computed.json_data()
    assert [v.model_dump() for v in answered.views] == [v.model_dump() for v in computed.views]


def test_a_request_other_than_the_window_or_the_defaults_is_computed(e0):
    materialise(e0, MaterialiseRequest(sport="football", competition="E0", date=DAY, days=1))
    lookup = online.lookup
    sport = get_sport("football")
    stores = [online.TableStore(e0.engine)]
    assert lookup(e0.engine, stores, "football", "football-E0", pd.Timestamp(DAY), 1) is not None
    assert lookup(e0.engine, stores, "football", "football-E0", pd.Timestamp(DAY), 2) is None  # beyond the window
    assert lookup(e0.engine, stores, "football", "football-E0", pd.Timestamp(DAY) - pd.Timedelta(days=1), 2) is None
    filtered = predict(e0, PredictRequest(competition="E0", date=DAY, days=1, options={"min_edge": 0.05}))
    full = predict(e0, PredictRequest(competition="E0", date=DAY, days=1))
    assert {e["event_id"] for e in filtered.events} <= {e["event_id"] for e in full.events}
    assert sport.name == full.sport


def test_new_data_makes_rows_stale_until_refreshed(e0):
    materialise(e0, MaterialiseRequest(sport="football", competition="E0", date=DAY, days=1))
    stores = [online.TableStore(e0.engine)]
    with session_scope(e0.engine) as s:
        s.add(ImportRecord(sport="football", path="new.csv", status="ok"))
    assert online.lookup(e0.engine, stores, "football", "football-E0", pd.Timestamp(DAY), 1) is None
    assert refresh_online(e0, "football", reason="ingest") == 1  # the line keeps its explicit window
    hit = online.lookup(e0.engine, stores, "football", "football-E0", pd.Timestamp(DAY), 1)
    assert hit is not None and len(hit.events) == 8


def test_upcoming_window_moves_on_and_drops_events_with_results(e0, monkeypatch):
    kickoff = get_sport("football").load_frame(e0.engine, ["E0"])["kickoff"]
    n_from_18, n_from_20 = int((kickoff >= "2025-05-18").sum()), int((kickoff >= "2025-05-20").sum())
    assert n_from_18 > n_from_20 > 0
    monkeypatch.setattr(online, "today", lambda: pd.Timestamp("2025-05-18"))
    done = materialise(e0, MaterialiseRequest(sport="football", competition="E0"))
    assert done.lines[0].until is None and done.lines[0].events == n_from_18  # the rest of the season
    answered = predict(e0, PredictRequest(competition="E0", days=14))  # no date: as of "today"
    assert answered.as_of.startswith("2025-05-18") and len(answered.events) == n_from_18
    monkeypatch.setattr(online, "today", lambda: pd.Timestamp("2025-05-20"))
    with session_scope(e0.engine) as s:
        s.add(ImportRecord(sport="football", path="results.csv", status="ok"))
    refresh_online(e0, "football", reason="ingest")
    with session_scope(e0.engine) as s:
        left = s.execute(select(OnlineFeature.prediction)).scalars().all()
    assert len(left) == n_from_20 and all(p["event_time"] >= "2025-05-20" for p in left)


def test_a_new_champion_replaces_the_rows_and_each_forecast_is_recorded_once(e0):
    materialise(e0, MaterialiseRequest(sport="football", competition="E0", date=DAY, days=1))
    request = PredictRequest(competition="E0", date=DAY, days=1)

    def recorded() -> int:
        with session_scope(e0.engine) as s:
            return int(s.scalar(select(func.count()).select_from(Prediction)))

    before = recorded()
    first = predict(e0, request)
    after_first = recorded()
    assert after_first - before == first.stored > 0
    for _ in range(3):
        predict(e0, request)
    assert recorded() == after_first
    goals = train(e0, TrainRequest(competition="E0", model_type="dixon-coles"))
    if not goals.promoted:
        promote_model(e0, str(goals.model_id))
    with session_scope(e0.engine) as s:
        ids = set(s.scalars(select(OnlineFeature.model_id)))
    assert ids == {goals.model_id}
    assert predict(e0, request).model_id == goals.model_id


def test_materialise_refuses_a_league_without_a_sport(e0):
    from formguide.core.errors import FormguideError

    with pytest.raises(FormguideError, match="--league needs --sport"):
        materialise(e0, MaterialiseRequest(competition="E0"))


# ---------------------------------------------------------------------------------------------- Redis
@pytest.fixture
def redis_url():
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is a skip with the reason
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}); set FORMGUIDE_TEST_REDIS_URL")
    return REDIS_URL


def test_redis_mirror_round_trips_and_a_new_champion_leaves_old_rows_unread(e0, redis_url, monkeypatch):
    prefix = f"formguide-test:{uuid.uuid4().hex[:10]}"
    monkeypatch.setattr(online.RedisStore, "prefix_for", staticmethod(lambda url: prefix))
    ctx = _ctx(e0.settings.store_url, e0.settings.artifacts.parent, redis_url=redis_url)
    redis_store = online.RedisStore(redis_url, prefix)
    try:
        materialise(ctx, MaterialiseRequest(sport="football", competition="E0", date=DAY, days=1))
        meta, rows = redis_store.read("football-E0", pd.Timestamp(DAY), pd.Timestamp(DAY) + pd.Timedelta(days=1))
        table = online.TableStore(ctx.engine).read("football-E0", pd.Timestamp(DAY),
                                                   pd.Timestamp(DAY) + pd.Timedelta(days=1))
        assert table is not None and meta == table[0]
        key = {(r.event_id, r.entry_id) for r in rows}
        assert key == {(r.event_id, r.entry_id) for r in table[1]} and len(rows) == 8
        assert all(r.values for r in rows)  # the mirror keeps the feature values too
        hit = online.lookup(ctx.engine, [redis_store], "football", "football-E0", pd.Timestamp(DAY), 1)
        assert hit is not None and hit.source == "redis"
        assert predict(ctx, PredictRequest(competition="E0", date=DAY, days=1)).model_id == meta.model_id

        old_token = meta.token
        goals = train(e0, TrainRequest(competition="E0", model_type="dixon-coles"))  # no Redis here: not mirrored
        if not goals.promoted:
            promote_model(e0, str(goals.model_id))
        still = redis_store.meta("football-E0")
        assert still is not None and still.token == old_token  # the old rows are still in Redis ...
        assert online.lookup(ctx.engine, [redis_store], "football", "football-E0", pd.Timestamp(DAY), 1) is None
        served = predict(ctx, PredictRequest(competition="E0", date=DAY, days=1))  # ... and never read
        assert served.model_id == goals.model_id

        refresh_online(ctx, "football", reason="promote", line="football-E0")
        hit = online.lookup(ctx.engine, [redis_store], "football", "football-E0", pd.Timestamp(DAY), 1)
        assert hit is not None and hit.source == "redis" and hit.meta.model_id == goals.model_id
        generations = {k.decode().split(":")[-2] for k in redis_store.client.scan_iter(f"{prefix}:rows:*")}
        assert generations == {hit.meta.generation}  # the old generation's rows were deleted
    finally:
        for k in redis_store.client.scan_iter(f"{prefix}:*"):
            redis_store.client.delete(k)


# ------------------------------------------------------------------------------------------------ NFL
def _nfl_games(folder: Path) -> Path:
    if not NFL_GAMES.is_file():
        pytest.skip(f"real NFL games not found at {NFL_GAMES}")
    out = folder / "games.csv"
    with NFL_GAMES.open(newline="") as src, out.open("w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(r for r in reader if r["season"] in ("2019", "2020", "2021"))
    return out


def test_nfl_online_rows_equal_the_offline_rows(tmp_path):
    from formguide.app import IngestRequest, ingest

    with _ctx(f"sqlite:///{tmp_path / 'nfl.sqlite'}", tmp_path) as ctx:
        ingest(ctx, IngestRequest(sport="nfl", paths=[_nfl_games(tmp_path)]))
        trained = train(ctx, TrainRequest(sport="nfl", bet_type="moneyline", eval_seasons=1))
        assert trained.promoted, trained.messages
        day = datetime(2021, 12, 5)
        assert _offline_check(ctx, "nfl", "NFL", "nfl-NFL-moneyline", day, "moneyline") >= 10
        request = PredictRequest(sport="nfl", competition="NFL", bet_type="moneyline", date=day, days=1)
        answered = predict(ctx, request)
        with session_scope(ctx.engine) as s:
            s.execute(OnlineFeature.__table__.delete())
        assert answered.json_data() == predict(ctx, request).json_data()


def test_online_rows_on_every_store_backend(db_url, football_dir, tmp_path):
    """The table backend on SQLite and PostgreSQL: materialise, answer from the rows, the same JSON as computed."""
    engine = open_store(db_url)
    ingest_e0(engine, football_dir, ("2324", "2425"))
    engine.dispose()
    with _ctx(db_url, tmp_path) as ctx:
        assert train(ctx, TrainRequest(competition="E0", model_type="elo", eval_seasons=1)).promoted
        done = materialise(ctx, MaterialiseRequest(sport="football", competition="E0", date=DAY))
        assert done.lines[0].rows == 8
        request = PredictRequest(competition="E0", date=DAY, days=1)
        answered = predict(ctx, request)
        hit = online.lookup(ctx.engine, [online.TableStore(ctx.engine)], "football", "football-E0",
                            pd.Timestamp(DAY), 1)
        assert hit is not None and len(hit.events) == 8
        with session_scope(ctx.engine) as s:
            s.execute(OnlineFeature.__table__.delete())
        assert answered.json_data() == predict(ctx, request).json_data()
