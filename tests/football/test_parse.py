"""football-data.co.uk parser: real files of every era, and one test per kind of broken input."""

from __future__ import annotations

import hashlib
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.errors import DataValidationError, IngestError, IngestFileNotFoundError
from formguide.football.odds import (
    WIDE_AH_COLUMNS,
    WIDE_ODDS_COLUMNS,
    OddsColumn,
    attach_wide_odds,
    classify_odds_column,
    is_asian_handicap_column,
)
from formguide.football.parse import ParsedFile, iter_csv_files, parse_file
from formguide.football.schema import KEY_COLUMNS, MATCH_COLUMNS, ODDS_COLUMNS

# ---------------------------------------------------------------- synthetic files

HEADER = ["Div", "Date", "Time", "HomeTeam", "AwayTeam", "FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR", "Referee",
          "HS", "AS", "B365H", "B365D", "B365A", "PSH", "PSD", "PSA", "B365>2.5", "B365<2.5", "PSCH", "PSCD", "PSCA",
          "AHh", "B365AHH"]
TEAMS = [f"Team {c}" for c in "ABCDEFGHIJ"]


def make_rows(n: int = 20, start: date = date(2023, 8, 12), div: str = "E0") -> list[dict[str, str]]:
    """n distinct, valid matches on consecutive days (row i of the list is line i + 2 of the file)."""
    rows = []
    for i in range(n):
        hg, ag = i % 3, (i // 3) % 2
        rows.append({
            "Div": div, "Date": (start + timedelta(days=i)).strftime("%d/%m/%Y"), "Time": "15:00",
            "HomeTeam": TEAMS[i % 10], "AwayTeam": TEAMS[(i + 1 + i // 10) % 10],
            "FTHG": str(hg), "FTAG": str(ag), "FTR": "H" if hg > ag else "A" if hg < ag else "D",
            "HTHG": "0", "HTAG": "0", "HTR": "D", "Referee": "M Dean", "HS": "10", "AS": "7",
            "B365H": "2.1", "B365D": "3.4", "B365A": "3.6", "PSH": "2.15", "PSD": "3.5", "PSA": "3.7",
            "B365>2.5": "1.9", "B365<2.5": "1.95", "PSCH": "2.05", "PSCD": "3.6", "PSCA": "3.9",
            "AHh": "-0.25", "B365AHH": "1.9",
        })
    return rows


def write_csv(folder: Path, name: str, rows: list[dict[str, str]], header: list[str] | None = None,
              *, tail: str = "\n", newline: str = "\n", encoding: str = "utf-8") -> Path:
    header = header or HEADER
    lines = [",".join(header)] + [",".join(r.get(h, "") for h in header) for r in rows]
    path = folder / name
    path.write_bytes((newline.join(lines) + tail.replace("\n", newline)).encode(encoding))
    return path


def raises_at(path: Path, row: int | None, column: str | None, match: str | None = None, **kwargs) -> IngestError:
    with pytest.raises(IngestError, match=match) as info:
        parse_file(path, **kwargs)
    err = info.value
    assert (err.row, err.column) == (row, column), str(err)
    text = str(err)
    assert text.startswith(path.name), text
    if row is not None:
        assert f"row {row}" in text
    if column is not None:
        assert f"column {column}" in text
    return err


# ---------------------------------------------------------------- real files


def test_e0_0506_first_row_known_values(football_dir):
    p = parse_file(football_dir / "E0_0506.csv")
    assert isinstance(p, ParsedFile)
    assert (p.competition, p.season, len(p.matches)) == ("E0", "0506", 380)
    assert list(p.matches.columns) == MATCH_COLUMNS + ["row_hash", "status"]
    assert set(p.matches.status) == {"finished"}
    assert list(p.odds.columns) == ODDS_COLUMNS
    first = p.matches.iloc[0]
    assert (first.home_team, first.away_team) == ("Aston Villa", "Bolton")
    assert (first.home_goals, first.away_goals, first.result) == (2.0, 2.0, "D")
    assert first.kickoff == pd.Timestamp("2005-08-13 00:00")
    assert first.referee == "M Riley"
    assert p.row_numbers[0] == 2
    odds = p.odds[(p.odds.home_team == "Aston Villa") & (p.odds.away_team == "Bolton")]
    b365 = odds[(odds.bookmaker == "Bet365") & (odds.market == "1X2") & ~odds.is_closing]
    assert dict(zip(b365.selection, b365.price, strict=True)) == {"H": 2.3, "D": 3.25, "A": 3.0}
    assert p.matches.kickoff.is_monotonic_increasing
    assert p.content_hash == hashlib.sha256((football_dir / "E0_0506.csv").read_bytes()).hexdigest()


def test_e0_1415_integers_written_as_floats(football_dir):
    p = parse_file(football_dir / "E0_1415.csv")
    assert len(p.matches) == 380  # the trailing ",,,," row is dropped
    first = p.matches.iloc[0]
    assert (first.home_team, first.away_team, first.home_goals, first.away_goals) == ("Arsenal", "Crystal Palace",
                                                                                       2.0, 1.0)
    goals = p.matches[["home_goals", "away_goals", "home_shots", "away_corners"]].to_numpy()
    assert np.array_equal(goals, np.round(goals))


def test_d1_1011_unnamed_columns_ignored(football_dir):
    p = parse_file(football_dir / "D1_1011.csv")
    assert (p.competition, p.season, len(p.matches)) == ("D1", "1011", 306)
    assert not any("unrecognised" in w for w in p.warnings)


def test_e0_2425_bom_time_and_new_bookmakers(football_dir):
    raw = (football_dir / "E0_2425.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    p = parse_file(football_dir / "E0_2425.csv")
    assert (p.competition, p.season, len(p.matches)) == ("E0", "2425", 380)
    first = p.matches.iloc[0]
    assert (first.home_team, first.away_team, first.result) == ("Man United", "Fulham", "H")
    assert first.kickoff == pd.Timestamp("2024-08-16 20:00")
    books = set(p.odds.bookmaker)
    assert {"Betfair", "Betfair exchange", "1xBet", "Pinnacle", "Market max", "Market average"} <= books
    assert set(p.odds.market) == {"1X2", "OU2.5", "AH"}
    assert p.odds.is_closing.any() and (~p.odds.is_closing).any()


def test_f1_1920_stopped_season(football_dir):
    assert len(parse_file(football_dir / "F1_1920.csv").matches) == 279


def test_real_invalid_prices_are_warned_or_raised(football_dir):
    p = parse_file(football_dir / "D1_1920.csv")
    assert any("row 261, column AvgC>2.5: ignored invalid price '0.42'" in w for w in p.warnings)
    assert (p.odds.price > 1.0).all()
    err = raises_at(football_dir / "D1_1920.csv", 261, "AvgC>2.5", bad_odds="raise")
    assert "0.42" in str(err)
    g = parse_file(football_dir / "G1_2425.csv")  # a bookmaker's name typed into a price cell
    assert any("column 1XBH: ignored invalid price '1xBet'" in w for w in g.warnings)


@pytest.mark.slow
def test_all_files(football_dir):
    files = iter_csv_files(football_dir)
    assert len(files) == 170
    t0 = time.perf_counter()
    parsed = [parse_file(f) for f in files]
    elapsed = time.perf_counter() - t0
    assert sum(len(p.matches) for p in parsed) == 61_770
    for p in parsed:
        div, season = p.path.stem.split("_")
        assert (p.competition, p.season) == (div, season)
        assert p.matches.kickoff.notna().all() and p.matches.result.notna().all()
        assert p.matches.row_hash.is_unique
    odds = pd.concat([p.odds for p in parsed])
    assert (odds.price > 1.0).all()
    # Generous bound for a loaded 2-core CI machine; about 3 s when idle.
    assert elapsed < 20, elapsed


def test_wide_odds_on_real_file(football_dir):
    p = parse_file(football_dir / "E0_2324.csv")
    wide = attach_wide_odds(p.matches, p.odds)
    assert list(wide.columns) == list(p.matches.columns) + WIDE_ODDS_COLUMNS + WIDE_AH_COLUMNS
    raw = pd.read_csv(football_dir / "E0_2324.csv", encoding="utf-8-sig")
    first = wide.iloc[0]
    row = raw[(raw.HomeTeam == first.home_team) & (raw.AwayTeam == first.away_team)].iloc[0]
    assert first.odds_open_H == row.PSH and first.odds_close_A == row.PSCA
    assert first.odds_open_over == row["P>2.5"] and first.odds_close_under == row["PC<2.5"]
    closing = [c for c in raw.columns if (k := classify_odds_column(c)) and k.is_closing and k.market == "1X2"
               and k.selection == "D"]
    assert first.odds_best_D == np.nanmax([row[c] for c in closing])


# ---------------------------------------------------------------- synthetic: valid variants


def test_synthetic_file_round_trip(tmp_path):
    p = parse_file(write_csv(tmp_path, "E0_2324.csv", make_rows()))
    assert (p.competition, p.season, len(p.matches)) == ("E0", "2324", 20)
    assert p.warnings == []
    assert p.row_numbers.tolist() == list(range(2, 22))
    assert p.matches.kickoff.iloc[0] == pd.Timestamp("2023-08-12 15:00")
    # 20 matches x (3 + 3 + 2 + 3 + 1) prices: Bet365's Asian-handicap home price at AHh
    assert len(p.odds) == 20 * 12
    ah = p.odds[p.odds.market == "AH"]
    assert (ah.bookmaker.unique().tolist(), ah.selection.unique().tolist()) == (["Bet365"], ["home"])
    assert (ah.line == -0.25).all() and (p.odds[p.odds.market == "OU2.5"].line == 2.5).all()
    assert p.odds[p.odds.market == "1X2"].line.isna().all()
    assert set(p.odds.bookmaker) == {"Bet365", "Pinnacle"}
    assert p.odds[p.odds.is_closing].bookmaker.unique().tolist() == ["Pinnacle"]
    assert p.matches[KEY_COLUMNS].merge(p.odds[KEY_COLUMNS].drop_duplicates()).shape[0] == 20


def test_both_date_formats_and_crlf(tmp_path):
    rows = make_rows()
    for r in rows[::2]:
        d, m, y = r["Date"].split("/")
        r["Date"] = f"{d}/{m}/{y[2:]}"
    rows[3]["Time"] = ""
    p = parse_file(write_csv(tmp_path, "E0_2324.csv", rows, newline="\r\n"))
    assert p.matches.kickoff.iloc[0] == pd.Timestamp("2023-08-12 15:00")
    assert p.matches.kickoff.iloc[3] == pd.Timestamp("2023-08-15 00:00")
    assert p.matches.kickoff.dt.year.isin([2023]).all()


def test_fixtures_without_results_are_kept(tmp_path):
    rows = make_rows()
    for r in rows[15:]:
        r.update(FTHG="", FTAG="", FTR="", HTHG="", HTAG="", HTR="", HS="", AS="", PSCH="", PSCD="", PSCA="")
    p = parse_file(write_csv(tmp_path, "E0_2324.csv", rows))
    assert len(p.matches) == 20
    future = p.matches.iloc[15:]
    assert future.home_goals.isna().all() and future.result.isna().all()
    assert future.result.map(lambda v: v is None).all()
    assert p.warnings == []  # closing prices are not expected before kick-off


def test_trailing_empty_rows_unnamed_and_blank_header_columns(tmp_path):
    header = HEADER + ["", "Unnamed: 30"]
    rows = make_rows()
    path = write_csv(tmp_path, "E0_2324.csv", rows, header, tail="\n" + "," * (len(header) - 1) + "\n\n")
    p = parse_file(path)
    assert len(p.matches) == 20 and p.warnings == []


def test_quoted_fields_are_valid_csv(tmp_path):
    rows = make_rows()
    rows[4]["Referee"] = '"Dean, M"'
    p = parse_file(write_csv(tmp_path, "E0_2324.csv", rows))
    assert p.matches.referee.iloc[4] == "Dean, M"
    assert p.row_numbers.tolist() == list(range(2, 22))


def test_latin1_file(tmp_path):
    rows = make_rows()
    rows[0]["HomeTeam"] = "Nürnberg"
    p = parse_file(write_csv(tmp_path, "D1_2324.csv", [dict(r, Div="D1") for r in rows], encoding="latin-1"))
    assert p.encoding == "latin-1" and p.matches.home_team.iloc[0] == "Nürnberg"
    assert any("Latin-1" in w for w in p.warnings)


def test_unknown_columns_and_missing_single_price_warn(tmp_path):
    rows = make_rows()
    rows[6]["PSH"] = ""
    p = parse_file(write_csv(tmp_path, "E0_2324.csv", rows, HEADER + ["XYZH"]))
    assert any("unrecognised columns XYZH" in w for w in p.warnings)
    assert any("Pinnacle 1X2 pre-closing prices (PSH, PSD, PSA) missing for 1 match(es) (rows 8)" in w
               for w in p.warnings)


def test_file_without_name_pattern_skips_name_check(tmp_path):
    p = parse_file(write_csv(tmp_path, "latest.csv", make_rows(div="SP1")))
    assert (p.competition, p.season) == ("SP1", "2324")


def test_season_inferred_from_spring_start(tmp_path):
    p = parse_file(write_csv(tmp_path, "x.csv", make_rows(start=date(2024, 1, 6))))
    assert p.season == "2324"


def test_row_hash_stable_and_sensitive(tmp_path):
    rows = make_rows()
    a = parse_file(write_csv(tmp_path, "E0_2324.csv", rows))
    # same content, other column order and line endings: same hashes
    (tmp_path / "b").mkdir()
    b = parse_file(write_csv(tmp_path / "b", "E0_2324.csv", rows, HEADER[::-1], newline="\r\n"))
    assert a.matches.row_hash.tolist() == b.matches.row_hash.tolist()
    assert a.content_hash != b.content_hash
    changed = [dict(r) for r in rows]
    changed[5]["PSCD"] = "3.65"
    c = parse_file(write_csv(tmp_path, "E0_2324.csv", changed))
    differs = a.matches.row_hash.to_numpy() != c.matches.row_hash.to_numpy()
    assert differs.tolist() == [i == 5 for i in range(20)]
    floats = [dict(r, FTHG=r["FTHG"] + ".0") for r in rows]
    d = parse_file(write_csv(tmp_path, "E0_2324.csv", floats))
    assert a.matches.row_hash.tolist() == d.matches.row_hash.tolist()


# ---------------------------------------------------------------- synthetic: broken input


def test_example_error_message(tmp_path):
    rows = make_rows()
    rows[15]["FTHG"] = "-1"
    with pytest.raises(IngestError) as info:
        parse_file(write_csv(tmp_path, "E0_2324.csv", rows))
    assert str(info.value) == "E0_2324.csv, row 17, column FTHG: goals must be a non-negative integer, got '-1'"


def test_unbalanced_quotes(tmp_path):
    rows = make_rows()
    rows[3]["Referee"] = '"M Dean'
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 5, "Referee", "malformed CSV")


def test_too_many_fields(tmp_path):
    rows = make_rows()
    rows[7]["AHh"] = "-0.25,1.1"
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 9, f"field {len(HEADER) + 1}", "28 fields")


def test_too_few_fields_mid_file(tmp_path):
    path = write_csv(tmp_path, "E0_2324.csv", make_rows())
    lines = path.read_text().split("\n")
    lines[4] = ",".join(lines[4].split(",")[:20])
    path.write_text("\n".join(lines))
    raises_at(path, 5, HEADER[20], "20 fields but the header has 27")


def test_truncated_last_line(tmp_path):
    path = write_csv(tmp_path, "E0_2324.csv", make_rows())
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: data.rfind(b",2.1,") + 3])  # cut inside B365H of the last row
    raises_at(path, 21, "B365D", "truncated")


