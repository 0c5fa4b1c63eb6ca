"""NFL ingest into the store (SQLite and PostgreSQL): what is stored, what is refused, re-imports, round trips.

Small files are built from the real headers (``test_ingest_parse``); the real-data tests read
``../shared/data`` and skip when it is absent.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from tests.conftest import DATA_DIR
from tests.nfl.test_ingest_parse import (
    epa_rows_for,
    game_row,
    injury_row,
    injury_rows_for,
    season_rows,
    stats_rows_for,
    write_epa,
    write_games,
    write_injuries,
    write_stats,
)

from formguide.core.markets import american_to_decimal
from formguide.nfl.games import parse_games
from formguide.nfl.injuries import PLAYER_COLUMNS, parse_injuries
from formguide.nfl.stats import parse_team_stats
from formguide.nfl.store_io import count_units, ingest_files, load_games, load_injuries, load_team_stats

NFL_FILES = (DATA_DIR / "nfl_games" / "games.csv", DATA_DIR / "nfl_team_stats" / "team_stats_week.csv",
             DATA_DIR / "nfl_team_stats" / "team_week_epa_2013_2024.csv", DATA_DIR / "nfl_injuries" / "injuries.csv")


def counts(engine) -> dict[str, int]:
    """Rows of every table an NFL ingest writes (the store's state, to compare before and after)."""
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
               for t in ("events", "results", "odds", "team_reports", "teams", "seasons", "competitions")}
        for kind in ("stats", "epa", "injuries"):
            out[kind] = conn.execute(text("SELECT COUNT(*) FROM team_reports WHERE kind = :k"), {"k": kind}).scalar_one()
    return out


def imports(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT path, status, inserted, updated, unchanged, rejected, error FROM imports "
                                 "ORDER BY id")).all()


def odds_of(engine, game_id: str) -> dict[tuple[str, str], tuple[float, float | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT o.market, o.selection, o.price, o.line, o.is_closing, o.bookmaker FROM odds_long o "
            "JOIN events e ON e.id = o.event_id WHERE e.external_key = :g"), {"g": game_id}).all()
    assert all(r[4] and r[5] == "nflverse close" for r in rows)
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def assert_ok(report) -> None:
    bad = [f.error for f in report.files if f.status != "ok"]
    assert not bad, bad


def test_a_season_with_reports_is_stored_and_read_back(engine, tmp_path):
    games = season_rows(2024, weeks=2)
    files = [write_games(tmp_path, games), write_stats(tmp_path, stats_rows_for(games)),
             write_epa(tmp_path, epa_rows_for(games)), write_injuries(tmp_path, injury_rows_for(games))]
    assert count_units([tmp_path]) == 4
    report = ingest_files(engine, [files[3], files[0], files[1], files[2]])  # reports given before games
    assert_ok(report)
    assert report.layout == "games + team-stats + team-epa + injuries"
    assert [f.found for f in report.files] == ["games", "team-stats", "team-epa", "injuries"]
    assert [f.inserted for f in report.files] == [6, 12, 12, 12]
    c = counts(engine)
    assert (c["events"], c["results"], c["stats"], c["epa"], c["injuries"]) == (6, 6, 12, 12, 12)
    assert c["odds"] == 6 * 6 and c["teams"] == 6 and c["seasons"] == 1 and c["competitions"] == 1

    frame = load_games(engine)
    parsed = parse_games(files[0]).frame
    assert list(frame.columns) == ["event_id", "status", *parsed.columns]
    pd.testing.assert_frame_equal(frame.drop(columns=["event_id", "status"]), parsed)
    assert set(frame["status"]) == {"played"}

    stats = load_team_stats(engine)
    assert list(stats.columns[:6]) == ["event_id", "season", "week", "team", "opponent", "season_type"]
    assert len(stats) == 12 and stats["off_epa_total"].notna().all() and stats["passing_yards"].notna().all()
    kc = stats[(stats["team"] == "KC") & (stats["week"] == 1)].iloc[0]
    assert kc["opponent"] == "BAL" and kc["passing_yards"] == 180.0 and kc["fg_made_list"] == "32;31"
    assert kc["event_id"] == frame.loc[frame["game_id"] == "2024_01_KC_BAL", "event_id"].item()

    injuries = load_injuries(engine)
    assert len(injuries) == 24 and list(injuries.columns) == ["event_id", "season", "week", "game_type", "team",
                                                               *PLAYER_COLUMNS]
    assert injuries["date_modified"].dt.tz is not None
    with engine.connect() as conn:
        data = conn.execute(text("SELECT CAST(data AS TEXT) FROM team_reports WHERE kind = 'injuries'")).scalars().all()
    assert all(d.startswith("[{") and d.count('"gsis_id"') == 2 for d in data)  # one list per game and team


