"""Football <-> store: write parsed football-data files idempotently, read the canonical frame back.

Each file is one transaction, its ``imports`` record included. A match is identified by
competition, season, date, home and away team (``events.external_key``); its ``row_hash`` (result,
statistics and odds of the source row) tells an unchanged row from a corrected one. Unchanged rows
are not touched; corrected rows are rewritten (their result and odds replaced).

Speed: a full football-data history is about 60,000 matches and 3.3 million prices. Files are
parsed in a worker process while the previous one is written, and every per-row step of the write
is an array operation (``core.store.bulk``): prices go in as three numbers per row (event, odds type,
price), the strings of an odds type stored once in ``odds_types``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from formguide.core.errors import FormguideError, IngestError
from formguide.core.sport import FileReport, IngestReport
from formguide.core.store.bulk import bulk_insert_columns
from formguide.core.store.db import session_scope
from formguide.core.store.models import (
    Competition,
    Event,
    ImportRecord,
    Odds,
    OddsType,
    Result,
    Season,
    Team,
    TeamAlias,
)
from formguide.football import schema
from formguide.football.odds import OddsColumn
from formguide.football.parse import ParsedFile, attach_wide_odds, iter_csv_files, parse_file

SPORT = "football"
SOURCE = "football-data"
#: Ids per ``IN (...)`` list, well inside SQLite's bound-parameter limit.
_IN_CHUNK = 5_000


def _external_keys(matches: pd.DataFrame) -> list[str]:
    days = matches["kickoff"].dt.strftime("%Y-%m-%d").tolist()
    return [f"{c}|{s}|{d}|{h}|{a}" for c, s, d, h, a in zip(
        matches["competition"].tolist(), matches["season"].tolist(), days, matches["home_team"].tolist(),
        matches["away_team"].tolist(), strict=True)]


def _resolve_teams(session: Session, names: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Map source names to team ids through aliases, creating (and reporting) teams never seen before."""
    wanted = sorted(set(names))
    rows = session.execute(
        select(TeamAlias.alias, TeamAlias.team_id).where(TeamAlias.sport == SPORT, TeamAlias.source == SOURCE,
                                                           TeamAlias.alias.in_(wanted))
    ).all()
    ids = {alias: team_id for alias, team_id in rows}
    new = [n for n in wanted if n not in ids]
    if not new:
        return ids, new
    teams = {t.name: t for t in session.scalars(
        select(Team).where(Team.sport == SPORT, Team.kind == "team", Team.name.in_(new)))}
    created = [Team(sport=SPORT, kind="team", name=name) for name in new if name not in teams]
    session.add_all(created)
    session.flush()
    teams.update((t.name, t) for t in created)
    session.add_all([TeamAlias(team_id=teams[name].id, sport=SPORT, source=SOURCE, alias=name) for name in new])
    session.flush()
    ids.update((name, teams[name].id) for name in new)
    return ids, new


def _get_or_create_season(session: Session, competition: str, season: str, matches: pd.DataFrame) -> tuple[int, int]:
    comp = session.scalars(select(Competition).where(Competition.sport == SPORT, Competition.code == competition)).first()
    if comp is None:
        comp = Competition(sport=SPORT, code=competition, name=LEAGUE_NAMES.get(competition))
        session.add(comp)
        session.flush()
    row = session.scalars(select(Season).where(Season.competition_id == comp.id, Season.code == season)).first()
    start, end = matches["kickoff"].min().to_pydatetime(), matches["kickoff"].max().to_pydatetime()
    if row is None:
        row = Season(competition_id=comp.id, code=season, start_date=start, end_date=end)
        session.add(row)
    else:
        row.start_date = min(row.start_date or start, start)
        row.end_date = max(row.end_date or end, end)
    session.flush()
    return comp.id, row.id


