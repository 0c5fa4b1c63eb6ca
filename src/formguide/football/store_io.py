"""Football <-> store: write parsed football-data files idempotently, read the canonical frame back.

Each file is one transaction. A match is identified by competition, season, date, home and away team
(``events.external_key``); its ``row_hash`` (result, statistics and odds of the source row) tells an
unchanged row from a corrected one. Unchanged rows are not touched; corrected rows are rewritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from formguide.core.errors import FormguideError
from formguide.core.sport import FileReport, IngestReport
from formguide.core.store.bulk import bulk_insert
from formguide.core.store.db import session_scope
from formguide.core.store.models import (
    Competition,
    Event,
    ImportRecord,
    Odds,
    Result,
    Season,
    Team,
    TeamAlias,
)
from formguide.football import schema
from formguide.football.parse import ParsedFile, attach_wide_odds, iter_csv_files, parse_file

SPORT = "football"
SOURCE = "football-data"


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
    for name in new:
        team = session.scalars(select(Team).where(Team.sport == SPORT, Team.kind == "team", Team.name == name)).first()
        if team is None:
            team = Team(sport=SPORT, kind="team", name=name)
            session.add(team)
            session.flush()
        session.add(TeamAlias(team_id=team.id, sport=SPORT, source=SOURCE, alias=name))
        ids[name] = team.id
    session.flush()
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


def _int_or_none(values: pd.Series) -> list:
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    return [None if np.isnan(v) else int(v) for v in arr]


def _result_rows(event_ids: list[int], m: pd.DataFrame) -> list[tuple]:
    """(event_id, scores..., outcome, stats JSON) for played matches; fixtures get no result row."""
    goals = [_int_or_none(m[c]) for c in ("home_goals", "away_goals", "ht_home_goals", "ht_away_goals")]
    stats = m[schema.STAT_COLUMNS].to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(stats)
    ints = np.nan_to_num(stats).astype(np.int64).tolist()
    referee = m["referee"].tolist()
    outcome = m["result"].tolist()
    names = schema.STAT_COLUMNS
    out = []
    for i, eid in enumerate(event_ids):
        if goals[0][i] is None:
            continue
        bag = {names[j]: ints[i][j] for j in np.flatnonzero(present[i]).tolist()}
        if isinstance(referee[i], str) and referee[i]:
            bag["referee"] = referee[i]
        out.append((eid, goals[0][i], goals[1][i], goals[2][i], goals[3][i], outcome[i], json.dumps(bag)))
    return out


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
    hashes = m["row_hash"].tolist()
    existing = dict(
        session.execute(
            select(Event.external_key, Event.row_hash).where(Event.sport == SPORT, Event.season_id == season_id)
        ).all()
    )
    is_new = np.array([k not in existing for k in keys])
    changed = np.array([(k in existing) and existing[k] != h for k, h in zip(keys, hashes, strict=True)])
    report.inserted = int(is_new.sum())
    report.updated = int(changed.sum())
    report.unchanged = int(len(keys) - is_new.sum() - changed.sum())
    status = np.where(m["home_goals"].notna(), "finished", "scheduled")
    home_ids = m["home_team"].map(team_ids).tolist()
    away_ids = m["away_team"].map(team_ids).tolist()
    kick = m["kickoff"].dt.to_pydatetime()
    if changed.any():
        changed_keys = [keys[i] for i in np.flatnonzero(changed)]
        ids = dict(session.execute(
            select(Event.external_key, Event.id).where(Event.sport == SPORT, Event.external_key.in_(changed_keys))
        ).all())
        changed_ids = [ids[k] for k in changed_keys]
        session.execute(Result.__table__.delete().where(Result.event_id.in_(changed_ids)))
        session.execute(Odds.__table__.delete().where(Odds.event_id.in_(changed_ids)))
        for i in np.flatnonzero(changed):
            session.execute(update(Event).where(Event.id == ids[keys[i]]).values(
                kickoff=kick[i], status=str(status[i]), row_hash=hashes[i], source=Path(parsed.path).name))
    if is_new.any():
        new_idx = np.flatnonzero(is_new)
        bulk_insert(session, "events",
                    ["sport", "competition_id", "season_id", "external_key", "kickoff", "home_team_id",
                     "away_team_id", "status", "row_hash", "source", "updated_at"],
                    [(SPORT, comp_id, season_id, keys[i], kick[i], home_ids[i], away_ids[i], str(status[i]),
                      hashes[i], Path(parsed.path).name, pd.Timestamp.now().to_pydatetime()) for i in new_idx])
    touched = np.flatnonzero(is_new | changed)
    if touched.size:
        touched_keys = [keys[i] for i in touched]
        id_map: dict[str, int] = {}
        for chunk in range(0, len(touched_keys), 900):
            id_map.update(session.execute(
                select(Event.external_key, Event.id).where(
                    Event.sport == SPORT, Event.external_key.in_(touched_keys[chunk:chunk + 900]))
            ).all())
        sub = m.iloc[touched]
        ev_ids = [id_map[k] for k in touched_keys]
        bulk_insert(session, "results",
                    ["event_id", "home_score", "away_score", "ht_home_score", "ht_away_score", "outcome", "stats"],
                    _result_rows(ev_ids, sub))
        odds = parsed.odds
        if not odds.empty:
            match_cols = ["kickoff", "home_team", "away_team"]
            pos = pd.MultiIndex.from_frame(m[match_cols]).get_indexer(pd.MultiIndex.from_frame(odds[match_cols]))
            event_of_row = np.full(len(m), -1, dtype=np.int64)
            event_of_row[touched] = ev_ids
            o_ids = event_of_row[pos]
            sel = (pos >= 0) & (o_ids >= 0)
            o = odds.loc[sel]
            o_ids = o_ids[sel]
            bulk_insert(session, "odds", ["event_id", "bookmaker", "market", "selection", "price", "is_closing"],
                        zip(o_ids.tolist(), o["bookmaker"].tolist(), o["market"].tolist(), o["selection"].tolist(),
                            o["price"].astype(float).tolist(), o["is_closing"].astype(bool).tolist(), strict=True))
    return report


def _record(engine: Engine, report: FileReport, sha: str | None) -> None:
    with session_scope(engine) as s:
        s.add(ImportRecord(sport=SPORT, path=report.path, sha256=sha, status=report.status,
                           inserted=report.inserted, updated=report.updated, unchanged=report.unchanged,
                           rejected=report.rejected, new_teams=report.new_teams, error=report.error))


def _parse_or_error(path: Path) -> ParsedFile | FormguideError:
    try:
        return parse_file(path)
    except FormguideError as exc:
        return exc


def _parsed_in_order(files: list[Path], workers: int):
    """Parse files in a worker process while the caller writes the previous one (I/O and CPU overlap)."""
    if workers <= 0 or len(files) < 4:
        for path in files:
            yield path, _parse_or_error(path)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending = [pool.submit(_parse_or_error, p) for p in files[: workers + 1]]
        nxt = len(pending)
        for i, path in enumerate(files):
            result = pending[i].result()
            if nxt < len(files):
                pending.append(pool.submit(_parse_or_error, files[nxt]))
                nxt += 1
            yield path, result


def ingest_files(engine: Engine, paths: Sequence[Path | str], *, progress: Callable[[int], None] | None = None,
                 strict: bool = False, workers: int | None = None) -> IngestReport:
    """Import football-data CSV files/folders; one transaction per file; every file is recorded.

    A rejected file leaves the store exactly as it was (its transaction is rolled back) and is
    reported with its error; with ``strict`` the first rejection is raised instead. Parsing runs in
    ``workers`` background processes (default: one when there are at least two CPUs).
    """
    files = iter_csv_files(paths)
    if workers is None:
        workers = 1 if (os.cpu_count() or 1) >= 2 else 0
    report = IngestReport()
    for path, parsed in _parsed_in_order(files, workers):
        sha = None
        try:
            if isinstance(parsed, FormguideError):
                raise parsed
            sha = parsed.content_hash
            with session_scope(engine) as s:
                file_report = write_parsed(s, parsed)
        except FormguideError as exc:
            file_report = FileReport(path=str(path), status="rejected", rejected=_count_rows(path), error=str(exc))
            _record(engine, file_report, sha)
            report.files.append(file_report)
            if progress:
                progress(1)
            if strict:
                raise
            continue
        _record(engine, file_report, sha)
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
