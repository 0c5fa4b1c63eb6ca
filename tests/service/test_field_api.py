"""``GET /api/v1/{sport}/races/{race}/field`` on a small F1 store built in code (11 synthetic seasons of 6 races,
10 drivers, Plackett-Luce orders on fixed strengths; ``tests/f1/test_season.write_weekend``), trained through
the application layer as ``formguide train --sport f1`` does.

The field is a probability distribution: every probability in [0, 1], P(win) sums to 1 and P(podium) to 3 over
the field, each entry's position row and each position's column sum to 1; it is the same ``predict`` use case
``formguide predict --sport f1 --race`` calls. An unknown race is a 404 saying how races are written and what is
stored; a sport without race fields (decided by its contract) a 404 naming the sports that have them.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from formguide.app import Context, IngestRequest, PredictRequest, TrainRequest, ingest, predict, train
from formguide.core.settings import Settings
from formguide.core.sport import get_sport, sport_names
from formguide.service.api import create_app

RACE = "2023-06"


@pytest.fixture(scope="module")
def f1_client(tmp_path_factory):
    from tests.f1.test_season import ROUNDS, write_weekend

    tmp = tmp_path_factory.mktemp("field-api")
    rng = np.random.default_rng(3)
    for season in range(2013, 2024):
        for rnd in range(1, ROUNDS + 1):
            write_weekend(tmp / "races", season, rnd, rng)
    settings = Settings(db_url=f"sqlite:///{tmp / 'f1.sqlite'}", artifacts_dir=tmp / "artifacts")
    with Context(settings) as ctx:
        ingest(ctx, IngestRequest(sport="f1", paths=[tmp / "races"]))
        assert train(ctx, TrainRequest(sport="f1")).promoted
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and "Traceback" not in response.text
    for word in words:
        assert word in body["message"], body
    return body


def test_the_field_is_a_probability_distribution_with_its_model_and_moment(f1_client):
    client, _ = f1_client
    body = client.get(f"/api/v1/f1/races/{RACE}/field").json()
    entries, positions = body["entries"], np.array(body["positions"])
    assert body["sport"] == "f1" and body["race"] == RACE and body["moment"] == "post-quali"
    assert body["model"].startswith("f1-post-quali v") and body["model_version"] >= 1
    assert body["feature_set_version"].startswith("f1-post-quali@")
    n = len(entries)
    assert n == 10 and positions.shape == (n, n)
    for key in ("p_win", "p_podium", "p_points", "p_retire"):
        assert all(0.0 <= e[key] <= 1.0 for e in entries), key
    assert ((positions >= 0) & (positions <= 1)).all()
    assert sum(e["p_win"] for e in entries) == pytest.approx(1.0, abs=1e-9)
    assert sum(e["p_podium"] for e in entries) == pytest.approx(3.0, abs=1e-3)
    np.testing.assert_allclose(positions.sum(axis=1), 1.0, atol=1e-9)  # each entry over the places
    np.testing.assert_allclose(positions.sum(axis=0), 1.0, atol=1e-9)  # each place over the field
    wins = [e["p_win"] for e in entries]
    assert wins == sorted(wins, reverse=True)  # most likely winner first
    assert sorted(e["start"] for e in entries) == list(range(1, n + 1))  # the grid, known after qualifying
    assert {e["team"] for e in entries} == {f"team_{i}" for i in range(5)}
    assert all(e["actual_position"] is not None for e in entries)  # a past race carries its result
    np.testing.assert_allclose(positions[:, 0], wins, atol=0.02)  # sampled winners follow the exact P(win)


def test_the_field_is_what_formguide_predict_race_serves(f1_client):
    client, settings = f1_client
    body = client.get(f"/api/v1/f1/races/{RACE}/field").json()
    with Context(settings) as ctx:
        cli = predict(ctx, PredictRequest(sport="f1", options={"race": RACE}))  # `formguide predict --race`
    (event,) = cli.events
    assert (body["model_id"], body["feature_set_version"]) == (cli.model_id, cli.feature_set_version)
    assert body["event_id"] == event["event_id"]
    assert [(e["entry"], e["p_win"], e["p_podium"]) for e in body["entries"]] == [
        (e["entry"], e["p_win"], e["p_podium"]) for e in event["entries"]]
    again = client.get(f"/api/v1/f1/races/{RACE}/field")  # kept by the use case: the same answer
    assert again.status_code == 200 and again.json() == body
    other_seed = client.get(f"/api/v1/f1/races/{RACE}/field?seed=7&simulations=2000").json()
    assert other_seed["simulations"] == 2000 and other_seed["positions"] != body["positions"]
    scrape = client.get("/metrics").text
    served = {tuple(sorted(s.labels.items())): s.value for f in text_string_to_metric_families(scrape)
              for s in f.samples if s.name == "formguide_predictions_served_total"}
    assert served[(("endpoint", "field"), ("sport", "f1"))] >= 3
    route = "/api/v1/{sport}/races/{race}/field"
    assert f'formguide_http_requests_total{{method="GET",route="{route}",status="200"}}' in scrape


def test_an_unknown_race_is_a_404_saying_how_races_are_written_and_what_is_stored(f1_client):
    client, _ = f1_client
    body = _error(client.get("/api/v1/f1/races/2023-09/field"), 404, "2024-22", "rounds 1-6",
                  "2013-01 to 2023-06")
    assert body["field"] == "path.race"
    _error(client.get("/api/v1/f1/races/1999-01/field"), 404, "no F1 season 1999", "2013-2023", "2024-22")
    body = _error(client.get("/api/v1/f1/races/next-one/field"), 422, "2024-22")
    assert body["field"] == "path.race"


def test_a_sport_without_race_fields_says_which_sports_have_them(f1_client):
    client, _ = f1_client
    with_fields = [name for name in sport_names() if get_sport(name).has_race_fields]
    assert with_fields == ["f1"]
    for sport in ("football", "nfl"):
        body = _error(client.get(f"/api/v1/{sport}/races/2024-22/field"), 404, f"{sport} has no race fields",
                      "sports with race fields: f1")
        assert body["field"] == "path.sport"
    _error(client.get("/api/v1/curling/races/2024-22/field"), 404, "unknown sport 'curling'")


def test_bad_query_values_and_a_moment_without_a_champion_are_4xx(f1_client):
    client, _ = f1_client
    _error(client.get(f"/api/v1/f1/races/{RACE}/field?moment=during"), 400, "pre-quali", "post-quali")
    _error(client.get(f"/api/v1/f1/races/{RACE}/field?moment=pre-quali"), 404, "no trained model for f1-pre-quali")
    assert client.get(f"/api/v1/f1/races/{RACE}/field?simulations=10").status_code == 422
    assert client.get(f"/api/v1/f1/races/{RACE}/field?seed=-1").status_code == 422


def test_the_predictions_endpoint_counts_the_events_it_returned_per_sport(f1_client):
    client, _ = f1_client

    def served() -> float:
        families = text_string_to_metric_families(client.get("/metrics").text)
        return sum(s.value for f in families for s in f.samples if s.name == "formguide_predictions_served_total"
                   and s.labels == {"sport": "f1", "endpoint": "predictions"})

    before = served()
    body = client.get("/api/v1/predictions?sport=f1&date_from=2023-04-01&date_to=2023-09-30").json()
    assert len(body["events"]) == 6  # the six races of 2023
    assert served() == before + 6
