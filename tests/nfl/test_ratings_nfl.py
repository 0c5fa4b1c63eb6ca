"""NFL ratings (``formguide ratings --sport nfl``): the feature code's point-in-time values (training/serving
parity), nothing from the day on, the table, JSON and PNG through the CLI, and text columns of the core output."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from tests.helpers import run_cli
from tests.nfl.test_features_nfl import _game, _scramble, make_frame
from tests.nfl.test_ingest_nfl import NFL_FILES
from tests.nfl.test_ingest_parse import (
    epa_rows_for,
    season_rows,
    stats_rows_for,
    write_epa,
    write_games,
    write_stats,
)

from formguide.core.errors import DataValidationError
from formguide.core.ratings import RatingColumn, RatingsOutput, ratings_view
from formguide.core.store.db import open_store
from formguide.nfl.features import nfl_feature_set
from formguide.nfl.ratings import nfl_ratings
from formguide.nfl.sport import NFLSport
from formguide.nfl.store_io import ingest_files

PNG = b"\x89PNG\r\n\x1a\n"
#: rating key -> feature column of the team's next game (``{side}`` = home or away)
PARITY = {"elo": "elo_{side}", "qbelo": "qbelo_{side}", "qb_adj": "qb_adj_{side}", "off_epa": "{side}_off_epa",
          "def_epa": "{side}_def_epa", "off_sr": "{side}_off_sr", "def_sr": "{side}_def_sr"}


def rows_of(output: RatingsOutput) -> dict[str, dict]:
    return {r["name"]: r for r in output.rows}


def rows_of_list(rows: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in rows}


def assert_parity(frame: pd.DataFrame, day: pd.Timestamp) -> RatingsOutput:
    """Every rating equals the feature built for the team's next game as of ``day``, to the bit."""
    out = nfl_ratings(NFLSport(), None, "NFL", day, frame)
    feats = nfl_feature_set().build(frame, as_of=day)
    upcoming = frame.index[(frame["kickoff"] >= day).to_numpy()]
    for name, row in rows_of(out).items():
        i = next(j for j in upcoming if name in (frame.at[j, "home_team"], frame.at[j, "away_team"]))
        side = "home" if frame.at[i, "home_team"] == name else "away"
        for key, col in PARITY.items():
            want = float(feats.at[i, col.format(side=side)])
            assert row[key] == (None if math.isnan(want) else want), (name, key)
        assert row["qb"] == frame.at[i, f"{side}_qb_name"]
    return out


def test_ratings_are_the_features_of_each_teams_next_game():
    frame = make_frame()
    day = frame.at[_game(frame, "2017", 3), "kickoff"].normalize()
    out = assert_parity(frame, day)
    assert out.season == "2017" and out.as_of == day.date().isoformat() and len(out.rows) == 8
    assert [r["elo"] for r in out.rows] == sorted((r["elo"] for r in out.rows), reverse=True)
    ne = rows_of(out)["NE"]
    assert ne["division"] == "AFC East" and rows_of(out)["LA"]["division"] == "NFC West"  # STL in 2015: one franchise
    assert out.window["elo"]["last"] < day.isoformat() and out.axes == ("off_epa", "def_epa")


def test_records_count_this_seasons_games_before_the_day():
    frame = make_frame()
    day = frame.at[_game(frame, "2017", 3), "kickoff"].normalize()
    before = frame[(frame["season"] == "2017") & (frame["kickoff"] < day)]
    out = rows_of(nfl_ratings(NFLSport(), None, "NFL", day, frame))
    for team, row in out.items():
        mine = before[(before["home_team"] == team) | (before["away_team"] == team)]
        margin = np.where(mine["home_team"] == team, 1, -1) * (mine["home_score"] - mine["away_score"])
        w, lost, t = int((margin > 0).sum()), int((margin < 0).sum()), int((margin == 0).sum())
        assert row["record"] == f"{w}-{lost}" + (f"-{t}" if t else ""), team


def test_nothing_from_the_day_on_is_used():
    frame = make_frame()
    day = frame.at[_game(frame, "2017", 3), "kickoff"].normalize()
    base = nfl_ratings(NFLSport(), None, "NFL", day, frame).rows
    later = (frame["kickoff"] >= day).to_numpy()
    assert nfl_ratings(NFLSport(), None, "NFL", day, _scramble(frame, later)).rows == base
    earlier = np.zeros(len(frame), dtype=bool)
    earlier[_game(frame, "2017", 2)] = True  # a game of the week before: must move the numbers
    moved = rows_of(nfl_ratings(NFLSport(), None, "NFL", day, _scramble(frame, earlier)))
    teams = frame.loc[earlier, ["home_team", "away_team"]].to_numpy().ravel().tolist()
    assert all(moved[t]["elo"] != rows_of_list(base)[t]["elo"] for t in teams)


