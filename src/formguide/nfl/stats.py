"""nflverse team statistics per game -> a long frame keyed by (season, week, franchise).

Two files, told apart by their header (``csvfile.detect``):

* ``team-stats`` (``stats_team_week``): one row per team per game, 1999-2024, REG and POST, the team's own
  totals (passing, rushing, receiving, defence, kicking...). nflfastR's standardised codes (``LA``, ``LAC``,
  ``LV`` from 2003, ``JAC`` in a few 2001-2002 rows) map to franchises like every other source.
* ``team-epa``: one row per team per regular-season game from 2013, offensive and defensive EPA and
  success rates; it has no opponent or season type (those columns are NaN in the frame).

There is no game id: rows join games on (season, week, franchise), which is unique because a team plays
at most once a week. The source's one row without a team (1999 week 9, empty ``team`` and
``opponent_team``) is dropped with a warning naming file and row; an unknown code, a non-numeric
statistic or a team listed twice in one week rejects the file (file, row, column).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from formguide.nfl.csvfile import KIND_TEAM_EPA, KIND_TEAM_STATS, NflFileError, detect_header, read_table

__all__ = ["KEY_COLUMNS", "ParsedStats", "is_text_stat", "parse_team_stats"]

KEY_COLUMNS = ["season", "week", "team", "opponent", "season_type"]
SEASON_TYPES = ("REG", "POST")
_SOURCE_KEYS = {"season", "week", "team", "opponent_team", "season_type"}


def is_text_stat(column: str) -> bool:
    """Statistics held as text: the ``;``-separated field-goal distance lists (``fg_made_list``...)."""
    return column.endswith("_list")


@dataclass
class ParsedStats:
    """One statistics file parsed: which file it is, the long frame, the file line of each row, warnings."""

    path: Path
    found: str  # "team-stats" | "team-epa"
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    sha256: str | None = None
    dropped: int = 0  # rows of the file left out with a warning (no team)

    @property
    def stat_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in KEY_COLUMNS]


def parse_team_stats(path: Path | str) -> ParsedStats:
    """Parse ``team_stats_week.csv`` or ``team_week_epa_*.csv`` (recognised by the header) into a long frame.

    Columns: ``season`` and ``week`` (int), ``team`` and ``opponent`` (franchise codes), ``season_type``,
    then every statistic of the file in file order: floats, except the text lists (:func:`is_text_stat`).
    """
    path = Path(path)
    t = read_table(path, numeric=lambda c: c not in _SOURCE_KEYS - {"season", "week"} and not is_text_stat(c))
    found = detect_header(t.header)
    if found not in (KIND_TEAM_STATS, KIND_TEAM_EPA):
        raise NflFileError(path, 1, None, "not an nflverse team statistics file: expected the columns of "
                           "stats_team_week (season, week, team, season_type, opponent_team, ...) or of the "
                           "team EPA file (season, week, team, off_epa_total, def_epa_total, ...)")
    warnings: list[str] = []
    no_team = t.frame["team"].isna().to_numpy()
    if no_team.any():
        for i in np.flatnonzero(no_team).tolist():
            warnings.append(f"{path.name}: row {t.lines[i]}, column team: no team (season {t.frame['season'].iloc[i]:g}, week "
                            f"{t.frame['week'].iloc[i]:g}); row dropped")
        t.frame = t.frame.loc[~no_team].reset_index(drop=True)
        t.lines = t.lines[~no_team]
        if t.frame.empty:
            raise NflFileError(path, None, "team", "no row names a team")
    n = len(t.frame)
    season = t.numbers("season", integer=True, non_negative=True, required=True, what="a year")
    week = t.numbers("week", integer=True, non_negative=True, required=True, what="a week number")
    out = {"season": season.astype(np.int64), "week": week.astype(np.int64), "team": t.teams("team")}
    if found == KIND_TEAM_STATS:
        out["opponent"] = t.teams("opponent_team")
        out["season_type"] = t.choice("season_type", SEASON_TYPES)
    else:
        out["opponent"] = np.full(n, np.nan, dtype=object)
        out["season_type"] = np.full(n, np.nan, dtype=object)
    for col in t.header:
        if col in _SOURCE_KEYS:
            continue
        out[col] = t.text(col) if is_text_stat(col) else t.numbers(col)
    frame = pd.DataFrame({k: pd.Series(v, dtype=object if k in ("team", "opponent", "season_type")
                                       or (k not in KEY_COLUMNS and is_text_stat(k)) else None)
                          for k, v in out.items()})
    dup = frame.duplicated(["season", "week", "team"], keep=False).to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        key = frame.loc[first, ["season", "week", "team"]].tolist()
        second = int(np.flatnonzero(dup & (frame[["season", "week", "team"]] == key).all(axis=1).to_numpy())[1])
        raise t.fail(second, "team", f"{key[2]} appears twice in season {key[0]} week {key[1]} "
                     f"(rows {t.lines[first]} and {t.lines[second]})")
    return ParsedStats(path=path, found=found, frame=frame, warnings=warnings, lines=t.lines, sha256=t.sha256,
                       dropped=int(no_team.sum()))
