"""The NFL event frame: one row per game with both teams' own statistics and injury-report summaries.

``build_frame`` joins the canonical games frame with the long team-statistics and injury frames on
``(season, week, team)`` (team codes mapped to franchises first, :mod:`formguide.nfl.teams`):

* ``home_st_<stat>``, ``away_st_<stat>`` for every name in :data:`STAT_COLUMNS`: the team's own totals of
  THAT game (nflverse ``stats_team_week``, and from 2013 the play-by-play EPA file). They are outcomes,
  known only after the game, so every one of them is in :data:`OUTCOME_COLUMNS` and the feature engine
  blanks them with the scores for games at or after ``as_of``. A stat the source lacks is NaN.
* ``home_inj_<name>``, ``away_inj_<name>`` for every name in :data:`INJURY_FIELDS`: the team's injury
  report for that game (filed before kick-off, so pre-game information, not an outcome). NaN where no
  report exists for that week (before 2009, 2023's later playoff rounds); 0 where the league's report of
  the week exists but lists nobody of that team in the group.

The column set does not depend on what was passed: a frame built without team stats or injuries has the
same columns (all NaN), so :data:`OUTCOME_COLUMNS` is one static tuple. All joins are vectorised merges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.core.errors import DataValidationError
from formguide.nfl.teams import UnknownTeamError, franchise_codes

__all__ = [
    "EPA_STATS",
    "GAME_OUTCOMES",
    "INJURY_FIELDS",
    "NFLVERSE_STATS",
    "OUTCOME_COLUMNS",
    "POSITION_GROUPS",
    "STAT_COLUMNS",
    "build_frame",
    "injury_columns",
    "stat_columns",
]

#: Numeric per-team-game columns of nflverse ``stats_team_week`` (strings such as ``fg_made_list`` left out).
NFLVERSE_STATS: tuple[str, ...] = (
    "completions", "attempts", "passing_yards", "passing_tds", "passing_interceptions", "sacks_suffered",
    "sack_yards_lost", "sack_fumbles", "sack_fumbles_lost", "passing_air_yards", "passing_yards_after_catch",
    "passing_first_downs", "passing_epa", "passing_cpoe", "passing_2pt_conversions", "carries", "rushing_yards",
    "rushing_tds", "rushing_fumbles", "rushing_fumbles_lost", "rushing_first_downs", "rushing_epa",
    "rushing_2pt_conversions", "receptions", "targets", "receiving_yards", "receiving_tds", "receiving_fumbles",
    "receiving_fumbles_lost", "receiving_air_yards", "receiving_yards_after_catch", "receiving_first_downs",
    "receiving_epa", "receiving_2pt_conversions", "special_teams_tds", "def_tackles_solo",
    "def_tackles_with_assist", "def_tackle_assists", "def_tackles_for_loss", "def_tackles_for_loss_yards",
    "def_fumbles_forced", "def_sacks", "def_sack_yards", "def_qb_hits", "def_interceptions",
    "def_interception_yards", "def_pass_defended", "def_tds", "def_fumbles", "def_safeties", "misc_yards",
    "fumble_recovery_own", "fumble_recovery_yards_own", "fumble_recovery_opp", "fumble_recovery_yards_opp",
    "fumble_recovery_tds", "penalties", "penalty_yards", "timeouts", "punt_returns", "punt_return_yards",
    "kickoff_returns", "kickoff_return_yards", "fg_made", "fg_att", "fg_missed", "fg_blocked", "fg_long",
    "fg_pct", "fg_made_0_19", "fg_made_20_29", "fg_made_30_39", "fg_made_40_49", "fg_made_50_59", "fg_made_60_",
    "fg_missed_0_19", "fg_missed_20_29", "fg_missed_30_39", "fg_missed_40_49", "fg_missed_50_59",
    "fg_missed_60_", "fg_made_distance", "fg_missed_distance", "fg_blocked_distance", "pat_made", "pat_att",
    "pat_missed", "pat_blocked", "pat_pct", "gwfg_made", "gwfg_att", "gwfg_missed", "gwfg_blocked",
    "gwfg_distance",
)
#: Columns of the play-by-play EPA file (2013+, regular season only).
EPA_STATS: tuple[str, ...] = (
    "off_epa_per_play", "off_success_rate", "def_epa_per_play", "def_success_rate", "off_plays", "def_plays",
)
STAT_COLUMNS: tuple[str, ...] = NFLVERSE_STATS + EPA_STATS

#: Injury-report position groups; a player counts in his group when listed Out or Doubtful.
POSITION_GROUPS: dict[str, tuple[str, ...]] = {
    "qb": ("QB",),
    "ol": ("T", "G", "C", "OT", "OG", "OL"),
    "te": ("TE",),
    "wr": ("WR",),
    "rb": ("RB", "FB", "HB"),
    "dl": ("DE", "DT", "NT", "DL"),
    "lb": ("LB", "ILB", "OLB", "MLB"),
    "db": ("CB", "S", "SS", "FS", "DB"),
    "st": ("K", "P", "LS", "KR", "PR"),
}
#: Per side and game: ``out_<group>`` counts, ``out_total`` (every position), ``questionable`` (count
#: listed Questionable) and ``prev_qb_out`` (1 if the QB who started the team's previous game is listed
#: Out or Doubtful for this one: the only "starter" the data identifies; there are no depth charts).
INJURY_FIELDS: tuple[str, ...] = tuple(f"out_{g}" for g in POSITION_GROUPS) + (
    "out_total", "questionable", "prev_qb_out",
)
#: Game-level outcomes of the games frame.
GAME_OUTCOMES: tuple[str, ...] = ("home_score", "away_score", "overtime")
_SIDES = ("home", "away")
_KEYS = ("season", "week", "team")
_OUT_STATUSES = ("Out", "Doubtful")


def stat_columns(side: str) -> list[str]:
    """``<side>_st_<stat>`` for every stat (``side`` is ``"home"`` or ``"away"``)."""
    return [f"{side}_st_{s}" for s in STAT_COLUMNS]


def injury_columns(side: str) -> list[str]:
    """``<side>_inj_<field>`` for every injury-report field."""
    return [f"{side}_inj_{f}" for f in INJURY_FIELDS]


#: What the feature engine blanks for games at or after ``as_of``: scores, overtime, every ``*_st_*`` column.
OUTCOME_COLUMNS: tuple[str, ...] = GAME_OUTCOMES + tuple(stat_columns("home")) + tuple(stat_columns("away"))

_GAME_REQUIRED = ("season", "week", "kickoff", "home_team", "away_team", "home_score", "away_score")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{what} frame lacks column(s) {missing}")


def _franchises(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """Franchise codes of a team column; an unknown or missing code is an error naming row and column."""
    values = frame[column]
    try:
        return franchise_codes(values.fillna(""))
    except UnknownTeamError:
        text = values.fillna("").astype(str).str.strip().str.upper()
        pos = next(i for i, v in enumerate(text) if not _is_team(v))
        raise DataValidationError(
            f"{what} frame, row {pos}, column {column}: unknown NFL team code {values.iloc[pos]!r}"
        ) from None


def _is_team(code: str) -> bool:
    try:
        franchise_codes([code])
    except UnknownTeamError:
        return False
    return True


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """``season`` as text and ``week`` as int, the join key every source shares."""
    out = frame.copy()
    out["season"] = out["season"].astype(str).to_numpy(dtype=object)
    out["week"] = pd.to_numeric(out["week"]).astype(np.int64)
    return out


def _stats_by_team(team_stats: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (season, week, team) with every stat of :data:`STAT_COLUMNS` (NaN where absent)."""
    if team_stats is None:
        return pd.DataFrame(columns=[*_KEYS, *STAT_COLUMNS])
    _require(team_stats, _KEYS, "team stats")
    stats = _keyed(team_stats)
    stats["team"] = _franchises(stats, "team", "team stats")
    n = len(stats)
    cols = {k: stats[k].to_numpy() for k in _KEYS}
    for col in STAT_COLUMNS:
        cols[col] = (pd.to_numeric(stats[col], errors="coerce").to_numpy(dtype=np.float64) if col in stats
                     else np.full(n, np.nan))
    out = pd.DataFrame(cols)
    dup = out.duplicated(list(_KEYS), keep=False).to_numpy()
    if not dup.any():
        return out
    _check_no_conflicts(out.loc[dup])
    return out.groupby(list(_KEYS), sort=False, as_index=False).first()


