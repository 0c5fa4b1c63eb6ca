"""nflverse weekly injury reports -> one row per player per team-week, keyed by (season, week, franchise).

The file has quoted fields with embedded newlines and whitespace placeholders (``position`` and
``practice_status`` of ``"\\n    "``): ``csvfile.read_table`` reads it as CSV and strips every cell, so those
become missing. A player listed twice for the same team-week (two in the real data, 2024 week 15) keeps
one row: of identical rows the first, of differing rows the one modified last (``date_modified``; the
later row in the file on a tie), each dropped row a warning naming file and row.

``date_modified`` is the NFL record's last change in UTC (tz-aware ``Timestamp``, NaT when the source
leaves it empty, as for almost all of 2009); game kick-offs elsewhere are US-Eastern wall-clock times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from formguide.nfl.csvfile import read_table
from formguide.nfl.games import GAME_TYPES

__all__ = ["INJURY_COLUMNS", "PLAYER_COLUMNS", "ParsedInjuries", "parse_injuries"]

#: What a team's report says of each player (stored as the team-week's JSON list).
PLAYER_COLUMNS = ["gsis_id", "position", "full_name", "report_status", "practice_status", "date_modified",
                  "report_primary_injury", "report_secondary_injury", "practice_primary_injury",
                  "practice_secondary_injury"]
INJURY_COLUMNS = ["season", "week", "game_type", "team", *PLAYER_COLUMNS]
PLAYER_KEY = ["season", "game_type", "week", "team", "gsis_id"]
_TEXT = [c for c in PLAYER_COLUMNS if c != "date_modified"]
REQUIRED_COLUMNS = ["season", "game_type", "team", "week", *PLAYER_COLUMNS]


@dataclass
class ParsedInjuries:
    """One injury-report file parsed: the player rows, the file line of each, warnings, content hash."""

    path: Path
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    sha256: str | None = None
    dropped: int = 0  # repeated player-weeks left out with a warning


def _modified(t) -> pd.Series:
    raw = t.frame["date_modified"]
    stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
    bad = raw.notna().to_numpy() & stamps.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise t.fail(i, "date_modified", f"date_modified must be an ISO 8601 time, got {raw.iloc[i]!r}")
    return stamps.astype("datetime64[ns, UTC]")


def _drop_repeats(frame: pd.DataFrame, lines: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """Rows to keep when a player is listed twice in one team-week, and a warning per dropped row.

    Identical rows keep the first; of differing rows the one modified last (NaT counts as earliest), then
    the later one in the file.
    """
    keep = np.ones(len(frame), dtype=bool)
    if not frame.duplicated(PLAYER_KEY).any():
        return keep, []
    notes = []

    def note(pos: int, kept: int, why: str) -> None:
        row = frame.iloc[pos]
        notes.append(f"{name}: row {lines[pos]}, column gsis_id: {row['full_name']} ({row['gsis_id']}) listed twice for "
                     f"{row['team']} in {row['season']} week {row['week']}; row dropped, {why} row {lines[kept]}")

    same = frame.duplicated(INJURY_COLUMNS, keep=False).to_numpy()
    if same.any():
        sub = frame.loc[same].reset_index(names="_pos")
        first = sub.groupby(INJURY_COLUMNS, dropna=False, sort=False)["_pos"].transform("min").to_numpy()
        for pos, kept in zip(sub["_pos"].tolist(), first.tolist(), strict=True):
            if pos != kept:
                keep[pos] = False
                note(pos, kept, "an identical repeat of")
    rest = frame.loc[keep].duplicated(PLAYER_KEY, keep=False)
    if rest.any():
        sub = frame.loc[keep].loc[rest.to_numpy()].reset_index(names="_pos")
        stamp = sub["date_modified"].dt.tz_convert(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)
        stamp[sub["date_modified"].isna().to_numpy()] = np.iinfo(np.int64).min
        sub = sub.assign(_stamp=stamp).sort_values(["_stamp", "_pos"], kind="stable")
        winner = sub.groupby(PLAYER_KEY, sort=False)["_pos"].transform("last").to_numpy()
        for pos, kept in zip(sub["_pos"].tolist(), winner.tolist(), strict=True):
            if pos != kept:
                keep[pos] = False
                note(pos, kept, "modified earlier than")
    return keep, notes


def parse_injuries(path: Path | str) -> ParsedInjuries:
    """Parse an nflverse ``injuries.csv``: ``INJURY_COLUMNS``, team as franchise, one row per player-week."""
    path = Path(path)
    t = read_table(path, REQUIRED_COLUMNS, numeric=["season", "week"])
    season = t.numbers("season", integer=True, non_negative=True, required=True, what="a year")
    week = t.numbers("week", integer=True, non_negative=True, required=True, what="a week number")
    gsis = t.text("gsis_id")
    if pd.isna(gsis).any():
        i = int(np.flatnonzero(pd.isna(gsis))[0])
        raise t.fail(i, "gsis_id", "gsis_id is empty")
    frame = pd.DataFrame({
        "season": pd.Series(season.astype(np.int64)), "week": pd.Series(week.astype(np.int64)),
        "game_type": pd.Series(t.choice("game_type", GAME_TYPES), dtype=object),
        "team": pd.Series(t.teams("team"), dtype=object),
        **{c: pd.Series(t.text(c), dtype=object) for c in _TEXT},
        "date_modified": _modified(t),
    })[INJURY_COLUMNS]
    keep, warnings = _drop_repeats(frame, t.lines, path.name)
    frame, lines = frame.loc[keep].reset_index(drop=True), t.lines[keep]
    return ParsedInjuries(path=path, frame=frame, warnings=warnings, lines=lines, sha256=t.sha256,
                          dropped=int((~keep).sum()))
