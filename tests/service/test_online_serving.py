"""GET /api/v1/predictions from online rows (app.online) on a real E0 store: the same JSON as the computing path,
nothing computed or kept per request, each forecast recorded once; the league list (kept per import) follows a
new ingest; bad requests still answer their 4xx.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.helpers import e0_files, ingest_e0

from formguide.app import Context, IngestRequest, TrainRequest, ingest, train
from formguide.app.online import MaterialiseRequest, materialise
from formguide.core.settings import Settings
from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import OnlineFeature, Prediction, ServedResult
from formguide.service.api import create_app

URL = "/api/v1/predictions?sport=football&league=E0&date=2024-12-26"


@pytest.fixture
def store(tmp_path, football_dir):
    """(settings) of two E0 seasons with an Elo champion and the rows of Boxing Day 2024 materialised."""
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(db)
    ingest_e0(engine, football_dir, ("2324", "2425"))
    engine.dispose()
    settings = Settings(db_url=db, artifacts_dir=tmp_path / "artifacts")
    with Context(settings) as ctx:
        assert train(ctx, TrainRequest(competition="E0", model_type="elo", eval_seasons=1)).promoted
        done = materialise(ctx, MaterialiseRequest(sport="football", competition="E0", date=datetime(2024, 12, 26)))
        assert done.lines[0].rows == 8
    return settings


def _count(settings: Settings, table) -> int:
    engine = open_store(settings.store_url)
    try:
        with session_scope(engine) as s:
            return int(s.scalar(select(func.count()).select_from(table)))
    finally:
        engine.dispose()


def test_predictions_from_online_rows_equal_the_computed_ones_and_write_once(store):
    with TestClient(create_app(store)) as client:
        first = client.get(URL)
        assert first.status_code == 200, first.text
        recorded, kept = _count(store, Prediction), _count(store, ServedResult)
        assert recorded == first.json()["stored"] == 8
        for _ in range(5):
            again = client.get(URL)
            assert again.status_code == 200 and again.json() == first.json()
        assert (_count(store, Prediction), _count(store, ServedResult)) == (recorded, kept)  # nothing per request

        engine = open_store(store.store_url)
        with session_scope(engine) as s:
            s.execute(OnlineFeature.__table__.delete())
        engine.dispose()
        computed = client.get(URL)
        assert computed.status_code == 200 and computed.json() == first.json()
        assert _count(store, ServedResult) == kept + 1  # the computing path ran (and kept its result)

        assert client.get(URL.replace("E0", "XX")).status_code == 404
        bad = client.get(URL + "&days=0")
        assert bad.status_code == 422 and "Traceback" not in bad.text


def test_the_league_list_follows_a_new_ingest(store, football_dir):
    with TestClient(create_app(store)) as client:
        seasons = [s["code"] for s in client.get("/api/v1/leagues?sport=football").json()[0]["seasons"]]
        assert seasons == ["2324", "2425"]
        with Context(store) as ctx:
            ingest(ctx, IngestRequest(sport="football", paths=e0_files(football_dir, ("2223",))))
        seasons = [s["code"] for s in client.get("/api/v1/leagues?sport=football").json()[0]["seasons"]]
        assert seasons == ["2223", "2324", "2425"]
        # the ingest changed the data: the rows were refreshed for the new token, and still answer
        assert client.get(URL).status_code == 200
