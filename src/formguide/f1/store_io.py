"""F1 <-> store: import any of the three layouts idempotently, read the canonical entry frame back.

Layouts (``detect_layout``):

* ``ergast``: a folder with ``races.csv`` and ``results.csv`` (plus qualifying, sprint, drivers, ...).
  Read and checked whole, then written in one transaction.
* ``race-folder``: one race weekend per folder (``racefolder.py``, ``docs/f1-race-folder.md``), or a folder
  of them. One transaction per race.
* ``fastf1-laps``: ``transformed_<grand_prix|sprint>_laps_<year>.csv`` files or a folder of them. One
  transaction per file; the races and their entrants must already be in the store (lap rows name
  drivers by their three-letter code, which is resolved among the race's entrants).

What is stored: a race is an ``events`` row (sport ``f1``, competition ``WC``, season ``"2024"``,
``external_key`` ``f1|<season>|<round>``, ``kickoff`` = race start, race facts in ``details``); drivers and
constructors are ``teams`` rows of kind ``driver`` / ``constructor`` (name = Ergast ref, ``code`` = the
driver's three-letter code) reachable through ``team_aliases`` (source = the kind); every driver's result
in every session is an ``entries`` row and every lap a ``laps`` row.

Idempotency: each race and each entry carries a row hash of its source values; unchanged rows are not
touched, corrected ones are rewritten. Counts in the report are rows: one per race (its race-level
facts) plus one per session entry, or one per lap for lap files. A session present in an import
replaces that session's rows of the race (drivers no longer listed are removed and counted as
updated); sessions absent from an import are left as stored. A rejected unit (file, folder, race)
leaves the store exactly as it was and is recorded in ``imports`` with the error.

Messy files: a CSV cut part-way through a row (a file still being written, e.g. under the season
pipeline's ``--watch``) rejects its unit, naming file, row and the first missing column, in every layout
(``laps.check_row_lengths``). A driver's lap listed twice in a lap file is resolved by the rule in
``laps.py`` (identical rows: one kept; differing rows: the one with a lap time, else the later one), with
a warning per dropped row in the file's report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from formguide.core.errors import FormguideError, IngestError, IngestFileNotFoundError
from formguide.core.sport import FileReport, IngestReport
from formguide.core.store.bulk import bulk_insert_columns
from formguide.core.store.db import session_scope
from formguide.core.store.locks import take_turn
from formguide.core.store.models import Competition, Entry, Event, ImportRecord, Season, Team, TeamAlias
from formguide.f1 import ergast, laps, racefolder
from formguide.f1.ergast import RACE_TABLE_COLUMNS, SESSION_COLUMNS, entry_frame

SPORT = "f1"
COMPETITION = "WC"
COMPETITION_NAME = "Formula 1 World Championship"
LAYOUT_ERGAST = "ergast"
LAYOUT_RACE_FOLDER = "race-folder"
LAYOUT_LAPS = "fastf1-laps"
_IN_CHUNK = 2_000
#: Race facts stored in ``events.details`` (besides the identity columns).
DETAIL_KEYS = ("race_name", "circuit", "circuit_type", "round", "has_sprint", "safety_car", "safety_car_laps", "wet")
_HASHED_ENTRY_COLUMNS = ["constructor", "driver_code", "grid", "position", "position_text", "points", "laps",
                         "status", "milliseconds", "q1_ms", "q2_ms", "q3_ms"]
_LAP_VALUES = ["lap_time_ms", "compound", "tyre_life", "stint", "track_status", "position"]


@dataclass
class Batch:
    """Races and their session rows from one unit of import (an Ergast folder or one race folder)."""

    path: Path
    races: pd.DataFrame
    sessions: pd.DataFrame
    content_hash: str | None
    source: str
    warnings: list[str] = field(default_factory=list)


# --- layout detection ----------------------------------------------------------------------------------

def detect_layout(path: Path | str) -> str:
    """``ergast``, ``race-folder`` or ``fastf1-laps`` for a path; IngestError when it is none of them."""
    path = Path(path)
    if not path.exists():
        raise IngestFileNotFoundError(path)
    if ergast.is_ergast_folder(path):
        return LAYOUT_ERGAST
    if path.is_dir() and racefolder.race_folders(path):
        return LAYOUT_RACE_FOLDER
    if laps.is_lap_source(path):
        return LAYOUT_LAPS
    raise IngestError(path, None, None, "not an F1 source: expected an Ergast folder (races.csv + results.csv), "
                      "a race folder (race.json) or folder of them, or FastF1 lap files "
                      "(transformed_<session>_laps_<year>.csv)")


# --- hashing -------------------------------------------------------------------------------------------

def _hash_rows(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """A stable 64-bit hash per row (hex) over ``columns``, numbers and text normalised first."""
    norm = pd.DataFrame(index=frame.index)
    for col in columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            norm[col] = values.astype(float).round(6).fillna(-9.87654321e12)
        else:
            norm[col] = values.astype(object).where(values.notna(), "\x00").astype(str)
    h = pd.util.hash_pandas_object(norm, index=False).to_numpy(dtype=np.uint64)
    return np.char.mod("%016x", h).astype(object)


def _json_safe(value):
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    return value


def _details(races: pd.DataFrame) -> list[dict]:
    cols = {k: races[k].tolist() for k in DETAIL_KEYS}
    return [{k: _json_safe(cols[k][i]) for k in DETAIL_KEYS} for i in range(len(races))]


def _event_hash(details: dict, kickoff: pd.Timestamp) -> str:
    payload = json.dumps({"details": details, "kickoff": kickoff.isoformat()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


# --- writing -------------------------------------------------------------------------------------------

def _resolve(session: Session, kind: str, names: Iterable[str], codes: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Team ids of drivers or constructors by ref (through aliases), creating and reporting unknown ones."""
    wanted = sorted(set(names))
    ids: dict[str, int] = {}
    for i in range(0, len(wanted), _IN_CHUNK):
        ids.update(session.execute(select(TeamAlias.alias, TeamAlias.team_id).where(
            TeamAlias.sport == SPORT, TeamAlias.source == kind, TeamAlias.alias.in_(wanted[i:i + _IN_CHUNK]))).all())
    missing = [n for n in wanted if n not in ids]
    created: list[str] = []
    if missing:
        teams = {t.name: t for t in session.scalars(select(Team).where(
            Team.sport == SPORT, Team.kind == kind, Team.name.in_(missing)))}
        new = [Team(sport=SPORT, kind=kind, name=n, code=codes.get(n)) for n in missing if n not in teams]
        session.add_all(new)
        session.flush()
        teams.update((t.name, t) for t in new)
        created = [t.name for t in new]
        bulk_insert_columns(session, "team_aliases", {
            "team_id": np.array([teams[n].id for n in missing], dtype=np.int64),
            "sport": [SPORT] * len(missing), "source": [kind] * len(missing), "alias": missing})
        ids.update((n, teams[n].id) for n in missing)
    if codes:
        known = [ids[n] for n in wanted if n in codes and n not in created]
        for i in range(0, len(known), _IN_CHUNK):  # fill codes learned later (never overwrite one)
            for team in session.scalars(select(Team).where(Team.id.in_(known[i:i + _IN_CHUNK]), Team.code.is_(None))):
                team.code = codes[team.name]
    return ids, created