@pytest.mark.parametrize("column", ["Div", "Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG"])
def test_missing_required_column(tmp_path, column):
    header = [h for h in HEADER if h != column]
    raises_at(write_csv(tmp_path, "E0_2324.csv", make_rows(), header), 1, column, "required column")


def test_missing_result_column_when_goals_present(tmp_path):
    header = [h for h in HEADER if h != "FTR"]
    raises_at(write_csv(tmp_path, "E0_2324.csv", make_rows(), header), 1, "FTR", "required column")


@pytest.mark.parametrize("value", ["2023-08-20", "20.08.2023", "08/32/2023", "31/02/2024", "yesterday"])
def test_unknown_date_format(tmp_path, value):
    rows = make_rows()
    rows[8]["Date"] = value
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 10, "Date", "unrecognised date")


def test_bad_time(tmp_path):
    rows = make_rows()
    rows[2]["Time"] = "25:00"
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 4, "Time", "kick-off time")


def test_duplicate_match(tmp_path):
    rows = make_rows()
    rows.insert(12, dict(rows[4]))
    err = raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 14, "HomeTeam", "duplicate match")
    assert "first at row 6" in str(err)


@pytest.mark.parametrize("value", ["1.0", "0.95", "0", "abc", "#", "-2"])
def test_bad_odds_raise(tmp_path, value):
    rows = make_rows()
    rows[10]["B365D"] = value
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 12, "B365D", "decimal price above 1.0", bad_odds="raise")


