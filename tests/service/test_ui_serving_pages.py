"""The web UI's predictions, race and season-simulation pages through FastAPI's TestClient, on one small store
built in code: three real E0 seasons with a Poisson champion (a goal model, so the season simulates), one SC0
season with no model (a league without a champion), and 11 synthetic F1 seasons of 6 races and 10 drivers with
a post-qualifying champion (``tests/f1/test_season.write_weekend``).

The pages call the API's route functions, so what they show is what ``GET /api/v1/predictions``, ``.../field``
and ``GET /api/v1/simulations/...`` answer: the same model and feature-set version, the same probabilities (as
percentages), the same rows left by a filter. A user's mistake is shown in place with the API's status code and
the form kept; never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.helpers import E0_SEASONS, ingest_e0

from formguide.app import Context, IngestRequest, TrainRequest, ingest, train
from formguide.core.settings import Settings
from formguide.core.store.db import open_store
from formguide.core.views import Column, TableView
from formguide.service.api import create_app
from formguide.service.ui.heatmap import SCALE, colour, heat_map
from formguide.service.ui.serving_data import sim_table

DAY = "2025-05-18"  # a Sunday of E0 2024/25: five matches
RACE = "2023-06"


@pytest.fixture(scope="module")
def store(tmp_path_factory, football_dir) -> Settings:
    from tests.f1.test_season import ROUNDS, write_weekend

    from formguide.football.store_io import ingest_files

    tmp = tmp_path_factory.mktemp("ui-serving")
    settings = Settings(db_url=f"sqlite:///{tmp / 'store.sqlite'}", artifacts_dir=tmp / "artifacts")
    engine = open_store(settings.store_url)
    ingest_e0(engine, football_dir, E0_SEASONS)
    sc0 = Path(football_dir) / "SC0_2425.csv"
    if not sc0.is_file():
        pytest.skip(f"real football file missing: {sc0}")
    assert all(f.status == "ok" for f in ingest_files(engine, [sc0], workers=0).files)
    engine.dispose()
    rng = np.random.default_rng(3)
    for season in range(2013, 2024):
        for rnd in range(1, ROUNDS + 1):
            write_weekend(tmp / "races", season, rnd, rng)
    with Context(settings) as ctx:
        ingest(ctx, IngestRequest(sport="f1", paths=[tmp / "races"]))
        assert train(ctx, TrainRequest(sport="f1")).promoted
        assert train(ctx, TrainRequest(competition="E0", model_type="poisson")).promoted
    return settings


@pytest.fixture(scope="module")
def client(store):
    with TestClient(create_app(store)) as c:
        yield c


def _page(response, status: int = 200, *texts: str) -> str:
    assert response.status_code == status, response.text[:800]
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    for t in texts:
        assert t in response.text, t
    return response.text


def _cards(html: str) -> int:
    return len(re.findall(r'<article class="event card[ "]', html))


def _pct(p: float) -> str:
    return f"{100.0 * p:.1f}%"


# ------------------------------------------------------------------------------------------ predictions
def test_predictions_page_shows_the_apis_probabilities_odds_edges_and_versions(client):
    api = client.get("/api/v1/predictions", params={"sport": "football", "league": "E0", "date": DAY}).json()
    html = _page(client.get("/predictions", params={"sport": "football", "league": "E0", "date": DAY}), 200,
                 api["model"], api["feature_set_version"], 'id="prediction-filters"', "fair odds", "market")
    assert len(api["events"]) == 5 and _cards(html) == 5
    for event in api["events"]:
        assert f"{event['home_team']} v {event['away_team']}".replace("'", "&#39;") in html
        for outcome, p in event["probabilities"].items():
            assert f'style="width: {round(100 * p, 2)}%"' in html, (outcome, p)  # the bar is the probability
            assert f'aria-label="{ {"H": "home", "D": "draw", "A": "away"}[outcome]} {_pct(p)}"' in html
        for key, price in event["market_prices"].items():
            if price is not None:
                assert f"{price:.2f}" in html, key
    first = api["events"][0]
    if first["selection"] is not None:
        assert f"{100 * first['best_edge']:+.1f}%" in html and f"tier {first['tier']}" in html
    for label in ("Sport", "League", "Date", "Minimum edge", "Tier (or better)"):  # a labelled GET form
        assert f">{label}</label>" in html
    assert 'method="get" action="/predictions"' in html


@pytest.mark.parametrize("params", [{"min_edge": "0.1"}, {"tier": "A"}, {"min_edge": "0.08", "tier": "B"}])
def test_filters_narrow_the_rows_to_the_apis(client, params):
    query = {"sport": "football", "league": "E0", "date": DAY}
    everything = _cards(_page(client.get("/predictions", params=query)))
    api = client.get("/api/v1/predictions", params=query | params).json()
    html = _page(client.get("/predictions", params=query | params))
    assert _cards(html) == len(api["events"]) < everything
    for key, value in params.items():  # the form keeps what was asked
        assert f'value="{value}"' in html and (key != "tier" or f'<option value="{value}" selected>' in html)


def test_empty_state_when_no_event_is_in_the_window(client):
    html = _page(client.get("/predictions", params={"sport": "football", "league": "E0", "date": "2025-06-20"}),
                 200, 'id="predictions-empty"', "No events", 'id="served-model"')
    assert _cards(html) == 0


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"league": "XX"}, 404, ("unknown football league", "E0")),
    ({"league": "SC0"}, 404, ("no trained model for football-SC0",)),
    ({"league": "E0", "date": "18/05/2025"}, 422, ("date", "2025-05-18")),
    ({"league": "E0", "min_edge": "lots"}, 422, ("minimum edge", "not a number")),
    ({"league": "E0", "tier": "Z"}, 400, ("tier",)),
    ({"league": "E0", "bet_type": "moneyline"}, 400, ("moneyline",)),
])
def test_errors_are_shown_in_place_with_the_apis_status(client, params, status, words):
    html = _page(client.get("/predictions", params={"sport": "football", **params}), status,
                 'id="predictions-error"', 'id="prediction-filters"', *words)
    assert _cards(html) == 0


def test_unknown_sport_is_a_404_in_place(client):
    _page(client.get("/predictions", params={"sport": "curling"}), 404, "unknown sport", "football")


def test_field_sport_predictions_link_to_their_race_page(client):
    html = _page(client.get("/predictions", params={"sport": "f1", "date": "2023-09-10"}), 200, "P", "win")
    assert _cards(html) == 1 and f'href="/f1/races/{RACE}"' in html
    assert 'name="min_edge"' not in html  # the sport's predict options take no edge filter: not offered


# ------------------------------------------------------------------------------------------ race page
def test_race_page_shows_the_fields_bars_and_an_n_by_n_heat_map(client):
    api = client.get(f"/api/v1/f1/races/{RACE}/field").json()
    html = _page(client.get(f"/f1/races/{RACE}"), 200, api["model"], api["feature_set_version"], "post-quali",
                 'id="race-field"', 'id="position-heatmap"', 'id="race-picker"')
    n = len(api["entries"])
    assert n == 10
    table = html[html.index('id="position-heatmap"'):]
    table = table[:table.index("</table>")]
    assert len(re.findall(r'<tr><th scope="row">', table)) == n
    assert len(re.findall(r'<td class="heat', table)) == n * n
    first = api["entries"][0]
    assert f'aria-label="{first["label"]} finishes 1st: {100 * api["positions"][0][0]:.2f}%"' in table
    for e in api["entries"]:
        for key, what in (("p_win", "win"), ("p_podium", "podium"), ("p_points", "points")):
            assert f'aria-label="{what} {_pct(e[key])}"' in html
    assert 'href="/races" aria-current="page"' in html  # the navigation marks Races on a race's own page
    assert 'href="/f1/races/2023-05?moment=post-quali" rel="prev"' in html and 'rel="next"' not in html  # the last stored race


def test_race_picker_lists_stored_races_and_redirects_to_the_chosen_one(client):
    html = _page(client.get("/races"), 200, 'id="race-picker"', "SEASON-ROUND", 'href="/f1/races/2023-06"')
    assert '<option value="pre-quali">' in html  # the moments come from the sport's predict options
    r = client.get("/races", params={"sport": "f1", "race": RACE, "moment": "post-quali"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/f1/races/{RACE}?moment=post-quali"


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/f1/races/2031-01", 404, ("no F1 season 2031", "2013-01 to 2023-06")),
    ("/f1/races/next-week", 422, ("2024-22",)),
    ("/f1/races/2023-06?moment=pre-quali", 404, ("no trained model for f1-pre-quali",)),
    ("/football/races/2023-06", 404, ("football has no race fields", "f1")),
    ("/football/races", 404, ("football has no race fields",)),
])
def test_race_errors_in_place(client, url, status, words):
    _page(client.get(url), status, 'id="race-error"', *words)


# ------------------------------------------------------------------------------------------ simulations
def test_simulation_page_renders_the_results_own_table_with_bars(client):
    params = {"date_from": "2025-03-01", "simulations": "2000", "seed": "3"}
    api = client.get("/api/v1/simulations/football/E0/2425", params=params).json()
    html = _page(client.get("/simulations/football/E0/2425", params=params), 200, 'id="simulation-table"',
                 api["data"]["model"], ">title</th>", ">relegated</th>", "2,000")
    table = api["data"]["table"]
    assert len(table) == 20
    assert len(re.findall(r"<tr><th scope=\"row\">", html[html.index('id="simulation-table"'):])) == 20
    for row in table[:3]:
        assert f'aria-label="title {_pct(row["title"])}"' in html
        assert f'aria-label="relegated {_pct(row["relegation"])}"' in html


def test_simulation_picker_and_its_redirect(client):
    html = _page(client.get("/simulations"), 200, 'id="simulation-picker"', 'href="/simulations/football/E0/2425"')
    assert "/simulations/f1/" not in html  # F1 does not simulate seasons through the use case
    r = client.get("/simulations", params={"league_key": "football/E0", "season": "2425"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/simulations/football/E0/2425"


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/simulations/football/E0/1999", 404, ("1999", "not in the store", "2425")),
    ("/simulations/football/XX/2425", 404, ("unknown football league",)),
    ("/simulations/f1/WC/2023", 400, ("simulate is not available for f1",)),
    ("/simulations/football/E0/2425?simulations=0", 422, ("simulations",)),
    ("/simulations/football/E0/2425?date_from=March", 422, ("from",)),
])
def test_simulation_errors_in_place(client, url, status, words):
    _page(client.get(url), status, 'id="simulation-error"', *words)


def test_navigation_has_the_three_pages(client):
    html = _page(client.get("/predictions", params={"sport": "football", "league": "E0", "date": DAY}))
    for path in ("/predictions", "/races", "/simulations"):
        assert f'href="{path}"' in html
    assert 'href="/predictions" aria-current="page"' in html


# ------------------------------------------------------------------------------------------ pieces
def test_heat_map_scale_and_labels():
    assert colour(0.0) == SCALE[0] and colour(1.0) == SCALE[-1] and colour(2.0) == SCALE[-1]
    h = heat_map([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]], ["A", "B", "C"])
    assert h.vmax == 0.5 and h.columns == ["1", "2", "3"]
    assert [len(r.cells) for r in h.rows] == [3, 3, 3]
    assert h.rows[0].cells[0].background == SCALE[-1] and h.rows[0].cells[0].dark
    assert h.rows[0].cells[1].label == "A finishes 2nd: 25.00%" and not h.rows[0].cells[1].dark
    with pytest.raises(ValueError, match="row labels"):
        heat_map([[1.0]], ["A", "B"])


def test_simulation_columns_are_bars_only_when_every_value_is_a_probability():
    view = TableView(columns=[Column(key="team", align="left"), Column(key="wins", digits=0),
                              Column(key="expected_wins", digits=1), Column(key="p_playoffs", header="playoffs",
                                                                           digits=3),
                              Column(key="odd", digits=3)],
                     rows=[{"team": "BUF", "wins": 6, "expected_wins": 12.2, "p_playoffs": 0.996, "odd": 1.5},
                           {"team": "NYJ", "wins": 3, "expected_wins": 7.0, "p_playoffs": 0.13, "odd": 0.2}])
    columns, rows = sim_table(view)
    assert [c.probability for c in columns] == [False, False, False, True, False]
    assert rows[0].cells[3].percent == "99.6%" and rows[0].cells[2] == "12.2"


def test_an_empty_store_gives_empty_states_and_errors_in_place(tmp_path):
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'empty.sqlite'}", artifacts_dir=tmp_path / "artifacts")
    with TestClient(create_app(settings)) as c:
        html = c.get("/predictions").text  # no champion anywhere: the first installed sport, nothing stored
        assert 'id="predictions-error"' in html and 'id="prediction-filters"' in html and "Traceback" not in html
        _page(c.get("/simulations"), 200, 'id="simulation-empty"', "Nothing to simulate")
        html = _page(c.get("/races"), 200, 'id="race-picker"')
        assert "Stored races" not in html
        _page(c.get(f"/f1/races/{RACE}"), 404, 'id="race-error"', "no trained model for f1-post-quali")


def test_store_unreachable_is_a_503_page_and_the_pages_recover(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the store's folder should be")
    settings = Settings(db_url=f"sqlite:///{blocker / 'store.sqlite'}", artifacts_dir=tmp_path / "artifacts")
    with TestClient(create_app(settings)) as c:
        for url in ("/predictions", "/races", f"/f1/races/{RACE}", "/simulations", "/simulations/football/E0/2425"):
            _page(c.get(url), 503, "cannot open the store")
        blocker.unlink()
        blocker.mkdir()
        _page(c.get("/simulations"), 200, 'id="simulation-empty"')
