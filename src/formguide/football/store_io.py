"""Football <-> store: write parsed football-data files idempotently, read the canonical frame back.

Each file is one transaction, its ``imports`` record included. A match is identified by
competition, season, date, home and away team (``events.external_key``); its ``row_hash`` (result,
statistics and odds of the source row) tells an unchanged row from a corrected one. Unchanged rows
are not touched; corrected rows are rewritten (their result and odds replaced).

``events.status`` is the parser's: ``finished``, ``scheduled``, or, for a match kept without a result,
``abandoned`` / ``awarded`` / ``unplayed`` (such events are not in ``load_frame``). A later file that
gives the match a result changes its row hash, so the event is rewritten as ``finished``.

Speed: a full football-data history is about 60,000 matches and 4 million prices. Files are
parsed in a worker process while the previous one is written, and every per-row step of the write
is an array operation (``core.store.bulk``): prices go in as three numbers per row (event, odds type,
price), plus the line (``odds.line``) for the prices that have one, the strings of an odds type stored
once in ``odds_types``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from formguide.core.errors import FormguideError, IngestError
from formguide.core.sport import FileReport, IngestReport
from formguide.core.store.bulk import bulk_insert_columns
from formguide.core.store.db import session_scope
from formguide.core.store.locks import take_turn
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
from formguide.football.parse import ParsedFile, attach_wide_odds, iter_csv_files, parse_file, parse_worker

SPORT = "football"
SOURCE = "football-data"
#: Ids per ``IN (...)`` list, well inside SQLite's bound-parameter limit.
_IN_CHUNK = 5_000
# Core tables: the writer runs Core statements on the session's connection (the ORM layer would add
# about half a millisecond to each of the ~2,000 small statements of a full load).
_EVENTS, _TEAMS, _ALIASES = Event.__table__, Team.__table__, TeamAlias.__table__


def _external_keys(matches: pd.DataFrame) -> list[str]:
    days = np.datetime_as_string(matches["kickoff"].to_numpy().astype("datetime64[D]")).tolist()
    return [f"{c}|{s}|{d}|{h}|{a}" for c, s, d, h, a in zip(
        matches["competition"].tolist(), matches["season"].tolist(), days, matches["home_team"].tolist(),
        matches["away_team"].tolist(), strict=True)]


def _resolve_teams(conn: Connection, names: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Map source names to team ids through aliases, creating (and reporting) teams never seen before."""
    wanted = sorted(set(names))
    ids = dict(conn.execute(select(_ALIASES.c.alias, _ALIASES.c.team_id).where(
        _ALIASES.c.sport == SPORT, _ALIASES.c.source == SOURCE, _ALIASES.c.alias.in_(wanted))).all())
    new = [n for n in wanted if n not in ids]
    if not new:
        return ids, new

    def team_ids() -> dict[str, int]:
        return dict(conn.execute(select(_TEAMS.c.name, _TEAMS.c.id).where(
            _TEAMS.c.sport == SPORT, _TEAMS.c.kind == "team", _TEAMS.c.name.in_(new))).all())

    teams = team_ids()
    missing = [name for name in new if name not in teams]
    if missing:
        conn.execute(insert(_TEAMS), [{"sport": SPORT, "kind": "team", "name": name} for name in missing])
        teams = team_ids()
    conn.execute(insert(_ALIASES), [
        {"team_id": teams[name], "sport": SPORT, "source": SOURCE, "alias": name} for name in new])
    ids.update((name, teams[name]) for name in new)
    return ids, new


def _get_or_create_season(conn: Connection, competition: str, season: str, matches: pd.DataFrame
                          ) -> tuple[int, int]:
    """Ids of the competition and season (created when new); the season's dates widen to cover the matches."""
    comps, seasons = Competition.__table__, Season.__table__
    comp_id = conn.execute(select(comps.c.id).where(comps.c.sport == SPORT, comps.c.code == competition)).scalar()
    if comp_id is None:
        comp_id = conn.execute(insert(comps).values(
            sport=SPORT, code=competition, name=LEAGUE_NAMES.get(competition)).returning(comps.c.id)).scalar_one()
    start, end = matches["kickoff"].min().to_pydatetime(), matches["kickoff"].max().to_pydatetime()
    row = conn.execute(select(seasons.c.id, seasons.c.start_date, seasons.c.end_date).where(
        seasons.c.competition_id == comp_id, seasons.c.code == season)).first()
    if row is None:
        season_id = conn.execute(insert(seasons).values(
            competition_id=comp_id, code=season, start_date=start, end_date=end).returning(seasons.c.id)
        ).scalar_one()
        return comp_id, season_id
    wider = (min(row.start_date or start, start), max(row.end_date or end, end))
    if wider != (row.start_date, row.end_date):
        conn.execute(update(seasons).where(seasons.c.id == row.id).values(start_date=wider[0], end_date=wider[1]))
    return comp_id, row.id