def test_bad_odds_warn_by_default(tmp_path):
    rows = make_rows()
    rows[10]["B365D"] = "abc"
    p = parse_file(write_csv(tmp_path, "E0_2324.csv", rows))
    assert "E0_2324.csv, row 12, column B365D: ignored invalid price 'abc'" in p.warnings
    assert len(p.odds) == 20 * 12 - 1


def test_many_bad_odds_raise_even_by_default(tmp_path):
    rows = make_rows()
    for r in rows[:6]:
        r["PSA"] = "0"
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 2, "PSA", "6 rows have invalid prices")


@pytest.mark.parametrize(("column", "value", "what"), [
    ("FTHG", "-1", "goals"), ("FTAG", "1.5", "goals"), ("FTAG", "two", "goals"), ("HS", "-3", "shots"),
    ("HTHG", "0.5", "half-time goals"),
])
def test_bad_integers(tmp_path, column, value, what):
    rows = make_rows()
    rows[9][column] = value
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 11, column,
              f"{what} must be a non-negative integer, got '{value}'")


def test_goals_on_one_side_only(tmp_path):
    rows = make_rows()
    rows[9]["FTAG"] = ""
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 11, "FTAG", "one side only")


def test_result_contradicts_goals(tmp_path):
    rows = make_rows()
    rows[1].update(FTHG="3", FTAG="1", FTR="A")
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 3, "FTR", "contradicts the score 3-1")


