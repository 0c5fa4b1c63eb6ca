"""Football ingest into the store: idempotent, corrections, atomic rejection of bad files, the CLI.

Every store test runs on SQLite and, when ``FORMGUIDE_TEST_PG_URL`` is set, on PostgreSQL. Files are
small slices of real football-data files (``football_dir``) edited cell by cell in ``tmp_path``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from formguide.core.errors import IngestError
from formguide.core.store.bulk import bulk_insert, bulk_insert_columns
from formguide.core.store.db import session_scope
from formguide.football import schema, store_io
from formguide.football.odds import WIDE_AH_COLUMNS, WIDE_ODDS_COLUMNS, attach_wide_odds
from formguide.football.parse import parse_file
from formguide.football.store_io import ingest_files, load_frame

# ---------------------------------------------------------------- files


class Sheet:
    """A football-data file as a header and rows of cells, edited by column name and written back."""

    def __init__(self, header: list[str], rows: list[list[str]]) -> None:
        self.header, self.rows = header, rows

    @classmethod
    def real(cls, football_dir: Path, name: str, n: int) -> Sheet:
        lines = (football_dir / name).read_text(encoding="utf-8-sig").splitlines()
        return cls(lines[0].split(","), [line.split(",") for line in lines[1:n + 1]])

    def copy(self) -> Sheet:
        return Sheet(list(self.header), [list(r) for r in self.rows])

    def get(self, i: int, col: str) -> str:
        return self.rows[i][self.header.index(col)]

    def set(self, i: int, col: str, value: str) -> Sheet:
        self.rows[i][self.header.index(col)] = value
        return self

    def drop(self, col: str) -> Sheet:
        j = self.header.index(col)
        self.header.pop(j)
        for r in self.rows:
            r.pop(j)
        return self

    def text(self) -> str:
        return "\n".join(",".join(r) for r in [self.header, *self.rows]) + "\n"

    def write(self, folder: Path, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(self.text(), encoding="utf-8")
        return path


RESULT_CELLS = ["FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR", "Referee", "HS", "AS", "HST", "AST", "HF", "AF", "HC",
                "AC", "HY", "AY", "HR", "AR"]


@pytest.fixture(scope="module")
def e0(football_dir) -> Sheet:
    """First 24 matches of the Premier League 2024/25 (Time column, closing odds, Betfair exchange)."""
    return Sheet.real(football_dir, "E0_2425.csv", 24)


@pytest.fixture(scope="module")
def sp1(football_dir) -> Sheet:
    return Sheet.real(football_dir, "SP1_2425.csv", 16)


def ingest(engine, *paths, **kwargs):
    return ingest_files(engine, list(paths), workers=kwargs.pop("workers", 0), **kwargs)


# ---------------------------------------------------------------- store snapshots


def dump(engine, skip: tuple[str, ...] = ("imports",)) -> dict[str, list[tuple]]:
    """Every row of every table (``imports`` aside), in a fixed order: equal dumps mean an unchanged store."""
    out = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            if table in skip:
                continue
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


def imports(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(
            "SELECT path, status, inserted, updated, unchanged, rejected, error, sha256 FROM imports ORDER BY id"))]


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def event_of(engine, home: str, away: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT e.id FROM events e JOIN teams h ON h.id = e.home_team_id JOIN teams a ON a.id = e.away_team_id "
            "WHERE h.name = :h AND a.name = :a"), {"h": home, "a": away}).scalar_one()


def prices_of(engine, event_id: int) -> dict[tuple, float]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT bookmaker, market, selection, is_closing, price FROM odds_long "
                                 "WHERE event_id = :e"), {"e": event_id}).all()
    return {(b, m, s, bool(c)): p for b, m, s, c, p in rows}


# ---------------------------------------------------------------- idempotence and corrections


def test_reimport_changes_nothing(engine, tmp_path, e0, sp1):
    files = [e0.write(tmp_path, "E0_2425.csv"), sp1.write(tmp_path, "SP1_2425.csv")]
    n_odds = len(parse_file(files[0]).odds) + len(parse_file(files[1]).odds)
    assert n_odds > 0
    n_teams = len({e0.get(i, c) for i in range(24) for c in ("HomeTeam", "AwayTeam")}
                  | {sp1.get(i, c) for i in range(16) for c in ("HomeTeam", "AwayTeam")})
    tables = ("competitions", "seasons", "teams", "events", "results", "odds", "imports")

    def counts() -> dict[str, int]:
        return {t: count(engine, t) for t in tables}

    assert counts() == dict.fromkeys(tables, 0)
    first = ingest(engine, *files).to_dict()
    assert (first["inserted"], first["updated"], first["unchanged"], first["rejected"]) == (40, 0, 0, 0)
    assert len(first["new_teams"]) == n_teams
    expected = {"competitions": 2, "seasons": 2, "teams": n_teams, "events": 40, "results": 40, "odds": n_odds}
    assert counts() == {**expected, "imports": 2}
    before = dump(engine)

    second = ingest(engine, *files).to_dict()
    assert (second["inserted"], second["updated"], second["unchanged"], second["rejected"]) == (0, 0, 40, 0)
    assert second["new_teams"] == []
    # Same rows in every table; only the two new imports are recorded.
    assert counts() == {**expected, "imports": 4}
    assert dump(engine) == before
    recorded = imports(engine)
    assert [Path(r["path"]).name for r in recorded] == ["E0_2425.csv", "SP1_2425.csv"] * 2
    assert [r["status"] for r in recorded] == ["ok"] * 4
    assert [(r["inserted"], r["updated"], r["unchanged"], r["rejected"]) for r in recorded] == [
        (24, 0, 0, 0), (16, 0, 0, 0), (0, 0, 24, 0), (0, 0, 16, 0)]
    assert [r["sha256"] for r in recorded[2:]] == [r["sha256"] for r in recorded[:2]]


def test_corrected_file_updates_exactly_those_matches(engine, tmp_path, e0):
    ingest(engine, e0.write(tmp_path / "v1", "E0_2425.csv"))
    fixed = e0.copy()
    goal_row = next(i for i in range(len(fixed.rows)) if fixed.get(i, "FTR") == "H")  # one more home goal: still H
    fixed.set(goal_row, "FTHG", str(int(fixed.get(goal_row, "FTHG")) + 1))
    odds_row = goal_row + 1
    fixed.set(odds_row, "B365H", f"{float(fixed.get(odds_row, 'B365H')) + 0.05:.2f}")
    goal_event = event_of(engine, fixed.get(goal_row, "HomeTeam"), fixed.get(goal_row, "AwayTeam"))
    odds_event = event_of(engine, fixed.get(odds_row, "HomeTeam"), fixed.get(odds_row, "AwayTeam"))
    before = dump(engine)
    old_prices = prices_of(engine, odds_event)

    report = ingest(engine, fixed.write(tmp_path / "v2", "E0_2425.csv")).to_dict()
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 2, 22)
    after = dump(engine)

    def without(rows: list[tuple], ids: set[int]) -> list[tuple]:
        return [r for r in rows if r[0] not in ids]

    touched = {goal_event, odds_event}
    for table in ("results", "odds", "events"):
        assert without(after[table], touched) == without(before[table], touched), table
    for table in set(before) - {"results", "odds", "events", "seasons"}:
        assert after[table] == before[table], table
    with engine.connect() as conn:
        score = conn.execute(text("SELECT home_score FROM results WHERE event_id = :e"), {"e": goal_event}).scalar()
    assert score == int(e0.get(goal_row, "FTHG")) + 1
    new_prices = prices_of(engine, odds_event)
    changed = {k for k in new_prices if new_prices[k] != old_prices[k]}
    assert changed == {("Bet365", "1X2", "H", False)}
    assert new_prices[("Bet365", "1X2", "H", False)] == pytest.approx(float(fixed.get(odds_row, "B365H")))
    frame = load_frame(engine)
    assert frame.loc[frame.event_id == goal_event, "home_goals"].item() == score


# ---------------------------------------------------------------- bad files are rejected whole


def _one_sided(s: Sheet) -> Sheet:
    return s.set(4, "FTAG", "")


def _contradiction(s: Sheet) -> Sheet:
    i = next(i for i in range(len(s.rows)) if s.get(i, "FTR") == "H")
    return s.set(i, "FTR", "A")


def _duplicate(s: Sheet) -> Sheet:
    s.rows.insert(6, list(s.rows[2]))
    return s


def _unbalanced_quote(s: Sheet) -> Sheet:
    return s.set(3, "Referee", '"M Oliver')


def _bad_prices(s: Sheet) -> Sheet:
    for i in range(8):
        s.set(i, "BWD", "n/a")
    return s


BAD_FILES = {
    # name: (edit, file name, bad_odds, expected row, expected column, message fragment)
    "malformed CSV": (_unbalanced_quote, "E0_2425.csv", "warn", 5, "Referee", "malformed CSV"),
    "missing column": (lambda s: s.drop("FTHG"), "E0_2425.csv", "warn", 1, "FTHG", "required column"),
    "unknown date": (lambda s: s.set(7, "Date", "2024-08-24"), "E0_2425.csv", "warn", 9, "Date", "unrecognised date"),
    "duplicate rows": (_duplicate, "E0_2425.csv", "warn", 8, "HomeTeam", "duplicate match"),
    "price 1.0": (lambda s: s.set(5, "B365H", "1.0"), "E0_2425.csv", "raise", 7, "B365H", "above 1.0"),
    "price not a number": (lambda s: s.set(5, "PSA", "abc"), "E0_2425.csv", "raise", 7, "PSA", "above 1.0"),
    "many bad prices (warn)": (_bad_prices, "E0_2425.csv", "warn", 2, "BWD", "rows have invalid prices"),
    "negative goals": (lambda s: s.set(3, "FTHG", "-1"), "E0_2425.csv", "warn", 5, "FTHG", "non-negative"),
    "goals on one side": (_one_sided, "E0_2425.csv", "warn", 6, "FTAG", "one side only"),
    "result contradicts goals": (_contradiction, "E0_2425.csv", "warn", None, "FTR", "contradicts"),
    "mislabelled league": (lambda s: s, "SP1_2425.csv", "warn", 2, "Div", "says league SP1"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_rejected_and_store_unchanged(engine, tmp_path, e0, case):
    edit, name, bad_odds, row, column, fragment = BAD_FILES[case]
    ingest(engine, e0.write(tmp_path / "good", "E0_2425.csv"))
    before, records = dump(engine), imports(engine)
    bad = edit(e0.copy()).write(tmp_path / "bad", name)

    report = ingest(engine, bad, bad_odds=bad_odds)
    data = report.to_dict()
    assert data["files_rejected"] == 1 and data["inserted"] == data["updated"] == 0
    error = report.files[0].error
    assert error.startswith(name) and fragment in error, error
    assert f"column {column}" in error
    if row is not None:
        assert f"row {row}," in error
    else:
        assert "row " in error
    assert dump(engine) == before
    new = imports(engine)[len(records):]
    assert len(new) == 1 and new[0]["status"] == "rejected" and new[0]["error"] == error
    assert new[0]["path"] == str(bad) and new[0]["rejected"] == len(e0.rows) + (case == "duplicate rows")
    with pytest.raises(IngestError):
        ingest(engine, bad, bad_odds=bad_odds, strict=True)
    assert dump(engine) == before


@pytest.mark.parametrize("case", ["truncated", "empty", "missing path", "header only"])
def test_unreadable_file_is_rejected_and_store_unchanged(engine, tmp_path, e0, case):
    ingest(engine, e0.write(tmp_path / "good", "E0_2425.csv"))
    before, n_records = dump(engine), len(imports(engine))
    path = tmp_path / "bad" / "E0_2425.csv"
    path.parent.mkdir()
    if case == "truncated":
        body = e0.text()
        path.write_text(body[: body.rindex("\n", 0, len(body) - 1) + 40])  # cut 40 characters into the last row
    elif case == "empty":
        path.write_text("")
    elif case == "header only":
        path.write_text(",".join(e0.header) + "\n")
    report = ingest(engine, path)
    error = report.files[0].error
    assert report.to_dict()["files_rejected"] == 1 and error.startswith("E0_2425.csv"), error
    expected = {"truncated": f"row {len(e0.rows) + 1}, column", "empty": "file is empty",
                "missing path": "no such file", "header only": "no match rows"}[case]
    assert expected in error
    assert dump(engine) == before
    new = imports(engine)[n_records:]
    assert [(r["status"], r["path"], r["error"]) for r in new] == [("rejected", str(path), error)]


def test_failure_while_writing_rolls_back_the_file(engine, tmp_path, e0, sp1, monkeypatch):
    """A file that fails after its events and results were written leaves none of them behind."""
    ingest(engine, e0.write(tmp_path, "E0_2425.csv"))
    before = dump(engine)

    def broken(*args, **kwargs):
        raise IngestError("SP1_2425.csv", None, None, "store refused the prices")

    monkeypatch.setattr(store_io, "_write_odds", broken)
    report = ingest(engine, sp1.write(tmp_path, "SP1_2425.csv"))
    assert report.files[0].status == "rejected" and "store refused" in report.files[0].error
    assert dump(engine) == before
    if engine.dialect.name == "sqlite":  # foreign-key enforcement is back on for every pooled connection
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_single_bad_price_is_dropped_with_a_warning(engine, tmp_path, e0):
    path = e0.copy().set(5, "B365H", "1.0").write(tmp_path, "E0_2425.csv")
    report = ingest(engine, path)
    assert report.files[0].status == "ok" and report.files[0].inserted == 24
    assert any("row 7, column B365H" in w for w in report.files[0].warnings)
    event = event_of(engine, e0.get(5, "HomeTeam"), e0.get(5, "AwayTeam"))
    prices = prices_of(engine, event)
    assert ("Bet365", "1X2", "H", False) not in prices and ("Bet365", "1X2", "D", False) in prices
    assert count(engine, "odds") == len(parse_file(path).odds)


# ---------------------------------------------------------------- teams, fixtures, workers


def test_new_team_is_created_and_reported(engine, tmp_path, e0):
    first = ingest(engine, e0.write(tmp_path / "a", "E0_2425.csv")).to_dict()
    teams = sorted(set(e0.get(i, "HomeTeam") for i in range(24)) | set(e0.get(i, "AwayTeam") for i in range(24)))
    assert first["new_teams"] == teams and count(engine, "teams") == len(teams)
    renamed = e0.get(0, "HomeTeam")
    edited = e0.copy()
    hits = [i for i in range(len(edited.rows)) for col in ("HomeTeam", "AwayTeam") if edited.get(i, col) == renamed]
    for i in range(len(edited.rows)):
        for col in ("HomeTeam", "AwayTeam"):
            if edited.get(i, col) == renamed:
                edited.set(i, col, "Brand New FC")
    report = ingest(engine, edited.write(tmp_path / "b", "E0_2425.csv")).to_dict()
    assert report["new_teams"] == ["Brand New FC"]
    assert (report["inserted"], report["unchanged"]) == (len(hits), 24 - len(hits))
    assert count(engine, "teams") == len(teams) + 1
    frame = load_frame(engine)
    assert (frame.home_team == "Brand New FC").sum() + (frame.away_team == "Brand New FC").sum() == len(hits)


def test_fixtures_then_results(engine, tmp_path, e0):
    fixtures = e0.copy()
    for i in range(len(fixtures.rows)):
        for col in RESULT_CELLS:
            fixtures.set(i, col, "")
    report = ingest(engine, fixtures.write(tmp_path / "fixtures", "E0_2425.csv")).to_dict()
    assert report["inserted"] == 24 and report["files_rejected"] == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT DISTINCT status FROM events")).scalars().all() == ["scheduled"]
    assert count(engine, "results") == 0
    frame = load_frame(engine)
    assert frame.home_goals.isna().all() and frame.result.isna().all()
    assert frame.odds_open_H.notna().all()  # pre-match prices are there before the match

    report = ingest(engine, e0.write(tmp_path / "results", "E0_2425.csv")).to_dict()
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 24, 0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT DISTINCT status FROM events")).scalars().all() == ["finished"]
    assert count(engine, "events") == 24 and count(engine, "results") == 24
    frame = load_frame(engine)
    assert frame.home_goals.notna().all() and set(frame.result) <= {"H", "D", "A"}
    assert frame.odds_close_H.notna().all()


def test_parsing_in_a_worker_process_writes_the_same_store(engine, tmp_path, e0, sp1, db_url):
    files = [e0.write(tmp_path, "E0_2425.csv"), sp1.write(tmp_path, "SP1_2425.csv"),
             e0.copy().set(2, "FTHG", "-3").write(tmp_path / "x", "E0_2425.csv"),
             sp1.write(tmp_path / "y", "SP1_2425.csv")]
    report = ingest(engine, *files, workers=1)
    assert [f.status for f in report.files] == ["ok", "ok", "rejected", "ok"]
    assert [f.unchanged for f in report.files] == [0, 0, 0, 16]
    assert "row 4, column FTHG" in report.files[2].error
    frame = load_frame(engine)
    assert len(frame) == 40


# ---------------------------------------------------------------- reading back, the CLI


def test_load_frame_is_the_canonical_frame_with_wide_odds(engine, tmp_path, e0, sp1):
    paths = [e0.write(tmp_path, "E0_2425.csv"), sp1.write(tmp_path, "SP1_2425.csv")]
    ingest(engine, *paths)
    frame = load_frame(engine)
    parsed = [parse_file(p) for p in paths]
    expected = pd.concat([attach_wide_odds(p.matches, p.odds) for p in parsed])
    expected = expected.sort_values(["kickoff", "competition", "home_team"], kind="stable").reset_index(drop=True)
    assert list(frame.columns) == ["event_id"] + schema.MATCH_COLUMNS + WIDE_ODDS_COLUMNS + WIDE_AH_COLUMNS
    assert frame.kickoff.is_monotonic_increasing and frame.event_id.is_unique
    cols = schema.MATCH_COLUMNS + WIDE_ODDS_COLUMNS + WIDE_AH_COLUMNS

    def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
        a, b = a.copy(), b.copy()
        for f in (a, b):  # a missing referee: None from the parser, NaN from the store
            f["referee"] = f["referee"].astype(object).where(f["referee"].notna(), None)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)

    same(frame[cols], expected[cols])
    only = load_frame(engine, ["SP1"])
    assert len(only) == 16 and set(only.competition) == {"SP1"}
    same(only, frame[frame.competition == "SP1"].reset_index(drop=True))


def test_cli_ingest_json(db_url, tmp_path, e0):
    from typer.testing import CliRunner

    from formguide.cli import app

    good = e0.write(tmp_path / "good", "E0_2425.csv")
    bad = e0.copy().set(0, "Date", "16.08.2024").write(tmp_path / "bad", "E0_2425.csv")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "football", str(good), "--db", db_url, "--json", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"inserted", "updated", "unchanged", "rejected", "files"} <= set(data)
    assert (data["inserted"], data["updated"], data["unchanged"], data["rejected"]) == (24, 0, 0, 0)
    detail = data["files"][0]
    assert detail["path"] == str(good) and detail["status"] == "ok" and detail["inserted"] == 24
    assert len(detail["new_teams"]) == 20

    result = runner.invoke(app, ["ingest", "football", str(good), str(bad), "--db", db_url, "--json", "-"])
    assert result.exit_code == 1  # a rejected file fails the command, after the report
    data = json.loads(result.stdout)
    assert (data["unchanged"], data["rejected"], data["files_rejected"]) == (24, 24, 1)
    assert [f["status"] for f in data["files"]] == ["ok", "rejected"]
    assert "row 2, column Date" in data["files"][1]["error"]


# ---------------------------------------------------------------- pieces


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.one_of(st.none(), st.integers(0, 60)), min_size=12, max_size=12),
                          st.one_of(st.none(), st.just(""), st.text(max_size=12))), min_size=1, max_size=15))
def test_stats_json_is_what_json_dumps_writes(rows):
    stats = np.array([[np.nan if v is None else v for v in values] for values, _ in rows], dtype=float)
    m = pd.DataFrame(stats, columns=schema.STAT_COLUMNS)
    m["referee"] = pd.Series([ref for _, ref in rows], dtype=object)
    got = store_io._stats_json(m)
    for (values, ref), text_ in zip(rows, got, strict=True):
        bag = {c: v for c, v in zip(schema.STAT_COLUMNS, values, strict=True) if v is not None}
        if ref:
            bag["referee"] = ref
        assert text_ == json.dumps(bag)


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-2**40, 2**40), st.one_of(st.none(), st.floats(allow_nan=False, width=64)),
                          st.one_of(st.none(), TEXT)), max_size=2_100))
def test_bulk_insert_round_trip_on_sqlite(rows):
    """Every row comes back exactly, whatever the row count (full statements and power-of-two rests)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (i INTEGER, x REAL, s TEXT)")
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine("sqlite://", creator=lambda: conn)
    with Session(engine) as session:
        n = bulk_insert(session, "t", ["i", "x", "s"], rows)
        got = session.connection().exec_driver_sql("SELECT i, x, s FROM t ORDER BY rowid").all()
    assert n == len(rows)
    assert [tuple(r) for r in got] == [tuple(r) for r in rows]