def test_odds_rows_carry_decimal_prices_and_home_lines(engine, tmp_path):
    assert_ok(ingest_files(engine, [write_games(tmp_path, [game_row(spread_line=-2.5, total_line=44.5)])]))
    odds = odds_of(engine, "2024_01_BAL_KC")
    assert odds[("moneyline", "home")] == (pytest.approx(american_to_decimal(-148)), None)
    assert odds[("moneyline", "away")] == (pytest.approx(2.24), None)
    assert odds[("spread", "home")] == (pytest.approx(american_to_decimal(-102)), 2.5)  # home +2.5 handicap
    assert odds[("spread", "away")][1] == 2.5
    assert odds[("total", "over")] == (pytest.approx(american_to_decimal(-110)), 44.5)
    assert odds[("total", "under")][1] == 44.5


def test_a_tie_is_stored_with_outcome_t(engine, tmp_path):
    assert_ok(ingest_files(engine, [write_games(tmp_path, [game_row(home_score=23, away_score=23, overtime=1)])]))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT outcome, home_score, away_score FROM results")).one() == ("T", 23, 23)
    assert load_games(engine)["status"].item() == "played"


def test_missing_lines_and_prices_store_no_odds_rows_for_them(engine, tmp_path):
    rows = [game_row(away_moneyline="", home_moneyline="", over_odds="", under_odds=""),
            game_row(week=2, away="PHI", home="GB", spread_line="", home_spread_odds="", away_spread_odds="",
                     total_line="", over_odds="", under_odds="", away_moneyline="", home_moneyline="")]
    assert_ok(ingest_files(engine, [write_games(tmp_path, rows)]))
    assert set(odds_of(engine, "2024_01_BAL_KC")) == {("spread", "home"), ("spread", "away")}
    assert odds_of(engine, "2024_02_PHI_GB") == {}
    frame = load_games(engine).set_index("game_id")
    assert frame.loc["2024_01_BAL_KC", "total_line"] == 46.0  # a line without prices is still in the frame
    assert frame.loc["2024_02_PHI_GB", ["spread_line", "total_line", "home_moneyline"]].isna().all()


def test_a_postponed_game_is_scheduled_without_a_result(engine, tmp_path):
    rows = [game_row(), game_row(week=2, away="PHI", home="GB", home_score="", away_score="")]
    assert_ok(ingest_files(engine, [write_games(tmp_path, rows)]))
    frame = load_games(engine).set_index("game_id")
    assert frame.loc["2024_02_PHI_GB", "status"] == "scheduled"
    assert frame.loc["2024_02_PHI_GB", ["home_score", "away_score"]].isna().all()
    assert counts(engine)["results"] == 1