def test_unknown_result_code_and_result_without_goals(tmp_path):
    rows = make_rows()
    rows[1]["FTR"] = "X"
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 3, "FTR", "H, D or A")
    rows = make_rows()
    rows[2].update(FTR="X", FTHG="", FTAG="", HTHG="", HTAG="", HTR="")
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 4, "FTR", "H, D or A")
    # A valid result letter without goals is an awarded match (tests/football/test_parse_robust.py),
    # but a half-time letter without half-time goals still breaks the file.
    rows = make_rows()
    rows[2].update(HTHG="", HTAG="")
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 4, "HTHG", "half-time result 'D' given without goals")


def test_half_time_above_full_time(tmp_path):
    rows = make_rows()
    rows[0].update(FTHG="0", FTAG="0", FTR="D", HTHG="1", HTAG="0", HTR="H")
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 2, "HTHG", "exceed full-time")


def test_home_equals_away(tmp_path):
    rows = make_rows()
    rows[13]["AwayTeam"] = rows[13]["HomeTeam"]
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 15, "AwayTeam", "same")


def test_missing_team(tmp_path):
    rows = make_rows()
    rows[13]["HomeTeam"] = ""
    raises_at(write_csv(tmp_path, "E0_2324.csv", rows), 15, "HomeTeam", "empty")