def _odds_type_ids(session: Session, kinds: Sequence[OddsColumn]) -> np.ndarray:
    """``odds_types.id`` of each kind of price, creating the kinds not stored yet."""
    if not kinds:
        return np.empty(0, dtype=np.int32)
    stored = {(b, m, s, bool(c)): i for i, b, m, s, c in session.execute(
        select(OddsType.id, OddsType.bookmaker, OddsType.market, OddsType.selection, OddsType.is_closing))}
    missing = sorted({tuple(k) for k in kinds} - set(stored))
    if missing:
        rows = [OddsType(bookmaker=b, market=m, selection=s, is_closing=c) for b, m, s, c in missing]
        session.add_all(rows)
        session.flush()
        stored.update(((r.bookmaker, r.market, r.selection, r.is_closing), r.id) for r in rows)
    return np.array([stored[tuple(k)] for k in kinds], dtype=np.int32)


def _ints(values: np.ndarray) -> np.ndarray:
    """Whole numbers held as floats -> Python ints, NaN -> None (object array)."""
    out = np.nan_to_num(values).astype(np.int64).astype(object)
    out[np.isnan(values)] = None
    return out


def _stats_json(m: pd.DataFrame) -> list[str]:
    """The ``results.stats`` JSON of each row (statistics present, then the referee), as ``json.dumps`` writes it.

    Rows share a handful of patterns of present statistics, so each pattern gets a ``%``-template
    and the per-row work is one string format.
    """
    names = schema.STAT_COLUMNS
    stats = m[names].to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(stats)
    ints = np.nan_to_num(stats).astype(np.int64)
    codes, refs = pd.factorize(m["referee"].to_numpy(dtype=object, na_value=None))
    ref_part = np.array([f'"referee": {json.dumps(r)}' if isinstance(r, str) and r else "" for r in refs] + [""],
                        dtype=object)[codes]  # code -1 (no referee) takes the trailing ""
    patterns, which = np.unique(present, axis=0, return_inverse=True)
    which = which.reshape(-1)
    out = np.empty(len(m), dtype=object)
    for p, pattern in enumerate(patterns):
        rows = np.flatnonzero(which == p)
        fields = [f'"{names[j]}": %d' for j in np.flatnonzero(pattern)]
        values = ints[np.ix_(rows, np.flatnonzero(pattern))].tolist()
        for with_ref in (False, True):
            sel = (ref_part[rows] != "") == with_ref
            template = "{" + ", ".join(fields + (["%s"] if with_ref else [])) + "}"
            refs_sel = ref_part[rows][sel].tolist()
            vals_sel = [values[i] for i in np.flatnonzero(sel)]
            if with_ref:
                out[rows[sel]] = [template % (*v, r) for v, r in zip(vals_sel, refs_sel, strict=True)]
            else:
                out[rows[sel]] = [template % tuple(v) for v in vals_sel]
    return out.tolist()


def _write_results(session: Session, event_ids: np.ndarray, m: pd.DataFrame) -> None:
    """Result rows (scores, outcome, statistics JSON) of the played matches; fixtures get none."""
    played = m["home_goals"].notna().to_numpy()
    if not played.any():
        return
    sub = m.loc[played]
    bulk_insert_columns(session, "results", {
        "event_id": event_ids[played],
        **{col: _ints(sub[src].to_numpy(dtype=float, na_value=np.nan)) for col, src in (
            ("home_score", "home_goals"), ("away_score", "away_goals"),
            ("ht_home_score", "ht_home_goals"), ("ht_away_score", "ht_away_goals"))},
        "outcome": sub["result"].to_numpy(dtype=object),
        "stats": _stats_json(sub),
    })


def _write_odds(session: Session, event_ids: np.ndarray, prices: np.ndarray, kinds: Sequence[OddsColumn]) -> None:
    """One row per price present; rows go in key order, the order of the table's b-tree."""
    r, j = np.nonzero(~np.isnan(prices))
    if not r.size:
        return
    ev = event_ids.astype(np.int32)[r]
    types = _odds_type_ids(session, kinds)[j]
    order = np.lexsort((types, ev))
    bulk_insert_columns(session, "odds", {"event_id": ev[order], "type_id": types[order],
                                          "price": prices[r, j][order].astype(np.float64)})