def _odds_type_ids(conn: Connection, kinds: Sequence[OddsColumn]) -> np.ndarray:
    """``odds_types.id`` of each kind of price, creating the kinds not stored yet."""
    if not kinds:
        return np.empty(0, dtype=np.int32)
    t = OddsType.__table__

    def stored() -> dict[tuple, int]:
        rows = conn.execute(select(t.c.id, t.c.bookmaker, t.c.market, t.c.selection, t.c.is_closing)).all()
        return {(b, m, s, bool(c)): i for i, b, m, s, c in rows}

    known = stored()
    missing = sorted({tuple(k) for k in kinds} - set(known))
    if missing:
        conn.execute(insert(t), [{"bookmaker": b, "market": m, "selection": s, "is_closing": c}
                                 for b, m, s, c in missing])
        known = stored()
    return np.array([known[tuple(k)] for k in kinds], dtype=np.int32)


def _ints(values: np.ndarray) -> np.ndarray:
    """Whole numbers held as floats -> Python ints, NaN -> None (object array)."""
    out = np.nan_to_num(values).astype(np.int64).astype(object)
    out[np.isnan(values)] = None
    return out


def _stats_json(m: pd.DataFrame) -> list[str]:
    """``results.stats`` JSON of each row (statistics present, then the referee), as ``json.dumps`` writes it.

    Rows share a handful of patterns of present statistics, so each pattern gets a ``%``-template
    and the per-row work is one string format.
    """
    names = schema.STAT_COLUMNS
    stats = m[names].to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(stats)
    ints = np.nan_to_num(stats).astype(np.int64)
    codes, refs = pd.factorize(m["referee"].to_numpy(dtype=object, na_value=None))
    ref_part = np.array([f'"referee": {json.dumps(r)}' if isinstance(r, str) and r else "" for r in refs]
                        + [""], dtype=object)[codes]  # code -1 (no referee) takes the trailing ""
    # Pattern of a row: which statistics it has (bits 0-11) and whether it names a referee (bit 12).
    pattern = present.astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    pattern |= (ref_part != "").astype(np.int64) << len(names)
    out = np.empty(len(m), dtype=object)
    for p in np.unique(pattern).tolist():
        rows = np.flatnonzero(pattern == p)
        cols = [j for j in range(len(names)) if p >> j & 1]
        with_ref = bool(p >> len(names) & 1)
        template = "{" + ", ".join([f'"{names[j]}": %d' for j in cols] + (["%s"] if with_ref else [])) + "}"
        values = ints[np.ix_(rows, cols)].tolist()
        if with_ref:
            out[rows] = [template % (*v, r) for v, r in zip(values, ref_part[rows].tolist(), strict=True)]
        else:
            out[rows] = [template % tuple(v) for v in values]
    return out.tolist()


def _write_results(conn: Connection, event_ids: np.ndarray, m: pd.DataFrame) -> None:
    """Result rows (scores, outcome, statistics JSON) of the played matches; fixtures get none."""
    played = m["home_goals"].notna().to_numpy()
    if not played.any():
        return
    sub = m.loc[played]
    bulk_insert_columns(conn, "results", {
        "event_id": event_ids[played],
        **{col: _ints(sub[src].to_numpy(dtype=float, na_value=np.nan)) for col, src in (
            ("home_score", "home_goals"), ("away_score", "away_goals"),
            ("ht_home_score", "ht_home_goals"), ("ht_away_score", "ht_away_goals"))},
        "outcome": sub["result"].to_numpy(dtype=object),
        "stats": _stats_json(sub),
    })


