"""NFL games <-> store: events, results and closing odds written idempotently, the games frame read back.

What is stored for a game of the canonical frame (``games.py``):

* ``events``: sport ``nfl``, competition ``NFL``, season code = the season year, ``external_key`` = the
  source's ``game_id``, ``kickoff``, home/away team (``teams`` rows named by franchise code), ``status``
  ``played`` (scores known) or ``scheduled``, and in ``details`` (JSON) every other column of the frame
  (week, game type, rest, roof, weather, QBs, coaches, the lines and the American prices as written), so
  :func:`load_games` gives back exactly the parsed frame.
* ``results``: the scores and ``outcome`` ``H``, ``A`` or ``T`` (a tie is a played game).
* ``odds``: bookmaker ``nflverse close``, closing prices as decimal odds (``core.markets.american_to_decimal``),
  one row per price present: ``moneyline`` home/away (``line`` NULL), ``spread`` home/away with ``line`` =
  the home side's handicap (``-spread_line``, on both rows), ``total`` over/under with ``line`` = the total.

``row_hash`` of an event covers its whole frame row: an unchanged row is not touched, a corrected one is
updated in place and its result and odds rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text, update

from formguide.core.markets import american_to_decimal
from formguide.core.sport import FileReport
from formguide.core.store.bulk import bulk_insert_columns
from formguide.core.store.models import Competition, Event, Odds, OddsType, Result, Season, Team
from formguide.nfl.games import COMPETITION, GAME_COLUMNS, ParsedGames, canonical_games
from formguide.nfl.jsonrows import json_objects, parse_many, text_hashes

__all__ = ["BOOKMAKER", "DETAIL_COLUMNS", "SPORT", "event_keys", "load_games", "team_ids", "write_games"]

SPORT = "nfl"
COMPETITION_NAME = "National Football League"
BOOKMAKER = "nflverse close"
#: Frame columns kept in ``events.details`` (the rest are event columns, results, or derived: ``playoff``).
DETAIL_COLUMNS = [c for c in GAME_COLUMNS if c not in (
    "game_id", "season", "competition", "kickoff", "home_team", "away_team", "home_score", "away_score", "playoff")]
#: (market, selection, price column, line column, line sign) of every stored price.
MARKETS = (
    ("moneyline", "home", "home_moneyline", None, 0.0),
    ("moneyline", "away", "away_moneyline", None, 0.0),
    ("spread", "home", "home_spread_odds", "spread_line", -1.0),
    ("spread", "away", "away_spread_odds", "spread_line", -1.0),
    ("total", "over", "over_odds", "total_line", 1.0),
    ("total", "under", "under_odds", "total_line", 1.0),
)
_IN_CHUNK = 2_000
_EVENTS, _TEAMS = Event.__table__, Team.__table__


def team_ids(conn: Connection, codes: Sequence[str], *, create: bool = True) -> tuple[dict[str, int], list[str]]:
    """Team ids of franchise codes (teams named by code), creating the missing ones when ``create``."""
    wanted = sorted(set(codes))

    def stored() -> dict[str, int]:
        return dict(conn.execute(select(_TEAMS.c.name, _TEAMS.c.id).where(
            _TEAMS.c.sport == SPORT, _TEAMS.c.kind == "team", _TEAMS.c.name.in_(wanted))).all())

    ids = stored()
    new = [c for c in wanted if c not in ids]
    if new and create:
        conn.execute(insert(_TEAMS), [{"sport": SPORT, "kind": "team", "name": c, "code": c} for c in new])
        ids = stored()
    return ids, new if create else []


def _seasons(conn: Connection, frame: pd.DataFrame) -> tuple[int, dict[str, int]]:
    """Ids of the NFL competition and of each season of ``frame`` (created when new, dates widened)."""
    comps, seasons = Competition.__table__, Season.__table__
    comp_id = conn.execute(select(comps.c.id).where(comps.c.sport == SPORT, comps.c.code == COMPETITION)).scalar()
    if comp_id is None:
        comp_id = conn.execute(insert(comps).values(sport=SPORT, code=COMPETITION, name=COMPETITION_NAME)
                               .returning(comps.c.id)).scalar_one()
    span = frame.groupby("season")["kickoff"].agg(["min", "max"])
    stored = {r.code: r for r in conn.execute(select(seasons.c.id, seasons.c.code, seasons.c.start_date,
                                                     seasons.c.end_date).where(seasons.c.competition_id == comp_id))}
    out = {}
    for code, (lo, hi) in span.iterrows():  # one row per season (a few dozen)
        lo, hi = pd.Timestamp(lo).to_pydatetime(), pd.Timestamp(hi).to_pydatetime()
        row = stored.get(code)
        if row is None:
            out[code] = conn.execute(insert(seasons).values(competition_id=comp_id, code=code, start_date=lo,
                                                            end_date=hi).returning(seasons.c.id)).scalar_one()
            continue
        wider = (min(row.start_date or lo, lo), max(row.end_date or hi, hi))
        if wider != (row.start_date, row.end_date):
            conn.execute(update(seasons).where(seasons.c.id == row.id).values(start_date=wider[0], end_date=wider[1]))
        out[code] = row.id
    return comp_id, out


def _odds_type_ids(conn: Connection) -> np.ndarray:
    """``odds_types.id`` of each entry of :data:`MARKETS`, creating the kinds not stored yet."""
    t = OddsType.__table__
    kinds = [(BOOKMAKER, m, s, True) for m, s, *_ in MARKETS]

    def stored() -> dict[tuple, int]:
        rows = conn.execute(select(t.c.id, t.c.bookmaker, t.c.market, t.c.selection, t.c.is_closing)
                            .where(t.c.bookmaker == BOOKMAKER)).all()
        return {(b, m, s, bool(c)): i for i, b, m, s, c in rows}

    known = stored()
    missing = [k for k in kinds if k not in known]
    if missing:
        conn.execute(insert(t), [{"bookmaker": b, "market": m, "selection": s, "is_closing": c}
                                 for b, m, s, c in missing])
        known = stored()
    return np.array([known[k] for k in kinds], dtype=np.int32)


def odds_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row in frame, market index into MARKETS, decimal price, line) of every price present."""
    rows, kinds, prices, lines = [], [], [], []
    for k, (_, _, price_col, line_col, sign) in enumerate(MARKETS):
        price = frame[price_col].to_numpy(dtype=float)
        line = frame[line_col].to_numpy(dtype=float) * sign if line_col else np.full(len(frame), np.nan)
        ok = ~np.isnan(price) & (~np.isnan(line) if line_col else True)
        idx = np.flatnonzero(ok)
        rows.append(idx)
        kinds.append(np.full(len(idx), k))
        prices.append(np.asarray(american_to_decimal(price[idx]), dtype=np.float64))
        lines.append(line[idx] + 0.0)  # + 0.0: a pick'em spread is line 0, never -0
    return tuple(np.concatenate(x) for x in (rows, kinds, prices, lines))  # type: ignore[return-value]