def write_parsed(session: Session, parsed: ParsedFile) -> FileReport:
    """Write one parsed file inside the caller's transaction; returns the per-file counts."""
    m = parsed.matches.reset_index(drop=True)
    report = FileReport(path=str(parsed.path), status="ok", warnings=list(parsed.warnings))
    if m.empty:
        return report
    comp_id, season_id = _get_or_create_season(session, parsed.competition, parsed.season, m)
    team_ids, new_teams = _resolve_teams(session, pd.concat([m["home_team"], m["away_team"]]).tolist())
    report.new_teams = new_teams
    keys = _external_keys(m)
    hashes = m["row_hash"].to_numpy(dtype=object)

    def stored() -> tuple[pd.Index, np.ndarray, np.ndarray]:
        rows = session.execute(select(Event.external_key, Event.id, Event.row_hash).where(
            Event.sport == SPORT, Event.season_id == season_id)).all()
        return (pd.Index([r[0] for r in rows], dtype=object), np.array([r[1] for r in rows], dtype=np.int64),
                np.array([r[2] for r in rows], dtype=object))

    old_keys, old_ids, old_hashes = stored()
    at = old_keys.get_indexer(keys)
    is_new = at < 0
    changed = ~is_new & (old_hashes[np.maximum(at, 0)] != hashes) if len(old_keys) else np.zeros(len(m), bool)
    report.inserted = int(is_new.sum())
    report.updated = int(changed.sum())
    report.unchanged = len(m) - report.inserted - report.updated
    if not (is_new.any() or changed.any()):
        return report
    played = m["home_goals"].notna().to_numpy()
    status = np.where(played, "finished", "scheduled")
    source = Path(parsed.path).name
    if changed.any():
        ids = old_ids[at[changed]]
        for chunk in range(0, len(ids), _IN_CHUNK):
            part = ids[chunk:chunk + _IN_CHUNK].tolist()
            session.execute(delete(Result).where(Result.event_id.in_(part)))
            session.execute(delete(Odds).where(Odds.event_id.in_(part)))
        kick = m["kickoff"].dt.to_pydatetime()
        session.execute(update(Event), [
            {"id": int(ids[i]), "kickoff": kick[k], "status": str(status[k]), "row_hash": hashes[k], "source": source}
            for i, k in enumerate(np.flatnonzero(changed))])
    if is_new.any():
        new = np.flatnonzero(is_new)
        k = len(new)
        bulk_insert_columns(session, "events", {
            "sport": [SPORT] * k, "competition_id": [comp_id] * k, "season_id": [season_id] * k,
            "external_key": [keys[i] for i in new], "kickoff": m["kickoff"].to_numpy()[new],
            "home_team_id": m["home_team"].map(team_ids).to_numpy(dtype=np.int64)[new],
            "away_team_id": m["away_team"].map(team_ids).to_numpy(dtype=np.int64)[new],
            "status": status[new].astype(object), "row_hash": hashes[new], "source": [source] * k,
        })
        old_keys, old_ids, _ = stored()
        at = old_keys.get_indexer(keys)
    touched = np.flatnonzero(is_new | changed)
    event_ids = old_ids[at[touched]]
    sub = m.iloc[touched].reset_index(drop=True)
    _write_results(session, event_ids, sub)
    _write_odds(session, event_ids, parsed.odds_prices[touched], parsed.odds_kinds)
    return report


def _import_record(report: FileReport, sha: str | None) -> ImportRecord:
    return ImportRecord(sport=SPORT, path=report.path, sha256=sha, status=report.status,
                        inserted=report.inserted, updated=report.updated, unchanged=report.unchanged,
                        rejected=report.rejected, new_teams=report.new_teams, error=report.error)


