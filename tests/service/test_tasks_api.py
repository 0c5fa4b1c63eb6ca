"""Training over HTTP: ``POST /api/v1/models/train``, ``GET /api/v1/tasks[/{id}]``, ``POST .../cancel``.

The store holds a two-league version of the contract test's "duel" sport (leagues AA and BB, a season per
year, a ``framework`` train option that sets the model's regularisation), so a training task runs in about a
second through the real ``train`` use case; every bad input is a 4xx whose body says what was wrong.
SQLite and (with ``FORMGUIDE_TEST_PG_URL``) PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import Field
from sqlalchemy import select
from tests.test_contract_sport import DuelModel, DuelSport, write_duels

from formguide import app
from formguide.app import tasks as app_tasks
from formguide.app.job_schemas import TrainTaskRequest
from formguide.core.errors import FormguideError
from formguide.core.options import SportOptions, UseCaseOptions
from formguide.core.settings import Settings
from formguide.core.sport import FileReport, IngestReport, register_sport, unregister_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import Competition, Event, Result, Season, Team, TrainingRun
from formguide.service.api import create_app

TOKEN = "t0ken-for-tasks"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class LeagueTrainOptions(SportOptions):
    framework: Literal["plain", "strong"] = Field("plain", description="plain: C=1; strong: C=0.05.")


class LeagueDuel(DuelSport):
    """The duel sport with a competition per file (its stem) and a season per calendar year."""

    options = UseCaseOptions(train=LeagueTrainOptions)
    default_competition = None
    model_types = ("logit", "needy")

    def ingest(self, engine, paths: Sequence[Path], *, progress=None) -> IngestReport:
        report = IngestReport()
        for path in paths:
            rows = pd.read_csv(path, dtype=str, keep_default_na=False)
            code = path.stem.upper()
            with session_scope(engine) as s:
                comp = Competition(sport=self.name, code=code, name=f"league {code}")
                s.add(comp)
                s.flush()
                seasons: dict[str, Season] = {}
                teams = {t.name: t for t in s.scalars(select(Team).where(Team.sport == self.name))}
                for i, r in rows.iterrows():
                    year = r["day"][:4]
                    if year not in seasons:
                        seasons[year] = Season(competition_id=comp.id, code=year)
                        s.add(seasons[year])
                    for side in (r["home"], r["away"]):
                        teams.setdefault(side, Team(sport=self.name, name=side))
                        s.add(teams[side])
                    s.flush()
                    ev = Event(sport=self.name, competition_id=comp.id, season_id=seasons[year].id,
                               external_key=f"{code}:{i}", kickoff=pd.Timestamp(r["day"]).to_pydatetime(),
                               home_team_id=teams[r["home"]].id, away_team_id=teams[r["away"]].id,
                               status="finished" if r["winner"] else "scheduled")
                    s.add(ev)
                    s.flush()
                    if r["winner"]:
                        s.add(Result(event_id=ev.id, outcome=r["winner"]))
            report.files.append(FileReport(str(path), "ok", inserted=len(rows)))
        return report

    def load_frame(self, engine, competitions=None) -> pd.DataFrame:
        with session_scope(engine) as s:
            stmt = (select(Event.id, Event.kickoff, Season.code, Event.home_team_id, Event.away_team_id,
                           Result.outcome).join(Season, Season.id == Event.season_id)
                    .join(Competition, Competition.id == Event.competition_id)
                    .outerjoin(Result, Result.event_id == Event.id).where(Event.sport == self.name))
            if competitions:
                stmt = stmt.where(Competition.code.in_(list(competitions)))
            rows = s.execute(stmt).all()
            names = dict(s.execute(select(Team.id, Team.name).where(Team.sport == self.name)).all())
        frame = pd.DataFrame(rows, columns=["event_id", "kickoff", "season", "home", "away", "winner"])
        frame["home"], frame["away"] = frame["home"].map(names), frame["away"].map(names)
        frame["home_team"], frame["away_team"] = frame["home"], frame["away"]
        return frame.sort_values(["kickoff", "event_id"]).reset_index(drop=True)

    def model_params(self, model_type: str, options: SportOptions) -> dict[str, Any]:
        return {"C": 0.05 if getattr(options, "framework", "plain") == "strong" else 1.0}

    def make_model(self, model_type: str, **params: Any):
        return NeedyModel(**params) if model_type == "needy" else SlowModel(**params)


class SlowModel(DuelModel):
    """Sleeps ``FIT_SLEEP["s"]`` seconds per fit, so a test can act while a run is in its walk-forward."""

    def fit(self, frame, X):
        time.sleep(FIT_SLEEP["s"])
        return super().fit(frame, X)


FIT_SLEEP = {"s": 0.0}


class NeedyModel(DuelModel):
    """Forecasts nothing (NaN) unless fitted on matches from before March 2022: a champion that needs the
    league's whole history."""

    model_type = "needy"

    def fit(self, frame, X):
        self.long_ = bool((pd.to_datetime(frame["kickoff"]) < pd.Timestamp("2022-03-01")).any())
        return super().fit(frame, X)

    def predict_proba(self, frame, X):
        out = super().predict_proba(frame, X)
        return out if self.long_ else np.full_like(out, np.nan)