def _write_results_and_odds(conn: Connection, event_ids: np.ndarray, m: pd.DataFrame) -> None:
    played = m["home_score"].notna().to_numpy()
    if played.any():
        home = m["home_score"].to_numpy()[played].astype(np.int64)
        away = m["away_score"].to_numpy()[played].astype(np.int64)
        bulk_insert_columns(conn, "results", {
            "event_id": event_ids[played].astype(np.int64), "home_score": home, "away_score": away,
            "outcome": np.where(home > away, "H", np.where(home < away, "A", "T")).astype(object)})
    rows, kinds, prices, lines = odds_rows(m)
    if len(rows):
        ev = event_ids[rows].astype(np.int32)
        types = _odds_type_ids(conn)[kinds]
        order = np.lexsort((types, ev))  # key order of the table's b-tree
        bulk_insert_columns(conn, "odds", {"event_id": ev[order], "type_id": types[order],
                                           "price": prices[order], "line": lines[order]})


def _stored_events(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(select(_EVENTS.c.external_key, _EVENTS.c.id, _EVENTS.c.row_hash)
                        .where(_EVENTS.c.sport == SPORT)).all()
    return pd.DataFrame({"key": pd.Series([r[0] for r in rows], dtype=object),
                         "id": np.array([r[1] for r in rows], dtype=np.int64),
                         "hash": pd.Series([r[2] for r in rows], dtype=object)})


def write_games(conn: Connection, parsed: ParsedGames) -> FileReport:
    """Write one parsed games file inside the caller's transaction; returns the per-file counts."""
    m = parsed.frame.reset_index(drop=True)
    report = FileReport(path=str(parsed.path), status="ok", found="games", warnings=list(parsed.warnings))
    if m.empty:
        return report
    comp_id, season_ids = _seasons(conn, m)
    ids, report.new_teams = team_ids(conn, pd.concat([m["home_team"], m["away_team"]]).tolist())
    keys = m["game_id"].to_numpy(dtype=object)
    hashes = text_hashes(json_objects(m, GAME_COLUMNS))
    old = _stored_events(conn)
    at = pd.Index(old["key"]).get_indexer(keys)
    is_new = at < 0
    changed = ~is_new & (old["hash"].to_numpy()[np.maximum(at, 0)] != hashes) if len(old) else np.zeros(len(m), bool)
    report.inserted, report.updated = int(is_new.sum()), int(changed.sum())
    report.unchanged = len(m) - report.inserted - report.updated
    if not (is_new.any() or changed.any()):
        return report
    details = json_objects(m, DETAIL_COLUMNS)
    status = np.where(m["home_score"].notna(), "played", "scheduled").astype(object)
    source = parsed.path.name
    home_ids = m["home_team"].map(ids).to_numpy(dtype=np.int64)
    away_ids = m["away_team"].map(ids).to_numpy(dtype=np.int64)
    season_col = m["season"].map(season_ids).to_numpy(dtype=np.int64)
    if changed.any():
        rows = np.flatnonzero(changed)
        event_ids = old["id"].to_numpy()[at[rows]]
        for i in range(0, len(event_ids), _IN_CHUNK):
            part = event_ids[i:i + _IN_CHUNK].tolist()
            conn.execute(delete(Result.__table__).where(Result.__table__.c.event_id.in_(part)))
            conn.execute(delete(Odds.__table__).where(Odds.__table__.c.event_id.in_(part)))
        kick = m["kickoff"].dt.to_pydatetime()
        conn.execute(update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id")).values(
            kickoff=bindparam("kick"), status=bindparam("st"), details=bindparam("det"), row_hash=bindparam("rh"),
            source=bindparam("src"), home_team_id=bindparam("h"), away_team_id=bindparam("a"),
            season_id=bindparam("s")), [
            {"event_id": int(e), "kick": kick[r], "st": status[r], "det": parse_many([details[r]])[0],
             "rh": hashes[r], "src": source, "h": int(home_ids[r]), "a": int(away_ids[r]), "s": int(season_col[r])}
            for e, r in zip(event_ids.tolist(), rows.tolist(), strict=True)])
    if is_new.any():
        new = np.flatnonzero(is_new)
        k = len(new)
        bulk_insert_columns(conn, "events", {
            "sport": [SPORT] * k, "competition_id": [comp_id] * k, "season_id": season_col[new],
            "external_key": keys[new], "kickoff": m["kickoff"].to_numpy()[new], "home_team_id": home_ids[new],
            "away_team_id": away_ids[new], "status": status[new], "row_hash": hashes[new], "source": [source] * k,
            "details": details[new]})
        old = _stored_events(conn)
        at = pd.Index(old["key"]).get_indexer(keys)
    touched = np.flatnonzero(is_new | changed)
    _write_results_and_odds(conn, old["id"].to_numpy()[at[touched]], m.iloc[touched].reset_index(drop=True))
    return report