@pytest.mark.parametrize(("rows", "row", "column", "words"), [
    ([game_row(), game_row(week=2, away="XYZ", home="GB", game_id="2024_02_XYZ_GB")], 3, "away_team", "XYZ"),
    ([game_row(), game_row(week=2, away="PHI", home="GB", away_score="ten")], 3, "away_score", "'ten'"),
    ([game_row(), game_row()], 3, "game_id", "rows 2 and 3"),
])
def test_a_bad_file_is_rejected_whole_and_recorded(engine, tmp_path, rows, row, column, words):
    assert_ok(ingest_files(engine, [write_games(tmp_path / "ok", season_rows(2023))]))
    before = counts(engine)
    report = ingest_files(engine, [write_games(tmp_path, rows)])
    f = report.files[0]
    assert f.status == "rejected" and f.rejected == len(rows)
    assert f.error.startswith(f"games.csv, row {row}, column {column}:") and words in f.error
    assert counts(engine) == before
    assert imports(engine)[-1][1] == "rejected" and imports(engine)[-1][6] == f.error


def test_a_file_cut_part_way_through_a_row_stores_nothing(engine, tmp_path):
    path = write_games(tmp_path, season_rows())
    body = path.read_text()
    path.write_text(body[: body.rindex("20:20") + 3])
    report = ingest_files(engine, [path])
    assert report.files[0].status == "rejected" and "part-way" in report.files[0].error
    assert counts(engine)["events"] == 0


def test_disagreeing_favourites_are_kept_with_a_warning(engine, tmp_path):
    rows = [game_row(home_moneyline=110, away_moneyline=-130, spread_line=2.5)]
    report = ingest_files(engine, [write_games(tmp_path, rows)])
    assert_ok(report)
    assert counts(engine)["events"] == 1
    assert report.files[0].warnings == [
        "games.csv: row 2, columns home_moneyline/away_moneyline/spread_line: moneylines (+110 home, -130 away) "
        "and spread_line +2.5 disagree on the favourite of 2024_01_BAL_KC (kept)"]


def test_reports_for_games_not_in_the_store_are_reported_not_fatal(engine, tmp_path):
    games = season_rows(2024, weeks=1)
    assert_ok(ingest_files(engine, [write_games(tmp_path, games)]))
    later = season_rows(2024, weeks=2)[3:]  # week 2, not stored
    stats_rows = stats_rows_for(games + later)
    stats_rows.insert(3, dict(stats_rows[0], team="NYJ", opponent_team="MIA"))  # week 1 is stored, without NYJ
    stats = write_stats(tmp_path, stats_rows)
    injuries = write_injuries(tmp_path, injury_rows_for(games + later))
    before = counts(engine)
    report = ingest_files(engine, [stats, injuries])
    assert_ok(report)
    s, i = report.files
    assert (s.inserted, s.rejected, i.inserted, i.rejected) == (6, 7, 6, 12)
    assert s.warnings == [
        "team_stats_week.csv: 7 stats row(s) whose (season, week, team) matches no stored game, not stored: "
        "2024 week 1 NYJ: 1 row(s) from row 5, the stored week has no NYJ game; "
        f"2024 week 2 {later[0]['home_team']}: 1 row(s) from row 9, no game of that week is stored; "
        f"2024 week 2 {later[0]['away_team']}: 1 row(s) from row 10, no game of that week is stored; "
        f"2024 week 2 {later[1]['home_team']}: 1 row(s) from row 11, no game of that week is stored; "
        f"2024 week 2 {later[1]['away_team']}: 1 row(s) from row 12, no game of that week is stored; "
        "and 2 more team-week(s)"]
    assert i.warnings[0].startswith("injuries.csv: 12 injury row(s) whose (season, week, team) matches no stored "
                                    f"game, not stored: 2024 week 2 {later[0]['home_team']}: 2 row(s) from row 14,")
    assert i.warnings[0].endswith("and 1 more team-week(s)")
    after = counts(engine)
    assert (after["stats"], after["injuries"]) == (before["stats"] + 6, before["injuries"] + 6)