def _parse_or_error(path: Path, bad_odds: str) -> ParsedFile | FormguideError:
    try:
        return parse_file(path, bad_odds=bad_odds)  # type: ignore[arg-type]
    except FormguideError as exc:
        return exc


def _parsed_in_order(files: list[Path], workers: int, bad_odds: str
                     ) -> Iterator[tuple[Path, ParsedFile | FormguideError]]:
    """Parse files in worker processes while the caller writes the previous one (I/O and CPU overlap)."""
    parse = functools.partial(_parse_or_error, bad_odds=bad_odds)
    if workers <= 0 or len(files) < 4:
        for path in files:
            yield path, parse(path)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        ahead = 2 * workers  # parsed files waiting in memory: bounded, so peak memory is too
        pending = [pool.submit(parse, p) for p in files[:ahead]]
        for i, path in enumerate(files):
            if i + ahead < len(files):
                pending.append(pool.submit(parse, files[i + ahead]))
            result = pending[i].result()
            pending[i] = None  # type: ignore[call-overload]  # free the parsed file once written
            yield path, result


def _expand(paths: Sequence[Path | str]) -> tuple[list[Path], list[tuple[Path, IngestError]]]:
    """The CSV files behind ``paths`` (each once), and the paths that cannot be read as such."""
    files: list[Path] = []
    bad: list[tuple[Path, IngestError]] = []
    seen: set[Path] = set()
    for item in paths:
        try:
            found = iter_csv_files(item)
        except IngestError as exc:
            bad.append((Path(item), exc))
            continue
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(f)
    return files, bad


