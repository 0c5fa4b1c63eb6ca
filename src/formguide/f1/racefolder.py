"""Race data folders: one folder per race weekend, the layout new seasons arrive in (``docs/f1-race-folder.md``).

::

    <season>-<round:02d>-<slug>/      e.g. 2025-01-australia/
        race.json                     season, round, name, circuit, date (+ optional facts, optional sessions)
        qualifying.csv                driver, constructor, position, q1, q2, q3 (driver_code optional)
        sprint.csv                    driver, constructor, grid, position, points, status, laps, ...
        race.csv                      same columns as sprint.csv

A session may instead be a JSON list of records: ``qualifying.json`` / ``sprint.json``, or a list under
``"qualifying"``, ``"sprint"`` or ``"race"`` inside ``race.json`` (one way per session, never two). Every file is checked before anything is stored;
an error names the file, the row (CSV: line number, header = 1; JSON: record number, first = 1) and
the column. Rules worth knowing:

* A session is either *run* (every row has a ``position``) or *not run yet* (no row has one); a
  mix is an error, and so are two drivers with the same position or a driver listed twice.
* A run race/sprint needs a ``grid`` for every driver who started (0 = pit-lane start); only a
  driver whose ``status`` says he never started (withdrew, did not start/qualify) may leave it
  empty. Before the race, ``grid`` may be missing altogether.
* A weekend with a race but no qualifying is accepted with a warning (qualifying features NaN).
* Every CSV row has as many fields as the header (``laps.check_row_lengths``): a file cut part-way
  through its last row (still being written) is rejected naming the row and the first missing column,
  rather than read with the rest of the row empty; a JSON file cut short is malformed JSON. A last
  line without a line break is accepted with a warning.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from formguide.core.errors import IngestError, IngestFileNotFoundError
from formguide.f1.circuits import PERMANENT, STREET, circuit_type
from formguide.f1.ergast import NON_START, RACE_TABLE_COLUMNS, SESSION_COLUMNS, entry_frame, lap_time_ms
from formguide.f1.laps import check_row_lengths

RACE_FILE = "race.json"
SESSION_FILES = ("qualifying", "sprint", "race")
FOLDER_NAME = re.compile(r"^(?P<season>\d{4})-(?P<round>\d{2})-(?P<slug>[a-z0-9_-]+)$")
REQUIRED_RACE_KEYS = ("season", "round", "name", "circuit", "date")
RESULT_NUMBERS = ("grid", "position", "points", "laps", "milliseconds")
QUALI_TIMES = ("q1", "q2", "q3")


@dataclass
class ParsedRace:
    """One race folder read and checked: a one-row race table and its session rows (``ergast`` long form).

    ``race_id`` is ``season * 100 + round`` until the store assigns an event id.
    """

    path: Path
    races: pd.DataFrame
    sessions: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    content_hash: str = ""
    row_count: int = 0


def is_race_folder(path: Path | str) -> bool:
    return Path(path).is_dir() and (Path(path) / RACE_FILE).is_file()


def race_folders(path: Path | str) -> list[Path]:
    """The race folders at ``path``: the folder itself, or its sub-folders holding a ``race.json`` (sorted)."""
    path = Path(path)
    if not path.exists():
        raise IngestFileNotFoundError(path)
    if is_race_folder(path):
        return [path]
    return sorted(p for p in path.iterdir() if is_race_folder(p)) if path.is_dir() else []


def _err(path: Path, row: int | None, column: str | None, message: str) -> IngestError:
    return IngestError(path, row, column, f"{message} (race folder {path.parent.name})")


def _load_json_doc(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _err(path, None, None, f"not UTF-8 text: {exc}") from exc
    if not text.strip():
        raise _err(path, None, None, "empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _err(path, exc.lineno, None, f"malformed JSON: {exc.msg} at column {exc.colno}") from exc


def _load_json(path: Path) -> dict:
    data = _load_json_doc(path)
    if not isinstance(data, dict):
        raise _err(path, None, None, "expected a JSON object with season, round, name, circuit, date")
    return data


def _race_row(path: Path, meta: dict, sessions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    for key in REQUIRED_RACE_KEYS:
        if meta.get(key) in (None, ""):
            raise _err(path, None, key, "required field missing")
    try:
        season, round_ = int(meta["season"]), int(meta["round"])
    except (TypeError, ValueError) as exc:
        raise _err(path, None, "season" if not str(meta["season"]).isdigit() else "round",
                   "not a whole number") from exc
    date = pd.to_datetime(str(meta["date"]), errors="coerce", utc=True)
    if pd.isna(date):
        raise _err(path, None, "date", f"not a date: {meta['date']!r} (use YYYY-MM-DD or ISO date-time, UTC)")
    m = FOLDER_NAME.match(path.parent.name)
    if m and (int(m["season"]), int(m["round"])) != (season, round_):
        raise _err(path, None, "round", f"season/round {season}/{round_} disagree with the folder name")
    circuit = str(meta["circuit"]).strip()
    kind = meta.get("circuit_type", circuit_type([circuit])[0])
    if kind not in (STREET, PERMANENT):
        raise _err(path, None, "circuit_type", f"must be {STREET!r} or {PERMANENT!r}, not {kind!r}")
    has_sprint = bool(meta.get("has_sprint", "sprint" in sessions))
    facts = {}
    for key in ("wet", "safety_car", "safety_car_laps"):
        value = meta.get(key)
        try:
            facts[key] = np.nan if value is None else float(value)
        except (TypeError, ValueError) as exc:
            raise _err(path, None, key, f"not a number: {value!r}") from exc
    return pd.DataFrame({
        "race_id": [season * 100 + round_], "season": [season], "round": [round_], "race_name": [str(meta["name"])],
        "circuit": [circuit], "circuit_type": [kind], "date": [date.tz_localize(None).as_unit("us")],
        "has_sprint": [has_sprint], **{k: [v] for k, v in facts.items()},
    })[RACE_TABLE_COLUMNS]


def _read_session_csv(path: Path, data: bytes, warnings: list[str]) -> pd.DataFrame:
    warnings += check_row_lengths(path, data, error=_err)
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise _err(path, None, None, "empty file") from exc
    except pd.errors.ParserError as exc:
        row = re.search(r"line (\d+)", str(exc))
        raise _err(path, int(row.group(1)) if row else None, None, f"malformed CSV: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise _err(path, None, None, f"not UTF-8 text: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    return raw


def _session_from_records(path: Path, name: str, records: object) -> pd.DataFrame:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise _err(path, None, name, "a session must be a list of objects, one per driver")
    raw = pd.DataFrame.from_records(records)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    return raw.astype(object).where(raw.notna(), "").map(lambda v: v if isinstance(v, str) else str(v))


def _numbers(path: Path, raw: pd.DataFrame, column: str, first_row: int) -> np.ndarray:
    text = raw[column].astype(str).str.strip() if column in raw else pd.Series("", index=raw.index)
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(values) & (text != "").to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _err(path, i + first_row, column, f"not a number: {text.iloc[i]!r}")
    return values


def _session(path: Path, name: str, raw: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """Check one session table and return it as session rows (race_id filled in later)."""
    if raw.empty:
        raise _err(path, None, None, f"{name}: no rows")
    for col in ("driver", "constructor"):
        if col not in raw:
            raise _err(path, None, col, "required column missing")
        empty = (raw[col].astype(str).str.strip() == "").to_numpy()
        if empty.any():
            raise _err(path, int(np.flatnonzero(empty)[0]) + first_row, col, "value missing")
    driver = raw["driver"].astype(str).str.strip()
    dup = driver.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((driver == driver.iloc[i]).to_numpy())[0])
        raise _err(path, i + first_row, "driver", f"driver {driver.iloc[i]!r} listed twice (also row {first + first_row})")
    n = len(raw)
    nums = {c: _numbers(path, raw, c, first_row) for c in RESULT_NUMBERS}
    text = {c: (raw[c].astype(str).str.strip().replace("", None).to_numpy(dtype=object) if c in raw
                else np.full(n, None, dtype=object)) for c in ("driver_code", "position_text", "status")}
    pos = nums["position"]
    run = ~np.isnan(pos)
    if run.any() and not run.all():
        raise _err(path, int(np.flatnonzero(~run)[0]) + first_row, "position",
                   "position missing: give every driver a position once the session is run, or none before")
    if run.any():
        if (pos < 1).any() or (pos != np.round(pos)).any():
            i = int(np.flatnonzero((pos < 1) | (pos != np.round(pos)))[0])
            raise _err(path, i + first_row, "position", f"not a position (1, 2, ...): {pos[i]:g}")
        dup = pd.Series(pos).duplicated().to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero(pos == pos[i])[0])
            raise _err(path, i + first_row, "position",
                       f"two drivers with position {pos[i]:g} ({driver.iloc[first]!r} row {first + first_row} "
                       f"and {driver.iloc[i]!r})")
    q_ms = {f"{c}_ms": np.full(n, np.nan) for c in QUALI_TIMES}
    if name == "qualifying":
        for c in QUALI_TIMES:
            if c in raw:
                given = (raw[c].astype(str).str.strip() != "").to_numpy()
                ms = lap_time_ms(raw[c].astype(str))
                bad = given & np.isnan(ms)
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise _err(path, i + first_row, c, f"not a lap time (m:ss.sss or seconds): {raw[c].iloc[i]!r}")
                q_ms[f"{c}_ms"] = ms
    else:
        grid = nums["grid"]
        if run.any() and "grid" not in raw:
            raise _err(path, None, "grid", f"the {name} has results but no grid column (use 0 for a pit-lane start)")
        status = pd.Series(text["status"], dtype=object).fillna("").str.lower().str.strip()
        no_start = status.str.contains(NON_START).to_numpy(dtype=bool)
        missing = run & np.isnan(grid) & ~no_start
        if missing.any():
            raise _err(path, int(np.flatnonzero(missing)[0]) + first_row, "grid",
                       "grid missing for a driver who started (0 = pit lane; leave empty only with a "
                       "non-start status such as 'Withdrew' or 'Did not start')")
        bad = ~np.isnan(grid) & ((grid < 0) | (grid != np.round(grid)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _err(path, i + first_row, "grid", f"not a grid slot (0 = pit lane, 1, 2, ...): {grid[i]:g}")
    return pd.DataFrame({
        "race_id": np.zeros(n, dtype=np.int64), "session": np.full(n, name, dtype=object),
        "driver": driver.to_numpy(dtype=object), "driver_code": text["driver_code"],
        "constructor": raw["constructor"].astype(str).str.strip().to_numpy(dtype=object),
        "grid": nums["grid"], "position": pos, "position_text": text["position_text"], "points": nums["points"],
        "laps": nums["laps"], "status": text["status"], "milliseconds": nums["milliseconds"], **q_ms,
    })[SESSION_COLUMNS]


def parse_race_folder(folder: Path | str) -> ParsedRace:
    """Read and check one race folder; raises ``IngestError`` (file, row, column) on anything wrong."""
    folder = Path(folder)
    if not folder.exists():
        raise IngestFileNotFoundError(folder)
    meta_path = folder / RACE_FILE
    if not meta_path.is_file():
        raise IngestError(folder, None, None, f"not a race folder: {RACE_FILE} missing")
    digest = hashlib.sha256()
    meta_bytes = meta_path.read_bytes()
    digest.update(meta_bytes)
    meta = _load_json(meta_path)
    warnings: list[str] = []
    sessions: dict[str, pd.DataFrame] = {}
    rows = 0
    for name in SESSION_FILES:
        files = [folder / f"{name}.csv"] + ([folder / f"{name}.json"] if name != "race" else [])
        given = [p for p in files if p.is_file()] + ([meta_path] if name in meta else [])
        if len(given) > 1:
            raise _err(given[1], None, name, f"{name} given twice ({', '.join(p.name for p in given)})")
        if not given:
            continue
        src = given[0]
        if src.suffix == ".csv":
            data = src.read_bytes()
            digest.update(data)
            raw, first_row = _read_session_csv(src, data, warnings), 2
        else:
            if src != meta_path:
                digest.update(src.read_bytes())
                doc = _load_json_doc(src)
                if doc is None:
                    raise _err(src, None, None, "empty file")
                records = doc.get(name, doc.get("results")) if isinstance(doc, dict) else doc
            else:
                records = meta[name]
            raw, first_row = _session_from_records(src, name, records), 1
        sessions[name] = _session(src, name, raw, first_row)
        rows += len(raw)
    races = _race_row(meta_path, meta, sessions)
    race_id = int(races["race_id"].iloc[0])
    if "race" in sessions and "qualifying" not in sessions:
        warnings.append(f"{folder.name}: race without qualifying (quali_position and quali_best_ms left NaN)")
    if not sessions:
        warnings.append(f"{folder.name}: no session files (calendar entry only)")
    frame = (pd.concat(list(sessions.values()), ignore_index=True) if sessions
             else pd.DataFrame({c: pd.Series(dtype=object) for c in SESSION_COLUMNS}))
    frame["race_id"] = race_id
    return ParsedRace(path=folder, races=races, sessions=frame, warnings=warnings,
                      content_hash=digest.hexdigest(), row_count=rows)


def load_race_folder_entries(path: Path | str) -> pd.DataFrame:
    """The canonical entry frame of a race folder or of a folder of race folders (pure, no store)."""
    parsed = [parse_race_folder(p) for p in race_folders(path)]
    if not parsed:
        raise IngestError(path, None, None, f"no race folders (folders with {RACE_FILE}) found")
    races = pd.concat([p.races for p in parsed], ignore_index=True)
    sessions = pd.concat([p.sessions for p in parsed if len(p.sessions)], ignore_index=True) if any(
        len(p.sessions) for p in parsed) else parsed[0].sessions
    return entry_frame(races, sessions)