def test_a_stats_row_with_another_opponent_is_stored_with_the_games_opponent(engine, tmp_path):
    games = [game_row(2001, 1, away="JAX", home="PIT")]
    assert_ok(ingest_files(engine, [write_games(tmp_path, games)]))
    rows = stats_rows_for(games)
    rows[0]["opponent_team"] = "JAC"  # the source's slip: the Jaguars named the Jaguars' opponent
    rows[0]["team"] = "JAX"
    rows[1]["team"] = "PIT"
    report = ingest_files(engine, [write_stats(tmp_path, rows)])
    assert_ok(report)
    assert "another opponent" in report.files[0].warnings[0] and "row 2 (JAX v JAX, game v PIT)" in \
        report.files[0].warnings[0]
    stats = load_team_stats(engine).set_index("team")
    assert stats.loc["JAX", "opponent"] == "PIT" and stats.loc["PIT", "opponent"] == "JAX"


def test_reimport_changes_nothing_and_a_corrected_row_is_updated(engine, tmp_path):
    games = season_rows(2024, weeks=2)
    folder = tmp_path / "data"
    paths = [write_games(folder, games), write_stats(folder, stats_rows_for(games)),
             write_injuries(folder, injury_rows_for(games))]
    assert_ok(ingest_files(engine, [folder]))
    before, frame = counts(engine), load_games(engine)
    again = ingest_files(engine, [folder])
    assert [(f.inserted, f.updated, f.unchanged) for f in again.files] == [(0, 0, 6), (0, 0, 12), (0, 0, 12)]
    assert counts(engine) == before
    pd.testing.assert_frame_equal(load_games(engine), frame)

    games[1].update(home_score=30, away_score=30, home_moneyline=-200, away_moneyline=170, total_line=51)
    write_games(folder, games)
    stats = stats_rows_for(games)
    stats[0]["passing_yards"] = 999
    write_stats(folder, stats)
    injuries = injury_rows_for(games)[:-2]  # the last team-week's report is withdrawn
    write_injuries(folder, injuries)
    report = ingest_files(engine, paths)
    assert [(f.inserted, f.updated, f.unchanged) for f in report.files] == [(0, 1, 5), (0, 1, 11), (0, 1, 11)]
    assert "no longer in it were removed" in report.files[2].warnings[-1]
    frame = load_games(engine).set_index("game_id")
    game = games[1]["game_id"]
    assert (frame.loc[game, "home_score"], frame.loc[game, "total_line"]) == (30.0, 51.0)
    assert odds_of(engine, game)[("moneyline", "home")][0] == pytest.approx(1.5)
    assert odds_of(engine, game)[("total", "over")][1] == 51.0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT outcome FROM results r JOIN events e ON e.id = r.event_id "
                                 "WHERE e.external_key = :g"), {"g": game}).scalar_one() == "T"
    c = counts(engine)
    assert (c["events"], c["odds"], c["results"], c["injuries"]) == (6, before["odds"], 6, 11)
    assert (load_team_stats(engine)["passing_yards"] == 999).sum() == 1


def test_paths_that_are_no_nfl_file_are_rejected_and_recorded(engine, tmp_path):
    other = tmp_path / "other" / "E0_2425.csv"
    other.parent.mkdir()
    other.write_text("Div,Date,HomeTeam,AwayTeam\nE0,10/08/2024,A,B\n")
    report = ingest_files(engine, [tmp_path / "missing.csv", other, other.parent])
    assert [f.status for f in report.files] == ["rejected"] * 3
    assert "no such file" in report.files[0].error and "not an NFL file" in report.files[1].error
    assert "holds no NFL file" in report.files[2].error
    assert report.layout is None and len(imports(engine)) == 3 and counts(engine)["events"] == 0


def test_injuries_reimported_with_a_repeated_player_keep_one_row(engine, tmp_path):
    games = season_rows(2024, weeks=1)
    assert_ok(ingest_files(engine, [write_games(tmp_path, games)]))
    rows = injury_rows_for(games)
    rows.append(injury_row(2024, 1, rows[0]["team"], rows[0]["gsis_id"], report_status="Out",
                           date_modified="2024-09-09T00:00:00Z"))
    report = ingest_files(engine, [write_injuries(tmp_path, rows)])
    assert_ok(report)
    assert len(report.files[0].warnings) == 1 and "listed twice" in report.files[0].warnings[0]
    assert report.files[0].rejected == 1 and report.files[0].inserted == 6
    injuries = load_injuries(engine)
    assert len(injuries) == len(rows) - 1
    player = (injuries["gsis_id"] == rows[0]["gsis_id"]) & (injuries["team"] == rows[0]["team"])
    assert injuries.loc[player, "report_status"].item() == "Out"


