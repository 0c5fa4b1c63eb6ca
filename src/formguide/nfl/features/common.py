"""Shared building blocks of the NFL features: the two-rows-per-game team view and side splitting.

Every feature reads the frame of :func:`formguide.nfl.frame.build_frame` and answers from the home side's
view. The long "team-game" table has one row per team and game (home rows first, then away rows, both in
frame order), so ``split`` turns a long column back into home and away arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.core.days import day_numbers

__all__ = ["played", "side_stat", "split", "team_games"]


def played(frame: pd.DataFrame) -> np.ndarray:
    """Games with both scores known (not yet played, or hidden by ``as_of``, otherwise)."""
    return (frame["home_score"].notna() & frame["away_score"].notna()).to_numpy()


def split(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Home and away halves of a long (team-game) array."""
    return values[:n], values[n:]


def side_stat(frame: pd.DataFrame, stat: str) -> tuple[np.ndarray, np.ndarray]:
    """Long arrays of a per-game team statistic: the team's own value and its opponent's."""
    home = frame[f"home_st_{stat}"].to_numpy(dtype=np.float64) if f"home_st_{stat}" in frame else None
    away = frame[f"away_st_{stat}"].to_numpy(dtype=np.float64) if f"away_st_{stat}" in frame else None
    if home is None or away is None:
        nan = np.full(2 * len(frame), np.nan)
        return nan, nan.copy()
    return np.r_[home, away], np.r_[away, home]


def team_games(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per team and game: team, opponent, season, kickoff, day, points for and against.

    Points are NaN for games not played (or hidden); ``row`` is the game's position in the frame.
    """
    n = len(frame)
    home, away = frame["home_team"].to_numpy(dtype=object), frame["away_team"].to_numpy(dtype=object)
    hs = frame["home_score"].to_numpy(dtype=np.float64)
    as_ = frame["away_score"].to_numpy(dtype=np.float64)
    ok = ~(np.isnan(hs) | np.isnan(as_))
    hs, as_ = np.where(ok, hs, np.nan), np.where(ok, as_, np.nan)
    kick = frame["kickoff"].to_numpy()
    season = frame["season"].astype(str).to_numpy(dtype=object)
    return pd.DataFrame({
        "row": np.r_[np.arange(n), np.arange(n)],
        "home": np.r_[np.ones(n, dtype=bool), np.zeros(n, dtype=bool)],
        "team": np.r_[home, away],
        "opponent": np.r_[away, home],
        "season": np.r_[season, season],
        "kickoff": np.r_[kick, kick],
        "day": np.r_[day_numbers(frame["kickoff"]), day_numbers(frame["kickoff"])],
        "pf": np.r_[hs, as_],
        "pa": np.r_[as_, hs],
    })
