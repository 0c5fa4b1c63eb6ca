"""Messy F1 files (issue 9): duplicate laps, files cut part-way through a row. All fixtures hand-made."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from formguide.core.errors import IngestError
from formguide.core.store.db import session_scope
from formguide.core.store.models import Entry, Event, ImportRecord, Lap, Team
from formguide.f1.ergast import load_ergast_entries
from formguide.f1.laps import check_row_lengths, read_lap_file, wet_races
from formguide.f1.racefolder import parse_race_folder
from formguide.f1.store_io import ingest_f1, load_entries

# --- a hand-made Ergast folder: one 2024 race, three drivers ------------------------------------------------

ERGAST = {
    "races.csv": (
        "raceId,year,round,circuitId,name,date,time,url,fp1_date,fp1_time,fp2_date,fp2_time,fp3_date,fp3_time,"
        "quali_date,quali_time,sprint_date,sprint_time\n"
        '1121,2024,1,3,"Bahrain Grand Prix","2024-03-02","15:00:00","https://x/1",\\N,\\N,\\N,\\N,\\N,\\N,'
        "\\N,\\N,\\N,\\N\n"
        '1122,2024,2,77,"Saudi Arabian Grand Prix","2024-03-09","17:00:00","https://x/2",\\N,\\N,\\N,\\N,\\N,\\N,'
        '"2024-03-08","17:00:00","2024-03-08","13:00:00"\n'),
    "results.csv": (
        "resultId,raceId,driverId,constructorId,number,grid,position,positionText,positionOrder,points,laps,time,"
        "milliseconds,fastestLap,rank,fastestLapTime,fastestLapSpeed,statusId\n"
        "1,1121,830,9,1,1,1,1,1,26,57,1:31:44.742,5504742,39,1,1:32.608,210.383,1\n"
        "2,1121,844,6,16,2,2,2,2,18,57,+22.457,5527199,36,4,1:34.090,207.069,1\n"
        "3,1121,1,131,44,3,\\N,R,3,0,20,\\N,\\N,\\N,\\N,\\N,\\N,5\n"
        "4,1122,830,9,1,1,1,1,1,25,50,1:20:43.273,4843273,40,2,1:31.773,242.2,1\n"
        "5,1122,844,6,16,2,2,2,2,18,50,+13.643,4856916,50,1,1:31.632,242.6,1\n"
        "6,1122,1,131,44,3,3,3,3,15,50,+18.639,4861912,38,3,1:32.079,241.4,1\n"),
    "qualifying.csv": (
        "qualifyId,raceId,driverId,constructorId,number,position,q1,q2,q3\n"
        "1,1121,830,9,1,1,1:30.031,1:29.374,1:29.179\n"
        "2,1121,844,6,16,2,1:30.243,1:29.165,1:29.407\n"
        "3,1121,1,131,44,3,1:30.350,1:29.922,1:29.710\n"),
    "sprint_results.csv": (
        "resultId,raceId,driverId,constructorId,number,grid,position,positionText,positionOrder,points,laps,time,"
        "milliseconds,fastestLap,fastestLapTime,statusId,rank\n"
        "1,1122,830,9,1,1,1,1,1,8,19,30:01.312,1801312,3,1:33.1,1,\\N\n"
        "2,1122,844,6,16,2,2,2,2,7,19,+1.0,1802312,4,1:33.2,1,\\N\n"
        "3,1122,1,131,44,3,3,3,3,6,19,+2.0,1803312,5,1:33.3,1,\\N\n"),
    "drivers.csv": (
        "driverId,driverRef,number,code,forename,surname,dob,nationality,url\n"
        '1,"hamilton",44,"HAM","Lewis","Hamilton","1985-01-07","British","http://x/ham"\n'
        '830,"max_verstappen",33,"VER","Max","Verstappen","1997-09-30","Dutch","http://x/ver"\n'
        '844,"leclerc",16,"LEC","Charles","Leclerc","1997-10-16","Monegasque","http://x/lec"\n'),
    "constructors.csv": (
        "constructorId,constructorRef,name,nationality,url\n"
        '6,"ferrari","Ferrari","Italian","http://x/fer"\n'
        '9,"red_bull","Red Bull","Austrian","http://x/rbr"\n'
        '131,"mercedes","Mercedes","German","http://x/mer"\n'),
    "status.csv": 'statusId,status\n1,"Finished"\n5,"Engine"\n',
    "circuits.csv": (
        "circuitId,circuitRef,name,location,country,lat,lng,alt,url\n"
        '3,"bahrain","Bahrain International Circuit","Sakhir","Bahrain",26.0325,50.5106,7,"http://x/bah"\n'
        '77,"jeddah","Jeddah Corniche Circuit","Jeddah","Saudi Arabia",21.6319,39.1044,15,"http://x/jed"\n'),
}


def _ergast(root: Path, **override: str) -> Path:
    folder = root / "f1_ergast"
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in {**ERGAST, **override}.items():
        (folder / name).write_text(body, encoding="utf-8")
    return folder


def _cut(text: str, keep: int) -> str:
    """``text`` ending ``keep`` characters into its last line, as a writer still busy with it leaves it."""
    start = text.rstrip("\n").rfind("\n") + 1
    return text[:start + keep]


def _counts(engine) -> dict:
    with session_scope(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Event, Entry, Lap, Team)}


def _snapshot(engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {t: pd.read_sql_query(f"SELECT * FROM {t} ORDER BY {order}", conn) for t, order in (
            ("events", "id"), ("entries", "event_id, session, driver_id"),
            ("laps", "event_id, session, driver_id, lap"))}


def _assert_unchanged(engine, counts: dict, snap: dict) -> None:
    assert _counts(engine) == counts
    after = _snapshot(engine)
    for table, frame in snap.items():
        pd.testing.assert_frame_equal(after[table], frame, obj=table)


def test_hand_made_ergast_folder_imports(engine, tmp_path):
    folder = _ergast(tmp_path)
    _, report = ingest_f1(engine, [folder])
    assert report.files[0].status == "ok", report.files[0].error
    e = load_entries(engine).set_index(["round", "driver"])
    assert e.loc[(1, "max_verstappen"), "points"] == 26 and e.loc[(1, "hamilton"), "dnf"] == 1
    assert e.loc[(2, "leclerc"), "sprint_position"] == 2 and e.loc[(1, "leclerc"), "quali_position"] == 2
    assert _counts(engine)["entries"] == 6 + 3 + 3


# --- truncated Ergast tables --------------------------------------------------------------------------------

def test_truncated_results_rejected_and_store_unchanged(engine, tmp_path):
    folder = _ergast(tmp_path)
    ingest_f1(engine, [folder])
    counts, snap = _counts(engine), _snapshot(engine)
    # a corrected value in an early row and a last row cut after "...,15,50" (11 of 18 fields)
    body = ERGAST["results.csv"].replace("1,1121,830,9,1,1,1,1,1,26,", "1,1121,830,9,1,1,1,1,1,99,")
    cut = _cut(body, len("6,1122,1,131,44,3,3,3,3,15,50"))
    (folder / "results.csv").write_text(cut)
    _, report = ingest_f1(engine, [folder])
    f = report.files[0]
    assert f.status == "rejected"
    assert f.error.startswith("results.csv, row 7, column time: "), f.error
    assert "file ends part-way through this row (11 of 18 fields" in f.error
    _assert_unchanged(engine, counts, snap)
    with session_scope(engine) as s:
        rec = s.scalars(select(ImportRecord).where(ImportRecord.status == "rejected")).one()
        assert rec.error == f.error
    with pytest.raises(IngestError, match="row 7"):
        load_ergast_entries(folder, laps_dir=None)


def test_truncated_results_into_empty_store_writes_nothing(engine, tmp_path):
    folder = _ergast(tmp_path, **{"results.csv": _cut(ERGAST["results.csv"], 3)})
    _, report = ingest_f1(engine, [folder])
    assert report.files[0].status == "rejected" and "column driverId" in report.files[0].error
    assert _counts(engine) == {"events": 0, "entries": 0, "laps": 0, "teams": 0}


@pytest.mark.parametrize(("name", "keep", "row", "column", "got", "of"), [
    ("races.csv", len('1122,2024,2,77,"Saudi'), 3, "name", 5, 18),  # inside a quoted value
    ("races.csv", len("1122,2024,2"), 3, "circuitId", 3, 18),
    ("qualifying.csv", len("3,1121,1,131,44,3,1:30.350,1:29.922"), 4, "q3", 8, 9),
    ("sprint_results.csv", len("3,1122,1,131,44,3,3,3,3,6"), 4, "laps", 10, 17),
    ("drivers.csv", len('844,"leclerc",16,"LEC"'), 4, "forename", 4, 9),
    ("constructors.csv", len('131,"mercedes","Merc'), 4, "name", 3, 5),
    ("status.csv", len("5"), 3, "status", 1, 2),
    ("circuits.csv", len('77,"jeddah","Jeddah Corniche Circuit","Jeddah"'), 3, "country", 4, 9),
])
def test_every_ergast_table_rejects_a_cut_last_row(engine, tmp_path, name, keep, row, column, got, of):
    folder = _ergast(tmp_path)
    ingest_f1(engine, [folder])
    counts, snap = _counts(engine), _snapshot(engine)
    (folder / name).write_text(_cut(ERGAST[name], keep))
    _, report = ingest_f1(engine, [folder])
    f = report.files[0]
    assert f.status == "rejected"
    assert f.error.startswith(f"{name}, row {row}, column {column}: "), f.error
    assert f"({got} of {of} fields" in f.error or "inside a quoted value" in f.error, f.error
    _assert_unchanged(engine, counts, snap)


def test_ergast_table_without_final_line_break_is_imported_with_a_note(engine, tmp_path):
    folder = _ergast(tmp_path, **{"results.csv": ERGAST["results.csv"].rstrip("\n")})
    _, report = ingest_f1(engine, [folder])
    f = report.files[0]
    assert f.status == "ok" and _counts(engine)["entries"] == 12
    assert "results.csv, row 7: last line has no line break; if the file was still being written its last " \
           "value may be cut short" in f.warnings


def test_short_or_long_row_in_the_middle_rejected(tmp_path):
    lines = ERGAST["results.csv"].splitlines(keepends=True)
    short = lines[:2] + ["2,1121,844,6,16,2,2,2,2,18\n"] + lines[3:]
    folder = _ergast(tmp_path / "a", **{"results.csv": "".join(short)})
    with pytest.raises(IngestError) as info:
        load_ergast_entries(folder, laps_dir=None)
    assert (info.value.row, info.value.column) == (3, "laps")
    assert "row has 10 fields but the header has 18" in info.value.message
    long = lines[:2] + [lines[2].rstrip("\n") + ",7\n"] + lines[3:]
    folder = _ergast(tmp_path / "b", **{"results.csv": "".join(long)})
    with pytest.raises(IngestError) as info:
        load_ergast_entries(folder, laps_dir=None)
    assert (info.value.row, info.value.column) == (3, "field 19")


def test_missing_key_value_is_an_ingest_error(tmp_path):
    body = ERGAST["results.csv"].replace("5,1122,844,6,", "5,1122,\\N,6,")
    folder = _ergast(tmp_path, **{"results.csv": body})
    with pytest.raises(IngestError) as info:
        load_ergast_entries(folder, laps_dir=None)
    assert (info.value.row, info.value.column) == (6, "driverId")


def test_row_length_check_details(tmp_path):
    path = tmp_path / "t.csv"
    ok = b'a,b,c\n1,"x, y",3\n"multi\nline",2,3\n\n  \n4,5,6\n'
    assert check_row_lengths(path, ok) == []
    assert check_row_lengths(path, ok.replace(b"\n", b"\r\n")) == []
    notes = check_row_lengths(path, ok.rstrip(b"\n"))
    assert len(notes) == 1 and notes[0].startswith("t.csv, row 7: ") and "line break" in notes[0]
    with pytest.raises(IngestError) as info:
        check_row_lengths(path, b'a,b,c\n1,2,3\n4,"unfinished')
    assert (info.value.row, info.value.column) == (3, "b") and "inside a quoted value" in info.value.message
    with pytest.raises(IngestError) as info:
        check_row_lengths(path, b"a,b,c\n1,2\n\n")
    assert (info.value.row, info.value.column) == (2, "c") and "part-way" in info.value.message


# --- duplicate laps ----------------------------------------------------------------------------------------

LAP_HEADER = "Time,Driver,LapTime,LapNumber,Stint,Compound,TyreLife,TrackStatus,Position,RoundNumber,EventName\n"


def _lap(driver: str, lap: int, time: str, compound: str = "SOFT", position: int = 1, stint: int = 1,
         status: str = "1", rnd: int = 1, tyre: int | None = None) -> str:
    return (f"0 days 01:{lap:02d}:00,{driver},{time},{lap}.0,{stint}.0,{compound},{tyre or lap}.0,{status},"
            f"{position}.0,{rnd},Bahrain Grand Prix\n")


def _laps(*rows: str) -> str:
    return LAP_HEADER + "".join(rows)


BASE_LAPS = [_lap("VER", 1, "97.1"), _lap("LEC", 1, "97.9", position=2),
             _lap("VER", 2, "95.0"), _lap("LEC", 2, "95.5", position=2)]


def _lap_file(root: Path, text: str, season: int = 2024) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"transformed_grand_prix_laps_{season}.csv"
    path.write_text(text)
    return path


def _stored_laps(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            "SELECT t.code AS driver, l.lap, l.lap_time_ms, l.compound, l.stint, l.position, l.track_status "
            "FROM laps l JOIN teams t ON t.id = l.driver_id ORDER BY t.code, l.lap", conn)


def test_identical_duplicate_lap_dropped_with_warning(engine, tmp_path):
    ingest_f1(engine, [_ergast(tmp_path)])
    path = _lap_file(tmp_path / "laps", _laps(*BASE_LAPS[:3], BASE_LAPS[1], BASE_LAPS[3]))
    notes: list[str] = []
    frame = read_lap_file(path, warnings=notes)
    assert len(frame) == 4 and not frame.duplicated(["round", "driver_code", "lap"]).any()
    assert notes == ["transformed_grand_prix_laps_2024.csv, row 5: lap 1 of LEC in round 1 appears twice "
                     "(also row 3) with the same values; the repeat is dropped"]
    _, report = ingest_f1(engine, [path])
    f = report.files[0]
    assert f.status == "ok", f.error
    assert f.inserted == 4 and notes[0] in f.warnings
    assert _counts(engine)["laps"] == 4
    _, again = ingest_f1(engine, [path])
    assert again.files[0].unchanged == 4 and again.files[0].inserted == again.files[0].updated == 0


def test_conflicting_duplicate_keeps_the_row_with_a_lap_time(engine, tmp_path):
    """Red-flag restart: the suspended lap (no time, old tyres, in the pits) and the completed lap."""
    ingest_f1(engine, [_ergast(tmp_path)])
    suspended = _lap("VER", 2, "", compound="MEDIUM", status="5", position=1)
    restart = _lap("VER", 2, "2478.9", compound="HARD", stint=2, tyre=1, status="51", position=2)
    path = _lap_file(tmp_path / "laps", _laps(*BASE_LAPS[:2], restart, suspended, BASE_LAPS[3]))
    notes: list[str] = []
    frame = read_lap_file(path, warnings=notes)
    assert len(frame) == 4
    assert notes == ["transformed_grand_prix_laps_2024.csv, row 5: lap 2 of VER in round 1 appears twice "
                     "(also row 4) with different values; kept row 4 (the only one with a lap time), "
                     "dropped row 5"]
    _, report = ingest_f1(engine, [path])
    assert report.files[0].status == "ok" and notes[0] in report.files[0].warnings
    ver2 = _stored_laps(engine).set_index(["driver", "lap"]).loc[("VER", 2)]
    assert ver2["lap_time_ms"] == 2478900 and ver2["compound"] == "HARD" and ver2["stint"] == 2


def test_conflicting_duplicate_both_timed_keeps_the_later_row(engine, tmp_path):
    ingest_f1(engine, [_ergast(tmp_path)])
    first = _lap("LEC", 2, "120.0", compound="INTERMEDIATE", status="45", position=2)
    later = _lap("LEC", 2, "101.5", compound="WET", stint=2, status="1", position=3)
    third = _lap("LEC", 2, "", compound="WET", stint=2, status="1", position=3)
    path = _lap_file(tmp_path / "laps", _laps(*BASE_LAPS[:3], first, later, third))
    notes: list[str] = []
    frame = read_lap_file(path, warnings=notes)
    assert len(frame) == 4
    assert notes == [
        "transformed_grand_prix_laps_2024.csv, row 5: lap 2 of LEC in round 1 appears 3 times (also rows 6, 7) "
        "with different values; kept row 6 (the later of the rows with a lap time), dropped row 5",
        "transformed_grand_prix_laps_2024.csv, row 7: lap 2 of LEC in round 1 appears 3 times (also rows 5, 6) "
        "with different values; kept row 6 (the later of the rows with a lap time), dropped row 7",
    ]
    _, report = ingest_f1(engine, [path])
    assert report.files[0].status == "ok"
    lec2 = _stored_laps(engine).set_index(["driver", "lap"]).loc[("LEC", 2)]
    assert lec2["lap_time_ms"] == 101500 and lec2["compound"] == "WET" and lec2["position"] == 3


def test_conflicting_duplicate_without_lap_times_keeps_the_later_row(tmp_path):
    a = _lap("VER", 1, "", compound="SOFT", status="5")
    b = _lap("VER", 1, "", compound="MEDIUM", status="51", stint=2)
    notes: list[str] = []
    frame = read_lap_file(_lap_file(tmp_path, _laps(a, b)), warnings=notes)
    assert frame["compound"].tolist() == ["MEDIUM"]
    assert notes and "kept row 3 (the later row; neither has a lap time), dropped row 2" in notes[0]


def test_duplicate_warnings_are_capped(tmp_path):
    rows = [_lap("VER", i, "95.0") for i in range(1, 41)]
    notes: list[str] = []
    frame = read_lap_file(_lap_file(tmp_path, _laps(*rows, *rows)), warnings=notes)
    assert len(frame) == 40
    assert len(notes) == 21 and notes[-1] == ("transformed_grand_prix_laps_2024.csv: 20 more duplicate lap rows "
                                              "dropped (40 in all; only the first 20 are listed)")


def test_wet_share_counts_a_duplicated_lap_once(tmp_path):
    rows = [_lap("VER", i, "95.0", compound="INTERMEDIATE" if i == 1 else "SOFT") for i in range(1, 51)]
    path = _lap_file(tmp_path, _laps(*rows, rows[0]))  # 1 of 50 laps wet: 2 % (51 rows would be 3.9 %)
    wet = wet_races([path])
    assert wet["wet_share"].tolist() == [pytest.approx(0.02)]


# --- truncated lap files ---------------------------------------------------------------------------------------

def test_truncated_lap_file_rejected_and_store_unchanged(engine, tmp_path):
    ingest_f1(engine, [_ergast(tmp_path)])
    path = _lap_file(tmp_path / "laps", _laps(*BASE_LAPS[:3]))
    ingest_f1(engine, [path])
    counts, snap = _counts(engine), _snapshot(engine)
    text = _laps(*BASE_LAPS)  # the file grows by a row and is read while that row is half written
    path.write_text(_cut(text, len("0 days 01:02:00,LEC,95.5,2.0,1.0,SO")))
    _, report = ingest_f1(engine, [path])
    f = report.files[0]
    assert f.status == "rejected"
    assert f.error.startswith("transformed_grand_prix_laps_2024.csv, row 5, column TyreLife: file ends part-way")
    _assert_unchanged(engine, counts, snap)


# --- race folders ----------------------------------------------------------------------------------------------

RACE_CSV = """driver,driver_code,constructor,grid,position,points,status,laps
max_verstappen,VER,red_bull,1,1,25,Finished,57
leclerc,LEC,ferrari,2,2,18,Finished,57
norris,NOR,mclaren,0,3,15,+1 Lap,56
"""
QUALI_CSV = """driver,constructor,position,q1,q2,q3
max_verstappen,red_bull,1,1:30.100,1:29.800,1:29.500
leclerc,ferrari,2,1:30.200,1:29.900,1:29.600
norris,mclaren,3,1:30.400,,
"""


def _race_folder(root: Path, name: str = "2025-01-australia", files: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "race.json").write_text(json.dumps({"season": 2025, "round": 1, "name": "Australian Grand Prix",
                                                  "circuit": "albert_park", "date": "2025-03-16T04:00:00Z"}))
    for fname, body in (files or {"race.csv": RACE_CSV, "qualifying.csv": QUALI_CSV}).items():
        (folder / fname).write_text(body)
    return folder


@pytest.mark.parametrize(("fname", "good", "keep", "where"), [
    # status cut to "+1 L": before the fix the row stored status "+1 L" and laps empty
    ("race.csv", RACE_CSV, len("norris,NOR,mclaren,0,3,15,+1 L"), "race.csv, row 4, column laps: "),
    ("race.csv", RACE_CSV, len("norris,NOR"), "race.csv, row 4, column constructor: "),
    ("qualifying.csv", QUALI_CSV, len("norris,mclaren,3,1:30.4"), "qualifying.csv, row 4, column q2: "),
])
def test_truncated_race_folder_file_rejected(engine, tmp_path, fname, good, keep, where):
    folder = _race_folder(tmp_path)
    _, report = ingest_f1(engine, [folder])
    assert report.files[0].status == "ok"
    counts, snap = _counts(engine), _snapshot(engine)
    (folder / fname).write_text(_cut(good.replace("max_verstappen,VER,red_bull,1,1,25", "max_verstappen,VER,"
                                                                                        "red_bull,1,1,26"), keep))
    _, report = ingest_f1(engine, [folder])
    f = report.files[0]
    assert f.status == "rejected" and f.error.startswith(where), f.error
    assert "file ends part-way through this row" in f.error and "(race folder 2025-01-australia)" in f.error
    _assert_unchanged(engine, counts, snap)


def test_truncated_session_json_is_an_ingest_error(engine, tmp_path):
    records = [{"driver": "max_verstappen", "constructor": "red_bull", "position": 1},
               {"driver": "leclerc", "constructor": "ferrari", "position": 2}]
    text = json.dumps(records, indent=1)
    folder = _race_folder(tmp_path, files={"race.csv": RACE_CSV, "qualifying.json": text[:len(text) // 2]})
    with pytest.raises(IngestError, match=r"qualifying\.json, row \d+: malformed JSON"):
        parse_race_folder(folder)
    _, report = ingest_f1(engine, [folder])
    assert report.files[0].status == "rejected" and _counts(engine)["events"] == 0


def test_race_folder_without_final_line_break_is_read_with_a_note(tmp_path):
    folder = _race_folder(tmp_path, files={"race.csv": RACE_CSV.rstrip("\n"), "qualifying.csv": QUALI_CSV})
    parsed = parse_race_folder(folder)
    assert len(parsed.sessions) == 6
    assert any(w.startswith("race.csv, row 4: last line has no line break") for w in parsed.warnings)
    assert np.isnan(parsed.races["wet"].iloc[0])