def _check_no_conflicts(rows: pd.DataFrame) -> None:
    """Rows sharing a (season, week, team) key may complete each other (stats + EPA file), never disagree."""
    grouped = rows.groupby(list(_KEYS), sort=False)
    spread = grouped[list(STAT_COLUMNS)].max() - grouped[list(STAT_COLUMNS)].min()
    bad = (spread.abs() > 1e-9).to_numpy()
    if bad.any():
        g, c = (int(v) for v in np.argwhere(bad)[0])
        key = spread.index[g]
        pos = int(np.flatnonzero((rows[list(_KEYS)].to_numpy() == np.array(key, dtype=object)).all(axis=1))[1])
        raise DataValidationError(
            f"team stats frame, row {rows.index[pos]}, column {STAT_COLUMNS[c]}: {key[2]} has two different "
            f"values in season {key[0]} week {key[1]}"
        )


def _previous_starters(games: pd.DataFrame) -> pd.DataFrame:
    """Per game and side, the QB who started that team's previous game (pre-game information)."""
    n = len(games)
    long = pd.DataFrame({
        "row": np.r_[np.arange(n), np.arange(n)],
        "side": np.r_[np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)],
        "team": np.r_[games["home_team"].to_numpy(dtype=object), games["away_team"].to_numpy(dtype=object)],
        "kickoff": np.r_[games["kickoff"].to_numpy(), games["kickoff"].to_numpy()],
        "qb": np.r_[games["home_qb_id"].to_numpy(dtype=object), games["away_qb_id"].to_numpy(dtype=object)]
        if "home_qb_id" in games else np.full(2 * n, None, dtype=object),
    })
    long = long.sort_values(["team", "kickoff", "row"], kind="stable")
    long["prev_qb"] = long.groupby("team", sort=False)["qb"].shift(1)
    return long.sort_values(["side", "row"], kind="stable")


