"""The web UI's pages through FastAPI's TestClient (no browser): every page answers 200 with its key texts on a
real E0 2022/23-2024/25 store (an Elo champion and a Poisson version), empty states on an empty store, a
user's mistake as a page with its status (never a traceback), card text escaped, and the UI's writes guarded
by the API token (sign-in cookie, same-origin check)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.helpers import E0_SEASONS, copy_sqlite, ingest_e0

from formguide.app import Context, TrainRequest, train
from formguide.app.tasks import list_tasks
from formguide.core.settings import Settings
from formguide.core.store.db import open_store
from formguide.service.api import create_app
from formguide.service.ui.markdown import render_markdown
from formguide.service.ui.pages import importance_rows

TOKEN = "ui-test-token"
ORIGIN = "http://testserver"


@pytest.fixture(scope="module")
def base_store(tmp_path_factory, football_dir) -> tuple[Path, Path]:
    """(SQLite file, artifacts) with three E0 seasons, an Elo champion (v1) and a Poisson version (v2)."""
    tmp = tmp_path_factory.mktemp("ui-base")
    path, arts = tmp / "base.sqlite", tmp / "artifacts"
    engine = open_store(f"sqlite:///{path}")
    ingest_e0(engine, football_dir, E0_SEASONS)
    engine.dispose()
    with Context(Settings(db_url=f"sqlite:///{path}", artifacts_dir=arts)) as ctx:
        assert train(ctx, TrainRequest(competition="E0", model_type="elo")).promoted
        train(ctx, TrainRequest(competition="E0", model_type="poisson"))
    return path, arts


def _client(db: Path, artifacts: Path, token: str | None = TOKEN) -> TestClient:
    return TestClient(create_app(Settings(db_url=f"sqlite:///{db}", artifacts_dir=artifacts, api_token=token)))


@pytest.fixture(scope="module")
def client(base_store):
    with _client(*base_store) as c:
        yield c


@pytest.fixture
def private(base_store, tmp_path) -> tuple[Path, Path]:
    return copy_sqlite(base_store[0], tmp_path / "private.sqlite"), base_store[1]


@pytest.fixture
def empty(tmp_path) -> TestClient:
    with _client(tmp_path / "empty.sqlite", tmp_path / "artifacts") as c:
        yield c


def _ok(response, *texts: str) -> str:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    for t in texts:
        assert t in response.text, t
    return response.text


def _sign_in(c: TestClient) -> None:
    r = c.post("/login", data={"token": TOKEN, "next": "/models"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/models"
    assert "formguide_ui" in r.cookies and TOKEN not in r.headers["set-cookie"]


def test_frame_nav_and_static(client):
    html = _ok(client.get("/"), "formguide", 'href="/training"', 'href="/history"', 'href="/models"',
               'aria-current="page"', "/static/app.css", "Sign in")
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing loaded from another site
    csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "@media (max-width: 640px)" in css.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/api/v1/sports").status_code == 200  # the API is still matched first


def test_dashboard_shows_each_champion_with_metrics(client):
    html = _ok(client.get("/"), "football", "E0", "1x2", "champion", "elo", "log_loss", "Brier", "accuracy",
               "training events")
    assert "poisson" not in html  # only champions


def test_training_page_offers_the_contract(client):
    html = _ok(client.get("/training?sport=football"), 'name="league"', 'value="E0"', 'name="season"',
               'value="2324"', 'name="date_from"', 'name="date_to"', 'name="model_type"', "dixon-coles", "blend",
               "Clear leagues", "Clear seasons", "Hide configuration", "Will use")
    assert 'name="framework"' not in html  # football's train options have no framework
    assert '<label for="league">' in html and '<label for="season">' in html
    assert "sign in" in html.lower()  # writes need the token
    nfl = _ok(client.get("/training?sport=nfl"), 'name="bet_type"', "moneyline", 'name="framework"', "lightgbm")
    assert "No nfl league in the store yet" in nfl


def test_history_lists_runs_and_filters(client):
    html = _ok(client.get("/history"), "football-E0", "train", "succeeded", "log_loss", "Refresh")
    assert html.count('data-run="') >= 2
    _ok(client.get("/history?sport=f1"), "No training run yet")
    assert 'data-run="' in client.get("/history?sport=&limit=20").text  # the form's "all"


def test_models_side_by_side_and_model_page(client):
    html = _ok(client.get("/models"), "football-E0", "v1", "v2", "champion", "candidate", "Promote", "log_loss")
    ids = re.findall(r'data-model="(\d+)"', html)
    assert len(ids) == 2
    page = _ok(client.get(f"/models/{ids[-1]}"), "Reliability diagram", "Feature importance", "Model card",
               "Training data", f"/api/v1/models/{ids[-1]}/files/reliability.png")
    assert "<script" not in page.split("Model card", 1)[1].split("</main>", 1)[0]


def test_empty_store_has_empty_states(empty):
    _ok(empty.get("/"), "No champion yet")
    _ok(empty.get("/history"), "No training run yet")
    _ok(empty.get("/models"), "No model yet")
    _ok(empty.get("/training"), "No training task yet")


def test_mistakes_are_pages_with_their_status(client):
    for path, status, words in (("/models/999", 404, "999"), ("/models/abc", 404, "positive whole number"),
                                ("/training?sport=cricket", 404, "unknown sport &#39;cricket&#39;"),
                                ("/history?sport=cricket", 404, "installed: f1, football"),
                                ("/models?sport=cricket", 404, "unknown sport")):
        r = client.get(path)
        assert r.status_code == status and words in r.text and "Traceback" not in r.text, (path, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
    r = client.get("/training/tasks/12345")
    assert r.status_code == 404 and "12345" in r.json()["message"]


def test_query_text_is_escaped(client):
    html = client.get("/models?promoted=<script>alert(1)</script>").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_markdown_escapes_and_renders_tables():
    html = str(render_markdown("# t\n\n- **a** `x<y>`\n\n| a | b |\n|---|---:|\n| <b>1</b> | 2 |\n\n"
                               "![plot](p.png)\n\n<img src=x onerror=alert(1)>", lambda n: f"/f/{n}"))
    assert "<h2>t</h2>" in html and "<strong>a</strong>" in html and "<code>x&lt;y&gt;</code>" in html
    assert '<td class="num">2</td>' in html and "&lt;b&gt;1&lt;/b&gt;" in html and '<img src="/f/p.png"' in html
    assert "<img src=x" not in html


def test_importance_rows_read_the_card_table():
    card = ("## Feature importance (top 2 of 2)\n\n| rank | feature | importance | share |\n|---:|---|---:|---:|\n"
            "| 1 | `elo_diff` | 0.8 | 80.0% |\n| 2 | `home` | 0.2 | 20.0% |\n\n## Configuration\n")
    assert importance_rows(card) == [{"rank": 1, "feature": "elo_diff", "value": 0.8, "share": 0.8},
                                     {"rank": 2, "feature": "home", "value": 0.2, "share": 0.2}]
    assert importance_rows("# no section") == []


def test_writes_need_a_configured_token(private):
    with _client(*private, token=None) as c:
        assert "read-only" in c.get("/").text
        r = c.post("/login", data={"token": "anything"})
        assert r.status_code == 403 and "FORMGUIDE_API_TOKEN" in r.text
        r = c.post("/training", data={"sport": "football", "league": "E0"}, headers={"Origin": ORIGIN,
                   "Accept": "application/json"})
        assert r.status_code == 403 and "FORMGUIDE_API_TOKEN" in r.json()["message"]


def test_training_start_signed_in_queues_a_task(private):
    with _client(*private) as c:
        r = c.post("/training", data={"sport": "football", "league": "E0", "model_type": "elo"},
                   headers={"Origin": ORIGIN, "Accept": "application/json"})
        assert r.status_code == 401 and "sign in" in r.json()["message"]
        r = c.post("/login", data={"token": "wrong"})
        assert r.status_code == 401 and "wrong token" in r.text
        for target in ("//evil.example/x", "/\\evil.example", "https://evil.example"):  # no open redirect
            r = c.post("/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/", target
        _sign_in(c)
        bad = {"Origin": "http://evil.example", "Accept": "application/json"}
        r = c.post("/training", data={"sport": "football", "league": "E0"}, headers=bad)
        assert r.status_code == 403 and "did not come from a page of this server" in r.json()["message"]
        good = {"Origin": ORIGIN, "Accept": "application/json"}
        for form, status, words in (
                ({"sport": "football"}, 422, "choose at least one league"),
                ({"sport": "football", "league": "XX"}, 400, "unknown football league 'XX'"),
                ({"sport": "football", "league": "E0", "season": "1999"}, 422, "season(s) 1999"),
                ({"sport": "football", "league": ["E0", "e0"]}, 422, "leagues: leagues names the same one twice"),
                ({"sport": "football", "league": "E0", "date_from": "2025-01-01", "date_to": "2024-01-01"}, 422,
                 "after"),
                ({"sport": "football", "league": "E0", "date_from": "soon"}, 422, "is not a date"),
                ({"sport": "football", "league": "E0", "max_runtime": "0"}, 422, "max runtime seconds"),
                ({"sport": "football", "league": "E0", "model_type": "nope"}, 400, "unknown football model")):
            r = c.post("/training", data=form, headers=good)
            assert r.status_code == status and words in r.json()["message"], (form, r.text)
        r = c.post("/training", data={"sport": "football", "league": "E0", "model_type": "elo",
                                      "season": ["2324", "2425"], "date_from": "2023-09-01",
                                      "date_to": "2025-03-01", "framework": "ignored"}, headers=good)
        assert r.status_code == 202, r.text
        (queued,) = r.json()["tasks"]
        assert queued["label"] == f"task {queued['task_id']}: train football E0 (elo)"
        status = c.get(f"/training/tasks/{queued['task_id']}").json()
        assert status["status"] == "queued" and status["progress"] == 0 and status["models"] == []
        with Context(Settings(db_url=f"sqlite:///{private[0]}", artifacts_dir=private[1])) as ctx:
            (task,) = list_tasks(ctx)
        (run,) = task.request["runs"]
        assert run["seasons"] == ["2324", "2425"] and run["until"].startswith("2025-03-02")
        assert run["date_from"].startswith("2023-09-01") and run["options"] == {}
        _ok(c.get("/training"), f"task {queued['task_id']}", "queued")
        # the page offers Cancel for the queued task; cancelling twice is refused (409)
        assert f'action="/training/tasks/{queued["task_id"]}/cancel"' in c.get("/training").text
        url = f"/training/tasks/{queued['task_id']}/cancel"
        r = c.post(url, headers=good)
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        r = c.post(url, headers=good)
        assert r.status_code == 409 and "already cancelled" in r.json()["message"]
        assert c.post("/training/tasks/x/cancel", headers=good).status_code == 404
        assert c.post(url, headers={"Origin": "http://evil.example", "Accept": "application/json"}).status_code == 403
        # without JavaScript the form posts as a page: the queued task is shown, an error is a page too
        page = c.post("/training", data={"sport": "football", "league": "E0", "model_type": "poisson"},
                      headers={"Origin": ORIGIN})
        assert page.status_code == 200 and "queued: train football E0" in page.text
        page = c.post("/training", data={"sport": "football"}, headers={"Origin": ORIGIN})
        assert page.status_code == 422 and "choose at least one league" in page.text and "<html" in page.text


def test_promote_asks_then_promotes(private):
    with _client(*private) as c:
        html = c.get("/models").text
        candidate = re.search(r'data-model="(\d+)">\s*<td class="num"><a href="/models/\d+">v2', html).group(1)
        r = c.post(f"/models/{candidate}/promote", headers={"Origin": ORIGIN})
        assert r.status_code == 401 and "sign in" in r.text
        _sign_in(c)
        r = c.post(f"/models/{candidate}/promote", headers={"Origin": ORIGIN})
        assert r.status_code == 200 and "Make <strong>football-E0 v2" in r.text  # asks first
        r = c.post(f"/models/{candidate}/promote", data={"confirm": "yes"}, headers={"Origin": ORIGIN},
                   follow_redirects=False)
        assert r.status_code == 303
        assert "poisson" in c.get("/").text
        r = c.post("/models/999/promote", data={"confirm": "yes"}, headers={"Origin": ORIGIN})
        assert r.status_code == 404 and "Traceback" not in r.text


def test_store_unreachable_is_a_503_page_and_the_ui_recovers(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the store's folder should be")
    with _client(blocker / "store.sqlite", tmp_path / "artifacts") as c:
        for path in ("/", "/history", "/models", "/training"):
            r = c.get(path)
            assert r.status_code == 503 and "cannot open the store" in r.text and "Traceback" not in r.text, path
            assert r.headers["content-type"].startswith("text/html")
        blocker.unlink()
        blocker.mkdir()
        _ok(c.get("/"), "No champion yet")


def test_pages_and_a_training_start_on_every_backend(db_url, football_dir, tmp_path):
    """SQLite and PostgreSQL: the pages over an E0 store with an Elo champion, and a run queued from the form."""
    engine = open_store(db_url)
    ingest_e0(engine, football_dir, E0_SEASONS)
    engine.dispose()
    settings = Settings(db_url=db_url, artifacts_dir=tmp_path / "artifacts", api_token=TOKEN)
    with Context(settings) as ctx:
        model = train(ctx, TrainRequest(competition="E0", model_type="elo"))
    with TestClient(create_app(settings)) as c:
        _ok(c.get("/"), "E0", "elo", "champion")
        _ok(c.get("/history"), "football-E0", "succeeded")
        _ok(c.get("/models"), "football-E0", "v1")
        _ok(c.get(f"/models/{model.model_id}"), "Reliability diagram", "Model card")
        _ok(c.get("/training?sport=football"), 'value="E0"', 'value="2425"')
        _sign_in(c)
        r = c.post("/training", data={"sport": "football", "league": "E0", "season": ["2324", "2425"]},
                   headers={"Origin": ORIGIN, "Accept": "application/json"})
        assert r.status_code == 202, r.text
        assert c.get(f"/training/tasks/{r.json()['tasks'][0]['task_id']}").json()["status"] == "queued"


def test_model_page_monitoring_on_request(client):
    ids = re.findall(r'data-model="(\d+)"', client.get("/models").text)
    html = _ok(client.get(f"/models/{ids[-1]}"), "Monitoring")
    assert "No drift report for this version yet" in html or "report from" in html
    html = _ok(client.get(f"/models/{ids[-1]}?monitor=true"), "Monitoring", "computed now in", "PSI", "false alarm",
               f'href="/api/v1/monitoring/{ids[-1]}"', "Performance:")
    assert re.search(r"Drift <span class=\"badge badge-\w+\">(ok|warn|alert|no current)</span>", html), html
    _ok(client.get(f"/models/{ids[-1]}"), "report from")  # kept by the use case: shown, not recomputed
