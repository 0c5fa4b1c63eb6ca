"""GET /api/v1/monitoring/{model_id} and the drift gauges of /metrics, on a real E0 store built in code: three seasons,
a Dixon-Coles version trained up to June 2024 (its training window 2022/23-2023/24), and its stored predictions
of 2024/25 with their results; an Elo version trained on all three seasons (no events after its window)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.helpers import E0_SEASONS, ingest_e0

from formguide.app import Context, PredictRequest, TrainRequest, predict, train
from formguide.app.monitoring import cached_reports, monitor_model
from formguide.core import metrics
from formguide.core.settings import Settings
from formguide.core.sport import get_sport
from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import Prediction
from formguide.service.api import create_app
from formguide.service.routes_monitoring import DriftCollector

BASE = "/api/v1/monitoring"


@pytest.fixture(scope="module")
def store(tmp_path_factory, football_dir) -> dict:
    tmp = tmp_path_factory.mktemp("monitoring")
    path, arts = tmp / "store.sqlite", tmp / "artifacts"
    engine = open_store(f"sqlite:///{path}")
    ingest_e0(engine, football_dir, E0_SEASONS)
    engine.dispose()
    settings = Settings(db_url=f"sqlite:///{path}", artifacts_dir=arts)
    with Context(settings) as ctx:
        dc = train(ctx, TrainRequest(competition="E0", model_type="dixon-coles", until=datetime(2024, 6, 1)))
        served = predict(ctx, PredictRequest(competition="E0", date=datetime(2024, 8, 1), days=150))
        # before a later training stores 2024/25's feature rows: the current rows are built now
        built = monitor_model(ctx, dc.model_id, permutations=50)
        elo = train(ctx, TrainRequest(competition="E0", model_type="elo"))
    assert served.model_id == dc.model_id and served.stored > 100
    return {"settings": settings, "dc": dc.model_id, "elo": elo.model_id, "built": built}


@pytest.fixture(scope="module")
def client(store):
    with TestClient(create_app(store["settings"])) as c:
        yield c


def _ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and "Traceback" not in response.text
    for w in words:
        assert w in body["message"], body
    return body


def test_drift_between_training_window_and_the_events_served_since(client, store):
    body = _ok(client.get(f"{BASE}/{store['dc']}"))
    assert body["model_id"] == store["dc"] and body["competition"] == "E0" and body["bet_type"] == "1x2"
    ref, cur = body["reference"], body["current"]
    assert ref["basis"] == "training_window" and ref["date_to"] < "2024-06-01"
    assert ref["events"] == ref["rows"] == ref["stored_rows"] == 760  # 2022/23 and 2023/24
    assert cur["basis"] == "after_training" and cur["date_from"] >= "2024-08"
    assert cur["events"] == cur["rows"] == cur["stored_rows"] == 380  # the Elo training stored 2024/25's rows
    columns = {r["feature"] for r in body["drift"]}
    assert len(columns) == len(body["drift"]) > 10
    psis = [r["psi"] for r in body["drift"]]
    assert psis == sorted(psis, reverse=True)
    for r in body["drift"]:
        assert r["psi"] >= 0 and 0 <= r["js"] <= 1 and r["n_ref"] == 760 and r["n_cur"] == 380
        assert 0 <= r["false_alarm_warn"] <= 1 and 0 <= r["false_alarm_alert"] <= r["false_alarm_warn"]
        assert 0 < r["p_value"] <= 1
        expected = "alert" if r["psi"] >= 0.25 else "warn" if r["psi"] >= 0.1 else "ok"
        assert r["state"] == expected
    assert body["thresholds"]["warn"] == 0.1 and body["thresholds"]["alert"] == 0.25
    assert body["drift_state"] in ("ok", "warn", "alert") and body["seconds"] > 0


def test_rows_built_now_give_the_drift_the_stored_rows_give(client, store):
    """Before the Elo training stored 2024/25's feature rows the report built them with the model's feature set;
    after, it reads them: the same PSI and JS for every feature (the served row equals the stored one)."""
    built = store["built"]
    assert built.current.basis == "after_training" and built.current.rows == 380 and built.current.stored_rows == 0
    stored = {r["feature"]: r for r in _ok(client.get(f"{BASE}/{store['dc']}", params={"permutations": 50}))["drift"]}
    assert {r.feature for r in built.drift} == set(stored)
    for r in built.drift:
        assert r.psi == pytest.approx(stored[r.feature]["psi"], abs=1e-9), r.feature
        assert r.js == pytest.approx(stored[r.feature]["js"], abs=1e-9), r.feature
        assert r.p_value == pytest.approx(stored[r.feature]["p_value"]), r.feature


def test_performance_of_stored_predictions_against_the_walk_forward_band(client, store):
    perf = _ok(client.get(f"{BASE}/{store['dc']}"))["performance"]
    assert perf["market"] == "1x2" and perf["state"] in ("ok", "alert"), perf
    n = perf["scored_predictions"]
    assert n > 100 and len(perf["chunks"]) == n // 50 and perf["pending"] == n % 50
    assert len(perf["reference_chunks"]) == 7  # 2023/24 walk-forward: 380 events in chunks of 50
    for m in ("brier", "log_loss", "rps"):
        band = perf["band"][m]
        vals = np.array([c["values"][m] for c in perf["reference_chunks"]])
        assert band["mean"] == pytest.approx(vals.mean()) and band["sd"] == pytest.approx(vals.std(ddof=1))
        assert band["upper"] == pytest.approx(vals.mean() + 3 * vals.std(ddof=1))
    last = perf["chunks"][-1]
    outside = [m for m, p in last["position"].items() if p != "in"]
    assert (perf["state"] == "alert") == bool(outside)
    # the first chunk's Brier is the Brier of the 50 earliest stored predictions with results
    with session_scope(open_store(store["settings"].store_url)) as s:
        rows = s.execute(select(Prediction.event_id, Prediction.probabilities)
                         .where(Prediction.model_id == store["dc"], Prediction.market == "1x2")).all()
    sport = get_sport("football")
    frame = sport.load_frame(open_store(store["settings"].store_url), ["E0"]).set_index("event_id")
    played = frame.loc[[r[0] for r in rows]].reset_index()
    y = sport.outcome(played)
    order = np.argsort(played["kickoff"].to_numpy(), kind="stable")
    probs = np.array([[r[1][k] for k in ("H", "D", "A")] for r in rows])[order][y[order] >= 0][:50]
    assert perf["chunks"][0]["values"]["brier"] == pytest.approx(metrics.brier(probs, y[order][y[order] >= 0][:50]))


def test_a_version_trained_to_the_latest_event_compares_its_last_season(client, store):
    body = _ok(client.get(f"{BASE}/{store['elo']}", params={"permutations": 20}))
    assert body["reference"]["basis"] == "before_current" and body["current"]["basis"] == "last_training_season"
    assert body["reference"]["rows"] == 760 and body["current"]["rows"] == 380
    assert body["current"]["stored_rows"] == 380
    assert body["performance"]["state"] == "no_results"  # no predictions of this version
    assert body["thresholds"]["permutations"] == 20


def test_a_requested_current_window(client, store):
    body = _ok(client.get(f"{BASE}/{store['dc']}", params={"current_from": "2024-01-01", "current_to": "2024-12-31",
                                                          "permutations": 0}))
    assert body["reference"]["basis"] == "before_current" and body["reference"]["date_to"] < "2024-01-01"
    cur = body["current"]
    assert cur["basis"] == "requested" and "2024-01" <= cur["date_from"] and cur["date_to"] < "2025-01-01"
    assert cur["stored_rows"] == cur["rows"] and cur["events"] > 200  # Jan-May 2024 and autumn 2024
    assert all(r["false_alarm_warn"] is None for r in body["drift"])


def test_bad_requests_say_what_was_wrong(client, store):
    _error(client.get(f"{BASE}/999999"), 404, "no model with id 999999")
    _error(client.get(f"{BASE}/0"), 422)
    _error(client.get(f"{BASE}/abc"), 422)
    _error(client.get(f"{BASE}/{store['dc']}", params={"current_from": "2025-01-02", "current_to": "2025-01-01"}),
           422, "after current_to")
    _error(client.get(f"{BASE}/{store['dc']}", params={"current_to": "2025-01-01"}), 422, "needs current_from")
    _error(client.get(f"{BASE}/{store['dc']}", params={"chunk_size": 1}), 422)
    _error(client.get(f"{BASE}/{store['dc']}", params={"permutations": 5000}), 422)
    _error(client.get(f"{BASE}/{store['dc']}", params={"current_from": "2020-01-01"}), 422, "reference would be empty")


def test_metrics_export_the_cached_reports_without_computing(client, store):
    _ok(client.get(f"{BASE}/{store['dc']}"))
    text = client.get("/metrics").text
    label = f'model_id="{store["dc"]}"'
    psi = [line for line in text.splitlines() if line.startswith("formguide_feature_drift_psi{") and label in line]
    js = [line for line in text.splitlines() if line.startswith("formguide_feature_drift_js{") and label in line]
    assert len(psi) == len(js) > 10 and all('feature="' in line for line in psi)
    assert any(line.startswith("formguide_monitoring_report_age_seconds{") and label in line
               for line in text.splitlines())
    with Context(store["settings"]) as ctx:
        assert {rep.model_id for _, rep in cached_reports(ctx)} >= {store["dc"]}
        collector = DriftCollector(lambda: ctx)
        started = time.perf_counter()
        families = list(collector.collect())
        assert time.perf_counter() - started < 0.05  # memory only: the scrape computes nothing
        assert {f.name for f in families} >= {"formguide_feature_drift_psi", "formguide_feature_drift_js"}


def test_the_walk_forward_reference_is_kept_in_the_store(store, monkeypatch):
    """A second process (here: the in-process cache emptied) reads the reference back instead of re-running it."""
    from formguide.app import monitoring
    from formguide.core import performance

    with Context(store["settings"]) as ctx:
        first = monitor_model(ctx, store["dc"], permutations=0)
        monitoring._references.clear()

        def never(*args, **kwargs):
            raise AssertionError("the walk-forward reference was re-run")

        monkeypatch.setattr(performance, "walk_forward_reference", never)
        again = monitor_model(ctx, store["dc"], permutations=0)
    assert again.performance.band == first.performance.band and again.performance.band is not None
    assert again.performance.reference_chunks == first.performance.reference_chunks


def test_background_refresh_computes_stale_champions_off_the_scrape(store):
    """With a refresh period the scrape starts one background thread for the champions and returns at once."""
    with Context(store["settings"]) as ctx:
        from formguide.app import monitoring

        with monitoring._reports_lock:
            monitoring._reports.clear()
        collector = DriftCollector(lambda: ctx, refresh_s=3600)
        started = time.perf_counter()
        list(collector.collect())
        assert time.perf_counter() - started < 0.05
        worker = next(t for t in threading.enumerate() if t.name == "formguide-drift-refresh")
        list(collector.collect())  # a second scrape while it runs starts nothing more
        assert sum(t.name == "formguide-drift-refresh" for t in threading.enumerate()) <= 1
        worker.join(timeout=120)
        champions = {r.model_id for _, r in cached_reports(ctx) if r.status == "champion"}
        assert champions and {store["dc"], store["elo"]} & champions


def test_monitoring_on_both_stores_builds_rows_no_training_stored(db_url, football_dir, tmp_path):
    """SQLite and PostgreSQL: a version trained to New Year 2025 on 2023/24-2024/25; the rest of 2024/25 is built."""
    engine = open_store(db_url)
    ingest_e0(engine, football_dir, ("2324", "2425"))
    engine.dispose()
    with Context(Settings(db_url=db_url, artifacts_dir=tmp_path / "artifacts")) as ctx:
        out = train(ctx, TrainRequest(competition="E0", model_type="elo", until=datetime(2025, 1, 1)))
        rep = monitor_model(ctx, out.model_id, permutations=20)
    assert rep.reference.basis == "training_window" and rep.current.basis == "after_training"
    assert rep.current.stored_rows == 0 and rep.current.rows == rep.current.events > 150
    assert rep.reference.rows == rep.reference.stored_rows > 500
    assert rep.drift and all(r.n_cur == rep.current.rows for r in rep.drift)