def ingest_files(engine: Engine, paths: Sequence[Path | str] | Path | str, *,
                 progress: Callable[[int], None] | None = None, strict: bool = False,
                 workers: int | None = None, bad_odds: Literal["warn", "raise"] = "warn") -> IngestReport:
    """Import football-data CSV files/folders; one transaction per file; every file is recorded.

    A rejected file (including a path that does not exist) leaves the store exactly as it was (its
    transaction is rolled back) and is reported and recorded in ``imports`` with its error; with
    ``strict`` the first rejection is raised instead. ``bad_odds`` is the parser's rule for invalid
    single prices. Parsing runs in ``workers`` background processes (default: one when there are at
    least two CPUs).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, missing = _expand(paths)
    if workers is None:
        workers = 1 if (os.cpu_count() or 1) >= 2 else 0
    report = IngestReport()

    def rejected(path: Path, exc: FormguideError, sha: str | None) -> None:
        file_report = FileReport(path=str(path), status="rejected", rejected=_count_rows(path), error=str(exc))
        with session_scope(engine) as s:
            s.add(_import_record(file_report, sha))
        report.files.append(file_report)
        if progress:
            progress(1)
        if strict:
            raise exc

    for path, exc in missing:
        rejected(path, exc, None)
    for path, parsed in _parsed_in_order(files, workers, bad_odds):
        if isinstance(parsed, FormguideError):
            rejected(path, parsed, None)
            continue
        try:
            with session_scope(engine) as s:
                file_report = write_parsed(s, parsed)
                s.add(_import_record(file_report, parsed.content_hash))
        except FormguideError as exc:
            rejected(path, exc, parsed.content_hash)
            continue
        report.files.append(file_report)
        if progress:
            progress(1)
    return report


def _count_rows(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return max(sum(1 for line in fh if line.strip(b", \r\n")) - 1, 0)
    except OSError:
        return 0


def load_frame(engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
    """The canonical match frame (schema.py) for the competitions, with ``event_id`` and wide odds."""
    with engine.connect() as conn:
        q = (
            "SELECT e.id AS event_id, c.code AS competition, s.code AS season, e.kickoff, "
            "ht.name AS home_team, at.name AS away_team, r.home_score, r.away_score, r.ht_home_score, "
            "r.ht_away_score, r.outcome, r.stats "
            "FROM events e JOIN competitions c ON c.id = e.competition_id JOIN seasons s ON s.id = e.season_id "
            "JOIN teams ht ON ht.id = e.home_team_id JOIN teams at ON at.id = e.away_team_id "
            "LEFT JOIN results r ON r.event_id = e.id WHERE e.sport = 'football'"
        )
        params: dict = {}
        if competitions:
            q += " AND c.code IN (" + ", ".join(f":c{i}" for i in range(len(competitions))) + ")"
            params = {f"c{i}": c for i, c in enumerate(competitions)}
        raw = pd.read_sql_query(_text(q), conn, params=params)
        ids = raw["event_id"].tolist()
        odds = _load_odds(conn, competitions, params)
    frame = pd.DataFrame({
        "event_id": raw["event_id"].astype("int64"),
        "competition": raw["competition"].astype(str),
        "season": raw["season"].astype(str),
        "kickoff": pd.to_datetime(raw["kickoff"]),
        "home_team": raw["home_team"].astype(str),
        "away_team": raw["away_team"].astype(str),
        "home_goals": raw["home_score"].astype(float),
        "away_goals": raw["away_score"].astype(float),
        "ht_home_goals": raw["ht_home_score"].astype(float),
        "ht_away_goals": raw["ht_away_score"].astype(float),
        "result": raw["outcome"].astype(object).where(raw["outcome"].notna(), None),
    })
    stats = [s if isinstance(s, dict) else (json.loads(s) if isinstance(s, str) else {}) for s in raw["stats"]]
    stats_df = pd.DataFrame.from_records(stats, columns=schema.STAT_COLUMNS + ["referee"])
    for col in schema.STAT_COLUMNS:
        frame[col] = pd.to_numeric(stats_df[col], errors="coerce").astype(float).to_numpy()
    frame["referee"] = stats_df["referee"].astype(object).to_numpy()
    if len(ids) == 0:
        odds = odds.iloc[0:0]
    frame = _attach_odds_by_event(frame, odds)
    frame = frame.sort_values(["kickoff", "competition", "home_team"], kind="stable").reset_index(drop=True)
    return frame


def _text(q: str):  # small indirection so read_sql accepts named params on every backend
    from sqlalchemy import text

    return text(q)


def _load_odds(conn, competitions, params) -> pd.DataFrame:
    q = ("SELECT o.event_id, o.bookmaker, o.market, o.selection, o.price, o.is_closing FROM odds o "
         "JOIN events e ON e.id = o.event_id JOIN competitions c ON c.id = e.competition_id "
         "WHERE e.sport = 'football'")
    if competitions:
        q += " AND c.code IN (" + ", ".join(f":c{i}" for i in range(len(competitions))) + ")"
    return pd.read_sql_query(_text(q), conn, params=params)


def _attach_odds_by_event(frame: pd.DataFrame, odds: pd.DataFrame) -> pd.DataFrame:
    """Reuse the parser's wide-odds rules by giving the odds the match key columns."""
    key = frame[["event_id"] + schema.KEY_COLUMNS]
    long = odds.merge(key, on="event_id", how="inner")
    long["is_closing"] = long["is_closing"].astype(bool)
    return attach_wide_odds(frame, long[schema.ODDS_COLUMNS])


LEAGUE_NAMES = {
    "E0": "England Premier League", "E1": "England Championship", "E2": "England League One",
    "E3": "England League Two", "SC0": "Scotland Premiership", "SC1": "Scotland Championship",
    "D1": "Germany Bundesliga", "D2": "Germany 2. Bundesliga", "I1": "Italy Serie A", "I2": "Italy Serie B",
    "SP1": "Spain La Liga", "SP2": "Spain Segunda", "F1": "France Ligue 1", "F2": "France Ligue 2",
    "N1": "Netherlands Eredivisie", "B1": "Belgium Pro League", "P1": "Portugal Primeira Liga",
    "T1": "Turkey Super Lig", "G1": "Greece Super League",
}