def _seasons(session: Session, races: pd.DataFrame) -> tuple[int, dict[int, int]]:
    comp = session.scalars(select(Competition).where(Competition.sport == SPORT, Competition.code == COMPETITION)).first()
    if comp is None:
        comp = Competition(sport=SPORT, code=COMPETITION, name=COMPETITION_NAME)
        session.add(comp)
        session.flush()
    span = races.groupby("season")["date"].agg(["min", "max"])
    stored = {s.code: s for s in session.scalars(select(Season).where(Season.competition_id == comp.id))}
    out = {}
    for season, (lo, hi) in span.iterrows():
        lo, hi = pd.Timestamp(lo).to_pydatetime(), pd.Timestamp(hi).to_pydatetime()
        row = stored.get(str(season))
        if row is None:
            row = Season(competition_id=comp.id, code=str(season), start_date=lo, end_date=hi)
            session.add(row)
        else:
            row.start_date = min(row.start_date or lo, lo)
            row.end_date = max(row.end_date or hi, hi)
        session.flush()
        out[int(season)] = row.id
    return comp.id, out


def _stored_events(session: Session, keys: list[str]) -> dict[str, tuple[int, str | None]]:
    out: dict[str, tuple[int, str | None]] = {}
    for i in range(0, len(keys), _IN_CHUNK):
        out.update((k, (e, h)) for k, e, h in session.execute(select(Event.external_key, Event.id, Event.row_hash).where(
            Event.sport == SPORT, Event.external_key.in_(keys[i:i + _IN_CHUNK]))))
    return out


