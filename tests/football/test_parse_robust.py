"""Next season's files as they really come: one odd row or column must not cost a whole file.

New bookmaker prefixes are read by the column-name pattern and count towards the best price;
abandoned, awarded and unplayed matches are stored with their status and no result, named in a
warning, and kept out of the canonical frame (training rows and fixtures alike).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from formguide.core.errors import IngestError
from formguide.football.odds import OddsColumn, attach_wide_odds, classify_odds_column, classify_odds_header
from formguide.football.parse import parse_file
from formguide.football.store_io import ingest_files, load_frame

HEADER = ["Div", "Date", "Time", "HomeTeam", "AwayTeam", "FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR", "HS", "AS",
          "B365H", "B365D", "B365A", "PSH", "PSD", "PSA", "PSCH", "PSCD", "PSCA", "B365>2.5", "B365<2.5",
          "AHh", "B365AHH"]
TEAMS = [f"Team {c}" for c in "ABCDEFGHIJ"]
RESULT_CELLS = ("FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR", "HS", "AS")


def make_rows(n: int = 20) -> list[dict[str, str]]:
    """n valid, distinct matches on consecutive days from 10/08/2024 (row i is line i + 2)."""
    rows = []
    for i in range(n):
        hg, ag = i % 3, (i // 3) % 2
        rows.append({
            "Div": "E0", "Date": (date(2024, 8, 10) + timedelta(days=i)).strftime("%d/%m/%Y"), "Time": "15:00",
            "HomeTeam": TEAMS[i % 10], "AwayTeam": TEAMS[(i + 1 + i // 10) % 10],
            "FTHG": str(hg), "FTAG": str(ag), "FTR": "H" if hg > ag else "A" if hg < ag else "D",
            "HTHG": "0", "HTAG": "0", "HTR": "D", "HS": "10", "AS": "7",
            "B365H": "2.1", "B365D": "3.4", "B365A": "3.6", "PSH": "2.15", "PSD": "3.5", "PSA": "3.7",
            "PSCH": "2.05", "PSCD": "3.6", "PSCA": "3.9", "B365>2.5": "1.9", "B365<2.5": "1.95",
            "AHh": "-0.25", "B365AHH": "1.9",
        })
    return rows


def write_csv(folder: Path, rows: list[dict[str, str]], header: list[str] | None = None,
              name: str = "E0_2425.csv") -> Path:
    header = header or HEADER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([",".join(header)] + [",".join(r.get(h, "") for h in header) for r in rows]) + "\n",
                    encoding="utf-8")
    return path


def ingest(engine, path: Path):
    return ingest_files(engine, [path], workers=0)


def statuses(engine) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT h.name, a.name, e.status FROM events e JOIN teams h ON h.id = e.home_team_id "
            "JOIN teams a ON a.id = e.away_team_id")).all()
    return {(h, a): s for h, a, s in rows}


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


# ---------------------------------------------------------------- bookmakers never seen before

NEW_BOOK = ["XYZH", "XYZD", "XYZA", "XYZCH", "XYZCD", "XYZCA", "XYZ>2.5", "XYZ<2.5", "XYZAHH", "XYZAHA"]


def with_new_book(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    for r in rows:
        r.update({"XYZH": "2.2", "XYZD": "3.3", "XYZA": "3.5", "XYZCH": "2.3", "XYZCD": "3.5", "XYZCA": "3.8",
                  "XYZ>2.5": "2.0", "XYZ<2.5": "1.8", "XYZAHH": "1.95", "XYZAHA": "1.9"})
    return rows


@pytest.mark.parametrize(("name", "expected"), [
    ("XYZH", ("XYZ", "1X2", "H", False)), ("XYZCA", ("XYZ", "1X2", "A", True)),
    ("XYZ>2.5", ("XYZ", "OU2.5", "over", False)), ("XYZC<2.5", ("XYZ", "OU2.5", "under", True)),
    ("2BETD", ("2BET", "1X2", "D", False)),
    # known prefixes keep their meaning, the closing C included
    ("VCH", ("VC Bet", "1X2", "H", False)), ("VCCH", ("VC Bet", "1X2", "H", True)),
    ("PSCA", ("Pinnacle", "1X2", "A", True)), ("PC>2.5", ("Pinnacle", "OU2.5", "over", True)),
    ("BFECD", ("Betfair exchange", "1X2", "D", True)), ("MaxCH", ("Market max", "1X2", "H", True)),
    ("BbAvA", ("Betbrain average", "1X2", "A", False)),
])
def test_price_columns_by_pattern(name, expected):
    assert classify_odds_column(name) == OddsColumn(*expected)


@pytest.mark.parametrize(("name", "expected"), [
    ("XYZAHH", ("XYZ", "AH", "home", False)), ("XYZCAHA", ("XYZ", "AH", "away", True)), ("XYZAHh", None),
    ("BbAH", None), ("AHCh", None)])
def test_asian_handicap_of_any_prefix_is_a_handicap_price(name, expected):
    got = classify_odds_column(name)
    assert got == (OddsColumn(*expected) if expected else None)
    assert got is None or got.market == "AH"


def test_header_needs_the_full_set_of_an_unknown_prefix():
    got = classify_odds_header(["ID", "XYZH", "XYZD", "XYZA", "XYZCH", "P>2.5", "PS>2.5", "ABCH", "ABCD", "ABCA",
                                "ABCCH", "ABCCD", "ABCCA"])
    # ID is not a draw price of bookmaker "I", nor XYZCH alone a closing set
    assert got.incomplete == ["ID", "XYZCH"]
    assert got.new_bookmakers == {"XYZ": ["XYZH", "XYZD", "XYZA"], "ABC": ["ABCH", "ABCD", "ABCA", "ABCCH", "ABCCD",
                                                                           "ABCCA"]}
    # ABC has closing columns ABCC*, so ABCH is ABC's opening price, not AB's closing one
    assert got.columns[7] == OddsColumn("ABC", "1X2", "H", False)
    assert got.columns[10] == OddsColumn("ABC", "1X2", "H", True)
    assert got.repeated == [("PS>2.5", "P>2.5")]  # both Pinnacle: one is read


def test_new_bookmaker_is_read_and_counts_towards_the_best_price(tmp_path):
    plain = parse_file(write_csv(tmp_path / "plain", make_rows()))
    new = parse_file(write_csv(tmp_path / "new", with_new_book(make_rows()), HEADER + NEW_BOOK))
    assert any("E0_2425.csv: read columns XYZH, XYZD, XYZA, XYZCH, XYZCD, XYZCA, XYZ>2.5, XYZ<2.5, XYZAHH, XYZAHA "
               "as prices of bookmaker 'XYZ'" in w for w in new.warnings), new.warnings
    assert not any("unrecognised" in w for w in new.warnings)
    xyz = new.odds[new.odds.bookmaker == "XYZ"]
    assert len(xyz) == 20 * 10  # its Asian-handicap prices at the common line AHh
    assert (xyz[xyz.market == "AH"].line == -0.25).all()
    assert len(new.odds) == len(plain.odds) + len(xyz)
    before, after = (attach_wide_odds(p.matches, p.odds).iloc[0] for p in (plain, new))
    # best 1X2 is over closing prices: Pinnacle's 2.05 / 3.6 / 3.9 before, XYZ's 2.3 beats it for home
    assert (before.odds_best_H, before.odds_best_D, before.odds_best_A) == (2.05, 3.6, 3.9)
    assert (after.odds_best_H, after.odds_best_D, after.odds_best_A) == (2.3, 3.6, 3.9)
    # totals have no closing prices here: best over opening, XYZ's 2.0 over Bet365's 1.9
    assert (before.odds_best_over, after.odds_best_over) == (1.9, 2.0)
    assert (before.odds_best_under, after.odds_best_under) == (1.95, 1.95)
    # reference prices are unchanged: Pinnacle stays the market reference
    for col in ("odds_open_H", "odds_close_H", "odds_close_A", "odds_open_D"):
        assert before[col] == after[col]


def test_new_bookmaker_through_the_store(engine, tmp_path):
    report = ingest(engine, write_csv(tmp_path, with_new_book(make_rows()), HEADER + NEW_BOOK))
    assert report.files[0].status == "ok"
    with engine.connect() as conn:
        books = set(conn.execute(text("SELECT DISTINCT bookmaker FROM odds_long")).scalars())
    assert books == {"Bet365", "Pinnacle", "XYZ"}
    frame = load_frame(engine)
    assert (frame.odds_best_H == 2.3).all() and (frame.odds_best_over == 2.0).all()
    assert (frame.odds_close_H == 2.05).all()


def test_incomplete_unknown_prefix_and_stray_columns_are_ignored(tmp_path):
    rows = make_rows()
    for r in rows:
        r.update(ID="123456", XYZCH="9.0")
    p = parse_file(write_csv(tmp_path, rows, HEADER + ["ID", "XYZCH"]))
    assert set(p.odds.bookmaker) == {"Bet365", "Pinnacle"}
    assert any("ignored unrecognised columns ID, XYZCH" in w for w in p.warnings), p.warnings
    assert attach_wide_odds(p.matches, p.odds).odds_best_H.max() == 2.05


def test_real_files_have_no_unknown_prefix(football_dir):
    for name in ("E0_0506.csv", "E0_1920.csv", "E0_2425.csv", "G1_2425.csv"):
        p = parse_file(football_dir / name)
        assert not any("not seen before" in w or "unrecognised" in w or "same prices" in w for w in p.warnings), name


# ---------------------------------------------------------------- matches without a result

def abandoned(rows):  # row 7 of the file: stopped after half-time
    rows[5].update(FTHG="", FTAG="", FTR="", HTHG="1", HTAG="0", HTR="H", HS="", AS="", PSCH="", PSCD="", PSCA="")
    return 7, "abandoned", "has a half-time score (1-0) but no full-time score"


def awarded(rows):  # row 9: awarded to the home side at the table
    rows[7].update(FTHG="", FTAG="", FTR="H", HTHG="", HTAG="", HTR="", HS="", AS="")
    return 9, "awarded", "has result 'H' but no goals"


def unplayed(rows):  # row 5: no result, dated before played matches (postponed)
    for col in RESULT_CELLS + ("PSCH", "PSCD", "PSCA"):
        rows[3][col] = ""
    return 5, "unplayed", "has no result although the file has results up to 2024-08-29"


CASES = {"abandoned": abandoned, "awarded": awarded, "unplayed": unplayed}


@pytest.mark.parametrize("case", list(CASES))
def test_match_without_result_does_not_reject_the_file(tmp_path, case):
    rows = make_rows()
    row, status, what = CASES[case](rows)
    home, away = rows[row - 2]["HomeTeam"], rows[row - 2]["AwayTeam"]
    p = parse_file(write_csv(tmp_path, rows))
    assert len(p.matches) == 20
    assert p.matches.status.value_counts().to_dict() == {"finished": 19, status: 1}
    odd = p.matches[p.matches.status == status].iloc[0]
    assert (odd.home_team, odd.away_team) == (home, away)
    assert np.isnan(odd.home_goals) and np.isnan(odd.ht_home_goals) and odd.result is None
    assert np.isnan(odd.home_shots)
    day = (date(2024, 8, 10) + timedelta(days=row - 2)).isoformat()
    assert p.warnings == [f"E0_2425.csv, row {row}: {home} v {away} on {day} {what}: stored as {status}, "
                          "without a result, and left out of training and fixtures"]


@pytest.mark.parametrize("case", list(CASES))
def test_match_without_result_in_the_store(engine, tmp_path, case):
    rows = make_rows()
    row, status, _ = CASES[case](rows)
    home, away = rows[row - 2]["HomeTeam"], rows[row - 2]["AwayTeam"]
    path = write_csv(tmp_path / "first", rows)
    report = ingest(engine, path)
    f = report.files[0]
    assert (f.status, f.inserted, f.updated, f.unchanged) == ("ok", 20, 0, 0)
    assert any(w.startswith(f"E0_2425.csv, row {row}: {home} v {away}") and status in w for w in f.warnings)
    assert statuses(engine)[(home, away)] == status
    assert count(engine, "events") == 20 and count(engine, "results") == 19
    frame = load_frame(engine)
    # neither a training row (played) nor a fixture (no result): absent
    assert len(frame) == 19 and frame.home_goals.notna().all() and frame.result.notna().all()
    assert not ((frame.home_team == home) & (frame.away_team == away)).any()
    assert len(load_frame(engine, ["E0"])) == 19

    # the same file again: nothing changes
    dump = {t: count(engine, t) for t in ("events", "results", "odds", "teams")}
    again = ingest(engine, path).files[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 20)
    assert {t: count(engine, t) for t in dump} == dump and statuses(engine)[(home, away)] == status

    # a corrected file: the match now has a result, and is an ordinary played match
    fixed = write_csv(tmp_path / "fixed", make_rows())
    later = ingest(engine, fixed).files[0]
    assert (later.inserted, later.updated, later.unchanged) == (0, 1, 19)
    assert not any("stored as" in w for w in later.warnings)
    assert set(statuses(engine).values()) == {"finished"}
    assert count(engine, "events") == 20 and count(engine, "results") == 20
    frame = load_frame(engine)
    assert len(frame) == 20
    got = frame[(frame.home_team == home) & (frame.away_team == away)].iloc[0]
    expected = make_rows()[row - 2]
    assert (got.home_goals, got.away_goals, got.result) == (float(expected["FTHG"]), float(expected["FTAG"]),
                                                            expected["FTR"])


def test_fixtures_after_the_last_result_stay_fixtures(engine, tmp_path):
    rows = make_rows()
    for r in rows[15:]:
        for col in RESULT_CELLS + ("PSCH", "PSCD", "PSCA"):
            r[col] = ""
    rows[16]["Date"] = rows[14]["Date"]  # same day as the last played match, a later kick-off
    rows[16]["Time"] = "17:30"
    p = parse_file(write_csv(tmp_path, rows))
    assert p.warnings == []
    assert p.matches.status.value_counts().to_dict() == {"finished": 15, "scheduled": 5}


def test_fixture_left_behind_by_later_results_becomes_unplayed(engine, tmp_path):
    """A postponed fixture: first a fixture, then (same row) dated before matches that have results."""
    early = make_rows()
    for r in early[10:]:
        for col in RESULT_CELLS + ("PSCH", "PSCD", "PSCA"):
            r[col] = ""
    ingest(engine, write_csv(tmp_path / "early", early))
    key = (early[10]["HomeTeam"], early[10]["AwayTeam"])
    assert statuses(engine)[key] == "scheduled"
    assert load_frame(engine).home_goals.isna().sum() == 10  # ten fixtures

    late = make_rows()
    late[10] = dict(early[10])  # still without a result, now behind later results
    report = ingest(engine, write_csv(tmp_path / "late", late)).files[0]
    assert (report.inserted, report.updated, report.unchanged) == (0, 10, 10)
    assert any("row 12:" in w and "stored as unplayed" in w for w in report.warnings)
    assert statuses(engine)[key] == "unplayed"
    frame = load_frame(engine)
    assert len(frame) == 19 and frame.home_goals.notna().all()  # not offered as a fixture any more


def test_many_abandoned_rows_mean_a_broken_file(tmp_path):
    rows = make_rows()
    for r in rows[2:8]:
        r.update(FTHG="", FTAG="")  # the full-time columns blanked, letters left
    with pytest.raises(IngestError, match="6 rows have no full-time score") as info:
        parse_file(write_csv(tmp_path, rows))
    assert (info.value.row, info.value.column) == (4, "FTHG")


def test_broken_values_still_reject_the_file(tmp_path):
    rows = make_rows()
    rows[5].update(FTHG="", FTAG="", FTR="X")  # not a result letter
    with pytest.raises(IngestError, match="H, D or A"):
        parse_file(write_csv(tmp_path, rows))
    rows = make_rows()
    rows[5].update(FTHG="", FTAG="", FTR="", HTHG="1", HTAG="0", HTR="A")  # half-time letter contradicts
    with pytest.raises(IngestError, match="contradicts the score 1-0"):
        parse_file(write_csv(tmp_path, rows))
    rows = make_rows()
    rows[5].update(FTHG="", FTAG="", FTR="", HTHG="one", HTAG="0")
    with pytest.raises(IngestError, match="non-negative integer"):
        parse_file(write_csv(tmp_path, rows))