def test_file_of_another_league(tmp_path):
    raises_at(write_csv(tmp_path, "D1_2324.csv", make_rows(div="E0")), 2, "Div", "league D1")


def test_file_of_another_season(tmp_path):
    raises_at(write_csv(tmp_path, "E0_2223.csv", make_rows()), 2, "Date", "season 2223")


def test_mixed_divisions_and_seasons(tmp_path):
    rows = make_rows()
    rows[4]["Div"] = "E1"
    raises_at(write_csv(tmp_path, "x.csv", rows), 6, "Div", "mixes divisions")
    rows = make_rows()
    rows[19]["Date"] = "02/10/2024"
    raises_at(write_csv(tmp_path, "x.csv", rows), 21, "Date", "mixes seasons")


def test_duplicate_header_column(tmp_path):
    raises_at(write_csv(tmp_path, "E0_2324.csv", make_rows(), HEADER + ["PSH"]), 1, "PSH", "twice")


def test_empty_file(tmp_path):
    path = tmp_path / "E0_2324.csv"
    path.write_bytes(b"")
    raises_at(path, None, None, "empty")
    path.write_bytes(b"\xef\xbb\xbf \n\n")
    raises_at(path, None, None, "empty")


def test_header_only(tmp_path):
    raises_at(write_csv(tmp_path, "E0_2324.csv", []), None, None, "no match rows")


def test_missing_path(tmp_path):
    with pytest.raises(IngestFileNotFoundError) as info:
        parse_file(tmp_path / "E0_9999.csv")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, IngestError)
    assert "E0_9999.csv" in str(info.value)