def _ints(values) -> np.ndarray:
    """Whole numbers held as floats -> Python ints, NaN -> None (object array)."""
    v = np.asarray(values, dtype=float)
    out = np.nan_to_num(v).astype(np.int64).astype(object)
    out[np.isnan(v)] = None
    return out


def _write_events(session: Session, batch: Batch, report: FileReport) -> np.ndarray:
    """Insert new races, update changed ones; returns each race's event id (order of ``batch.races``)."""
    races = batch.races.reset_index(drop=True)
    keys = [f"f1|{s}|{r}" for s, r in zip(races["season"].tolist(), races["round"].tolist(), strict=True)]
    comp_id, season_ids = _seasons(session, races)
    details = _details(races)
    kickoff = pd.to_datetime(races["date"])
    hashes = [_event_hash(d, k) for d, k in zip(details, kickoff, strict=True)]
    stored = _stored_events(session, keys)
    new = [i for i, k in enumerate(keys) if k not in stored]
    changed = [i for i, k in enumerate(keys) if k in stored and stored[k][1] != hashes[i]]
    report.inserted += len(new)
    report.updated += len(changed)
    report.unchanged += len(keys) - len(new) - len(changed)
    source = batch.path.name
    if changed:
        session.execute(update(Event), [
            {"id": stored[keys[i]][0], "kickoff": kickoff[i].to_pydatetime(), "details": details[i],
             "row_hash": hashes[i], "source": source, "season_id": season_ids[int(races["season"][i])]}
            for i in changed])
    if new:
        n = len(new)
        bulk_insert_columns(session, "events", {
            "sport": [SPORT] * n, "competition_id": [comp_id] * n,
            "season_id": [season_ids[int(races["season"][i])] for i in new],
            "external_key": [keys[i] for i in new], "kickoff": kickoff.to_numpy()[new],
            "status": ["scheduled"] * n, "row_hash": [hashes[i] for i in new], "source": [source] * n,
            "details": [json.dumps(details[i]) for i in new],
        })
        stored = _stored_events(session, keys)
    return np.array([stored[k][0] for k in keys], dtype=np.int64)


def _stored_entries(session: Session, event_ids: np.ndarray) -> pd.DataFrame:
    cols: list[list] = [[], [], [], []]
    ids = event_ids.tolist()
    for i in range(0, len(ids), _IN_CHUNK):
        rows = session.execute(select(Entry.event_id, Entry.session, Entry.driver_id, Entry.row_hash).where(
            Entry.event_id.in_(ids[i:i + _IN_CHUNK]))).all()
        for col, values in zip(cols, zip(*rows, strict=True), strict=False):
            col.extend(values)
    return pd.DataFrame({"event_id": np.array(cols[0], dtype=np.int64), "session": np.array(cols[1], dtype=object),
                         "driver_id": np.array(cols[2], dtype=np.int64), "row_hash": np.array(cols[3], dtype=object)})