# --------------------------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_files() -> tuple[Path, ...]:
    missing = [p for p in NFL_FILES if not p.is_file()]
    if missing:
        pytest.skip(f"real NFL data not found: {', '.join(str(p) for p in missing)} (set FORMGUIDE_DATA)")
    return NFL_FILES


def test_real_files_ingest_round_trip_and_reimport(engine, real_files):
    start = time.perf_counter()
    report = ingest_files(engine, list(real_files))
    took = time.perf_counter() - start
    assert_ok(report)
    assert report.layout == "games + team-stats + team-epa + injuries"
    c = counts(engine)
    assert (c["events"], c["results"], c["teams"], c["seasons"]) == (6991, 6991, 32, 26)
    # stats: 13,961 rows less the 1999 row without a team; injuries: 8,665 team-weeks less BUF and CIN of the
    # cancelled 2022 week-17 game (17 rows, reported)
    assert (c["stats"], c["epa"], c["injuries"]) == (13960, 6270, 8663)
    games, stats, epa, injuries = report.files
    # the 2022 week-17 BUF-CIN game was cancelled (not in games.csv): its 17 report rows match no game; two
    # players listed twice in 2024 week 15 keep their later-modified row
    assert injuries.rejected == 17 + 2 and injuries.warnings[-1] == (
        "injuries.csv: 17 injury row(s) whose (season, week, team) matches no stored game, not stored: "
        "2022 week 17 BUF: 11 row(s) from row 72168, the stored week has no BUF game; "
        "2022 week 17 CIN: 6 row(s) from row 72200, the stored week has no CIN game")
    assert sum("listed twice" in w for w in injuries.warnings) == 2
    assert stats.rejected == 1 and stats.warnings[0].startswith("team_stats_week.csv: row 256, column team: no team")
    assert took < 60

    frame = load_games(engine)
    assert frame["season"].iloc[0] == "1999" and frame["season"].iloc[-1] == "2024" and frame["season"].nunique() == 26
    pd.testing.assert_frame_equal(frame.drop(columns=["event_id", "status"]), parse_games(real_files[0]).frame)

    again = ingest_files(engine, list(real_files))
    assert [f.inserted + f.updated for f in again.files] == [0, 0, 0, 0]
    assert [f.unchanged for f in again.files] == [6991, 13960, 6270, 8663]
    assert counts(engine) == c


def test_real_team_reports_come_back_as_parsed(engine, real_files):
    assert_ok(ingest_files(engine, list(real_files[1:])))  # no games yet: every row reported, nothing stored
    assert counts(engine)["team_reports"] == 0
    assert_ok(ingest_files(engine, list(real_files)))
    stats = load_team_stats(engine)
    parsed = parse_team_stats(real_files[1]).frame
    merged = parsed.merge(stats, on=["season", "week", "team"], suffixes=("", "_stored"), validate="one_to_one")
    assert len(merged) == len(parsed) == 13960
    for col in ("passing_epa", "rushing_epa", "passing_cpoe", "def_sacks"):
        assert np.array_equal(merged[col].to_numpy(), merged[f"{col}_stored"].to_numpy(), equal_nan=True), col
    assert (merged["opponent"] != merged["opponent_stored"]).sum() == 112  # the source's own-opponent slips
    epa = parse_team_stats(real_files[2]).frame.merge(stats, on=["season", "week", "team"], suffixes=("", "_s"))
    assert len(epa) == 6270 and np.array_equal(epa["off_epa_total"], epa["off_epa_total_s"])
    injuries = load_injuries(engine)
    assert len(injuries) == len(parse_injuries(real_files[3]).frame) - 17