def test_iter_csv_files(tmp_path):
    for name in ("b.csv", "a.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in iter_csv_files(tmp_path)] == ["a.csv", "b.csv"]
    assert [p.name for p in iter_csv_files([tmp_path / "b.csv", tmp_path])] == ["b.csv", "a.csv"]
    with pytest.raises(IngestFileNotFoundError):
        iter_csv_files([tmp_path / "nope.csv"])
    with pytest.raises(IngestError, match="no .csv files"):
        iter_csv_files(tmp_path / "sub")


# ---------------------------------------------------------------- odds columns and wide odds


@pytest.mark.parametrize(("name", "expected"), [
    ("B365H", ("Bet365", "1X2", "H", False)), ("PSCH", ("Pinnacle", "1X2", "H", True)),
    ("BFEA", ("Betfair exchange", "1X2", "A", False)), ("BFECD", ("Betfair exchange", "1X2", "D", True)),
    ("BFCA", ("Betfair", "1X2", "A", True)), ("1XBD", ("1xBet", "1X2", "D", False)),
    ("WHCH", ("William Hill", "1X2", "H", True)), ("VCCA", ("VC Bet", "1X2", "A", True)),
    ("SOH", ("Sporting Odds", "1X2", "H", False)), ("SYA", ("Stanleybet", "1X2", "A", False)),
    ("BbMxD", ("Betbrain max", "1X2", "D", False)), ("AvgCH", ("Market average", "1X2", "H", True)),
    ("B365>2.5", ("Bet365", "OU2.5", "over", False)), ("P<2.5", ("Pinnacle", "OU2.5", "under", False)),
    ("PC>2.5", ("Pinnacle", "OU2.5", "over", True)), ("MaxC<2.5", ("Market max", "OU2.5", "under", True)),
    ("BbAv>2.5", ("Betbrain average", "OU2.5", "over", False)), ("BFEC<2.5", ("Betfair exchange", "OU2.5",
                                                                              "under", True)),
])
def test_odds_column_names(name, expected):
    assert classify_odds_column(name) == OddsColumn(*expected)


@pytest.mark.parametrize("name", ["AHh", "AHCh", "BbAHh", "BbAH"])
def test_asian_handicap_lines_and_counts_are_not_prices(name):
    assert classify_odds_column(name) is None and is_asian_handicap_column(name)


@pytest.mark.parametrize(("name", "expected"), [
    ("B365AHH", ("Bet365", "AH", "home", False)), ("PCAHA", ("Pinnacle", "AH", "away", True)),
    ("MaxCAHH", ("Market max", "AH", "home", True)), ("BFECAHA", ("Betfair exchange", "AH", "away", True)),
    ("BbMxAHH", ("Betbrain max", "AH", "home", False)), ("BbAvAHA", ("Betbrain average", "AH", "away", False)),
    ("AvgCAHH", ("Market average", "AH", "home", True)), ("PAHH", ("Pinnacle", "AH", "home", False)),
])
def test_asian_handicap_prices(name, expected):
    assert classify_odds_column(name) == OddsColumn(*expected) and is_asian_handicap_column(name)


@pytest.mark.parametrize("name", ["HS", "AC", "HC", "Bb1X2", "BbOU", "FTHG", "Referee", "XYZ", "B365", "PSX",
                                  "B365>3.5", "HTR"])
def test_other_columns_are_not_odds(name):
    assert classify_odds_column(name) is None


def _long(rows: list[tuple[str, str, str, bool, float]], match: int = 0) -> pd.DataFrame:
    key = {"competition": "E0", "season": "2324", "kickoff": pd.Timestamp("2023-08-12") + pd.Timedelta(days=match),
           "home_team": TEAMS[match], "away_team": TEAMS[match + 1]}
    return pd.DataFrame([{**key, "bookmaker": b, "market": m, "selection": s, "is_closing": c, "price": p}
                         for b, m, s, c, p in rows], columns=ODDS_COLUMNS)


def _matches(n: int) -> pd.DataFrame:
    return pd.DataFrame({"competition": ["E0"] * n, "season": ["2324"] * n,
                         "kickoff": [pd.Timestamp("2023-08-12") + pd.Timedelta(days=i) for i in range(n)],
                         "home_team": TEAMS[:n], "away_team": TEAMS[1:n + 1]})


def test_wide_odds_reference_choice():
    odds = pd.concat([
        # match 0: Pinnacle incomplete -> market average; closing only from market average
        _long([("Pinnacle", "1X2", "H", False, 2.0), ("Pinnacle", "1X2", "A", False, 3.9),
               ("Market average", "1X2", "H", False, 2.1), ("Market average", "1X2", "D", False, 3.3),
               ("Market average", "1X2", "A", False, 3.6), ("Market max", "1X2", "H", False, 2.3),
               ("Market max", "1X2", "D", False, 3.5), ("Market max", "1X2", "A", False, 4.0),
               ("Market average", "1X2", "H", True, 2.0), ("Market average", "1X2", "D", True, 3.4),
               ("Market average", "1X2", "A", True, 3.7), ("Betfair exchange", "1X2", "H", True, 2.6)], 0),
        # match 1: only Bet365 opening prices and totals
        _long([("Bet365", "1X2", "H", False, 1.5), ("Bet365", "1X2", "D", False, 4.0),
               ("Bet365", "1X2", "A", False, 6.0), ("Pinnacle", "OU2.5", "over", False, 1.8),
               ("Pinnacle", "OU2.5", "under", False, 2.05), ("Pinnacle", "OU2.5", "over", True, 1.75),
               ("Pinnacle", "OU2.5", "under", True, 2.1)], 1),
        # odds for a match not in the frame are ignored
        _long([("Bet365", "1X2", "H", False, 9.0)], 5),
    ])
    wide = attach_wide_odds(_matches(3), odds)
    m0, m1, m2 = wide.iloc[0], wide.iloc[1], wide.iloc[2]
    assert (m0.odds_open_H, m0.odds_open_D, m0.odds_open_A) == (2.1, 3.3, 3.6)
    assert (m0.odds_close_H, m0.odds_close_D, m0.odds_close_A) == (2.0, 3.4, 3.7)
    # closing prices exist, so best is over closing prices only, and the exchange is left out
    assert (m0.odds_best_H, m0.odds_best_D, m0.odds_best_A) == (2.0, 3.4, 3.7)
    assert (m1.odds_open_H, m1.odds_best_A) == (1.5, 6.0) and np.isnan(m1.odds_close_H)
    assert (m1.odds_open_over, m1.odds_close_under, m1.odds_best_over) == (1.8, 2.1, 1.75)
    assert wide.loc[2, WIDE_ODDS_COLUMNS].isna().all() and m2.home_team == TEAMS[2]
    assert np.isnan(m0.odds_open_over)


def test_wide_odds_rejects_duplicates():
    with pytest.raises(DataValidationError, match="same match twice"):
        attach_wide_odds(pd.concat([_matches(2), _matches(1)], ignore_index=True), _long([]))
    twice = _long([("Bet365", "1X2", "H", False, 2.0), ("Bet365", "1X2", "H", False, 2.1)])
    with pytest.raises(DataValidationError, match="more than one price"):
        attach_wide_odds(_matches(1), twice)


books = st.sampled_from(["Pinnacle", "Bet365", "Market max", "Market average", "Betbrain average", "VC Bet"])
prices = st.floats(min_value=1.01, max_value=50, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(books, st.sampled_from(["H", "D", "A"]), st.booleans(), prices), max_size=25,
                unique_by=lambda t: t[:3]), st.randoms())