def _write_entries(session: Session, batch: Batch, event_ids: np.ndarray, report: FileReport) -> None:
    s = batch.sessions.reset_index(drop=True)
    if s.empty:
        return
    race_ids = batch.races["race_id"].to_numpy(dtype=np.int64)
    s = s.assign(event_id=event_ids[pd.Index(race_ids).get_indexer(s["race_id"].to_numpy(dtype=np.int64))])
    latest = s.iloc[np.argsort(s["race_id"].to_numpy(), kind="stable")]
    codes = latest.dropna(subset=["driver_code"]).drop_duplicates("driver", keep="last")
    driver_ids, new_drivers = _resolve(session, "driver", s["driver"].tolist(),
                                       dict(zip(codes["driver"], codes["driver_code"], strict=True)))
    constructor_ids, new_constructors = _resolve(session, "constructor", s["constructor"].tolist(), {})
    report.new_teams += [f"driver:{n}" for n in new_drivers] + [f"constructor:{n}" for n in new_constructors]
    if new_drivers or new_constructors:
        report.warnings.append(f"created {len(new_drivers)} driver(s) and {len(new_constructors)} constructor(s) "
                               "not in the store before")
    s["driver_id"] = s["driver"].map(driver_ids).astype(np.int64)
    s["constructor_id"] = s["constructor"].map(constructor_ids).astype(np.int64)
    s["row_hash"] = _hash_rows(s, _HASHED_ENTRY_COLUMNS)
    old = _stored_entries(session, np.unique(s["event_id"].to_numpy()))
    key = ["event_id", "session", "driver_id"]
    merged = s[key + ["row_hash"]].merge(old, on=key, how="left", suffixes=("", "_old"), indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    changed = ~is_new & (merged["row_hash"] != merged["row_hash_old"]).to_numpy()
    present = s[["event_id", "session"]].drop_duplicates()
    stale = old.merge(present, on=["event_id", "session"]).merge(s[key], on=key, how="left", indicator=True)
    stale = stale[stale["_merge"] == "left_only"]
    report.inserted += int(is_new.sum())
    report.updated += int(changed.sum()) + len(stale)
    report.unchanged += int((~is_new & ~changed).sum())
    if len(stale):
        report.warnings.append(f"{len(stale)} stored entries no longer in the source were removed")
    gone = pd.concat([stale[key], s.loc[changed, key]], ignore_index=True)
    if len(gone):
        session.execute(text("DELETE FROM entries WHERE event_id = :e AND session = :s AND driver_id = :d"),
                        [{"e": int(e), "s": str(ss), "d": int(d)} for e, ss, d in gone.itertuples(index=False)])
    write = s[is_new | changed]
    if write.empty:
        return
    bulk_insert_columns(session, "entries", {
        "event_id": write["event_id"].to_numpy(np.int64), "session": write["session"].to_numpy(dtype=object),
        "driver_id": write["driver_id"].to_numpy(np.int64), "constructor_id": write["constructor_id"].to_numpy(np.int64),
        **{c: _ints(write[c].to_numpy(dtype=float, na_value=np.nan))
           for c in ("grid", "position", "laps", "milliseconds", "q1_ms", "q2_ms", "q3_ms")},
        "position_text": write["position_text"].to_numpy(dtype=object, na_value=None),
        "points": write["points"].to_numpy(dtype=float, na_value=np.nan),
        "status": write["status"].to_numpy(dtype=object, na_value=None),
        "row_hash": write["row_hash"].to_numpy(dtype=object),
    })


def _refresh_status(session: Session, event_ids: Iterable[int]) -> None:
    """``finished`` when a race has stored race results with positions, else ``scheduled``."""
    ids = [int(i) for i in event_ids]
    for i in range(0, len(ids), _IN_CHUNK):
        part = ids[i:i + _IN_CHUNK]
        done = set(session.scalars(select(Entry.event_id).where(
            Entry.event_id.in_(part), Entry.session == "race", Entry.position.is_not(None)).distinct()))
        for status, group in (("finished", [e for e in part if e in done]), ("scheduled", [e for e in part if e not in done])):
            if group:
                session.execute(update(Event).where(Event.id.in_(group), Event.status != status).values(status=status)
                                .execution_options(synchronize_session=False))


def write_batch(session: Session, batch: Batch) -> FileReport:
    """Write races and session rows inside the caller's transaction; returns the row counts."""
    report = FileReport(path=str(batch.path), status="ok", warnings=list(batch.warnings))
    if batch.races.empty:
        return report
    dup = batch.races.duplicated(["season", "round"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise IngestError(batch.path, None, "round", f"season {batch.races['season'].iloc[i]} round "
                          f"{batch.races['round'].iloc[i]} appears twice")
    event_ids = _write_events(session, batch, report)
    _write_entries(session, batch, event_ids, report)
    _refresh_status(session, event_ids)
    return report


# --- laps ----------------------------------------------------------------------------------------------

def _lap_codes(session: Session, event_ids: list[int]) -> pd.DataFrame:
    rows = session.execute(select(Entry.event_id, Team.code, Entry.driver_id).join(Team, Team.id == Entry.driver_id)
                           .where(Entry.event_id.in_(event_ids)).distinct()).all()
    return pd.DataFrame(rows, columns=["event_id", "driver_code", "driver_id"]).dropna().drop_duplicates(
        ["event_id", "driver_code"])


def write_laps(session: Session, path: Path, frame: pd.DataFrame) -> FileReport:
    """Write one lap file's rows (``laps.read_lap_file``) for races already in the store."""
    report = FileReport(path=str(path), status="ok")
    keys = [f"f1|{s}|{r}" for s, r in zip(frame["season"].tolist(), frame["round"].tolist(), strict=True)]
    uniq = sorted(set(keys))
    stored = _stored_events(session, uniq)
    missing = [k for k in uniq if k not in stored]
    if missing:
        row = keys.index(missing[0])
        raise IngestError(path, row + 2, "RoundNumber", f"race {missing[0]} is not in the store: import its "
                          "results (Ergast folder or race folder) before its laps")
    event_of = {k: v[0] for k, v in stored.items()}
    f = frame.assign(event_id=np.array([event_of[k] for k in keys], dtype=np.int64))
    codes = _lap_codes(session, sorted(set(event_of.values())))
    f = f.merge(codes, on=["event_id", "driver_code"], how="left")
    unknown = f["driver_id"].isna().to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise IngestError(path, row + 2, "Driver", f"driver code {f['driver_code'].iloc[row]!r} is not an "
                          f"entrant of {keys[row]} in the store")
    f["driver_id"] = f["driver_id"].astype(np.int64)
    sess = str(f["session"].iloc[0])
    ids = sorted(set(event_of.values()))
    old = pd.read_sql_query(text(
        "SELECT event_id, driver_id, lap, lap_time_ms, compound, tyre_life, stint, track_status, position FROM laps "
        f"WHERE session = :s AND event_id IN ({', '.join(str(i) for i in ids)})"), session.connection(), params={"s": sess})
    key = ["event_id", "driver_id", "lap"]
    new_hash = pd.Series(_hash_rows(f, _LAP_VALUES), index=f.index)
    if len(old):
        for c in ("lap_time_ms", "tyre_life", "stint", "position"):
            old[c] = pd.to_numeric(old[c]).astype(float)
        old["hash"] = _hash_rows(old, _LAP_VALUES)
    else:
        old = pd.DataFrame({**{c: pd.Series(dtype=np.int64) for c in key}, "hash": pd.Series(dtype=object)})
    m = f[key].assign(hash=new_hash.to_numpy()).merge(old[key + ["hash"]].astype({c: np.int64 for c in key}),
                                                      on=key, how="left", suffixes=("", "_old"))
    is_new = m["hash_old"].isna().to_numpy()
    changed = ~is_new & (m["hash"] != m["hash_old"]).to_numpy()
    stale = len(old) - int((~is_new).sum())
    report.inserted, report.updated = int(is_new.sum()), int(changed.sum()) + stale
    report.unchanged = len(f) - report.inserted - int(changed.sum())
    dirty = set(f.loc[is_new | changed, "event_id"].tolist())
    if stale:
        kept = set(map(tuple, m.loc[~is_new, key].to_numpy().tolist()))
        dirty |= {int(e) for e, d, lap in old[key].to_numpy().tolist() if (e, d, lap) not in kept}
    if not dirty:
        return report
    session.execute(text(f"DELETE FROM laps WHERE session = :s AND event_id IN ({', '.join(str(int(i)) for i in dirty)})"),
                    {"s": sess})
    w = f[f["event_id"].isin(dirty)]
    bulk_insert_columns(session, "laps", {
        "event_id": w["event_id"].to_numpy(np.int64), "session": [sess] * len(w),
        "driver_id": w["driver_id"].to_numpy(np.int64), "lap": w["lap"].to_numpy(np.int64),
        "lap_time_ms": _ints(w["lap_time_ms"]), "compound": w["compound"].to_numpy(dtype=object, na_value=None),
        "tyre_life": _ints(w["tyre_life"]), "stint": _ints(w["stint"]),
        "track_status": w["track_status"].to_numpy(dtype=object, na_value=None), "position": _ints(w["position"]),
    })
    return report


# --- ingest --------------------------------------------------------------------------------------------

def _folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(folder.glob("*.csv")):
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


def read_ergast_batch(folder: Path) -> Batch:
    """An Ergast folder read and checked (wet flags from ``../f1_laps`` when present)."""
    notes: list[str] = []
    races = ergast.load_ergast_races(folder, warnings=notes)
    sessions = ergast.load_ergast_sessions(folder, warnings=notes)
    return Batch(path=folder, races=races, sessions=sessions, content_hash=_folder_hash(folder), source=LAYOUT_ERGAST,
                 warnings=notes)


def _count_rows(path: Path) -> int:
    """Data rows of the files of a rejected unit (0 when they cannot be read)."""
    files = [path] if path.is_file() else sorted(path.glob("*.csv"))
    total = 0
    for f in files:
        try:
            with open(f, "rb") as fh:
                total += max(sum(1 for line in fh if line.strip(b", \r\n")) - 1, 0)
        except OSError:
            continue
    return total


def _units(path: Path) -> tuple[str, list[Path]]:
    layout = detect_layout(path)
    if layout == LAYOUT_ERGAST:
        return layout, [path]
    if layout == LAYOUT_RACE_FOLDER:
        return layout, racefolder.race_folders(path)
    return layout, laps.lap_files(path)


def _record(report: FileReport, sha: str | None) -> ImportRecord:
    return ImportRecord(sport=SPORT, path=report.path, sha256=sha, status=report.status, inserted=report.inserted,
                        updated=report.updated, unchanged=report.unchanged, rejected=report.rejected,
                        new_teams=report.new_teams, error=report.error)


def ingest_f1(engine: Engine, paths: Sequence[Path | str] | Path | str,
              progress: Callable[[int], None] | None = None) -> tuple[str, IngestReport]:
    """Import F1 sources of any layout; returns the layout(s) found (``", "``-joined) and the report.

    Result sources (Ergast, race folders) are written before lap files, whatever the order given, since
    laps attach to stored races. A path that is no F1 source, or does not exist, is rejected and
    recorded like any other failed unit.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    report = IngestReport()
    found: list[str] = []
    units: list[tuple[str, Path]] = []

    def rejected(path: Path, exc: FormguideError, sha: str | None, layout: str | None) -> None:
        file_report = FileReport(path=str(path), status="rejected", rejected=_count_rows(path) if path.exists() else 0,
                                 error=str(exc), warnings=[f"layout: {layout}"] if layout else [])
        with session_scope(engine) as s:
            s.add(_record(file_report, sha))
        report.files.append(file_report)
        if progress:
            progress(1)

    for item in paths:
        path = Path(item)
        try:
            layout, items = _units(path)
        except FormguideError as exc:
            rejected(path, exc, None, None)
            continue
        if layout not in found:
            found.append(layout)
        if not items:
            rejected(path, IngestError(path, None, None, f"no {layout} files found"), None, layout)
        units += [(layout, p) for p in items]
    units.sort(key=lambda u: u[0] == LAYOUT_LAPS)  # stable: results first, laps last
    for layout, path in units:
        sha = None
        try:
            if layout == LAYOUT_LAPS:
                notes: list[str] = []
                frame = laps.read_lap_file(path, warnings=notes)
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
                with session_scope(engine) as s:
                    take_turn(s.connection())  # one ingest transaction at a time (core.store.locks)
                    file_report = write_laps(s, path, frame)
                    file_report.warnings[:0] = [f"layout: {layout}", *notes]
                    s.add(_record(file_report, sha))
            else:
                if layout == LAYOUT_ERGAST:
                    batch = read_ergast_batch(path)
                else:
                    parsed = racefolder.parse_race_folder(path)
                    batch = Batch(path=path, races=parsed.races, sessions=parsed.sessions,
                                  content_hash=parsed.content_hash, source=layout, warnings=parsed.warnings)
                sha = batch.content_hash
                with session_scope(engine) as s:
                    take_turn(s.connection())
                    file_report = write_batch(s, batch)
                    file_report.warnings.insert(0, f"layout: {layout}")
                    s.add(_record(file_report, sha))
        except FormguideError as exc:
            rejected(path, exc, sha, layout)
            continue
        report.files.append(file_report)
        if progress:
            progress(1)
    return ", ".join(found) if found else "unknown", report


# --- reading back --------------------------------------------------------------------------------------

def load_entries(engine: Engine, seasons: Sequence[int] | None = None) -> pd.DataFrame:
    """The canonical entry frame (``schema.py``) of the stored races; ``race_id`` = ``events.id``.

    ``wet`` comes from stored race laps when the race has them (``laps.WET_SHARE_THRESHOLD``), else from
    the race's stored facts.
    """
    where = "e.sport = 'f1'"
    params: dict = {}
    if seasons:
        where += " AND s.code IN (" + ", ".join(f":s{i}" for i in range(len(seasons))) + ")"
        params = {f"s{i}": str(int(v)) for i, v in enumerate(seasons)}
    with engine.connect() as conn:
        ev = pd.read_sql_query(text(
            f"SELECT e.id AS race_id, s.code AS season, e.kickoff, e.details FROM events e "
            f"JOIN seasons s ON s.id = e.season_id WHERE {where}"), conn, params=params)
        en = pd.read_sql_query(text(
            "SELECT en.event_id AS race_id, en.session, d.name AS driver, d.code AS driver_code, "
            "c.name AS constructor, en.grid, en.position, en.position_text, en.points, en.laps, en.status, "
            "en.milliseconds, en.q1_ms, en.q2_ms, en.q3_ms FROM entries en JOIN events e ON e.id = en.event_id "
            "JOIN seasons s ON s.id = e.season_id JOIN teams d ON d.id = en.driver_id "
            f"LEFT JOIN teams c ON c.id = en.constructor_id WHERE {where}"), conn, params=params)
        wet = pd.read_sql_query(text(
            "SELECT l.event_id AS race_id, AVG(CASE WHEN l.compound IN ('INTERMEDIATE', 'WET') THEN 1.0 ELSE 0.0 END) "
            "AS wet_share FROM laps l JOIN events e ON e.id = l.event_id JOIN seasons s ON s.id = e.season_id "
            f"WHERE l.session = 'race' AND {where} GROUP BY l.event_id"), conn, params=params)
    details = [d if isinstance(d, dict) else (json.loads(d) if isinstance(d, str) else {}) for d in ev["details"]]
    facts = pd.DataFrame.from_records(details, columns=list(DETAIL_KEYS))
    races = pd.DataFrame({
        "race_id": ev["race_id"].astype(np.int64), "season": ev["season"].astype(np.int64),
        "round": facts["round"].astype(np.int64).to_numpy(), "race_name": facts["race_name"].to_numpy(dtype=object),
        "circuit": facts["circuit"].to_numpy(dtype=object), "circuit_type": facts["circuit_type"].to_numpy(dtype=object),
        "date": pd.to_datetime(ev["kickoff"]).astype("datetime64[us]"),
        "has_sprint": facts["has_sprint"].fillna(False).astype(bool).to_numpy(),
        **{c: pd.to_numeric(facts[c], errors="coerce").astype(float).to_numpy()
           for c in ("wet", "safety_car", "safety_car_laps")},
    })
    if len(wet):
        share = races["race_id"].map(wet.set_index("race_id")["wet_share"].astype(float))
        races["wet"] = np.where(share.notna(), (share >= laps.WET_SHARE_THRESHOLD).astype(float), races["wet"])
    sessions = pd.DataFrame({c: en[c] for c in SESSION_COLUMNS})
    for c in ("grid", "position", "points", "laps", "milliseconds", "q1_ms", "q2_ms", "q3_ms"):
        sessions[c] = pd.to_numeric(sessions[c]).astype(float)
    for c in ("driver", "driver_code", "constructor", "position_text", "status", "session"):
        sessions[c] = sessions[c].astype(object).where(sessions[c].notna(), None)
    return entry_frame(races[RACE_TABLE_COLUMNS], sessions)
