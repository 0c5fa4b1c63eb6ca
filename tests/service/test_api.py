"""The HTTP API (formguide.service) on a real store: E0 2022/23-2024/25 from football-data.co.uk with a
Dixon-Coles champion and an Elo version beside it, trained through the application layer as the CLI does.

Every bad input answers its 4xx with a JSON body naming what was wrong; the store unreachable is a 503 and the
service recovers when it is back; an unexpected error is a short 500 with the traceback in the log only.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, bindparam, text
from tests.helpers import E0_SEASONS, copy_sqlite, ingest_e0, run_cli

from formguide.app import Context, TrainRequest, promote_model, train
from formguide.core.settings import Settings
from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import ModelRecord, Prediction
from formguide.service.api import create_app

TOKEN = "s3cret-token"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def base_store(tmp_path_factory, football_dir) -> tuple[Path, Path]:
    """(SQLite file, artifacts folder) with three E0 seasons, a Dixon-Coles champion and an Elo version."""
    tmp = tmp_path_factory.mktemp("api-base")
    path, arts = tmp / "base.sqlite", tmp / "artifacts"
    engine = open_store(f"sqlite:///{path}")
    ingest_e0(engine, football_dir, E0_SEASONS)
    engine.dispose()
    with Context(Settings(db_url=f"sqlite:///{path}", artifacts_dir=arts)) as ctx:
        elo = train(ctx, TrainRequest(competition="E0", model_type="elo"))
        goals = train(ctx, TrainRequest(competition="E0", model_type="dixon-coles"))
        if not goals.promoted:  # the season simulation needs a goal model as the champion
            promote_model(ctx, str(goals.model_id))
    assert elo.promoted and goals.model_id is not None
    return path, arts




def _client(db: Path, artifacts: Path, token: str | None = None) -> TestClient:
    settings = Settings(db_url=f"sqlite:///{db}", artifacts_dir=artifacts, api_token=token)
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def client(base_store):
    """A client over the shared store (read endpoints; predictions add rows, which no test here counts)."""
    with _client(*base_store, token=TOKEN) as c:
        yield c


@pytest.fixture
def private(base_store, tmp_path):
    """(store copy, artifacts) a test may change."""
    return copy_sqlite(base_store[0], tmp_path / "private.sqlite"), base_store[1]


def _error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["message"], body
    assert "Traceback" not in response.text
    for w in words:
        assert w in body["message"], body
    return body


def _models(client, **params) -> list[dict]:
    r = client.get("/api/v1/models", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _champion(client) -> dict:
    (champ,) = _models(client, sport="football", status="champion")
    return champ


# ------------------------------------------------------------------------------------------- catalog
def test_sports_lists_every_installed_sport(client):
    sports = {s["name"]: s for s in client.get("/api/v1/sports").json()}
    assert {"football", "f1", "nfl"} <= set(sports)
    assert sports["nfl"]["bet_types"] == ["moneyline", "spread", "total"]
    assert sports["football"]["can_simulate"] is True


def test_leagues_have_seasons_dates_and_counts(client):
    (e0,) = client.get("/api/v1/leagues", params={"sport": "football"}).json()
    assert e0["code"] == "E0"
    assert [s["code"] for s in e0["seasons"]] == list(E0_SEASONS)
    assert all(s["events"] == 380 and s["played"] == 380 for s in e0["seasons"])
    assert e0["seasons"][0]["start"].startswith("2022-08") and e0["seasons"][-1]["end"].startswith("2025-05")
    assert client.get("/api/v1/leagues", params={"sport": "nfl"}).json() == []
    body = _error(client.get("/api/v1/leagues", params={"sport": "curling"}), 404, "unknown sport 'curling'",
                  "football")
    assert body["field"] == "query.sport"


# -------------------------------------------------------------------------------------------- models
def test_models_list_and_filters(client):
    every = _models(client)
    assert {(m["model_type"], m["status"]) for m in every} == {("dixon-coles", "champion"), ("elo", "retired")}
    assert all(m["competition"] == "E0" and m["bet_type"] == "1x2" and m["training_events"] == 1140
               for m in every)
    assert _models(client, sport="football", league="e0", bet_type="1X2") == every  # any case
    assert len(_models(client, sport="football", status="champion")) == 1
    assert _models(client, sport="nfl") == []
    _error(client.get("/api/v1/models", params={"sport": "football", "league": "XX"}), 404,
           "unknown football league 'XX'", "E0")
    _error(client.get("/api/v1/models", params={"sport": "football", "bet_type": "spread"}), 400,
           "football offers no bet type 'spread'", "1x2")
    body = _error(client.get("/api/v1/models", params={"status": "golden"}), 422)
    assert body["field"] == "query.status"
    body = _error(client.get("/api/v1/models", params={"league": "E0"}), 422, "give sport")
    assert body["field"] == "query.sport"


def test_models_status_is_the_champion_with_its_numbers(client):
    (row,) = client.get("/api/v1/models/status").json()
    champ = _champion(client)
    assert (row["model_id"], row["version"], row["status"]) == (champ["id"], champ["version"], "champion")
    assert (row["sport"], row["competition"], row["bet_type"]) == ("football", "E0", "1x2")
    assert 0 < row["brier"] < 0.7 and 0.9 < row["log_loss"] < 1.1 and 0.3 < row["accuracy"] < 0.7
    assert 0 <= row["draw_accuracy"] <= 1
    assert row["training_events"] == 1140 and row["evaluated_events"] == 760
    assert row["headline_metric"] == "log_loss" and row["headline"] == pytest.approx(row["log_loss"])
    assert client.get("/api/v1/models/status", params={"sport": "nfl"}).json() == []
    _error(client.get("/api/v1/models/status", params={"sport": "chess"}), 404, "unknown sport")


def test_models_versions_side_by_side(client):
    (line,) = client.get("/api/v1/models/versions", params={"sport": "football"}).json()
    assert line["name"] == "football-E0" and [v["version"] for v in line["versions"]] == [2, 1]
    assert line["champion"] == _champion(client)["version"]


def test_model_page_card_and_plots(client):
    champ = _champion(client)
    page = client.get(f"/api/v1/models/{champ['id']}").json()
    assert page["model"]["id"] == champ["id"] and "champion" in page["card"]
    assert page["evaluation"]["window"]["n"] == 760 and page["config"]["competition"] == "E0"
    files = page["links"]["files"]
    assert "reliability.png" in files and "MODEL_CARD.md" in files
    png = client.get(files["reliability.png"])
    assert png.status_code == 200 and png.content.startswith(PNG)
    assert page["links"]["promote"] == f"/api/v1/models/{champ['id']}/promote"
    _error(client.get(f"/api/v1/models/{champ['id']}/files/..%2F..%2Fbase.sqlite"), 404)  # never outside
    _error(client.get(f"/api/v1/models/{champ['id']}/files/secrets.txt"), 404, "has no file", "reliability.png")
    _error(client.get("/api/v1/models/999"), 404, "no model with id 999", "football-E0")
    body = _error(client.get("/api/v1/models/abc"), 422)
    assert body["field"] == "path.model_id"


# --------------------------------------------------------------------------------------------- writes
def test_promote_needs_a_configured_token(private):
    with _client(*private, token=None) as c:
        other = next(m for m in _models(c) if m["status"] != "champion")
        _error(c.post(f"/api/v1/models/{other['id']}/promote"), 403, "FORMGUIDE_API_TOKEN")
        _error(c.post(f"/api/v1/models/{other['id']}/promote", headers={"Authorization": f"Bearer {TOKEN}"}),
               403, "no API token is configured")
        assert c.get(f"/api/v1/models/{other['id']}").json()["model"]["status"] == other["status"]


def test_promote_with_the_token(private):
    with _client(*private, token=TOKEN) as c:
        old = _champion(c)
        other = next(m for m in _models(c) if m["status"] != "champion")
        url = f"/api/v1/models/{other['id']}/promote"
        r = _error(c.post(url), 401, "Authorization: Bearer")
        assert r["error"] == "unauthorized"
        _error(c.post(url, headers={"Authorization": "Bearer wrong"}), 401, "wrong API token")
        _error(c.post(url, headers={"Authorization": f"Basic {TOKEN}"}), 401, "wrong API token")
        assert _champion(c)["id"] == old["id"]  # nothing changed
        auth = {"Authorization": f"Bearer {TOKEN}"}
        promoted = c.post(url, headers=auth)
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["status"] == "champion" and _champion(c)["id"] == other["id"]
        assert c.get(f"/api/v1/models/{old['id']}").json()["model"]["status"] == "retired"
        history = c.get("/api/v1/training-history", params={"limit": 1}).json()
        assert history[0]["run_type"] == "promotion" and history[0]["model"] == "football-E0"
        _error(c.post("/api/v1/models/4242/promote", headers=auth), 404, "no model with id 4242")


def test_promoting_a_model_that_failed_its_integrity_check_is_a_conflict(private):
    db, arts = private
    engine = open_store(f"sqlite:///{db}")
    with _client(db, arts, token=TOKEN) as c:
        other = next(m for m in _models(c) if m["status"] != "champion")
        with session_scope(engine) as s:
            params = s.get(ModelRecord, other["id"]).parameters
        params["tampered"] = True
        stmt = text("UPDATE models SET parameters = :p WHERE id = :id").bindparams(bindparam("p", type_=JSON))
        with engine.begin() as conn:
            conn.execute(stmt, {"p": params, "id": other["id"]})
        before = _champion(c)
        body = _error(c.post(f"/api/v1/models/{other['id']}/promote", headers={"Authorization": f"Bearer {TOKEN}"}),
                      409, "sha256")
        assert body["error"] == "conflict"
        assert _champion(c)["id"] == before["id"]  # the store is unchanged
    engine.dispose()


# -------------------------------------------------------------------------------------------- serving
def test_training_history(client):
    runs = client.get("/api/v1/training-history", params={"sport": "football"}).json()
    trains = [r for r in runs if r["run_type"] == "train"]
    assert [r["status"] for r in trains] == ["succeeded", "succeeded"]
    assert all(r["events"] == 760 and r["metrics"]["log_loss"] > 0 and r["error"] is None for r in trains)
    starts = [r["started_at"] for r in runs]
    assert starts == sorted(starts, reverse=True)
    assert len(client.get("/api/v1/training-history", params={"limit": 1}).json()) == 1
    assert _error(client.get("/api/v1/training-history", params={"limit": 0}), 422)["field"] == "query.limit"
    _error(client.get("/api/v1/training-history", params={"sport": "polo"}), 404, "unknown sport 'polo'")


def test_predictions_of_a_day(client, base_store):
    r = client.get("/api/v1/predictions", params={"league": "e0", "date": "2025-05-25"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert "views" not in result and result["competition"] == "E0" and result["model_id"] == _champion(client)["id"]
    assert len(result["events"]) == 10  # the last day of 2024/25: ten matches
    for e in result["events"]:
        assert sum(e["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
        assert set(e["fair_odds"]) == set(e["probabilities"]) and e["tier"]
    assert result["feature_set_version"] and result["stored"] >= 10
    engine = open_store(f"sqlite:///{base_store[0]}")
    with session_scope(engine) as s:
        assert s.query(Prediction).filter(Prediction.model_id == result["model_id"]).count() >= 10
    engine.dispose()
    window = client.get("/api/v1/predictions", params={"league": "E0", "date_from": "2025-05-18",
                                                       "date_to": "2025-05-25"}).json()
    assert len(window["events"]) > len(result["events"])
    edges = sorted(e["best_edge"] for e in result["events"] if e["best_edge"] is not None)
    assert len(edges) >= 2 and edges[0] < edges[-1]
    edged = client.get("/api/v1/predictions", params={"league": "E0", "date": "2025-05-25", "min_edge": edges[-1]})
    assert edged.status_code == 200, edged.text
    kept = edged.json()["events"]
    assert 1 <= len(kept) < len(result["events"]) and all(e["best_edge"] >= edges[-1] for e in kept)


def test_predictions_bad_input(client):
    base = {"league": "E0"}
    body = _error(client.get("/api/v1/predictions", params={**base, "date_from": "2025-05-25",
                                                            "date_to": "2025-05-18"}), 422,
                  "date_from 2025-05-25 is after date_to 2025-05-18")
    assert body["field"] == "query.date_from"
    assert _error(client.get("/api/v1/predictions", params={**base, "date": "25/05/2025"}), 422)["field"] == \
        "query.date"
    _error(client.get("/api/v1/predictions", params={**base, "date": "2025-05-25", "date_from": "2025-05-18"}),
           422, "not both")
    _error(client.get("/api/v1/predictions", params={"league": "XX"}), 404, "unknown football league 'XX'")
    _error(client.get("/api/v1/predictions", params={"sport": "hurling"}), 404, "unknown sport 'hurling'")
    _error(client.get("/api/v1/predictions", params={**base, "tier": "Z"}), 400, "tier")
    _error(client.get("/api/v1/predictions", params={**base, "min_edge": 50}), 400, "min-edge")
    _error(client.get("/api/v1/predictions", params={**base, "bet_type": "total"}), 400, "no bet type 'total'")
    _error(client.get("/api/v1/predictions", params={"sport": "f1", "min_edge": 0.1}), 400,
           "--min-edge is not supported by f1 predict")


def test_simulation_of_a_season(client):
    url = "/api/v1/simulations/football/e0/2425"
    r = client.get(url, params={"date_from": "2025-03-01", "simulations": 500, "seed": 3})
    assert r.status_code == 200, r.text
    sim = r.json()
    assert (sim["competition"], sim["season"]) == ("E0", "2425") and "views" not in sim
    table = sim["data"]["table"]
    assert len(table) == 20 and sim["data"]["n_fixtures"] > 0 and sim["data"]["n_simulations"] == 500
    assert sum(t["title"] for t in table) == pytest.approx(1.0) and sum(t["relegation"] for t in table) == \
        pytest.approx(3.0)
    again = client.get(url, params={"date_from": "2025-03-01", "simulations": 500, "seed": 3}).json()
    assert again == sim  # the stored simulation of the same request is served
    body = _error(client.get("/api/v1/simulations/football/E0/1999"), 404, "season '1999'", "2223, 2324, 2425")
    assert body["field"] == "path.season"
    assert _error(client.get("/api/v1/simulations/football/XX/2425"), 404, "unknown football league")["field"] == \
        "path.league"
    assert _error(client.get("/api/v1/simulations/golf/E0/2425"), 404, "unknown sport")["field"] == "path.sport"
    _error(client.get("/api/v1/simulations/nfl/NFL/2024"), 404, "unknown nfl league", "formguide ingest nfl")
    assert _error(client.get(url, params={"simulations": 0}), 422)["field"] == "query.simulations"
    _error(client.get(url, params={"simulations": 200_001}), 422, "less than or equal to 200000")


# ------------------------------------------------------------------------------------ health, errors
def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["migrations_current"] is True
    assert body["schema_revision"] == body["head_revision"]


def test_store_unreachable_is_503_and_the_service_recovers(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the store's folder should be")
    with _client(blocker / "store.sqlite", tmp_path / "artifacts") as c:
        _error(c.get("/health"), 503, "cannot open the store")
        _error(c.get("/api/v1/leagues"), 503, "cannot open the store")
        assert c.get("/api/v1/sports").status_code == 200  # what needs no store still answers
        blocker.unlink()
        blocker.mkdir()
        assert c.get("/health").status_code == 200
        assert c.get("/api/v1/leagues").json() == []


def test_unreachable_server_store_is_503(tmp_path):
    pytest.importorskip("psycopg")
    settings = Settings(db_url="postgresql://nobody@127.0.0.1:1/none", artifacts_dir=tmp_path)
    with TestClient(create_app(settings)) as c:
        body = _error(c.get("/api/v1/models"), 503, "cannot reach database")
        assert body["error"] == "store_unavailable"
        _error(c.get("/health"), 503, "cannot reach database")


def test_an_unexpected_error_is_a_short_500_with_the_traceback_in_the_log(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr("formguide.service.routes_catalog.competitions", broken)
    with caplog.at_level(logging.ERROR, logger="formguide.service"):
        r = client.get("/api/v1/leagues")
    body = _error(r, 500, "RuntimeError", "server log")
    assert "internal detail" not in r.text and body["error"] == "internal"
    assert "Traceback" in caplog.text and "internal detail" in caplog.text


def test_unknown_endpoint_and_method_have_json_bodies(client):
    _error(client.get("/api/v1/nothing"), 404, "no such endpoint")
    assert client.delete("/api/v1/sports").json()["status"] == 405


def test_openapi_lists_every_endpoint(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/api/v1/sports", "/api/v1/leagues", "/api/v1/models", "/api/v1/models/status", "/api/v1/models/versions",
            "/api/v1/models/{model_id}", "/api/v1/models/{model_id}/promote", "/api/v1/training-history",
            "/api/v1/predictions", "/api/v1/simulations/{sport}/{league}/{season}", "/health"} <= paths
    assert client.get("/docs").status_code == 200


def test_the_service_imports_no_sport():
    import formguide

    src = Path(formguide.__file__).parent
    sports = [p.name for p in src.iterdir() if (p / "sport.py").exists() and p.name not in ("core", "app", "cli")]
    assert {"football", "f1", "nfl"} <= set(sports)
    for path in (src / "service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names for s in sports if n.startswith(f"formguide.{s}")], path


# ------------------------------------------------------------------------------------------------ CLI
def test_serve_command(capsys, tmp_path):
    shown = run_cli(["serve", "--help"], capsys)
    assert shown.code == 0 and "--host" in shown.text and "--port" in shown.text
    blocked = tmp_path / "blocker"
    blocked.write_text("")
    bad = run_cli(["serve", "--db", "postgresql://nobody@127.0.0.1:1/none"], capsys)
    assert bad.code == 2 and "cannot reach database" in bad.text and "Traceback" not in bad.text
    port = run_cli(["serve", "--port", "0"], capsys)
    assert port.code == 2 and "--port" in port.text
