"""F1 data layer: Ergast reader, status classifier, wet flag, store import of all three layouts."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from formguide.core.errors import IngestError
from formguide.core.store.models import Entry, Event, ImportRecord, Lap, Team
from formguide.f1 import schema
from formguide.f1.circuits import circuit_type
from formguide.f1.ergast import classify_status, lap_time_ms, load_ergast_entries, load_ergast_reference
from formguide.f1.laps import WET_SHARE_THRESHOLD, wet_from_laps, wet_races
from formguide.f1.racefolder import load_race_folder_entries, parse_race_folder
from formguide.f1.store_io import detect_layout, ingest_f1, load_entries

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def ergast_dir() -> Path:
    path = DATA_DIR / "f1_ergast"
    if not (path / "races.csv").is_file():
        pytest.skip(f"real Ergast data not found at {path} (set FORMGUIDE_DATA)")
    return path


@pytest.fixture(scope="module")
def laps_dir() -> Path:
    path = DATA_DIR / "f1_laps"
    if not (path / "grand_prix").is_dir():
        pytest.skip(f"real FastF1 lap data not found at {path} (set FORMGUIDE_DATA)")
    return path


@pytest.fixture(scope="module")
def entries(ergast_dir) -> pd.DataFrame:
    return load_ergast_entries(ergast_dir)


def _race(e: pd.DataFrame, season: int, rnd: int) -> pd.DataFrame:
    return e[(e["season"] == season) & (e["round"] == rnd)]


# --- Ergast reader ---------------------------------------------------------------------------------------

def test_ergast_reader_shape_and_counts(entries):
    assert list(entries.columns) == schema.ENTRY_FRAME_COLUMNS
    assert not entries.duplicated(["race_id", "driver"]).any()
    races = entries.groupby("season")["race_id"].nunique()
    assert races[2024] == 24 and races[2023] == 22 and races[2021] == 22
    assert entries["season"].min() == 1950
    assert entries["date"].is_monotonic_increasing
    winners = entries[entries["position"] == 1].set_index(["season", "round"])["driver"]
    assert winners[(2024, 1)] == "max_verstappen"
    assert winners[(2024, 8)] == "leclerc"      # Monaco 2024
    assert winners[(2024, 14)] == "hamilton"    # Belgium 2024: Russell disqualified after finishing first
    assert winners[(2008, 1)] == "hamilton"


def test_ergast_entry_values(entries):
    bahrain = _race(entries, 2024, 1).set_index("driver")
    ver = bahrain.loc["max_verstappen"]
    assert ver["driver_code"] == "VER" and ver["constructor"] == "red_bull"
    assert ver["grid"] == 1 and ver["quali_position"] == 1 and ver["quali_best_ms"] == 89179.0
    assert ver["quali_q2_ms"] == 89374.0 and ver["quali_q3_ms"] == 89179.0
    assert ver["points"] == 26 and ver["classified"] == 1 and ver["dnf"] == 0 and ver["laps"] == 57
    assert ver["race_name"] == "Bahrain Grand Prix" and ver["circuit"] == "bahrain"
    assert ver["circuit_type"] == "permanent" and not ver["has_sprint"]
    assert ver["date"] == pd.Timestamp("2024-03-02 15:00:00")
    china = _race(entries, 2024, 5)
    assert china["has_sprint"].all() and china["sprint_position"].notna().all()
    assert china.set_index("driver").loc["max_verstappen", "sprint_points"] == 8
    assert china["safety_car"].iloc[0] == 1 and china["safety_car_laps"].iloc[0] == 6
    assert _race(entries, 2024, 1)["safety_car"].iloc[0] == 0
    assert _race(entries, 2024, 8)["circuit_type"].iloc[0] == "street"


def test_grid_zero_is_pit_lane_only_for_starters(entries):
    # Ergast writes grid 0 for pit-lane starters and for non-starters; only the former keep 0.
    non_starters = entries["status"].isin(["Did not qualify", "Did not prequalify"])
    assert entries.loc[non_starters, "grid"].ne(0).all() and entries.loc[non_starters, "grid"].isna().mean() > 0.99
    pit_lane = entries[(entries["grid"] == 0) & (entries["season"] >= 2014)]
    assert len(pit_lane) > 10 and (pit_lane["laps"] > 0).mean() > 0.9


def test_shared_drives_merged_into_one_row(entries):
    # 1950s entries list a driver in two cars of one race; the frame keeps one row per (race, driver).
    assert not entries.duplicated(["race_id", "driver"]).any()
    assert len(entries) < 26759


def test_reference_tables(ergast_dir):
    ref = load_ergast_reference(ergast_dir)
    assert set(ref) == {"drivers", "constructors", "circuits"}
    assert "max_verstappen" in set(ref["drivers"]["driverRef"])
    assert ref["drivers"]["number"].isna().any()  # \N read as missing


def test_lap_time_parser():
    got = lap_time_ms(["1:26.572", "59.1", "", None, "1:xx", "2:00.000"])
    np.testing.assert_array_equal(got[:2], [86572.0, 59100.0])
    assert np.isnan(got[2:5]).all() and got[5] == 120000.0


def test_circuit_types():
    assert list(circuit_type(["monaco", "bahrain", "marina_bay", "new_place"])) == [
        "street", "permanent", "street", "permanent"]


# --- status classifier -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "dnf", "mech"), [
    ("Finished", 0, 0), ("+1 Lap", 0, 0), ("+12 Laps", 0, 0), ("Lapped", 0, 0),
    ("Accident", 1, 0), ("Collision", 1, 0), ("Collision damage", 1, 0), ("Spun off", 1, 0),
    ("Disqualified", 1, 0), ("Withdrew", 1, 0), ("Puncture", 1, 0), ("Did not qualify", 1, 0),
    ("Engine", 1, 1), ("Gearbox", 1, 1), ("Hydraulics", 1, 1), ("Electrical", 1, 1), ("Brakes", 1, 1),
    ("Suspension", 1, 1), ("Power Unit", 1, 1), ("Wheel nut", 1, 1), ("Out of fuel", 1, 1),
    ("Safety belt", 1, 1), ("Engine failure", 1, 1), ("Crash into barrier", 1, 0),
])
def test_mechanical_dnf_classifier(status, dnf, mech):
    d, m = classify_status([status])
    assert (d[0], m[0]) == (dnf, mech)


def test_unknown_cause_and_missing_status():
    d, m = classify_status(["Retired", None, "Something odd"])
    assert d[0] == 1 and np.isnan(m[0])
    assert np.isnan(d[1]) and np.isnan(m[1])
    assert d[2] == 1 and np.isnan(m[2])


def test_every_ergast_status_is_classified(ergast_dir):
    status = pd.read_csv(ergast_dir / "status.csv")["status"]
    d, m = classify_status(status)
    assert not np.isnan(d).any()
    unknown = status[np.isnan(m)].tolist()
    assert unknown == ["Retired"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=20), st.integers(1, 60).map(lambda n: f"+{n} Laps")),
                max_size=30))
def test_classifier_invariants(statuses):
    d, m = classify_status(statuses)
    assert len(d) == len(m) == len(statuses)
    assert np.isin(d[~np.isnan(d)], [0.0, 1.0]).all()
    known = ~np.isnan(m)
    assert (m[known] <= d[known]).all()  # mechanical DNF is a DNF
    for s, di in zip(statuses, d, strict=True):
        assert np.isnan(di) == (s is None)
        if isinstance(s, str) and re.fullmatch(r"\+\d+ Laps", s):
            assert di == 0


# --- wet flag --------------------------------------------------------------------------------------------

def test_wet_races_from_laps(entries, laps_dir):
    wet = wet_races(laps_dir / "grand_prix").set_index(["season", "round"])
    assert wet.loc[(2021, 12), "wet"] == 1      # Belgium 2021, behind the safety car in the rain
    assert wet.loc[(2024, 9), "wet"] == 1       # Canada 2024
    assert wet.loc[(2022, 18), "wet_share"] > 0.99   # Japan 2022
    assert wet.loc[(2024, 1), "wet"] == 0 and wet.loc[(2023, 8), "wet"] == 0  # Bahrain 2024, Canada 2023
    assert (wet["wet"] == (wet["wet_share"] >= WET_SHARE_THRESHOLD)).all()
    assert _race(entries, 2021, 12)["wet"].eq(1).all()
    assert _race(entries, 2024, 20)["wet"].isna().all()   # 2024 laps stop after round 18
    assert entries.loc[entries["season"] < 2018, "wet"].isna().all()


def test_wet_threshold_rule():
    compounds = np.array(["SOFT"] * 99 + ["INTERMEDIATE"] + ["WET"] * 5 + ["MEDIUM"] * 95, dtype=object)
    w = wet_from_laps(np.full(200, 2020), np.repeat([1, 2], 100), compounds)
    assert list(w["wet"]) == [0.0, 1.0]
    assert w["wet_share"].tolist() == [0.01, 0.05]


# --- helpers for the store tests ------------------------------------------------------------------------

def _ergast_subset(src: Path, dest: Path, years: tuple[int, ...]) -> Path:
    """A copy of the Ergast folder limited to some seasons (same layout, smaller, fast to import)."""
    dest.mkdir()
    races = pd.read_csv(src / "races.csv", dtype=str, keep_default_na=False)
    races = races[races["year"].astype(int).isin(years)]
    ids = set(races["raceId"])
    races.to_csv(dest / "races.csv", index=False)
    for name in ("results", "qualifying", "sprint_results"):
        t = pd.read_csv(src / f"{name}.csv", dtype=str, keep_default_na=False)
        t[t["raceId"].isin(ids)].to_csv(dest / f"{name}.csv", index=False)
    for name in ("drivers", "constructors", "circuits", "status", "safety_cars"):
        (dest / f"{name}.csv").write_bytes((src / f"{name}.csv").read_bytes())
    return dest


def _lap_subset(src: Path, dest: Path, season: int, rounds: tuple[int, ...]) -> Path:
    dest.mkdir(exist_ok=True)
    laps = pd.read_csv(src / "grand_prix" / f"transformed_grand_prix_laps_{season}.csv", dtype=str,
                       keep_default_na=False)
    out = dest / f"transformed_grand_prix_laps_{season}.csv"
    laps[laps["RoundNumber"].astype(float).astype(int).isin(rounds)].to_csv(out, index=False)
    return out


def _counts(engine) -> dict:
    from formguide.core.store.db import session_scope

    with session_scope(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Event, Entry, Lap, Team)}


def _snapshot(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query("SELECT * FROM entries ORDER BY event_id, session, driver_id", conn)


def _totals(report) -> dict:
    return {k: report.total(k) for k in ("inserted", "updated", "unchanged", "rejected")}


# --- Ergast + laps through the store ----------------------------------------------------------------------

def test_store_roundtrip_idempotent_and_laps(engine, ergast_dir, laps_dir, tmp_path):
    folder = _ergast_subset(ergast_dir, tmp_path / "f1_ergast", (2023, 2024))
    layout, report = ingest_f1(engine, [folder])
    assert layout == "ergast"
    assert report.files[0].status == "ok", report.files[0].error
    direct = load_ergast_entries(folder, laps_dir=laps_dir / "grand_prix")
    n_rows = 46 + (direct.notna()["position"]).sum() + direct["quali_position"].notna().sum() + \
        direct["sprint_position"].notna().sum()
    assert _totals(report)["inserted"] == n_rows
    assert "driver:max_verstappen" in report.files[0].new_teams

    stored = load_entries(engine)
    key = ["season", "round", "driver"]
    a = stored.drop(columns=["race_id", "wet"]).sort_values(key).reset_index(drop=True)
    b = direct.drop(columns=["race_id", "wet"]).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert list(stored.columns) == schema.ENTRY_FRAME_COLUMNS
    assert stored["wet"].isna().all()  # no lap folder next to the subset, no laps stored yet
    assert set(load_entries(engine, seasons=[2024])["season"]) == {2024}

    _, again = ingest_f1(engine, [folder])
    assert _totals(again) == {"inserted": 0, "updated": 0, "unchanged": n_rows, "rejected": 0}

    lap_file = _lap_subset(laps_dir, tmp_path / "laps", 2024, (1, 9))
    layout, lap_report = ingest_f1(engine, [lap_file])
    assert layout == "fastf1-laps" and lap_report.files[0].status == "ok", lap_report.files[0].error
    n_laps = len(pd.read_csv(lap_file))
    assert lap_report.total("inserted") == n_laps and _counts(engine)["laps"] == n_laps
    wet = load_entries(engine, seasons=[2024]).groupby("round")["wet"].first()
    assert wet[9] == 1 and wet[1] == 0 and np.isnan(wet[2])
    _, lap_again = ingest_f1(engine, [lap_file])
    assert lap_again.total("unchanged") == n_laps and lap_again.total("inserted") == 0


def test_laps_need_their_races(engine, laps_dir, tmp_path):
    lap_file = _lap_subset(laps_dir, tmp_path, 2024, (1,))
    _, report = ingest_f1(engine, [lap_file])
    f = report.files[0]
    assert f.status == "rejected" and "f1|2024|1" in f.error and "RoundNumber" in f.error
    assert _counts(engine)["laps"] == 0


def test_corrected_ergast_row_updates(engine, ergast_dir, tmp_path):
    folder = _ergast_subset(ergast_dir, tmp_path / "erg", (2024,))
    ingest_f1(engine, [folder])
    results = pd.read_csv(folder / "results.csv", dtype=str, keep_default_na=False)
    results.loc[0, "points"] = "99"
    results.to_csv(folder / "results.csv", index=False)
    _, report = ingest_f1(engine, [folder])
    assert report.total("updated") == 1 and report.total("inserted") == 0
    stored = load_entries(engine)
    assert (stored["points"] == 99).sum() == 1


# --- race folders ---------------------------------------------------------------------------------------

RACE_CSV = """driver,driver_code,constructor,grid,position,points,status,laps
max_verstappen,VER,red_bull,1,1,25,Finished,57
leclerc,LEC,ferrari,2,2,18,Finished,57
norris,NOR,mclaren,0,3,15,+1 Lap,56
hamilton,HAM,ferrari,4,4,0,Engine,30
"""
QUALI_CSV = """driver,constructor,position,q1,q2,q3
max_verstappen,red_bull,1,1:30.100,1:29.800,1:29.500
leclerc,ferrari,2,1:30.200,1:29.900,1:29.600
hamilton,ferrari,3,1:30.300,1:30.000,1:29.700
norris,mclaren,4,1:30.400,,
"""


def _race_folder(root: Path, name: str = "2025-01-australia", *, race: str | None = RACE_CSV,
                 quali: str | None = QUALI_CSV, meta: dict | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    season, rnd = int(name[:4]), int(name[5:7])
    info = {"season": season, "round": rnd, "name": "Australian Grand Prix", "circuit": "albert_park",
            "date": "2025-03-16T04:00:00Z", **(meta or {})}
    (folder / "race.json").write_text(json.dumps(info))
    if race is not None:
        (folder / "race.csv").write_text(race)
    if quali is not None:
        (folder / "qualifying.csv").write_text(quali)
    return folder


def test_race_folder_reader(tmp_path):
    folder = _race_folder(tmp_path)
    frame = load_race_folder_entries(folder)
    assert list(frame.columns) == schema.ENTRY_FRAME_COLUMNS
    e = frame.set_index("driver")
    assert e.loc["max_verstappen", "quali_best_ms"] == 89500.0
    assert e.loc["max_verstappen", "quali_q2_ms"] == 89800.0 and e.loc["max_verstappen", "quali_q3_ms"] == 89500.0
    assert np.isnan(e.loc["norris", "quali_q2_ms"]) and np.isnan(e.loc["norris", "quali_q3_ms"])
    assert e.loc["norris", "grid"] == 0 and e.loc["norris", "dnf"] == 0
    assert e.loc["hamilton", "mechanical_dnf"] == 1 and e.loc["hamilton", "classified"] == 0
    assert (e["circuit_type"] == "street").all() and (e["date"] == pd.Timestamp("2025-03-16 04:00")).all()
    assert np.isnan(e["wet"]).all()


def test_race_folder_import_reimport_and_correction(engine, tmp_path):
    root = tmp_path / "season"
    _race_folder(root)
    layout, report = ingest_f1(engine, [root])
    assert layout == "race-folder" and report.files[0].status == "ok"
    assert _totals(report) == {"inserted": 1 + 4 + 4, "updated": 0, "unchanged": 0, "rejected": 0}
    frame = load_entries(engine)
    assert len(frame) == 4 and frame["race_id"].nunique() == 1
    assert frame.set_index("driver").loc["leclerc", "quali_position"] == 2
    from formguide.core.store.db import session_scope

    with session_scope(engine) as s:
        assert s.scalar(select(Event.status)) == "finished"
        assert s.scalar(select(Event.external_key)) == "f1|2025|1"

    _, again = ingest_f1(engine, [root])
    assert _totals(again) == {"inserted": 0, "updated": 0, "unchanged": 9, "rejected": 0}

    (root / "2025-01-australia" / "race.csv").write_text(RACE_CSV.replace("leclerc,LEC,ferrari,2,2,18", "leclerc,LEC,ferrari,2,2,13"))
    _, fixed = ingest_f1(engine, [root])
    assert _totals(fixed) == {"inserted": 0, "updated": 1, "unchanged": 8, "rejected": 0}
    assert load_entries(engine).set_index("driver").loc["leclerc", "points"] == 13


def test_unknown_driver_created_and_reported(engine, tmp_path):
    race = RACE_CSV + "new_rookie,NEW,new_team,5,5,0,Collision,3\n"
    _race_folder(tmp_path, race=race)
    _, report = ingest_f1(engine, [tmp_path])
    f = report.files[0]
    assert f.status == "ok"
    assert {"driver:new_rookie", "constructor:new_team"} <= set(f.new_teams)
    from formguide.core.store.db import session_scope

    with session_scope(engine) as s:
        rookie = s.scalars(select(Team).where(Team.name == "new_rookie")).one()
        assert rookie.kind == "driver" and rookie.code == "NEW"
    _, again = ingest_f1(engine, [tmp_path])
    assert again.files[0].new_teams == []


def test_race_without_qualifying_is_flagged(engine, tmp_path):
    _race_folder(tmp_path, quali=None)
    _, report = ingest_f1(engine, [tmp_path])
    f = report.files[0]
    assert f.status == "ok" and any("without qualifying" in w for w in f.warnings)
    assert load_entries(engine)["quali_position"].isna().all()


def test_pre_race_folder_has_no_outcomes(engine, tmp_path):
    entry_list = "driver,constructor\nmax_verstappen,red_bull\nleclerc,ferrari\n"
    _race_folder(tmp_path, race=entry_list, quali=None)
    _, report = ingest_f1(engine, [tmp_path])
    assert report.files[0].status == "ok", report.files[0].error
    frame = load_entries(engine)
    assert frame["position"].isna().all() and frame["grid"].isna().all() and frame["dnf"].isna().all()
    from formguide.core.store.db import session_scope

    with session_scope(engine) as s:
        assert s.scalar(select(Event.status)) == "scheduled"


def test_sessions_inside_race_json(tmp_path):
    records = [{"driver": "max_verstappen", "constructor": "red_bull", "grid": 1, "position": 1, "points": 8,
                "status": "Finished"},
               {"driver": "leclerc", "constructor": "ferrari", "grid": 2, "position": 2, "points": 7,
                "status": "Finished"}]
    folder = _race_folder(tmp_path, meta={"sprint": records})
    e = load_race_folder_entries(folder).set_index("driver")
    assert e.loc["max_verstappen", "sprint_points"] == 8 and e["has_sprint"].all()


# --- bad inputs: clear error, store untouched, failure recorded ----------------------------------------

BAD_CASES = {
    "tied_positions": (dict(race=RACE_CSV.replace("norris,NOR,mclaren,0,3", "norris,NOR,mclaren,0,2")),
                       ["race.csv", "row 4", "column position", "two drivers with position 2"]),
    "missing_grid_column": (dict(race="driver,constructor,position,points\nmax_verstappen,red_bull,1,25\n"),
                            ["race.csv", "column grid", "no grid column"]),
    "missing_grid_value": (dict(race=RACE_CSV.replace("leclerc,LEC,ferrari,2,", "leclerc,LEC,ferrari,,")),
                           ["race.csv", "row 3", "column grid", "grid missing"]),
    "partial_positions": (dict(race=RACE_CSV.replace("hamilton,HAM,ferrari,4,4,", "hamilton,HAM,ferrari,4,,")),
                          ["race.csv", "row 5", "column position"]),
    "duplicate_driver": (dict(race=RACE_CSV + "leclerc,LEC,ferrari,5,5,0,Finished,57\n"),
                         ["race.csv", "row 6", "column driver", "listed twice"]),
    "bad_number": (dict(race=RACE_CSV.replace(",18,", ",eighteen,")),
                   ["race.csv", "row 3", "column points", "not a number"]),
    "bad_lap_time": (dict(quali=QUALI_CSV.replace("1:29.600", "1:2x.600")),
                     ["qualifying.csv", "row 3", "column q3"]),
    "empty_file": (dict(race=""), ["race.csv", "empty file"]),
    "malformed_csv": (dict(race=RACE_CSV + 'x,"unterminated\n'), ["race.csv", "malformed CSV"]),
}


def test_bad_race_folders_rejected_cleanly(engine, tmp_path):
    """Each bad folder: rejected with file/row/column in the error, store untouched, failure recorded."""
    from formguide.core.store.db import session_scope

    good = tmp_path / "good"
    _race_folder(good, "2025-02-china")
    ingest_f1(engine, [good])
    before, rows = _counts(engine), _snapshot(engine)
    for i, case in enumerate(sorted(BAD_CASES)):
        kwargs, expected = BAD_CASES[case]
        bad = _race_folder(tmp_path / case, **kwargs)
        _, report = ingest_f1(engine, [bad])
        f = report.files[0]
        assert f.status == "rejected", case
        for part in expected:
            assert part in f.error, (case, part, f.error)
        assert _counts(engine) == before, case
        pd.testing.assert_frame_equal(_snapshot(engine), rows)
        with session_scope(engine) as s:
            records = s.scalars(select(ImportRecord).where(ImportRecord.status == "rejected")
                                .order_by(ImportRecord.id)).all()
            assert len(records) == i + 1 and records[-1].error == f.error and records[-1].sport == "f1"


def test_starter_status_allows_empty_grid(tmp_path):
    race = RACE_CSV + "sainz,SAI,williams,,5,0,Did not start,0\n"
    parsed = parse_race_folder(_race_folder(tmp_path, race=race))
    assert np.isnan(parsed.sessions.set_index("driver").loc["sainz", "grid"])


def test_malformed_race_json(tmp_path, engine):
    folder = _race_folder(tmp_path)
    (folder / "race.json").write_text('{"season": 2025,\n "round": 1,\n "name": }')
    with pytest.raises(IngestError) as info:
        parse_race_folder(folder)
    assert info.value.row == 3 and "malformed JSON" in str(info.value)
    _, report = ingest_f1(engine, [folder])
    assert report.files[0].status == "rejected" and _counts(engine)["events"] == 0


def test_race_json_missing_field_and_folder_mismatch(tmp_path):
    folder = _race_folder(tmp_path, meta={"circuit": ""})
    with pytest.raises(IngestError, match="column circuit"):
        parse_race_folder(folder)
    other = _race_folder(tmp_path, "2025-03-japan", meta={"round": 4})
    with pytest.raises(IngestError, match="disagree with the folder name"):
        parse_race_folder(other)


def test_nonexistent_and_unknown_paths(engine, tmp_path):
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    layout, report = ingest_f1(engine, [tmp_path / "nope", stray])
    assert [f.status for f in report.files] == ["rejected", "rejected"]
    assert "no such file" in report.files[0].error and "not an F1 source" in report.files[1].error
    assert _counts(engine)["events"] == 0
    with pytest.raises(IngestError):
        detect_layout(stray)


def test_ingest_command_json(tmp_path, capsys):
    from tests.helpers import run_cli

    _race_folder(tmp_path / "src")
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    printed = json.loads(run_cli(["ingest", "f1", tmp_path / "src", "--db", db, "--json", "-"], capsys).out)
    assert printed["layout"] == "race-folder" and printed["files"][0]["found"] == "race-folder"
    assert printed["inserted"] == 9 and printed["files_rejected"] == 0
    again = run_cli(["ingest", "f1", tmp_path / "src", "--db", db], capsys)
    assert again.code == 0 and "race-folder" in again.text and "unchanged 9" in again.text