def test_bulk_insert_columns_arrays_nulls_and_dates(engine):
    from sqlalchemy.orm import Session

    kick = np.array(["2024-08-16T20:00", "NaT"], dtype="datetime64[ns]")
    with Session(engine) as session:
        session.execute(text("CREATE TABLE bulk_probe (i INTEGER, x FLOAT, k TIMESTAMP, s VARCHAR(8))"))
        n = bulk_insert_columns(session, "bulk_probe", {
            "i": np.array([1, 2], dtype=np.int32), "x": np.array([1.5, np.nan]), "k": kick, "s": ["a", None]})
        rows = session.execute(text("SELECT i, x, k, s FROM bulk_probe ORDER BY i")).all()
        session.rollback()
    assert n == 2
    assert rows[0][0] == 1 and rows[0][1] == 1.5 and rows[0][3] == "a"
    assert str(rows[0][2]).startswith("2024-08-16 20:00:00")
    assert rows[1][1] is None and rows[1][2] is None and rows[1][3] is None


def test_bulk_insert_columns_rejects_ragged_columns(engine):
    from sqlalchemy.orm import Session

    with Session(engine) as session, pytest.raises(ValueError, match="differ in length"):
        bulk_insert_columns(session, "odds", {"event_id": [1, 2], "type_id": [1]})