def test_wide_odds_invariants(entries, rnd):
    odds = _long([(b, "1X2", s, c, p) for b, s, c, p in entries])
    wide = attach_wide_odds(_matches(1), odds).iloc[0]
    shuffled = odds.sample(frac=1.0, random_state=rnd.randint(0, 2**31 - 1))
    again = attach_wide_odds(_matches(1), shuffled).iloc[0]
    assert wide[WIDE_ODDS_COLUMNS].equals(again[WIDE_ODDS_COLUMNS])  # order of rows does not matter
    for sel in "HDA":
        given_prices = [p for b, s, c, p in entries if s == sel]
        for kind in ("open", "close", "best"):
            v = wide[f"odds_{kind}_{sel}"]
            assert np.isnan(v) or v in given_prices  # always a price someone quoted
        closing = [p for b, s, c, p in entries if c]
        pool = [p for b, s, c, p in entries if s == sel and c == bool(closing)]
        expected = max(pool) if pool else np.nan
        assert wide[f"odds_best_{sel}"] == expected or (np.isnan(expected) and np.isnan(wide[f"odds_best_{sel}"]))
        if not np.isnan(wide[f"odds_close_{sel}"]):
            assert wide[f"odds_best_{sel}"] >= wide[f"odds_close_{sel}"]