def event_keys(conn: Connection) -> pd.DataFrame:
    """Every stored NFL game: ``event_id, season`` (int), ``week, game_type``, home/away team id and code."""
    raw = pd.read_sql_query(text(
        "SELECT e.id AS event_id, s.code AS season, e.home_team_id, e.away_team_id, ht.name AS home_team, "
        "at.name AS away_team, CAST(e.details AS TEXT) AS details FROM events e "
        "JOIN seasons s ON s.id = e.season_id JOIN teams ht ON ht.id = e.home_team_id "
        "JOIN teams at ON at.id = e.away_team_id WHERE e.sport = :sport"), conn, params={"sport": SPORT})
    details = pd.DataFrame.from_records(parse_many(raw["details"].tolist()), columns=["week", "game_type"])
    return pd.DataFrame({
        "event_id": raw["event_id"].to_numpy(dtype=np.int64), "season": raw["season"].astype(int).to_numpy(),
        "week": details["week"].to_numpy(dtype=np.int64), "game_type": details["game_type"].to_numpy(dtype=object),
        "home_team_id": raw["home_team_id"].to_numpy(dtype=np.int64),
        "away_team_id": raw["away_team_id"].to_numpy(dtype=np.int64),
        "home_team": raw["home_team"].to_numpy(dtype=object), "away_team": raw["away_team"].to_numpy(dtype=object)})


def load_games(engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
    """The canonical games frame of the stored games (``event_id`` and ``status`` first), by kickoff, game_id."""
    q = ("SELECT e.id AS event_id, e.status, e.external_key AS game_id, s.code AS season, c.code AS competition, "
         "e.kickoff, ht.name AS home_team, at.name AS away_team, r.home_score, r.away_score, "
         "CAST(e.details AS TEXT) AS details FROM events e JOIN competitions c ON c.id = e.competition_id "
         "JOIN seasons s ON s.id = e.season_id JOIN teams ht ON ht.id = e.home_team_id "
         "JOIN teams at ON at.id = e.away_team_id LEFT JOIN results r ON r.event_id = e.id WHERE e.sport = :sport")
    params: dict = {"sport": SPORT}
    if competitions:
        q += " AND c.code IN (" + ", ".join(f":c{i}" for i in range(len(competitions))) + ")"
        params.update({f"c{i}": c for i, c in enumerate(competitions)})
    with engine.connect() as conn:
        raw = pd.read_sql_query(text(q), conn, params=params)
    details = pd.DataFrame.from_records(parse_many(raw["details"].tolist()), columns=DETAIL_COLUMNS)
    frame = pd.concat([raw.drop(columns=["details"]), details], axis=1)
    frame["kickoff"] = pd.to_datetime(frame["kickoff"])
    frame["playoff"] = frame["game_type"].to_numpy(dtype=object) != "REG"
    frame["event_id"] = frame["event_id"].astype(np.int64)
    frame = canonical_games(frame[["event_id", "status", *GAME_COLUMNS]])
    order = np.lexsort((frame["game_id"].to_numpy(dtype=str), frame["kickoff"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)
