"""NFL parsers on small files built here from the real nflverse headers: what is kept, warned, refused.

The helpers (``write_games``, ``write_stats``, ``write_epa``, ``write_injuries``) are shared with the store tests.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.errors import DataValidationError, IngestError
from formguide.nfl.csvfile import NflFileError, detect, read_table
from formguide.nfl.games import GAME_COLUMNS, parse_games
from formguide.nfl.injuries import INJURY_COLUMNS, parse_injuries
from formguide.nfl.stats import parse_team_stats

GAMES_HEADER = (
    "game_id,season,game_type,week,gameday,weekday,gametime,away_team,away_score,home_team,home_score,location"
    ",result,total,overtime,old_game_id,gsis,nfl_detail_id,pfr,pff,espn,ftn,away_rest,home_rest,away_moneyline"
    ",home_moneyline,spread_line,away_spread_odds,home_spread_odds,total_line,under_odds,over_odds,div_game,ro"
    "of,surface,temp,wind,away_qb_id,home_qb_id,away_qb_name,home_qb_name,away_coach,home_coach,referee,stadiu"
    "m_id,stadium").split(",")
STATS_HEADER = (
    "season,week,team,season_type,opponent_team,completions,attempts,passing_yards,passing_tds,passing_interce"
    "ptions,sacks_suffered,sack_yards_lost,sack_fumbles,sack_fumbles_lost,passing_air_yards,passing_yards_afte"
    "r_catch,passing_first_downs,passing_epa,passing_cpoe,passing_2pt_conversions,carries,rushing_yards,rushin"
    "g_tds,rushing_fumbles,rushing_fumbles_lost,rushing_first_downs,rushing_epa,rushing_2pt_conversions,recept"
    "ions,targets,receiving_yards,receiving_tds,receiving_fumbles,receiving_fumbles_lost,receiving_air_yards,r"
    "eceiving_yards_after_catch,receiving_first_downs,receiving_epa,receiving_2pt_conversions,special_teams_td"
    "s,def_tackles_solo,def_tackles_with_assist,def_tackle_assists,def_tackles_for_loss,def_tackles_for_loss_y"
    "ards,def_fumbles_forced,def_sacks,def_sack_yards,def_qb_hits,def_interceptions,def_interception_yards,def"
    "_pass_defended,def_tds,def_fumbles,def_safeties,misc_yards,fumble_recovery_own,fumble_recovery_yards_own,"
    "fumble_recovery_opp,fumble_recovery_yards_opp,fumble_recovery_tds,penalties,penalty_yards,timeouts,punt_r"
    "eturns,punt_return_yards,kickoff_returns,kickoff_return_yards,fg_made,fg_att,fg_missed,fg_blocked,fg_long"
    ",fg_pct,fg_made_0_19,fg_made_20_29,fg_made_30_39,fg_made_40_49,fg_made_50_59,fg_made_60_,fg_missed_0_19,f"
    "g_missed_20_29,fg_missed_30_39,fg_missed_40_49,fg_missed_50_59,fg_missed_60_,fg_made_list,fg_missed_list,"
    "fg_blocked_list,fg_made_distance,fg_missed_distance,fg_blocked_distance,pat_made,pat_att,pat_missed,pat_b"
    "locked,pat_pct,gwfg_made,gwfg_att,gwfg_missed,gwfg_blocked,gwfg_distance").split(",")
EPA_HEADER = ("season,week,team,off_plays,off_epa_total,off_success_rate,off_pass_plays,off_rush_plays,"
              "off_epa_per_play,def_plays,def_epa_total,def_success_rate,def_epa_per_play").split(",")
INJURIES_HEADER = (
    "season,game_type,team,week,gsis_id,position,full_name,first_name,last_name,report_primary_injury,report_s"
    "econdary_injury,report_status,practice_primary_injury,practice_secondary_injury,practice_status,date_modi"
    "fied").split(",")

#: Week 1 of a season among six franchises: (away, home) pairs; later weeks rotate them.
TEAMS = ("KC", "BAL", "PHI", "GB", "ATL", "PIT")


def game_row(season: int = 2024, week: int = 1, away: str = "BAL", home: str = "KC", **cells: object) -> dict:
    """A complete, valid games.csv row (a played game with every line and price) with ``cells`` replaced."""
    row = {h: "" for h in GAMES_HEADER}
    row.update({
        "game_id": f"{season}_{week:02d}_{away}_{home}", "season": season, "game_type": "REG", "week": week,
        "gameday": f"{season}-09-{min(5 + 7 * (week - 1), 28):02d}" if week <= 4 else f"{season}-10-{week:02d}",
        "weekday": "Sunday", "gametime": "20:20", "away_team": away, "away_score": 20, "home_team": home,
        "home_score": 27, "location": "Home", "result": 7, "total": 47, "overtime": 0, "away_rest": 7,
        "home_rest": 7, "away_moneyline": 124, "home_moneyline": -148, "spread_line": 3, "away_spread_odds": -118,
        "home_spread_odds": -102, "total_line": 46, "under_odds": -110, "over_odds": -110, "div_game": 0,
        "roof": "outdoors", "surface": "grass", "temp": 67, "wind": 8, "away_qb_id": "00-0034796",
        "home_qb_id": "00-0033873", "away_qb_name": "Lamar Jackson", "home_qb_name": "Patrick Mahomes",
        "away_coach": "John Harbaugh", "home_coach": "Andy Reid", "referee": "Shawn Hochuli",
        "stadium_id": "KAN00", "stadium": "GEHA Field at Arrowhead Stadium",
    })
    row.update(cells)
    return row


def season_rows(season: int = 2024, weeks: int = 2) -> list[dict]:
    """Three games a week among :data:`TEAMS`, every team once a week."""
    rows = []
    for week in range(1, weeks + 1):
        order = TEAMS[week - 1:] + TEAMS[:week - 1]
        for k in range(3):
            rows.append(game_row(season, week, away=order[2 * k], home=order[2 * k + 1]))
    return rows


def _write(path: Path, header: list[str], rows: list[dict]) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else row.get(h, "") for h in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_games(folder: Path, rows: list[dict], name: str = "games.csv") -> Path:
    return _write(folder / name, GAMES_HEADER, rows)


def stats_row(season: int, week: int, team: str, opponent: str, **cells: object) -> dict:
    row = {h: 0 for h in STATS_HEADER}
    row.update({"season": season, "week": week, "team": team, "season_type": "REG", "opponent_team": opponent,
                "completions": 20, "attempts": 30, "passing_epa": 4.191296409677575, "passing_cpoe": "",
                "fg_made_list": "32;31", "fg_missed_list": "", "fg_blocked_list": ""})
    row.update(cells)
    return row


def stats_rows_for(games: list[dict]) -> list[dict]:
    """One statistics row per team of each game (season, week, team as the games file writes them)."""
    out = []
    for g in games:
        out.append(stats_row(g["season"], g["week"], g["home_team"], g["away_team"], passing_yards=250))
        out.append(stats_row(g["season"], g["week"], g["away_team"], g["home_team"], passing_yards=180))
    return out


def write_stats(folder: Path, rows: list[dict], name: str = "team_stats_week.csv") -> Path:
    return _write(folder / name, STATS_HEADER, rows)


def epa_rows_for(games: list[dict]) -> list[dict]:
    out = []
    for g in games:
        for team, sign in ((g["home_team"], 1), (g["away_team"], -1)):
            out.append({"season": g["season"], "week": g["week"], "team": team, "off_plays": 60,
                        "off_epa_total": 3.676301265116993 * sign, "off_success_rate": 0.4857142857142857,
                        "off_pass_plays": 40, "off_rush_plays": 20, "off_epa_per_play": 0.05251858950167133 * sign,
                        "def_plays": 63, "def_epa_total": -2.3463020683855733 * sign, "def_success_rate": 0.44,
                        "def_epa_per_play": -0.03724288997437418 * sign})
    return out


def write_epa(folder: Path, rows: list[dict], name: str = "team_week_epa_2013_2024.csv") -> Path:
    return _write(folder / name, EPA_HEADER, rows)


def injury_row(season: int, week: int, team: str, gsis_id: str, **cells: object) -> dict:
    row = {h: "" for h in INJURIES_HEADER}
    row.update({"season": season, "game_type": "REG", "team": team, "week": week, "gsis_id": gsis_id,
                "position": "WR", "full_name": f"Player {gsis_id}", "first_name": "Player", "last_name": gsis_id,
                "report_primary_injury": "Hamstring", "report_status": "Questionable",
                "practice_primary_injury": "Hamstring", "practice_status": "Limited Participation in Practice",
                "date_modified": f"{season}-09-0{min(week, 9)}T12:00:00Z"})
    row.update(cells)
    return row


def injury_rows_for(games: list[dict]) -> list[dict]:
    out = []
    for g in games:
        for side in ("home_team", "away_team"):
            for k in range(2):
                out.append(injury_row(g["season"], g["week"], g[side], f"00-00{g['week']:02d}{k}{side[0]}"))
    return out


def write_injuries(folder: Path, rows: list[dict], name: str = "injuries.csv") -> Path:
    return _write(folder / name, INJURIES_HEADER, rows)


def error_of(call, *args) -> NflFileError:
    with pytest.raises(NflFileError) as info:
        call(*args)
    return info.value


# ------------------------------------------------------------------------------------------------ games
def test_games_frame_has_the_canonical_columns_types_and_franchises(tmp_path):
    rows = season_rows(2015, weeks=2)
    rows[0].update(home_team="STL", game_id="2015_01_KC_STL", gametime="", surface="Grass ", roof="Dome")
    parsed = parse_games(write_games(tmp_path, rows))
    f = parsed.frame
    assert list(f.columns) == GAME_COLUMNS
    assert f["season"].tolist() == ["2015"] * 6 and set(f["competition"]) == {"NFL"}
    assert f["week"].dtype == np.int64 and f["kickoff"].dtype == "datetime64[ns]"
    assert f["playoff"].dtype == bool and f["neutral"].dtype == bool and f["div_game"].dtype == bool
    first = f[f["game_id"] == "2015_01_KC_STL"].iloc[0]
    assert first["home_team"] == "LA"  # STL in 2015 is the Rams' franchise
    assert first["kickoff"] == pd.Timestamp("2015-09-05 13:00")  # no gametime: 13:00
    assert first["surface"] == "grass" and first["roof"] == "dome"
    assert f["kickoff"].is_monotonic_increasing
    assert parsed.warnings == []


def test_spread_line_and_prices_are_kept_as_the_source_writes_them(tmp_path):
    parsed = parse_games(write_games(tmp_path, [game_row()]))
    g = parsed.frame.iloc[0]
    assert (g["spread_line"], g["total_line"]) == (3.0, 46.0)
    assert (g["home_moneyline"], g["away_moneyline"], g["home_spread_odds"], g["over_odds"]) == (-148, 124, -102, -110)


def test_a_tie_is_a_played_game(tmp_path):
    parsed = parse_games(write_games(tmp_path, [game_row(home_score=20, away_score=20, overtime=1)]))
    g = parsed.frame.iloc[0]
    assert g["home_score"] == g["away_score"] == 20.0 and g["overtime"] == 1.0


def test_a_postponed_game_without_a_score_has_nan_scores(tmp_path):
    parsed = parse_games(write_games(tmp_path, [game_row(home_score="", away_score="", result="", total="")]))
    assert parsed.frame[["home_score", "away_score"]].isna().all(axis=None)


def test_missing_lines_and_prices_are_nan_not_errors(tmp_path):
    rows = [game_row(away_moneyline="", home_moneyline="", away_spread_odds="", home_spread_odds="",
                     under_odds="", over_odds=""),
            game_row(week=2, spread_line="", total_line="", home_spread_odds="", away_spread_odds="",
                     over_odds="", under_odds="")]
    parsed = parse_games(write_games(tmp_path, rows))
    f = parsed.frame
    assert f.loc[0, ["home_moneyline", "over_odds"]].isna().all() and f.loc[0, "spread_line"] == 3.0
    assert np.isnan(f.loc[1, "spread_line"]) and f.loc[1, "home_moneyline"] == -148
    assert parsed.warnings == []


def test_prices_without_their_line_are_a_warning(tmp_path):
    parsed = parse_games(write_games(tmp_path, [game_row(spread_line="")]))
    assert parsed.warnings == ["games.csv: row 2, column spread_line: home_spread_odds/away_spread_odds without a "
                               "spread_line; those prices are not stored as odds"]


def test_moneylines_and_spread_disagreeing_on_the_favourite_is_a_warning_naming_file_and_row(tmp_path):
    rows = [game_row(), game_row(week=2, away="PHI", home="GB", home_moneyline=-103, away_moneyline=-107,
                                 spread_line=1)]
    parsed = parse_games(write_games(tmp_path, rows))
    assert len(parsed.frame) == 2  # kept
    assert len(parsed.warnings) == 1
    assert parsed.warnings[0].startswith("games.csv: row 3, columns home_moneyline/away_moneyline/spread_line:")
    assert "2024_02_PHI_GB" in parsed.warnings[0]


def test_equal_moneylines_or_a_pick_em_spread_are_no_disagreement(tmp_path):
    rows = [game_row(home_moneyline=-105, away_moneyline=-105, spread_line=1),
            game_row(week=2, away="PHI", home="GB", spread_line=0)]
    assert parse_games(write_games(tmp_path, rows)).warnings == []


def test_unknown_team_code_names_file_row_and_column(tmp_path):
    rows = [game_row(), game_row(week=2, away="XYZ", home="GB", game_id="2024_02_XYZ_GB")]
    err = error_of(parse_games, write_games(tmp_path, rows))
    assert (err.row, err.column) == (3, "away_team") and "XYZ" in str(err)
    assert str(err).startswith("games.csv, row 3, column away_team:")
    assert isinstance(err, DataValidationError) and isinstance(err, IngestError)


def test_a_duplicate_game_id_rejects_the_file_naming_both_rows(tmp_path):
    rows = season_rows()
    rows.append(dict(rows[0]))
    err = error_of(parse_games, write_games(tmp_path, rows))
    assert err.column == "game_id" and err.row == 8 and "rows 2 and 8" in str(err)


def test_a_team_twice_in_one_week_is_refused(tmp_path):
    rows = [game_row(), game_row(away="PHI", home="KC", game_id="2024_01_PHI_KC")]
    err = error_of(parse_games, write_games(tmp_path, rows))
    assert err.row == 3 and "KC plays twice" in str(err) and "rows 2 and 3" in str(err)


def test_a_non_numeric_score_names_file_row_and_column(tmp_path):
    rows = season_rows() + [game_row(2024, 3, home_score="2O")]
    err = error_of(parse_games, write_games(tmp_path, rows))
    assert (err.row, err.column) == (8, "home_score") and "'2O'" in str(err)


@pytest.mark.parametrize(("cells", "column"), [
    ({"away_score": ""}, "away_score"), ({"home_score": "-3"}, "home_score"), ({"home_score": "3.5"}, "home_score"),
    ({"game_type": "POST"}, "game_type"), ({"gameday": "2024-13-01"}, "gameday"), ({"gametime": "8pm"}, "gametime"),
    ({"home_moneyline": "-50"}, "home_moneyline"), ({"over_odds": "x"}, "over_odds"), ({"location": "Away"}, "location"),
    ({"div_game": "2"}, "div_game"), ({"home_team": "BAL"}, "away_team"), ({"week": ""}, "week"),
    ({"season": "20x4"}, "season"), ({"game_id": ""}, "game_id"),
])
def test_bad_cells_are_refused_with_their_column(tmp_path, cells, column):
    row = game_row()
    row.update(cells)
    err = error_of(parse_games, write_games(tmp_path, [row]))
    assert (err.row, err.column) == (2, column)


def test_a_file_cut_part_way_through_a_row_is_refused(tmp_path):
    path = write_games(tmp_path, season_rows())
    text = path.read_text()
    path.write_text(text[: text.rindex("Home,") + 2])  # the last row ends inside the location field
    err = error_of(parse_games, path)
    assert err.row == 7 and err.column == "result" and "part-way" in str(err)  # the first column missing


def test_a_missing_column_is_named(tmp_path):
    path = write_games(tmp_path, [game_row()])
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["spread_line"])
    frame.to_csv(path, index=False)
    err = error_of(parse_games, path)
    assert (err.row, err.column) == (1, "spread_line")


# ------------------------------------------------------------------------------------------------ stats
def test_team_stats_map_nflfastr_codes_and_drop_the_row_without_a_team(tmp_path):
    rows = [stats_row(2002, 1, "JAC", "OAK"), stats_row(2002, 1, "OAK", "JAC"),
            stats_row(1999, 9, "", "", season_type="REG"), stats_row(2003, 1, "LA", "SD")]
    parsed = parse_team_stats(write_stats(tmp_path, rows))
    assert parsed.found == "team-stats"
    f = parsed.frame
    assert f["team"].tolist() == ["JAX", "LV", "LA"] and f["opponent"].tolist() == ["LV", "JAX", "LAC"]
    assert list(f.columns[:5]) == ["season", "week", "team", "opponent", "season_type"]
    assert f["passing_epa"].dtype == float and np.isnan(f["passing_cpoe"]).all()
    assert f["fg_made_list"].tolist() == ["32;31"] * 3
    assert parsed.lines.tolist() == [2, 3, 5]
    assert parsed.warnings == ["team_stats_week.csv: row 4, column team: no team (season 1999, week 9); row dropped"]
    assert parsed.dropped == 1


def test_team_epa_file_is_recognised_with_exact_floats(tmp_path):
    parsed = parse_team_stats(write_epa(tmp_path, epa_rows_for(season_rows(2013, 1))))
    assert parsed.found == "team-epa"
    assert parsed.frame["opponent"].isna().all() and parsed.frame["season_type"].isna().all()
    assert parsed.frame["off_epa_total"].iloc[0] == 3.676301265116993


@pytest.mark.parametrize(("cells", "column"), [({"team": "XXX"}, "team"), ({"opponent_team": "ZZ"}, "opponent_team"),
                                               ({"passing_yards": "lots"}, "passing_yards"),
                                               ({"season_type": "PRE"}, "season_type")])
def test_bad_stats_cells_name_row_and_column(tmp_path, cells, column):
    rows = [stats_row(2024, 1, "KC", "BAL"), stats_row(2024, 1, "BAL", "KC")]
    rows[1].update(cells)
    err = error_of(parse_team_stats, write_stats(tmp_path, rows))
    assert (err.row, err.column) == (3, column)


def test_a_team_twice_in_a_week_of_stats_is_refused(tmp_path):
    rows = [stats_row(2024, 1, "KC", "BAL"), stats_row(2024, 1, "KC", "BAL")]
    err = error_of(parse_team_stats, write_stats(tmp_path, rows))
    assert err.row == 3 and "rows 2 and 3" in str(err)


def test_stats_parser_refuses_another_file(tmp_path):
    err = error_of(parse_team_stats, write_games(tmp_path, [game_row()]))
    assert err.row == 1 and "not an nflverse team statistics file" in str(err)


# ------------------------------------------------------------------------------------------------ injuries
def test_injuries_strip_whitespace_placeholders_and_keep_line_numbers_after_embedded_newlines(tmp_path):
    rows = [injury_row(2024, 1, "KC", "00-1", position="\n    ", practice_status="\n    "),
            injury_row(2015, 1, "STL", "00-2", report_status="", date_modified=""),
            injury_row(2024, 1, "KC", "00-3", full_name="Bad  Row")]
    path = write_injuries(tmp_path, rows)
    parsed = parse_injuries(path)
    f = parsed.frame
    assert list(f.columns) == INJURY_COLUMNS
    assert np.isnan(f.loc[0, "position"]) and np.isnan(f.loc[0, "practice_status"])
    assert f.loc[1, "team"] == "LA" and pd.isna(f.loc[1, "report_status"]) and pd.isna(f.loc[1, "date_modified"])
    assert f.loc[0, "date_modified"] == pd.Timestamp("2024-09-01 12:00", tz="UTC")
    assert parsed.lines.tolist() == [2, 5, 6]  # the first record spans lines 2-4
    rows[2]["team"] = "KCC"
    err = error_of(parse_injuries, write_injuries(tmp_path, rows))
    assert (err.row, err.column) == (6, "team")


def test_a_player_twice_in_one_team_week_keeps_the_later_modified_row(tmp_path):
    rows = [injury_row(2024, 15, "HOU", "00-9", report_status="Out", date_modified="2024-12-15T14:17:06Z"),
            injury_row(2024, 15, "HOU", "00-9", report_status="Questionable", date_modified="2024-12-15T03:34:33Z"),
            injury_row(2024, 15, "HOU", "00-8"), injury_row(2024, 15, "HOU", "00-8")]
    parsed = parse_injuries(write_injuries(tmp_path, rows))
    f = parsed.frame
    assert len(f) == 2 and f.loc[f["gsis_id"] == "00-9", "report_status"].item() == "Out"
    assert len(parsed.warnings) == 2
    assert parsed.dropped == 2
    assert any(w.startswith("injuries.csv: row 3, column gsis_id:") and "modified earlier than row 2" in w
               for w in parsed.warnings)
    assert any("row 5, column gsis_id:" in w and "identical repeat of row 4" in w for w in parsed.warnings)


def test_a_bad_injury_time_is_named(tmp_path):
    err = error_of(parse_injuries, write_injuries(tmp_path, [injury_row(2024, 1, "KC", "00-1", date_modified="soon")]))
    assert (err.row, err.column) == (2, "date_modified")


# ------------------------------------------------------------------------------------------------ detect / csv
def test_detect_tells_the_four_files_apart(tmp_path):
    games = season_rows()
    assert detect(write_games(tmp_path, games)) == "games"
    assert detect(write_stats(tmp_path, stats_rows_for(games))) == "team-stats"
    assert detect(write_epa(tmp_path, epa_rows_for(games))) == "team-epa"
    assert detect(write_injuries(tmp_path, injury_rows_for(games))) == "injuries"
    other = tmp_path / "E0_2425.csv"
    other.write_text("Div,Date,HomeTeam,AwayTeam\nE0,10/08/2024,A,B\n")
    assert detect(other) is None and detect(tmp_path / "missing.csv") is None


def test_an_unclosed_quote_at_the_end_is_a_truncated_file(tmp_path):
    path = write_injuries(tmp_path, [injury_row(2024, 1, "KC", "00-1")])
    path.write_text(path.read_text() + '2024,REG,KC,1,00-2,"WR\n')
    err = error_of(parse_injuries, path)
    assert err.row == 3 and "quoted field" in str(err)


_cell = st.text(alphabet=st.sampled_from(list("ab ,\"\n\t1")), max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_cell, min_size=3, max_size=3), min_size=1, max_size=6))
def test_read_table_reads_what_the_csv_module_wrote(tmp_path_factory, records):
    """Any cells (quotes, commas, newlines, padding) come back stripped, on the line their record starts."""
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["a", "b", "c"])
    writer.writerows(records)
    path.write_text(buf.getvalue())
    expected = [[c.strip() or None for c in r] for r in records]
    starts, line = [], 2
    for r in records:
        starts.append(line)
        line += 1 + sum(c.count("\n") for c in r)
    keep = [i for i, r in enumerate(expected) if any(c is not None for c in r)]
    if not keep:
        with pytest.raises(NflFileError):
            read_table(path)
        return
    t = read_table(path)
    got = [[None if pd.isna(v) else v for v in row] for row in t.frame.itertuples(index=False)]
    assert got == [expected[i] for i in keep]
    assert t.lines.tolist() == [starts[i] for i in keep]