def test_pg_binary_copy_of_numeric_columns(engine):
    """Odds go through PostgreSQL's binary COPY; the numbers must arrive unchanged (SQLite: plain INSERTs)."""
    with session_scope(engine) as s:
        s.execute(text("INSERT INTO competitions (id, sport, code) VALUES (1, 'football', 'X')"))
        s.execute(text("INSERT INTO seasons (id, competition_id, code) VALUES (1, 1, '2425')"))
        s.execute(text("INSERT INTO events (id, sport, competition_id, season_id, external_key, kickoff, status) "
                       "VALUES (7, 'football', 1, 1, 'k', '2024-08-16 20:00:00', 'scheduled')"))
        s.execute(text("INSERT INTO odds_types (id, bookmaker, market, selection, is_closing) "
                       "VALUES (3, 'Bet365', '1X2', 'H', false), (4, 'Bet365', '1X2', 'D', false)"))
        prices = np.array([1.0 + 1e-12, 123456.789])
        bulk_insert_columns(s, "odds", {"event_id": np.array([7, 7], dtype=np.int32),
                                        "type_id": np.array([3, 4], dtype=np.int32), "price": prices})
    with engine.connect() as conn:
        got = conn.execute(text("SELECT type_id, price FROM odds ORDER BY type_id")).all()
    assert [tuple(r) for r in got] == [(3, prices[0]), (4, prices[1])]
