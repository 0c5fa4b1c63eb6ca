"""``formguide ratings``: each team's ratings as of a date, through the sport contract (football on real E0 data),
as a table that fits 80 columns, as JSON and as a PNG; point in time; one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from tests.helpers import copy_sqlite, e0_frame, ingest_e0, run_cli

from formguide import app
from formguide.app.context import Context
from formguide.app.schemas import RatingsRequest, RatingsResult
from formguide.core.errors import FormguideError
from formguide.core.ratings import RatingColumn, RatingFact, RatingsOutput, ratings_figure, ratings_view
from formguide.core.settings import load_settings
from formguide.core.sport import register_sport, unregister_sport
from formguide.core.store.db import open_store
from formguide.football.features import latest_team_state
from formguide.football.models.estimators import DixonColesEstimator
from formguide.football.ratings_view import football_ratings
from formguide.football.sport import FootballSport

SEASONS = ("2324", "2425")
DAY = pd.Timestamp("2025-03-01")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def frame(football_dir) -> pd.DataFrame:
    return e0_frame(football_dir, SEASONS)


@pytest.fixture(scope="module")
def store(tmp_path_factory, football_dir) -> Path:
    """A SQLite store with E0 2023/24 and 2024/25, built once (tests that write copy it first)."""
    path = tmp_path_factory.mktemp("ratings") / "ratings.sqlite"
    engine = open_store(f"sqlite:///{path}")
    ingest_e0(engine, football_dir, SEASONS)
    engine.dispose()
    return path


@pytest.fixture
def db(store, tmp_path) -> str:
    return f"sqlite:///{copy_sqlite(store, tmp_path / 'copy.sqlite')}"


def _by_name(output: RatingsOutput) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in output.rows}


# ------------------------------------------------------------------------------------- football values
def test_football_ratings_are_the_estimators_fit_and_the_feature_sets_elo(frame):
    out = football_ratings(frame, "E0", DAY)
    before = frame[frame["kickoff"] < DAY]
    season_teams = set(frame.loc[frame["season"] == "2425", "home_team"])
    assert out.season == "2425" and {r["name"] for r in out.rows} == season_teams and len(out.rows) == 20
    fit = DixonColesEstimator().fit(before).model_  # the estimator's defaults, on results before the day
    attack = dict(zip(fit.teams_, fit.attack_, strict=True))
    defence = dict(zip(fit.teams_, fit.defence_, strict=True))
    elo = latest_team_state(frame, DAY)["elo"]  # the online feature path, computed independently
    for name, row in _by_name(out).items():
        assert row["attack_log"] == pytest.approx(attack[name], abs=1e-12)
        assert row["attack"] == pytest.approx(math.exp(attack[name]))
        assert row["defence"] == pytest.approx(math.exp(defence[name]))
        assert row["elo"] == pytest.approx(elo[name], abs=1e-9)
    home = {f.key: f.value for f in out.facts}["home_advantage"]
    assert home == pytest.approx(math.exp(fit.home_advantage_)) and home > 1.0  # home sides score more
    xgd = [r["xgd"] for r in out.rows]
    assert xgd == sorted(xgd, reverse=True)  # headline order, best first
    assert out.headline == "xgd" and out.axes == ("attack", "defence")
    assert "Dixon-Coles" in out.title and "Elo" in out.title and f"{fit.n_matches_:,} matches" in out.title
    assert out.window["dixon_coles"]["last"] < DAY.isoformat()
    # the best side by expected goal difference scores more and concedes less than the worst
    best, worst = out.rows[0], out.rows[-1]
    assert best["attack"] > 1 > worst["attack"] and best["defence"] < 1 < worst["defence"]
    assert best["elo"] > worst["elo"]


def test_ratings_are_point_in_time(frame):
    base = football_ratings(frame, "E0", DAY)
    later = frame["kickoff"] >= DAY
    changed = frame.copy()
    changed.loc[later, ["home_goals", "away_goals"]] = changed.loc[later, ["away_goals", "home_goals"]].to_numpy() + 3
    changed.loc[later, "result"] = np.where(changed.loc[later, "result"] == "H", "A", "H")
    assert football_ratings(changed, "E0", DAY).rows == base.rows  # results on/after the day are unseen
    assert football_ratings(frame[~later], "E0", DAY).rows == base.rows
    earlier = int(np.flatnonzero((frame["kickoff"] < DAY).to_numpy())[-1])  # the last result before the day
    home = frame.loc[earlier, "home_team"]
    edited = frame.copy()
    edited.loc[earlier, ["home_goals", "away_goals", "result"]] = [9, 0, "H"]
    moved = _by_name(football_ratings(edited, "E0", DAY))[home]
    was = _by_name(base)[home]
    assert moved["attack"] > was["attack"] and moved["elo"] != was["elo"]


def test_no_result_before_the_date_is_a_clear_error(frame):
    with pytest.raises(FormguideError, match="no E0 results before 2023-08-01"):
        football_ratings(frame, "E0", pd.Timestamp("2023-08-01"))


# --------------------------------------------------------------------------------- the generic output
def _output(**kw: Any) -> RatingsOutput:
    args: dict[str, Any] = dict(
        competition="NFL", as_of="2024-01-01", title="Elo on 100 games", entity="team",
        columns=[RatingColumn(key="elo", header="Elo", digits=0), RatingColumn(key="qb", header="QB adj", digits=1),
                 RatingColumn(key="eff", header="EPA/play allowed", higher_is_better=False)],
        headline="elo", rows=[{"name": "A", "elo": 1500.0, "qb": 1.0, "eff": 0.1},
                              {"name": "B", "elo": None, "qb": 2.0, "eff": 0.2},
                              {"name": "C", "elo": 1600.0, "qb": -1.0, "eff": -0.1}])
    return RatingsOutput(**{**args, **kw})


def test_ratings_output_sorts_by_headline_and_refuses_what_it_cannot_show():
    assert [r["name"] for r in _output().rows] == ["C", "A", "B"]  # unknown last
    assert [r["name"] for r in _output(headline="eff").rows] == ["C", "A", "B"]  # lower is better
    with pytest.raises(ValueError, match="'xgd' is not one of the rating columns"):
        _output(headline="xgd")
    with pytest.raises(ValueError, match="'x' is not one of the rating columns"):
        _output(axes=("elo", "x"))
    with pytest.raises(ValueError, match=r"row 0 \(A\), column qb: nan is not a finite number"):
        _output(rows=[{"name": "A", "elo": 1.0, "qb": float("nan"), "eff": 0.0}])
    with pytest.raises(ValueError, match="row 0 has no 'name'"):
        _output(rows=[{"elo": 1.0}])


def test_ratings_view_and_figure():
    out = _output(facts=[RatingFact(key="ha", label="home advantage", value=1.5, digits=1)], axes=("qb", "eff"))
    view = ratings_view(out)
    assert [c.key for c in view.columns] == ["rank", "name", "elo", "qb", "eff"]
    assert [r["rank"] for r in view.rows] == [1, 2, 3] and view.rows[0]["name"] == "C"
    assert "home advantage: 1.5" in view.notes
    fig = ratings_figure(out)
    bars, scatter = fig.axes
    at = {t.get_text(): y for t, y in zip(bars.get_yticklabels(), bars.get_yticks(), strict=True)}
    assert len(bars.patches) == 3 and at["C"] > at["A"] > at["B"]  # best at the top
    assert scatter.yaxis_inverted() and not scatter.xaxis_inverted()  # better is up: lower EPA allowed
    assert {t.get_text() for t in scatter.texts} == {"A", "B", "C"}
    assert len(ratings_figure(_output()).axes) == 1  # no axes named: the bar chart alone


class _RatedDemo(FootballSport):
    """A sport with the hook and no football in it: what it returns is drawn as it is."""

    name = "rated-demo"
    default_competition: ClassVar[str | None] = "DEMO"

    def ratings(self, engine, competition, as_of, frame=None):
        return _output(competition=competition, as_of=as_of.date().isoformat())


def test_any_sport_with_the_hook_goes_through_the_use_case(tmp_path):
    register_sport("rated-demo", _RatedDemo)
    try:
        ctx = Context(load_settings(db_url=f"sqlite:///{tmp_path / 'demo.sqlite'}"))
        with ctx:
            result = app.ratings(ctx, RatingsRequest(sport="rated-demo", date="2024-02-03", png=tmp_path / "d.png"))
        assert result.competition == "DEMO" and result.as_of == "2024-02-03"
        assert [r["name"] for r in result.ratings.rows] == ["C", "A", "B"]
        assert (tmp_path / "d.png").read_bytes().startswith(PNG)
        with pytest.raises(FormguideError, match="--xi: rated-demo ratings take no sport-specific options"):
            app.ratings(ctx, RatingsRequest(sport="rated-demo", options={"xi": 0.1}))
    finally:
        unregister_sport("rated-demo")


# ------------------------------------------------------------------------------------- store and CLI
def test_ratings_from_the_store_equal_those_of_the_frame(db_url, football_dir, frame):
    engine = open_store(db_url)
    ingest_e0(engine, football_dir, SEASONS)
    engine.dispose()
    with Context(load_settings(db_url=db_url)) as ctx:
        result = app.ratings(ctx, RatingsRequest(competition="e0", date="2025-03-01T18:30"))
    assert result.competition == "E0" and result.as_of == "2025-03-01" and result.png is None
    direct = football_ratings(frame, "E0", DAY)
    assert [r["name"] for r in result.ratings.rows] == [r["name"] for r in direct.rows]
    for got, want in zip(result.ratings.rows, direct.rows, strict=True):
        assert got.keys() == want.keys()
        for key in got.keys() - {"name"}:
            assert got[key] == pytest.approx(want[key], rel=1e-9), (got["name"], key)


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]


def test_cli_table_fits_80_columns_png_and_json(db, tmp_path, capsys):
    png = tmp_path / "plots" / "e0.png"
    res = run_cli(["ratings", "--league", "e0", "--date", "2025-03-01", "--png", png, "--db", db], capsys)
    assert res.code == 0, res.text
    table = _table_lines(res.out)
    assert len(table) >= 20 + 4 and max(map(len, table)) <= 80
    assert "attack (exp)" in res.out and "defence (exp)" in res.out and "--wide shows all" in res.out
    assert "home advantage (exp):" in res.text and f"wrote {png}" in res.text
    assert png.read_bytes().startswith(PNG) and png.stat().st_size > 10_000
    wide = run_cli(["ratings", "--league", "E0", "--date", "2025-03-01", "--wide", "--db", db], capsys)
    assert "attack (log)" in wide.out and "--wide shows all" not in wide.out

    target = tmp_path / "r.json"
    res = run_cli(["ratings", "--league", "E0", "--date", "2025-03-01", "--json", target, "--db", db], capsys)
    assert res.code == 0, res.text
    data = json.loads(target.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    back = RatingsResult.model_validate(data)
    assert back.json_data() == data and len(back.ratings.rows) == 20
    assert back.ratings.rows[0]["xgd"] == max(r["xgd"] for r in back.ratings.rows)
    res = run_cli(["ratings", "--league", "E0", "--date", "2025-03-01", "--json", "-", "--db", db], capsys)
    assert json.loads(res.out) == data


def _error(res) -> str:
    assert res.code == 2, res.text
    assert "Traceback" not in res.err and res.text.startswith("error:"), res.text
    assert len(res.err.strip().splitlines()) == 1, res.err
    return res.text


def test_cli_errors_are_one_line(db, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    fresh = tmp_path / "never.sqlite"
    text = _error(run_cli(["ratings", "--league", "E0", "--png", blocker / "r.png", "--db", f"sqlite:///{fresh}"],
                          capsys))
    assert "cannot write" in text and "is a file, not a folder" in text
    assert not fresh.exists()  # refused before the store was even opened
    assert "ratings are not available for f1" in _error(run_cli(["ratings", "--sport", "f1", "--db", db], capsys))
    assert "unknown football league 'XX'" in _error(run_cli(["ratings", "--league", "XX", "--db", db], capsys))
    assert "no E0 results before 2020-01-01" in _error(run_cli(["ratings", "--league", "E0", "--date",
                                                                "2020-01-01", "--db", db], capsys))
    assert "--date must be a date" in _error(run_cli(["ratings", "--league", "E0", "--date", "soon", "--db", db],
                                                     capsys))