def _injury_summary(injuries: pd.DataFrame | None, games: pd.DataFrame) -> dict[str, np.ndarray]:
    """``<side>_inj_<field>`` arrays aligned with ``games`` rows."""
    n = len(games)
    out = {c: np.full(n, np.nan) for side in _SIDES for c in injury_columns(side)}
    if injuries is None or injuries.empty:
        return out
    _require(injuries, (*_KEYS, "gsis_id", "position", "report_status"), "injuries")
    inj = _keyed(injuries)
    inj["team"] = _franchises(inj, "team", "injuries")
    inj = inj.drop_duplicates(["season", "week", "team", "gsis_id"], keep="last")
    status = inj["report_status"].astype(object).where(inj["report_status"].notna(), "").astype(str).str.strip()
    position = inj["position"].astype(object).where(inj["position"].notna(), "").astype(str).str.strip()
    out_or_doubtful = status.isin(_OUT_STATUSES).to_numpy()
    counts = pd.DataFrame({k: inj[k].to_numpy() for k in _KEYS})
    for group, positions in POSITION_GROUPS.items():
        counts[f"out_{group}"] = (out_or_doubtful & position.isin(positions).to_numpy()).astype(np.float64)
    counts["out_total"] = out_or_doubtful.astype(np.float64)
    counts["questionable"] = (status == "Questionable").to_numpy().astype(np.float64)
    per_team = counts.groupby(list(_KEYS), sort=False).sum().reset_index()
    weeks = inj[["season", "week"]].drop_duplicates()
    weeks["_reported"] = True
    out_ids = inj.loc[out_or_doubtful, list(_KEYS) + ["gsis_id"]].rename(columns={"gsis_id": "prev_qb"})
    out_ids["_qb_out"] = 1.0
    prev = _previous_starters(games)
    g = _keyed(games[["season", "week"]])
    for k, side in enumerate(_SIDES):
        part = prev[prev["side"] == k]
        keys = pd.DataFrame({"season": g["season"].to_numpy(), "week": g["week"].to_numpy(),
                             "team": games[f"{side}_team"].to_numpy(dtype=object),
                             "prev_qb": part["prev_qb"].to_numpy(dtype=object)})
        merged = keys.merge(weeks, on=["season", "week"], how="left")
        merged = merged.merge(per_team, on=list(_KEYS), how="left")
        merged = merged.merge(out_ids, on=[*_KEYS, "prev_qb"], how="left")
        reported = merged["_reported"].notna().to_numpy()
        for field in INJURY_FIELDS[:-1]:
            vals = merged[field].to_numpy(dtype=np.float64)
            out[f"{side}_inj_{field}"] = np.where(reported, np.nan_to_num(vals, nan=0.0), np.nan)
        qb_out = np.nan_to_num(merged["_qb_out"].to_numpy(dtype=np.float64), nan=0.0)
        known_prev = keys["prev_qb"].notna().to_numpy()
        out[f"{side}_inj_prev_qb_out"] = np.where(reported & known_prev, qb_out, np.nan)
    return out


def build_frame(games: pd.DataFrame, team_stats: pd.DataFrame | None = None,
                injuries: pd.DataFrame | None = None) -> pd.DataFrame:
    """The games frame plus both teams' own statistics of each game and their injury-report summary.

    Team codes of every source are mapped to franchises (so a relocated team's rows join and its ratings
    carry over); rows keep the games frame's order and index. ``team_stats`` may be the stats file and
    the EPA file concatenated: rows of one (season, week, team) are combined, and an error names the
    first statistic on which two of them disagree. Statistics are outcomes
    (:data:`OUTCOME_COLUMNS`); injury summaries are pre-game information.
    """
    _require(games, _GAME_REQUIRED, "games")
    frame = games.copy()
    for col in ("home_team", "away_team"):
        frame[col] = _franchises(frame, col, "games")
    keyed = _keyed(frame[["season", "week"]])
    stats = _stats_by_team(team_stats)
    added: dict[str, np.ndarray] = {}
    for side in _SIDES:
        keys = pd.DataFrame({"season": keyed["season"].to_numpy(), "week": keyed["week"].to_numpy(),
                             "team": frame[f"{side}_team"].to_numpy(dtype=object)})
        merged = keys.merge(stats, on=list(_KEYS), how="left", validate="many_to_one")
        for col in STAT_COLUMNS:
            added[f"{side}_st_{col}"] = merged[col].to_numpy(dtype=np.float64)
    added.update(_injury_summary(injuries, frame))
    drop = [c for c in added if c in frame.columns]
    frame = frame.drop(columns=drop)
    return pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)
