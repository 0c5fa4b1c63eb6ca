"""NFL team reports <-> store: per-game team statistics, EPA and injury reports as ``team_reports`` rows.

A report row is (event, team, kind) with the source's values as JSON: ``stats`` (``team_stats_week``: the
opponent, the season type and every statistic), ``epa`` (the play-by-play EPA file) and ``injuries`` (the
team's injury report of the game's week as one JSON list of players). Rows join stored games on
(season, week, franchise): a row for a game not in the store is not written, counted as ``rejected`` and
named in a warning (file and first rows), never fatal. A statistics row naming another opponent than the
stored game is kept with the game's opponent, and a warning (the real file's 1999-2002 rows name 112 teams
as their own opponent, a relocated franchise spelt two ways: ``STL`` v ``LA``).

Idempotency: ``row_hash`` is the hash of the JSON text; unchanged reports are not touched, changed ones are
rewritten. A report this file stored before (same kind, same ``source`` file name) that the file no
longer has is removed and counted as updated.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from formguide.core.sport import FileReport
from formguide.core.store.bulk import bulk_insert_columns
from formguide.nfl.injuries import PLAYER_COLUMNS, ParsedInjuries
from formguide.nfl.jsonrows import json_lists, json_objects, parse_many, text_hashes
from formguide.nfl.stats import KEY_COLUMNS, ParsedStats, is_text_stat
from formguide.nfl.store_games import SPORT, event_keys

__all__ = ["REPORT_KINDS", "load_injuries", "load_team_stats", "write_injuries", "write_stats"]

#: ``team_reports.kind`` of each file ``csvfile.detect`` tells.
REPORT_KINDS = {"team-stats": "stats", "team-epa": "epa", "injuries": "injuries"}
_SHOWN = 5  # rows named in a warning


def _team_games(conn: Connection) -> pd.DataFrame:
    """(season, week, team) -> event_id, team_id and opponent of every stored game, one row per side."""
    keys = event_keys(conn)
    sides = []
    for side, other in (("home", "away"), ("away", "home")):
        sides.append(pd.DataFrame({"season": keys["season"], "week": keys["week"], "team": keys[f"{side}_team"],
                                   "event_id": keys["event_id"], "team_id": keys[f"{side}_team_id"],
                                   "game_opponent": keys[f"{other}_team"]}))
    return pd.concat(sides, ignore_index=True)


def _unmatched_warning(merged: pd.DataFrame, lines: np.ndarray, missing: np.ndarray, games: pd.DataFrame,
                       name: str, what: str) -> str:
    """One warning for the rows of no stored game, by team-week: how many rows, the first, and whether the
    store has that week at all (a game missing from the schedule, e.g. one cancelled, or a week not imported)."""
    gone = merged.loc[missing, ["season", "week", "team"]].assign(line=lines[missing])
    weeks = set(zip(games["season"].tolist(), games["week"].tolist(), strict=True))
    parts = []
    groups = gone.groupby(["season", "week", "team"], sort=False)["line"].agg(["min", "size"])
    for (season, week, team), (first, size) in groups.iloc[:_SHOWN].iterrows():
        why = f"the stored week has no {team} game" if (season, week) in weeks else "no game of that week is stored"
        parts.append(f"{season} week {week} {team}: {size} row(s) from row {first}, {why}")
    more = f"; and {len(groups) - _SHOWN} more team-week(s)" if len(groups) > _SHOWN else ""
    return (f"{name}: {int(missing.sum())} {what} row(s) whose (season, week, team) matches no stored game, not "
            f"stored: {'; '.join(parts)}{more}")


def _match(conn: Connection, frame: pd.DataFrame, lines: np.ndarray, name: str, what: str,
           report: FileReport) -> tuple[pd.DataFrame, np.ndarray]:
    """``frame`` with event_id, team_id and the stored opponent, and the file line of each row kept; rows of
    no stored game are reported and dropped."""
    games = _team_games(conn)
    merged = frame.merge(games, on=["season", "week", "team"], how="left", validate="many_to_one")
    missing = merged["event_id"].isna().to_numpy()
    if missing.any():
        report.warnings.append(_unmatched_warning(merged, lines, missing, games, name, what))
        report.rejected += int(missing.sum())
    out = merged.loc[~missing].reset_index(drop=True)
    out["event_id"] = out["event_id"].astype(np.int64)
    out["team_id"] = out["team_id"].astype(np.int64)
    return out, lines[~missing]


def _write(conn: Connection, kind: str, source: str, event_ids: np.ndarray, team_ids: np.ndarray,
           data: np.ndarray, report: FileReport) -> None:
    """Insert new reports, rewrite changed ones, remove this source's reports it no longer has."""
    hashes = text_hashes(data)
    old = pd.read_sql_query(text("SELECT event_id, team_id, row_hash, source FROM team_reports WHERE kind = :k"),
                            conn, params={"k": kind})
    new = pd.DataFrame({"event_id": event_ids, "team_id": team_ids, "row_hash": hashes})
    merged = new.merge(old.astype({"event_id": np.int64, "team_id": np.int64}), on=["event_id", "team_id"],
                       how="left", suffixes=("", "_old"), indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    changed = ~is_new & (merged["row_hash"] != merged["row_hash_old"]).to_numpy()
    mine = old[old["source"] == source].merge(new[["event_id", "team_id"]], on=["event_id", "team_id"], how="left",
                                               indicator=True)
    stale = mine[(mine["_merge"] == "left_only").to_numpy()]
    report.inserted += int(is_new.sum())
    report.updated += int(changed.sum()) + len(stale)
    report.unchanged += int((~is_new & ~changed).sum())
    if len(stale):
        report.warnings.append(f"{source}: {len(stale)} stored {kind} report(s) from this file no longer in it were "
                               "removed")
    gone = pd.concat([stale[["event_id", "team_id"]], new.loc[changed, ["event_id", "team_id"]]])
    if len(gone):
        conn.execute(text("DELETE FROM team_reports WHERE kind = :k AND event_id = :e AND team_id = :t"),
                     [{"k": kind, "e": int(e), "t": int(t)} for e, t in gone.itertuples(index=False)])
    write = is_new | changed
    if write.any():
        k = int(write.sum())
        bulk_insert_columns(conn, "team_reports", {
            "event_id": event_ids[write].astype(np.int64), "team_id": team_ids[write].astype(np.int64),
            "kind": [kind] * k, "data": data[write], "row_hash": hashes[write], "source": [source] * k})


def write_stats(conn: Connection, parsed: ParsedStats) -> FileReport:
    """Write one statistics or EPA file's rows as ``stats`` / ``epa`` reports of the stored games."""
    report = FileReport(path=str(parsed.path), status="ok", found=parsed.found, warnings=list(parsed.warnings),
                        rejected=parsed.dropped)
    kind = REPORT_KINDS[parsed.found]
    name = parsed.path.name
    rows, lines = _match(conn, parsed.frame, parsed.lines, name, kind, report)
    if kind == "stats":
        given = rows["opponent"].to_numpy(dtype=object)
        other = given != rows["game_opponent"].to_numpy(dtype=object)
        if other.any():
            shown = np.flatnonzero(other)[:_SHOWN].tolist()
            report.warnings.append(
                f"{name}: column opponent_team: {int(other.sum())} row(s) name another opponent than the stored game; "
                "the game's opponent "
                "is stored: " + ", ".join(f"row {lines[i]} ({rows['team'].iat[i]} v {given[i]}, game v "
                                         f"{rows['game_opponent'].iat[i]})" for i in shown))
            rows["opponent"] = rows["game_opponent"].to_numpy(dtype=object)
        columns = ["opponent", "season_type", *parsed.stat_columns]
    else:
        columns = parsed.stat_columns
    data = json_objects(rows, columns)
    _write(conn, kind, name, rows["event_id"].to_numpy(), rows["team_id"].to_numpy(), data, report)
    return report


def write_injuries(conn: Connection, parsed: ParsedInjuries) -> FileReport:
    """Write an injury-report file as one ``injuries`` report (a JSON list of players) per game and team."""
    report = FileReport(path=str(parsed.path), status="ok", found="injuries", warnings=list(parsed.warnings),
                        rejected=parsed.dropped)
    name = parsed.path.name
    rows, _ = _match(conn, parsed.frame, parsed.lines, name, "injury", report)
    players = json_objects(rows, PLAYER_COLUMNS)
    event_ids, team_ids = rows["event_id"].to_numpy(np.int64), rows["team_id"].to_numpy(np.int64)
    width = int(team_ids.max()) + 1 if len(team_ids) else 1
    keys, lists = json_lists(players, event_ids * width + team_ids)  # one group per (game, team)
    _write(conn, "injuries", name, keys // width, keys % width, lists, report)
    return report


def _reports(conn: Connection, kind: str) -> pd.DataFrame:
    return pd.read_sql_query(text(
        "SELECT r.event_id, t.name AS team, CAST(r.data AS TEXT) AS data FROM team_reports r "
        "JOIN teams t ON t.id = r.team_id JOIN events e ON e.id = r.event_id "
        "WHERE r.kind = :k AND e.sport = :sport ORDER BY r.event_id, t.name"), conn,
        params={"k": kind, "sport": SPORT})


def _keyed(conn: Connection, frame: pd.DataFrame, with_type: bool = False) -> pd.DataFrame:
    """``frame`` (event_id, team first) with the game's season and week (and game type) after event_id."""
    keys = event_keys(conn)[["event_id", "season", "week", "game_type"]]
    if not with_type:
        keys = keys.drop(columns=["game_type"])
    out = frame[["event_id"]].merge(keys, on="event_id", how="left")
    return pd.concat([out, frame.drop(columns=["event_id"])], axis=1)


def _typed(frame: pd.DataFrame, text_columns: set[str]) -> pd.DataFrame:
    for col in frame.columns:
        if col in text_columns:
            frame[col] = pd.Series(frame[col].to_numpy(dtype=object), dtype=object).where(frame[col].notna(), np.nan)
        else:
            frame[col] = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
    return frame


def load_team_stats(engine: Engine) -> pd.DataFrame:
    """Every stored team-game's statistics: ``event_id, season, week, team, opponent, season_type`` and the
    statistics of both report kinds merged (``stats`` then ``epa`` columns; NaN where a kind has no row)."""
    with engine.connect() as conn:
        parts = []
        for kind in ("stats", "epa"):
            raw = _reports(conn, kind)
            values = pd.DataFrame.from_records(parse_many(raw["data"].tolist()))
            if kind == "epa":
                values = values.drop(columns=[c for c in ("opponent", "season_type") if c in values])
            texts = {c for c in values.columns if c in ("opponent", "season_type") or is_text_stat(c)}
            parts.append(pd.concat([raw[["event_id", "team"]], _typed(values, texts)], axis=1))
        stats, epa = parts
        merged = stats.merge(epa, on=["event_id", "team"], how="outer", suffixes=("", "_epa"), sort=True)
        for col in ("opponent", "season_type"):
            if col not in merged:
                merged[col] = pd.Series(np.full(len(merged), np.nan, dtype=object), dtype=object)
        first = ["event_id", "team", "opponent", "season_type"]
        merged = merged[first + [c for c in merged.columns if c not in first]]
        merged["event_id"] = merged["event_id"].astype(np.int64)
        out = _keyed(conn, merged)
    return out[["event_id", *KEY_COLUMNS, *[c for c in out.columns if c not in ("event_id", *KEY_COLUMNS)]]]


def load_injuries(engine: Engine) -> pd.DataFrame:
    """Every stored injury report, one row per player: ``event_id, season, week, game_type, team`` and
    ``PLAYER_COLUMNS`` (``date_modified`` tz-aware UTC)."""
    with engine.connect() as conn:
        raw = _reports(conn, "injuries")
        lists = parse_many(raw["data"].tolist())
        counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        players = pd.DataFrame.from_records(list(itertools.chain.from_iterable(lists)), columns=PLAYER_COLUMNS)
        players = _typed(players, set(PLAYER_COLUMNS))
        players["date_modified"] = pd.to_datetime(players["date_modified"], utc=True, format="ISO8601") \
            .astype("datetime64[ns, UTC]")
        frame = pd.concat([pd.DataFrame({"event_id": np.repeat(raw["event_id"].to_numpy(dtype=np.int64), counts),
                                         "team": np.repeat(raw["team"].to_numpy(dtype=object), counts)}),
                           players], axis=1)
        out = _keyed(conn, frame, with_type=True)
    return out[["event_id", "season", "week", "game_type", "team", *PLAYER_COLUMNS]]