def test_no_result_before_the_date_is_a_clear_error():
    frame = make_frame()
    with pytest.raises(DataValidationError, match="no NFL results before 2010-01-01"):
        nfl_ratings(NFLSport(), None, "NFL", pd.Timestamp("2010-01-01"), frame)


def test_text_columns_are_shown_never_ranked():
    cols = [RatingColumn(key="elo", header="Elo"), RatingColumn(key="division", header="division", text=True)]
    out = RatingsOutput(competition="NFL", as_of="2024-01-01", title="t", columns=cols, headline="elo",
                        rows=[{"name": "A", "elo": 1.0, "division": "AFC East"}, {"name": "B", "elo": 2.0}])
    view = ratings_view(out)
    assert [r["name"] for r in out.rows] == ["B", "A"]
    assert next(c for c in view.columns if c.key == "division").align == "left"
    with pytest.raises(ValueError, match="'division' is a text column"):
        RatingsOutput(competition="NFL", as_of="2024-01-01", title="t", columns=cols, headline="division", rows=[])
    with pytest.raises(ValueError, match=r"row 0 \(A\), column division: 3 is not text"):
        RatingsOutput(competition="NFL", as_of="2024-01-01", title="t", columns=cols, headline="elo",
                      rows=[{"name": "A", "elo": 1.0, "division": 3}])


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]


def test_cli_ratings_from_the_store_table_json_and_png(tmp_path, capsys):
    games = season_rows(2023, weeks=3) + season_rows(2024, weeks=3)
    for g in games[-3:]:
        g.update(home_score="", away_score="")  # week 3 of 2024 still to be played
    folder = tmp_path / "data"
    files = [write_games(folder, games), write_stats(folder, stats_rows_for(games[:-3])),
             write_epa(folder, epa_rows_for(games[:-3]))]
    db = f"sqlite:///{tmp_path / 'nfl.sqlite'}"
    engine = open_store(db)
    assert all(f.status == "ok" for f in ingest_files(engine, files).files)
    direct = nfl_ratings(NFLSport(), engine, "NFL", pd.Timestamp("2024-09-19"))
    engine.dispose()

    png = tmp_path / "plots" / "nfl.png"
    res = run_cli(["ratings", "--sport", "nfl", "--date", "2024-09-19", "--png", png, "--db", db], capsys)
    assert res.code == 0, res.text
    table = _table_lines(res.out)
    assert len(table) == 6 + 4 and max(map(len, table)) <= 80
    assert "Elo" in res.out and "QB adj" in res.out and f"wrote {png}" in res.text
    assert png.read_bytes().startswith(PNG) and png.stat().st_size > 10_000
    target = tmp_path / "r.json"
    res = run_cli(["ratings", "--sport", "nfl", "--date", "2024-09-19", "--json", target, "--db", db], capsys)
    assert res.code == 0, res.text
    data = json.loads(target.read_text())
    assert data["ratings"]["rows"] == direct.rows and data["ratings"]["season"] == "2024"
    assert {r["record"] for r in direct.rows} <= {"2-0", "1-1", "0-2"}  # two 2024 games each before the date
    res = run_cli(["ratings", "--sport", "nfl", "--date", "2023-01-01", "--db", db], capsys)
    assert res.code == 2 and "no NFL results before 2023-01-01" in res.text and "Traceback" not in res.text


@pytest.fixture(scope="module")
def real_frame():
    missing = [p for p in NFL_FILES if not p.is_file()]
    if missing:
        pytest.skip(f"real NFL data not found: {', '.join(map(str, missing))} (set FORMGUIDE_DATA)")
    from formguide.nfl.frame import build_frame
    from formguide.nfl.games import parse_games
    from formguide.nfl.injuries import parse_injuries
    from formguide.nfl.stats import parse_team_stats

    games, stats, epa, injuries = NFL_FILES
    both = pd.concat([parse_team_stats(stats).frame, parse_team_stats(epa).frame], ignore_index=True)
    return build_frame(parse_games(games).frame, both, parse_injuries(injuries).frame)


def test_real_data_parity_on_2024_12_01(real_frame):
    out = assert_parity(real_frame, pd.Timestamp("2024-12-01"))
    by = rows_of(out)
    assert len(by) == 32 and out.season == "2024"
    assert by["DET"]["record"] == "11-1" and by["KC"]["record"] == "11-1" and by["KC"]["division"] == "AFC West"
    assert by["DAL"]["qb"] == "Cooper Rush" and by["DAL"]["qb_adj"] < -50  # Prescott out: a backup starts
    assert all(r["off_sr"] is not None for r in out.rows)