@pytest.fixture
def store(db_url, tmp_path):
    """(db URL, artifacts) holding leagues AA (2022-08/2023), BB (2022-02/2023) and CC (2022 only)."""
    register_sport("duel", LeagueDuel)
    arts = tmp_path / "artifacts"
    with app.Context.from_options(db_url=db_url, artifacts_dir=arts) as ctx:
        files = [write_duels(tmp_path / "aa.csv", n_days=600, seed=1), write_duels(tmp_path / "bb.csv", seed=2),
                 write_duels(tmp_path / "cc.csv", n_days=200, seed=3)]
        app.ingest(ctx, app.IngestRequest(sport="duel", paths=files))
    yield db_url, arts
    unregister_sport("duel")


def _client(db_url: str, arts: Path, token: str | None = TOKEN) -> TestClient:
    return TestClient(create_app(Settings(db_url=db_url, artifacts_dir=arts, api_token=token)))


@pytest.fixture
def client(store):
    with _client(*store) as c:
        yield c


def _error(response, status: int, *words: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["message"] and "Traceback" not in response.text, body
    for w in words:
        assert w in body["message"], body
    if field is not None:
        assert body["field"] == field, body
    return body


def _train(client: TestClient, **body: Any):
    return client.post("/api/v1/models/train", json={"sport": "duel", **body}, headers=AUTH)


def _run_one(store) -> int:
    with app.Context.from_options(db_url=store[0], artifacts_dir=store[1]) as ctx:
        return app_tasks.run_worker(ctx, once=True)


# ----------------------------------------------------------------------------------------- the happy path
def test_train_two_leagues_in_one_task_then_read_its_result(client, store):
    r = _train(client, leagues=["aa", "BB"], framework="strong", date_to="2023-06-30")
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert set(accepted) == {"task_id", "status", "message"} and accepted["status"] == "queued"
    assert "duel AA, BB" in accepted["message"]
    assert r.headers["location"] == f"/api/v1/tasks/{accepted['task_id']}"
    queued = client.get(f"/api/v1/tasks/{accepted['task_id']}").json()
    assert (queued["status"], queued["progress"], queued["result"]) == ("queued", 0.0, None)
    runs = queued["request"]["runs"]
    assert [x["competition"] for x in runs] == ["AA", "BB"]
    assert runs[0]["options"] == {"framework": "strong"} and runs[0]["until"].startswith("2023-07-01T00:00")

    assert _run_one(store) == 1
    done = client.get(f"/api/v1/tasks/{accepted['task_id']}").json()
    assert done["status"] == "completed" and done["progress"] == 1.0 and done["error"] is None, done
    assert done["started_at"] and done["completed_at"]
    result = done["result"]
    assert result["name"] == "duel-AA" and result["version"] == 1 and result["model_id"] is not None
    assert "evaluation" in result["metrics"] and result["metrics"]["data"]["date_to"] < "2023-07-01"
    assert [m["name"] for m in result["models"]] == ["duel-AA", "duel-BB"]
    assert all(m["promoted"] for m in result["models"])
    models = client.get("/api/v1/models", params={"sport": "duel"}).json()
    assert {m["name"] for m in models} == {"duel-AA", "duel-BB"}
    listed = client.get("/api/v1/tasks", params={"status": "completed"}).json()
    assert [t["task_id"] for t in listed] == [accepted["task_id"]]
    assert client.get("/api/v1/tasks", params={"status": "queued"}).json() == []


def test_date_from_leaves_earlier_events_out_of_training(client, store):
    r = _train(client, leagues=["AA"], date_from="2022-09-01")
    assert r.status_code == 202, r.text
    assert _run_one(store) == 1
    done = client.get(f"/api/v1/tasks/{r.json()['task_id']}").json()
    assert done["status"] == "completed", done
    data = done["result"]["metrics"]["data"]
    assert data["date_from"] >= "2022-09-01" and data["seasons"] == ["2022", "2023"]
    with app.Context.from_options(db_url=store[0], artifacts_dir=store[1]) as ctx:
        full = app.train(ctx, app.TrainRequest(sport="duel", competition="AA", force=True))
    assert full.metrics["data"]["date_from"] < "2022-02-01"
    assert full.metrics["data"]["n_events"] > data["n_events"]


def test_a_champion_that_forecasts_nothing_on_the_window_is_not_compared(store):
    """Found through the API on the demo store (a blend champion, a run on two seasons): the champion's re-run
    gave no forecast on the candidate's window and the run died with a TypeError; now it is not compared."""
    from datetime import datetime

    with app.Context.from_options(db_url=store[0], artifacts_dir=store[1]) as ctx:
        champion = app.train(ctx, app.TrainRequest(sport="duel", competition="AA", model_type="needy"))
        assert champion.promoted
        short = app.train(ctx, app.TrainRequest(sport="duel", competition="AA", date_from=datetime(2022, 9, 1)))
    assert short.status == "registered" and short.promoted, short.message
    promotion = short.metrics["promotion"]
    assert promotion["champion"] is None and "made no forecast" in promotion["note"]


def test_cancel_a_queued_task_then_409_for_the_finished_one_and_404_for_an_unknown_one(client):
    task_id = _train(client, leagues=["AA"]).json()["task_id"]
    r = client.post(f"/api/v1/tasks/{task_id}/cancel", headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    _error(client.post(f"/api/v1/tasks/{task_id}/cancel", headers=AUTH), 409, "already cancelled")
    _error(client.post("/api/v1/tasks/9999/cancel", headers=AUTH), 404, "no task with id 9999")
    _error(client.get("/api/v1/tasks/9999"), 404, "no task with id 9999", field="path.task_id")
    _error(client.get("/api/v1/tasks/abc"), 422, "task_id")
    _error(client.get(f"/api/v1/tasks/{2**31}"), 422, "task_id")  # beyond the store's keys (found by schemathesis)
    _error(client.post(f"/api/v1/tasks/{2**70}/cancel", headers=AUTH), 422, "task_id")
    _error(client.get("/api/v1/tasks", params={"status": "done"}), 422, "status")
    _error(client.get("/api/v1/tasks", params={"limit": 0}), 422, "limit")


def test_a_failing_second_league_fails_the_task_and_names_what_was_kept(client, store):
    task_id = _train(client, leagues=["AA", "CC"]).json()["task_id"]  # CC has one season: nothing to evaluate on
    assert _run_one(store) == 1
    done = client.get(f"/api/v1/tasks/{task_id}").json()
    assert done["status"] == "failed", done
    assert done["error"].startswith("CC: ") and "two seasons" in done["error"], done["error"]
    assert "kept: duel-AA v1" in done["error"], done["error"]


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("body", "status", "words", "field"), [
    ({"leagues": []}, 422, ["leagues is empty"], "body.leagues"),
    ({"leagues": "AA"}, 422, ["valid list"], "body.leagues"),
    ({"leagues": ["AA"], "colour": "red"}, 422, ["Extra inputs are not permitted"], "body.colour"),
    ({"leagues": ["AA"], "max_runtime_seconds": 0}, 422, ["greater than 0"], "body.max_runtime_seconds"),
    ({"leagues": ["AA"], "max_runtime_seconds": -5}, 422, ["greater than 0"], "body.max_runtime_seconds"),
    ({"leagues": ["AA"], "max_runtime_seconds": "soon"}, 422, ["valid number"], "body.max_runtime_seconds"),
    ({"leagues": ["AA"], "date_from": "2023-05-01", "date_to": "2023-01-01"}, 422,
     ["date_from 2023-05-01 is after date_to 2023-01-01"], None),
    ({"leagues": ["AA"], "date_to": "yesterday"}, 422, ["date"], "body.date_to"),
    ({"leagues": ["AA"], "date_to": "9999-12-31"}, 422, ["date_to 9999-12-31 is outside"], None),
    ({"leagues": ["AA"] * 51}, 422, ["at most 50"], "body.leagues"),
    ({"leagues": ["AA", "aa"]}, 422, ["names the same one twice"], "body.leagues"),
    ({"leagues": ["AA"], "seasons": []}, 422, ["seasons is empty"], "body.seasons"),
    ({"leagues": ["ZZ"]}, 404, ["unknown duel league 'ZZ'", "stored: AA, BB, CC"], "body.leagues"),
    ({"leagues": ["AA", "BB"], "seasons": ["2023", "1999"]}, 404,
     ["no events of duel AA", "1999", "seasons with events: 2022, 2023"], "body.seasons"),
    ({}, 400, ["leagues is required for duel", "AA, BB, CC"], None),
    ({"leagues": ["AA"], "framework": "turbo"}, 400, ["turbo"], None),
    ({"leagues": ["AA"], "model_type": "forest"}, 400, ["unknown duel model 'forest'"], None),
])
def test_bad_train_requests_answer_4xx_saying_what_was_wrong(client, body, status, words, field):
    _error(_train(client, **body), status, *words, field=field)
    assert client.get("/api/v1/tasks").json() == []  # nothing was queued


def test_unknown_sport_no_framework_choice_malformed_json_and_tokens(store):
    with _client(*store) as client:
        _error(client.post("/api/v1/models/train", json={"sport": "curling", "leagues": ["AA"]}, headers=AUTH),
               404, "unknown sport 'curling'", field="body.sport")
        _error(client.post("/api/v1/models/train", json={"sport": "football", "leagues": ["E0"],
                                                         "framework": "xgboost"}, headers=AUTH),
               422, "football has no framework choice", field="body.framework")
        bad = client.post("/api/v1/models/train", content=b'{"sport": "duel", "leagues": [', headers={
            **AUTH, "Content-Type": "application/json"})
        _error(bad, 422, "JSON")
        _error(client.post("/api/v1/models/train", json=["duel"], headers=AUTH), 422)
        _error(client.post("/api/v1/models/train", json={"sport": "duel", "leagues": ["AA"]}), 401, "Bearer")
        _error(client.post("/api/v1/models/train", json={"sport": "duel", "leagues": ["AA"]},
                           headers={"Authorization": "Bearer nope"}), 401, "wrong API token")
        _error(client.post("/api/v1/tasks/1/cancel"), 401)
    with _client(*store, token=None) as client:
        _error(client.post("/api/v1/models/train", json={"sport": "duel", "leagues": ["AA"]}, headers=AUTH),
               403, "FORMGUIDE_API_TOKEN")
        _error(client.post("/api/v1/tasks/1/cancel", headers=AUTH), 403, "FORMGUIDE_API_TOKEN")


# ------------------------------------------------------------------------------ the application layer
def test_train_task_maps_the_request_onto_one_train_request_per_league(store):
    with app.Context.from_options(db_url=store[0], artifacts_dir=store[1]) as ctx:
        job = app_tasks.train_task(ctx, TrainTaskRequest(
            sport="duel", leagues=["bb", "AA"], seasons=["2022"], date_from=date(2022, 3, 1),
            date_to=date(2022, 12, 31), framework="plain", max_runtime_seconds=30))
        assert [r.competition for r in job.runs] == ["BB", "AA"] and job.max_runtime == 30
        first = job.runs[0]
        assert (first.seasons, first.options) == (["2022"], {"framework": "plain"})
        assert (first.date_from.isoformat(), first.until.isoformat()) == ("2022-03-01T00:00:00",
                                                                          "2023-01-01T00:00:00")
        with pytest.raises(FormguideError, match="no events of duel BB in the store for season\\(s\\) 2031"):
            app_tasks.train_task(ctx, TrainTaskRequest(sport="duel", leagues=["BB"], seasons=["2031"]))


def test_a_cancelled_running_task_records_its_run_cancelled(store, monkeypatch):
    """Cancel through the API while the worker is in the walk-forward: the task ends cancelled, nothing kept."""
    monkeypatch.setitem(FIT_SLEEP, "s", 0.2)
    with _client(*store) as client, app.Context.from_options(db_url=store[0], artifacts_dir=store[1]) as ctx:
        task_id = _train(client, leagues=["AA"]).json()["task_id"]
        stop = threading.Event()
        worker = threading.Thread(target=app_tasks.run_worker, args=(ctx,),
                                  kwargs={"poll": 0.05, "stop": stop, "lease_s": 5})
        worker.start()
        try:
            deadline = time.monotonic() + 60
            while client.get(f"/api/v1/tasks/{task_id}").json()["phase"] != "walk-forward":
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert client.post(f"/api/v1/tasks/{task_id}/cancel", headers=AUTH).status_code == 200
            while client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "running":
                assert time.monotonic() < deadline
                time.sleep(0.02)
        finally:
            stop.set()
            worker.join(30)
        done = client.get(f"/api/v1/tasks/{task_id}").json()
        assert done["status"] == "cancelled" and done["result"] is None, done
        with session_scope(ctx.engine) as s:
            assert [r.status for r in s.scalars(select(TrainingRun))] == ["cancelled"]
        assert client.get("/api/v1/models", params={"sport": "duel"}).json() == []


# ------------------------------------------------------------------ workers inside the server, and /health
def test_health_says_no_live_worker_with_200_then_the_in_process_worker_trains_what_is_posted(store):
    with _client(*store) as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        assert health.json()["workers_alive"] == 0 and "no live worker" in health.json()["workers_message"]
    app_ = create_app(Settings(db_url=store[0], artifacts_dir=store[1], api_token=TOKEN), workers=1)
    with TestClient(app_) as client:
        wait = time.monotonic() + 30
        while (h := client.get("/health").json())["workers_alive"] < 1:
            assert time.monotonic() < wait, h
            time.sleep(0.05)
        assert h["workers"][0]["task_id"] is None and "1 worker(s) alive" in h["workers_message"]
        t0 = time.perf_counter()
        task_id = _train(client, leagues=["AA"]).json()["task_id"]
        while client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "queued":
            assert time.perf_counter() - t0 < 5, "the idle in-process worker did not pick the task up"
            time.sleep(0.01)
        to_running = time.perf_counter() - t0
        while (done := client.get(f"/api/v1/tasks/{task_id}").json())["status"] == "running":
            assert time.perf_counter() - t0 < 120
            time.sleep(0.05)
        assert done["status"] == "completed" and done["result"]["name"] == "duel-AA", done
        assert to_running < 1.0, f"POST -> running took {to_running:.3f} s"  # woken at once, not at a 1 s poll
        while client.get("/health").json()["workers"][0]["tasks_done"] != 1:  # written just after the task's end
            assert time.perf_counter() - t0 < 120
            time.sleep(0.02)
    with app.Context.from_options(db_url=store[0], artifacts_dir=store[1]) as ctx:
        from formguide.core.workers import list_workers

        listed = list_workers(ctx.engine)
    assert len(listed) == 1 and listed[0].stopped_at is not None and not listed[0].alive  # a clean stop


def test_stopping_the_server_gives_a_running_task_back_to_the_queue(store, monkeypatch):
    monkeypatch.setitem(FIT_SLEEP, "s", 0.2)
    app_ = create_app(Settings(db_url=store[0], artifacts_dir=store[1], api_token=TOKEN), workers=1)
    with TestClient(app_) as client:
        task_id = _train(client, leagues=["AA"]).json()["task_id"]
        wait = time.monotonic() + 60
        while client.get(f"/api/v1/tasks/{task_id}").json()["phase"] != "walk-forward":
            assert time.monotonic() < wait
            time.sleep(0.02)
    with app.Context.from_options(db_url=store[0], artifacts_dir=store[1]) as ctx:
        back = app_tasks.get_task(ctx, task_id)
        assert (back.status, back.attempts, back.message) == ("queued", 1, "the worker was stopped; requeued")
        with session_scope(ctx.engine) as s:
            assert [r.status for r in s.scalars(select(TrainingRun))] == ["interrupted"]