def _write_odds(conn: Connection, event_ids: np.ndarray, prices: np.ndarray, lines: np.ndarray,
                kinds: Sequence[OddsColumn]) -> None:
    """One row per price present, with its line where it has one; rows go in key order, the order of the
    table's b-tree. Prices without a line and with one go in as two all-numeric inserts, so that neither
    carries a NULL (PostgreSQL's binary COPY takes only complete numeric columns)."""
    r, j = np.nonzero(~np.isnan(prices))
    if not r.size:
        return
    ev = event_ids.astype(np.int32)[r]
    types = _odds_type_ids(conn, kinds)[j]
    order = np.lexsort((types, ev))
    line = lines[r, j][order].astype(np.float64)
    columns = {"event_id": ev[order], "type_id": types[order], "price": prices[r, j][order].astype(np.float64)}
    has_line = ~np.isnan(line)
    for part, extra in ((~has_line, {}), (has_line, {"line": line[has_line]})):
        if part.any():
            bulk_insert_columns(conn, "odds", {**{c: v[part] for c, v in columns.items()}, **extra})


def write_parsed(session: Session, parsed: ParsedFile) -> FileReport:
    """Write one parsed file inside the caller's transaction; returns the per-file counts."""
    m = parsed.matches.reset_index(drop=True)
    report = FileReport(path=str(parsed.path), status="ok", warnings=list(parsed.warnings))
    if m.empty:
        return report
    conn = session.connection()
    comp_id, season_id = _get_or_create_season(conn, parsed.competition, parsed.season, m)
    team_ids, new_teams = _resolve_teams(conn, pd.concat([m["home_team"], m["away_team"]]).tolist())
    report.new_teams = new_teams
    keys = _external_keys(m)
    hashes = m["row_hash"].to_numpy(dtype=object)

    def stored() -> tuple[pd.Index, np.ndarray, np.ndarray]:
        rows = conn.execute(select(_EVENTS.c.external_key, _EVENTS.c.id, _EVENTS.c.row_hash).where(
            _EVENTS.c.sport == SPORT, _EVENTS.c.season_id == season_id)).all()
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
    status = m["status"].to_numpy(dtype=object)
    source = Path(parsed.path).name
    if changed.any():
        ids = old_ids[at[changed]]
        for chunk in range(0, len(ids), _IN_CHUNK):
            part = ids[chunk:chunk + _IN_CHUNK].tolist()
            conn.execute(delete(Result.__table__).where(Result.__table__.c.event_id.in_(part)))
            conn.execute(delete(Odds.__table__).where(Odds.__table__.c.event_id.in_(part)))
        kick = m["kickoff"].to_numpy()
        conn.execute(update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id")), [
            {"event_id": int(ids[i]), "kickoff": pd.Timestamp(kick[k]).to_pydatetime(), "status": str(status[k]),
             "row_hash": hashes[k], "source": source}
            for i, k in enumerate(np.flatnonzero(changed))])
    if is_new.any():
        new = np.flatnonzero(is_new)
        k = len(new)
        bulk_insert_columns(conn, "events", {
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
    _write_results(conn, event_ids, sub)
    _write_odds(conn, event_ids, parsed.odds_prices[touched], parsed.odds_lines[touched], parsed.odds_kinds)
    return report


@contextmanager
def _file_transaction(engine: Engine) -> Iterator[Session]:
    """One file's transaction, taking its turn with other ingests (``core.store.locks``: two at once would
    insert the same new competitions, seasons, teams and events): commit on success, roll back on any error.

    On SQLite, foreign-key enforcement is off while it runs (and back on afterwards, whatever
    happens): every id the writer stores was read or created in this same transaction, so the
    checks cannot fail, and skipping them saves two index look-ups per odds row (~1 s of a full load).
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction, so before it
            conn.commit()
        try:
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    take_turn(session.connection())  # one file transaction of any ingest at a time
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _import_record(report: FileReport, sha: str | None) -> ImportRecord:
    return ImportRecord(sport=SPORT, path=report.path, sha256=sha, status=report.status,
                        inserted=report.inserted, updated=report.updated, unchanged=report.unchanged,
                        rejected=report.rejected, new_teams=report.new_teams, error=report.error)


def _parsed_in_order(files: list[Path], workers: int, bad_odds: str
                     ) -> Iterator[tuple[Path, ParsedFile | FormguideError]]:
    """Parse files in worker processes while the caller writes earlier ones (CPU and I/O overlap).

    Plain processes and pipes, read by the calling thread itself: an executor's helper threads in
    this process would contend for the GIL with the writer. File ``k`` goes to worker ``k % n``
    and each worker holds at most two files (one parsing, one waiting), which bounds memory.
    """
    if workers <= 0 or len(files) < 4:
        for path in files:
            try:
                parsed: ParsedFile | FormguideError = parse_file(path, bad_odds=bad_odds)  # type: ignore[arg-type]
            except FormguideError as exc:
                parsed = exc
            yield path, parsed
        return
    import multiprocessing as mp

    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else None)
    n = min(workers, len(files))
    pipes, procs = [], []
    finished = False
    try:
        for _ in range(n):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=parse_worker, args=(theirs, bad_odds), name="formguide-parse", daemon=True)
            proc.start()
            theirs.close()
            pipes.append(mine)
            procs.append(proc)
        sent = min(len(files), 2 * n)
        for k in range(sent):
            pipes[k % n].send(files[k])
        for i, path in enumerate(files):
            try:
                result = pipes[i % n].recv()
            except EOFError:
                raise FormguideError(f"the parser process stopped unexpectedly while reading {path}") from None
            if sent < len(files):
                pipes[sent % n].send(files[sent])
                sent += 1
            if isinstance(result, RuntimeError):
                raise result
            yield path, result
        finished = True
    finally:
        for conn, proc in zip(pipes, procs, strict=True):
            if finished:
                conn.send(None)
                proc.join(timeout=10)
            if proc.is_alive():  # stopped early: the worker may be blocked sending a result nobody reads
                proc.terminate()
                proc.join()
            conn.close()


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
        file_report = FileReport(path=str(path), status="rejected", rejected=_count_rows(path),
                                 error=str(exc))
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
            with _file_transaction(engine) as s:
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
    """The canonical match frame (schema.py) for the competitions, with ``event_id`` and wide odds.

    Only events with status ``finished`` (played: a result) or ``scheduled`` (a fixture to come) are
    in the frame. Matches stored without a result (``parse.NO_RESULT_STATUSES``: abandoned, awarded,
    unplayed) are left out: in the frame a result-less row is a fixture, which season simulations
    would play out and predictions would price, and they are no played match to train or score on.
    They stay in ``events`` (with their odds) and come in once a corrected file gives them a result.
    """
    with engine.connect() as conn:
        q = (
            "SELECT e.id AS event_id, c.code AS competition, s.code AS season, e.kickoff, "
            "ht.name AS home_team, at.name AS away_team, r.home_score, r.away_score, r.ht_home_score, "
            "r.ht_away_score, r.outcome, r.stats "
            "FROM events e JOIN competitions c ON c.id = e.competition_id JOIN seasons s ON s.id = e.season_id "
            "JOIN teams ht ON ht.id = e.home_team_id JOIN teams at ON at.id = e.away_team_id "
            "LEFT JOIN results r ON r.event_id = e.id WHERE e.sport = 'football' "
            "AND e.status IN ('finished', 'scheduled')"
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
    """Long odds (``event_id, bookmaker, market, selection, price, is_closing, line``) of the football events.

    Millions of rows: prices come through the driver's cursor as three numbers per row, and the
    strings of the few dozen odds types are attached by numpy indexing (reading the ``odds_long``
    view through pandas takes about three times as long).
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    q = ("SELECT o.event_id, o.type_id, o.price, o.line FROM odds o JOIN events e ON e.id = o.event_id "
         "JOIN competitions c ON c.id = e.competition_id WHERE e.sport = 'football' "
         "AND e.status IN ('finished', 'scheduled')")
    args: list = []
    if competitions:
        q += " AND c.code IN (" + ", ".join([mark] * len(competitions)) + ")"
        args = [params[f"c{i}"] for i in range(len(competitions))]
    row = np.dtype([("event_id", np.int64), ("type_id", np.int64), ("price", np.float64), ("line", np.float64)])
    parts = [np.empty(0, dtype=row)]
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(q, args)
        while chunk := cur.fetchmany(200_000):  # chunks: no Python tuple for every price at once
            parts.append(np.array(chunk, dtype=row))
    finally:
        cur.close()
    prices = np.concatenate(parts)
    types = conn.execute(select(OddsType.id, OddsType.bookmaker, OddsType.market, OddsType.selection,
                                OddsType.is_closing)).all()
    ids = np.array([t[0] for t in types], dtype=np.int64)
    at = np.zeros(int(ids.max()) + 1 if len(ids) else 1, dtype=np.int64)
    at[ids] = np.arange(len(ids))
    kind = at[prices["type_id"]]
    out = {"event_id": prices["event_id"]}
    for j, col in enumerate(("bookmaker", "market", "selection"), start=1):
        out[col] = np.array([t[j] for t in types], dtype=object)[kind]
    out["price"] = prices["price"]
    out["is_closing"] = np.array([bool(t[4]) for t in types], dtype=bool)[kind]
    out["line"] = prices["line"]  # NULL (no line) reads as NaN
    return pd.DataFrame(out)


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
