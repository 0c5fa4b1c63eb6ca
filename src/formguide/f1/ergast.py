"""Ergast tables (``races.csv``, ``results.csv``, ...) -> the canonical F1 entry frame (``f1/schema.py``).

Pure readers: nothing here touches the store. ``race_id`` is Ergast's ``raceId`` (the store replaces it
with ``events.id``). Every join is a vectorised merge, so the whole 1950-2024 folder loads in a fraction
of a second.

Choices, documented once:

* ``grid``: Ergast writes 0 both for a pit-lane start and for an entrant who never started (failed to
  qualify ``F``, withdrawn ``W``, or a non-start status, ``NON_START``). Here 0 is kept only for drivers
  who took the start (pit lane, as
  ``schema.py`` says); for non-starters it becomes NaN. Consumers ranking by grid must treat 0 as
  "behind the last grid slot".
* ``position`` = ``positionOrder`` (a total order of every entrant, the ranking target); ``classified``
  is True when ``positionText`` is a number.
* ``quali_best_ms``: the fastest of Q1/Q2/Q3 (``m:ss.sss``); ``quali_q2_ms`` / ``quali_q3_ms`` the Q2 and Q3
  laps themselves; ``quali_position`` from ``qualifying.csv`` (1994 on).
* ``sprint_position`` = sprint ``positionOrder``; NaN at races without a sprint.
* ``dnf`` / ``mechanical_dnf``: ``classify_status`` below.
* ``safety_car`` / ``safety_car_laps``: ``safety_cars.csv`` joined on ``"<year> <race name>"``; a race with
  no row had no safety car (0), ``safety_car_laps`` = sum of ``FullLaps`` over its deployments.
* ``wet``: from FastF1 race laps (``laps.wet_races``) when the lap folder is given or found next to the
  Ergast folder (``../f1_laps``); NaN for races without lap data (before 2018, 2024 rounds 19-24).

Checks: every table's rows must have as many fields as its header (``laps.check_row_lengths``): a table
cut part-way through its last row (a file still being written, an interrupted download) is an
``IngestError`` naming the file, the row and the first missing column, never a partial row read as
missing values. The id columns that join the tables (``raceId``, ``driverId``, ...) must be whole
numbers in every row.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from formguide.core.errors import IngestError, IngestFileNotFoundError
from formguide.f1 import schema
from formguide.f1.circuits import circuit_type
from formguide.f1.laps import check_row_lengths, wet_races

NA = ["\\N", ""]
REQUIRED_FILES = ("races.csv", "results.csv")

# --- finishing status ---------------------------------------------------------------------------------
#
# A status is a *finish* ("Finished", "+N Lap(s)", "Lapped"), a DNF for a *mechanical* reason (a part of
# the car or the team's handling of it failed: engine, gearbox, hydraulics, brakes, wheel nut, out of
# fuel, ...), a DNF for a *non-mechanical* reason (an incident or a decision: accident, collision, spun
# off, puncture from debris/contact, disqualified, withdrew, did not qualify, illness, ...) or a DNF of
# *unknown* cause ("Retired" without a reason: mechanical_dnf NaN). Ergast's 139 status strings are all
# listed; any other string (race folders) is matched by keywords, incident words first, and is unknown
# (NaN) when nothing matches.

_FINISH = re.compile(r"^(finished|lapped|\+\s*\d+\s*laps?)$")
NON_MECHANICAL = frozenset({
    "disqualified", "accident", "collision", "spun off", "collision damage", "fatal accident", "excluded",
    "withdrew", "not classified", "did not qualify", "did not prequalify", "107% rule", "injured", "injury",
    "eye injury", "physical", "illness", "driver unwell", "safety concerns", "safety", "not restarted",
    "underweight", "debris", "damage", "puncture", "tyre puncture", "did not start",
})
MECHANICAL = frozenset({
    "engine", "gearbox", "transmission", "clutch", "hydraulics", "electrical", "radiator", "suspension",
    "brakes", "differential", "overheating", "mechanical", "tyre", "driver seat", "driveshaft",
    "fuel pressure", "front wing", "water pressure", "refuelling", "wheel", "throttle", "steering", "technical",
    "electronics", "broken wing", "heat shield fire", "exhaust", "oil leak", "wheel rim", "water leak",
    "fuel pump", "track rod", "oil pressure", "engine fire", "engine misfire", "out of fuel", "wheel nut",
    "pneumatics", "handling", "rear wing", "fire", "wheel bearing", "fuel system", "oil line", "fuel rig",
    "launch control", "fuel", "power loss", "vibrations", "drivetrain", "ignition", "chassis", "battery",
    "stalled", "halfshaft", "crankshaft", "alternator", "safety belt", "oil pump", "fuel leak", "injection",
    "distributor", "turbo", "cv joint", "water pump", "spark plugs", "fuel pipe", "oil pipe", "axle",
    "water pipe", "magneto", "supercharger", "power unit", "ers", "brake duct", "seat", "undertray",
    "cooling system",
})
UNKNOWN_CAUSE = frozenset({"retired", "dnf"})
#: Statuses of an entrant who never took the start (so has no grid slot).
NON_START = re.compile(r"withdr|did not (?:start|qualify|prequalify)|^dn[sq]$|107%")
_INCIDENT_WORDS = re.compile(r"accident|collision|crash|contact|spun|spin|disqualif|dsq|exclu|withdr|injur|"
                             r"ill|unwell|did not|dns|dnq|puncture|debris|damage")
_MECHANICAL_WORDS = re.compile(r"engine|gearbox|hydraulic|electric|brake|suspension|power unit|\bpu\b|"
                               r"transmission|clutch|oil|water|fuel|turbo|ers|battery|wheel|tyre|tire|"
                               r"steering|throttle|exhaust|radiator|overheat|cooling|mechanical|technical|"
                               r"electronic|driveshaft|differential|failure|leak|pressure|wing|chassis")


def _classify_one(status: str) -> tuple[float, float]:
    s = " ".join(status.strip().lower().split())
    if _FINISH.match(s):
        return 0.0, 0.0
    if s in NON_MECHANICAL:
        return 1.0, 0.0
    if s in MECHANICAL:
        return 1.0, 1.0
    if s in UNKNOWN_CAUSE:
        return 1.0, np.nan
    if _INCIDENT_WORDS.search(s):
        return 1.0, 0.0
    if _MECHANICAL_WORDS.search(s):
        return 1.0, 1.0
    return 1.0, np.nan


def classify_status(status) -> tuple[np.ndarray, np.ndarray]:
    """``(dnf, mechanical_dnf)`` float arrays (0/1, NaN) for finishing-status strings (rule above).

    A missing status (race not run yet) gives NaN for both. Work is per distinct string, so a whole
    history costs ~140 classifications.
    """
    codes, uniques = pd.factorize(pd.Series(status, dtype=object), use_na_sentinel=True)
    table = np.array([_classify_one(str(u)) for u in uniques] + [(np.nan, np.nan)], dtype=float).reshape(-1, 2)
    picked = table[codes]  # code -1 (missing) takes the trailing NaN row
    return picked[:, 0].copy(), picked[:, 1].copy()


# --- small parsers -------------------------------------------------------------------------------------

def lap_time_ms(values) -> np.ndarray:
    """``"m:ss.sss"`` / ``"ss.sss"`` lap times -> milliseconds (float, NaN when empty or unparseable)."""
    s = pd.Series(values, dtype=object)
    txt = s.where(s.notna(), "").astype(str).str.strip()
    parts = txt.str.rpartition(":")
    colon = (parts[1] == ":").to_numpy()
    minutes = pd.to_numeric(parts[0].where(colon, "0"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    seconds = pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = (minutes < 0) | (seconds < 0) | (colon & (seconds >= 60))
    return np.where(bad, np.nan, np.round((minutes * 60.0 + seconds) * 1000.0))


def _read(folder: Path, name: str, required: bool = True, warnings: list[str] | None = None,
          **kw) -> pd.DataFrame | None:
    """One Ergast table (``\\N`` and empty read as missing), rows checked against the header first."""
    path = folder / name
    if not path.exists():
        if required:
            raise IngestFileNotFoundError(path, message="Ergast table missing from the folder")
        return None
    data = path.read_bytes()
    notes = check_row_lengths(path, data)
    if warnings is not None:
        warnings += notes
    try:
        return pd.read_csv(io.BytesIO(data), na_values=NA, keep_default_na=False, **kw)
    except pd.errors.EmptyDataError as exc:
        raise IngestError(path, None, None, "empty file") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError(path, None, None, f"unreadable CSV: {exc}") from exc


def _need(path: Path, frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise IngestError(path, None, missing[0], "required column missing")


def _need_ids(path: Path, frame: pd.DataFrame, columns: list[str]) -> None:
    """Id columns: a whole number in every row (row numbers count the header as 1)."""
    for col in columns:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(values) | (values != np.round(values))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            given = frame[col].iloc[i]
            raise IngestError(path, i + 2, col, "value missing" if pd.isna(given) else f"not a whole number: {given!r}")


def is_ergast_folder(path: Path | str) -> bool:
    path = Path(path)
    return path.is_dir() and all((path / f).is_file() for f in REQUIRED_FILES)


# --- long form shared by every layout ------------------------------------------------------------------
#
# Every source (Ergast folder, race data folder, the store) is first brought to two tables: one row per
# race (``RACE_TABLE_COLUMNS``) and one row per driver and session (``SESSION_COLUMNS``, the shape of the
# store's ``entries`` table). ``entry_frame`` turns those into the canonical entry frame, so the frame
# read straight from files and the frame read back from the store are built by the same code.

RACE_TABLE_COLUMNS = schema.RACE_COLUMNS + ["wet", "safety_car", "safety_car_laps"]
SESSION_COLUMNS = ["race_id", "session", "driver", "driver_code", "constructor", "grid", "position",
                   "position_text", "points", "laps", "status", "milliseconds", "q1_ms", "q2_ms", "q3_ms"]
SESSIONS = ("race", "qualifying", "sprint")


def entry_frame(races: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """The canonical entry frame from a race table and session rows (long form above).

    Entrants of a race are its ``race`` session rows; a race without them (not run yet) takes the drivers
    of its qualifying and sprint rows, with outcomes NaN. ``classified`` is 1.0/0.0 (NaN unknown): a
    numeric ``position_text``, or, when the source gives none, a finishing status.
    """
    s = sessions
    race_rows = s[s["session"] == "race"]
    others = s[(s["session"] != "race") & ~s["race_id"].isin(race_rows["race_id"])]
    others = others.sort_values("session").drop_duplicates(["race_id", "driver"])  # qualifying before sprint
    base = pd.concat([race_rows, others.assign(
        grid=np.nan, position=np.nan, position_text=None, points=np.nan, laps=np.nan, status=None)],
        ignore_index=True)
    e = base.merge(races[RACE_TABLE_COLUMNS], on="race_id", how="inner", validate="many_to_one")
    key = ["race_id", "driver"]
    q = s[s["session"] == "qualifying"]
    qms = q[["q1_ms", "q2_ms", "q3_ms"]].to_numpy(dtype=float, na_value=np.nan)
    q = pd.DataFrame({"race_id": q["race_id"].to_numpy(), "driver": q["driver"].to_numpy(dtype=object),
                      "quali_position": q["position"].to_numpy(dtype=float, na_value=np.nan),
                      "quali_best_ms": _row_min(qms), "quali_q2_ms": qms[:, 1], "quali_q3_ms": qms[:, 2]})
    sp = s[s["session"] == "sprint"]
    sp = pd.DataFrame({"race_id": sp["race_id"].to_numpy(), "driver": sp["driver"].to_numpy(dtype=object),
                       "sprint_position": sp["position"].to_numpy(dtype=float, na_value=np.nan),
                       "sprint_points": sp["points"].to_numpy(dtype=float, na_value=np.nan)})
    e["driver"] = e["driver"].astype(object)
    e = e.merge(q, on=key, how="left", validate="many_to_one").merge(sp, on=key, how="left", validate="many_to_one")
    status = e["status"].to_numpy(dtype=object, na_value=None)
    dnf, mech = classify_status(status)
    text = e["position_text"].to_numpy(dtype=object, na_value=None)
    has_text = np.array([t is not None for t in text], dtype=bool)
    numeric_text = np.array([t is not None and str(t).strip().isdigit() for t in text], dtype=bool)
    classified = np.where(has_text, numeric_text.astype(float), np.where(np.isnan(dnf), np.nan, 1.0 - dnf))
    ran = ~np.isnan(e["position"].to_numpy(dtype=float, na_value=np.nan))
    out = e[schema.RACE_COLUMNS].copy()
    out["driver"] = e["driver"].to_numpy(dtype=object)
    out["driver_code"] = e["driver_code"].to_numpy(dtype=object, na_value=None)
    out["constructor"] = e["constructor"].to_numpy(dtype=object)
    for col in ("grid", "quali_position", "quali_best_ms", "quali_q2_ms", "quali_q3_ms", "sprint_position",
                "sprint_points", "position"):
        out[col] = e[col].to_numpy(dtype=float, na_value=np.nan)
    out["classified"] = np.where(ran, classified, np.nan)
    out["points"] = e["points"].to_numpy(dtype=float, na_value=np.nan)
    out["status"] = status
    out["dnf"] = np.where(ran | ~np.isnan(dnf), dnf, np.nan)
    out["mechanical_dnf"] = mech
    out["laps"] = e["laps"].to_numpy(dtype=float, na_value=np.nan)
    for col in schema.CONDITION_COLUMNS:
        out[col] = e[col].to_numpy(dtype=float, na_value=np.nan)
    out["season"] = out["season"].astype(np.int64)
    out["round"] = out["round"].astype(np.int64)
    out["race_id"] = out["race_id"].astype(np.int64)
    out["has_sprint"] = out["has_sprint"].astype(bool)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[us]")
    return sort_entries(out[schema.ENTRY_FRAME_COLUMNS])


def _row_min(values: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return np.empty(len(values))
    filled = np.where(np.isnan(values), np.inf, values)
    best = filled.min(axis=1)
    return np.where(np.isinf(best), np.nan, best)


def sort_entries(frame: pd.DataFrame) -> pd.DataFrame:
    """Schema order: ``date``, ``race_id``, ``grid`` (pit lane 0 and unknown NaN after the grid), ``position``."""
    g = frame["grid"].to_numpy(dtype=float)
    grid_key = np.where(np.isnan(g), np.inf, np.where(g == 0, 1e6, g))
    pos = frame["position"].to_numpy(dtype=float)
    order = np.lexsort((np.where(np.isnan(pos), np.inf, pos), grid_key, frame["race_id"].to_numpy(),
                        frame["date"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


# --- Ergast folder -------------------------------------------------------------------------------------

def load_ergast_races(folder: Path | str, laps_dir: Path | str | None | Literal["auto"] = "auto",
                      warnings: list[str] | None = None) -> pd.DataFrame:
    """One row per race (``RACE_TABLE_COLUMNS``): identity, start, sprint flag, safety car and wet flag.

    Notes on the files read (a last line without a line break, duplicate laps) go to ``warnings``.
    """
    folder = Path(folder)
    races = _read(folder, "races.csv", warnings=warnings)
    _need(folder / "races.csv", races, ["raceId", "year", "round", "circuitId", "name", "date"])
    _need_ids(folder / "races.csv", races, ["raceId", "year", "round"])
    circuits = _read(folder, "circuits.csv", required=False, warnings=warnings)
    ref = (races["circuitId"].map(circuits.set_index("circuitId")["circuitRef"]) if circuits is not None
           else races["circuitId"].astype(str))
    time = races["time"].fillna("00:00:00") if "time" in races else "00:00:00"
    date = pd.to_datetime(races["date"].astype(str) + " " + time, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    if date.isna().any():
        row = int(np.flatnonzero(date.isna().to_numpy())[0])
        raise IngestError(folder / "races.csv", row + 2, "date", f"not a date: {races['date'].iloc[row]!r}")
    sprint = _read(folder, "sprint_results.csv", required=False, warnings=warnings)
    has_sprint = races["raceId"].isin(sprint["raceId"]) if sprint is not None else pd.Series(False, index=races.index)
    if "sprint_date" in races:
        has_sprint |= races["sprint_date"].notna()
    out = pd.DataFrame({
        "race_id": races["raceId"].astype(np.int64), "season": races["year"].astype(np.int64),
        "round": races["round"].astype(np.int64), "race_name": races["name"].astype(str),
        "circuit": ref.astype(str), "circuit_type": circuit_type(ref.astype(str)),
        "date": date.astype("datetime64[us]"), "has_sprint": has_sprint.astype(bool),
    })
    laps_dir = _auto_laps_dir(folder) if laps_dir == "auto" else laps_dir
    out["wet"] = attach_wet(out, wet_races(laps_dir, warnings=warnings) if laps_dir is not None else None)
    key = out["season"].astype(str) + " " + out["race_name"]
    sc = safety_car_table(folder, warnings=warnings)
    if sc is not None:
        at = pd.Index(sc["race_key"]).get_indexer(key)
        out["safety_car"] = np.where(at >= 0, sc["safety_car"].to_numpy()[np.maximum(at, 0)], 0.0)
        out["safety_car_laps"] = np.where(at >= 0, sc["safety_car_laps"].to_numpy()[np.maximum(at, 0)], 0.0)
    else:
        out["safety_car"] = np.nan
        out["safety_car_laps"] = np.nan
    return out


def safety_car_table(folder: Path | str, warnings: list[str] | None = None) -> pd.DataFrame | None:
    """``race_key ("<year> <name>"), safety_car, safety_car_laps`` for races with a deployment, or None."""
    sc = _read(Path(folder), "safety_cars.csv", required=False, warnings=warnings)
    if sc is None:
        return None
    _need(Path(folder) / "safety_cars.csv", sc, ["Race", "FullLaps"])
    g = sc.groupby("Race", sort=False)["FullLaps"].agg(["size", "sum"])
    return pd.DataFrame({"race_key": g.index.astype(str), "safety_car": (g["size"] > 0).astype(float).to_numpy(),
                         "safety_car_laps": g["sum"].astype(float).to_numpy()})


def _auto_laps_dir(folder: Path) -> Path | None:
    candidate = folder.parent / "f1_laps"
    return candidate if candidate.is_dir() else None


def _results_sessions(folder: Path, name: str, session: str, drivers: pd.DataFrame,
                      constructors: pd.Series, status: pd.Series,
                      warnings: list[str] | None = None) -> pd.DataFrame | None:
    """``results.csv`` / ``sprint_results.csv`` as session rows, one per driver (shared drives merged)."""
    res = _read(folder, name, required=session == "race", warnings=warnings)
    if res is None:
        return None
    _need(folder / name, res, ["raceId", "driverId", "constructorId", "grid", "positionText", "positionOrder",
                               "points", "laps", "statusId"])
    _need_ids(folder / name, res, ["raceId", "driverId", "constructorId"])
    # 1950s-60s shared drives list a driver twice in one race: keep his best-placed car, add up the points.
    res = res.sort_values(["raceId", "driverId", "positionOrder"], kind="stable")
    points = res.groupby(["raceId", "driverId"], sort=False)["points"].transform("sum")
    first = ~res.duplicated(["raceId", "driverId"])
    res = res.assign(points=points)[first.to_numpy()]
    text = res["positionText"].astype(str)
    grid = res["grid"].to_numpy(dtype=float, na_value=np.nan)
    status_text = res["statusId"].map(status).astype(object).fillna("").str.lower()
    never_started = text.isin(["F", "W"]).to_numpy() | status_text.str.contains(NON_START).to_numpy(dtype=bool)
    grid[(grid == 0) & never_started] = np.nan  # no grid slot, not a pit-lane start
    n = len(res)
    return pd.DataFrame({
        "race_id": res["raceId"].to_numpy(np.int64), "session": np.full(n, session, dtype=object),
        "driver": res["driverId"].map(drivers["driverRef"]).to_numpy(dtype=object),
        "driver_code": res["driverId"].map(drivers["code"]).to_numpy(dtype=object, na_value=None),
        "constructor": res["constructorId"].map(constructors).to_numpy(dtype=object),
        "grid": grid, "position": res["positionOrder"].to_numpy(dtype=float, na_value=np.nan),
        "position_text": text.to_numpy(dtype=object), "points": res["points"].to_numpy(dtype=float, na_value=np.nan),
        "laps": res["laps"].to_numpy(dtype=float, na_value=np.nan),
        "status": res["statusId"].map(status).to_numpy(dtype=object, na_value=None),
        "milliseconds": (res["milliseconds"].to_numpy(dtype=float, na_value=np.nan) if "milliseconds" in res
                         else np.full(n, np.nan)),
        "q1_ms": np.full(n, np.nan), "q2_ms": np.full(n, np.nan), "q3_ms": np.full(n, np.nan),
    })


def load_ergast_sessions(folder: Path | str, warnings: list[str] | None = None) -> pd.DataFrame:
    """Every race, qualifying and sprint result of an Ergast folder as session rows (``SESSION_COLUMNS``).

    Notes on the files read (a last line without a line break) go to ``warnings``.
    """
    folder = Path(folder)
    tables = {}
    for name, columns in (("drivers", ["driverId", "driverRef", "code"]),
                          ("constructors", ["constructorId", "constructorRef"]), ("status", ["statusId", "status"])):
        tables[name] = _read(folder, f"{name}.csv", warnings=warnings)
        _need(folder / f"{name}.csv", tables[name], columns)
        _need_ids(folder / f"{name}.csv", tables[name], columns[:1])
    drivers = tables["drivers"].set_index("driverId")
    constructors = tables["constructors"].set_index("constructorId")["constructorRef"]
    status = tables["status"].set_index("statusId")["status"]
    parts = [_results_sessions(folder, "results.csv", "race", drivers, constructors, status, warnings),
             _results_sessions(folder, "sprint_results.csv", "sprint", drivers, constructors, status, warnings)]
    q = _read(folder, "qualifying.csv", required=False, warnings=warnings)
    if q is not None:
        _need(folder / "qualifying.csv", q, ["raceId", "driverId", "constructorId", "position"])
        _need_ids(folder / "qualifying.csv", q, ["raceId", "driverId", "constructorId"])
        q = q.drop_duplicates(["raceId", "driverId"])
        n = len(q)
        parts.append(pd.DataFrame({
            "race_id": q["raceId"].to_numpy(np.int64), "session": np.full(n, "qualifying", dtype=object),
            "driver": q["driverId"].map(drivers["driverRef"]).to_numpy(dtype=object),
            "driver_code": q["driverId"].map(drivers["code"]).to_numpy(dtype=object, na_value=None),
            "constructor": q["constructorId"].map(constructors).to_numpy(dtype=object),
            "grid": np.full(n, np.nan), "position": q["position"].to_numpy(dtype=float, na_value=np.nan),
            "position_text": np.full(n, None, dtype=object), "points": np.full(n, np.nan), "laps": np.full(n, np.nan),
            "status": np.full(n, None, dtype=object), "milliseconds": np.full(n, np.nan),
            **{f"{c}_ms": (lap_time_ms(q[c]) if c in q else np.full(n, np.nan)) for c in ("q1", "q2", "q3")},
        }))
    out = pd.concat([p for p in parts if p is not None], ignore_index=True)
    for col, table in (("driver", "drivers.csv"), ("constructor", "constructors.csv")):
        unknown = pd.isna(out[col].to_numpy(dtype=object))
        if unknown.any():
            raise IngestError(folder / table, None, col, f"{int(unknown.sum())} results refer to ids missing here")
    return out


def load_ergast_entries(folder: Path | str, laps_dir: Path | str | None | Literal["auto"] = "auto") -> pd.DataFrame:
    """The canonical entry frame (``schema.ENTRY_FRAME_COLUMNS``) of every race in an Ergast folder.

    ``laps_dir``: FastF1 lap files for the ``wet`` flag; ``"auto"`` uses ``<folder>/../f1_laps`` when it
    exists, None leaves ``wet`` NaN everywhere.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestFileNotFoundError(folder, message="Ergast folder not found")
    return entry_frame(load_ergast_races(folder, laps_dir), load_ergast_sessions(folder))


def attach_wet(races: pd.DataFrame, wet: pd.DataFrame | None) -> np.ndarray:
    """The ``wet`` column for rows with ``season, round`` from a ``wet_races`` table (NaN without lap data)."""
    if wet is None or wet.empty:
        return np.full(len(races), np.nan)
    idx = pd.MultiIndex.from_arrays([wet["season"].astype(np.int64), wet["round"].astype(np.int64)])
    at = idx.get_indexer(pd.MultiIndex.from_arrays([races["season"].astype(np.int64),
                                                     races["round"].astype(np.int64)]))
    return np.where(at >= 0, wet["wet"].to_numpy(dtype=float)[np.maximum(at, 0)], np.nan)


def load_ergast_reference(folder: Path | str) -> dict[str, pd.DataFrame]:
    """Ergast reference tables: ``drivers``, ``constructors``, ``circuits`` (``\\N`` read as missing)."""
    folder = Path(folder)
    return {name: _read(folder, f"{name}.csv") for name in ("drivers", "constructors", "circuits")}
