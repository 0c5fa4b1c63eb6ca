"""FiveThirtyEight-style NFL Elo, point in time, over the NFL event frame.

The rules of 538's public ``nfl-elo-game`` model (``forecast.py``) and its methodology page:

* expected home score ``1 / (1 + 10**(-elo_diff / 400))`` with ``elo_diff = home - away + HFA`` (no HFA
  at a neutral site), times ``playoff_multiplier`` in the playoffs (538: favourites do better there);
* update ``shift = K * mult * (result - expected)`` (result 1 / 0.5 / 0 for the home side), added to the
  home rating and taken from the away rating, with the margin-of-victory multiplier
  ``mult = ln(max(|PD|, 1) + 1) * 2.2 / (elo_diff_winner * 0.001 + 2.2)`` (``2.2 / 1`` for a tie), whose
  denominator damps the autocorrelation of favourites winning by more;
* at a team's first game of a new season its rating is pulled ``revert`` (one third) of the way toward
  ``mean`` (1505), playoffs count as part of their season;
* defaults are 538's published ones: K = 20, HFA = 65, revert = 1/3, mean = 1505, playoff multiplier
  1.2, and an expansion team starts at 1300 (Houston 2002). Nothing was tuned. Every franchise of the
  frame's first season starts at ``mean`` (the data begins in 1999, 538's ratings begin in 1920).

Point in time: ratings move only at the end of each calendar day, so every game of day ``D`` is rated with
what was known after day ``D - 1``; games not played (or hidden by ``as_of``) are rated but move nothing.
Teams are franchise codes, so a relocated franchise (STL -> LA) keeps its rating. One loop over the games
in time order (about 7,000), numpy around it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from formguide.core.days import day_numbers
from formguide.core.errors import DataValidationError

__all__ = ["ELO_COLUMNS", "ELO_DEFAULTS", "elo_features", "elo_probability", "elo_ratings", "neutral_flags",
           "playoff_flags"]

#: FiveThirtyEight's published defaults.
ELO_DEFAULTS: dict[str, float] = {
    "k": 20.0,
    "home_advantage": 65.0,
    "revert": 1.0 / 3.0,
    "mean": 1505.0,
    "playoff_multiplier": 1.2,
    "new_team_elo": 1300.0,
}

ELO_COLUMNS: tuple[str, ...] = ("elo_home", "elo_away", "elo_diff", "elo_prob")


def elo_probability(elo_diff: np.ndarray) -> np.ndarray:
    """Home win probability of an Elo difference (HFA and playoff factor already in it)."""
    return 1.0 / (1.0 + np.power(10.0, -np.asarray(elo_diff, dtype=np.float64) / 400.0))


def playoff_flags(frame: pd.DataFrame) -> np.ndarray:
    """``playoff`` as booleans (from ``game_type`` when the column is absent)."""
    if "playoff" in frame:
        return frame["playoff"].fillna(False).to_numpy(dtype=bool)
    return (frame["game_type"].astype(str) != "REG").to_numpy()


def neutral_flags(frame: pd.DataFrame) -> np.ndarray:
    """``neutral`` as booleans (False when the column is absent)."""
    if "neutral" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame["neutral"].fillna(False).to_numpy(dtype=bool)


def _codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    names = pd.concat([frame["home_team"], frame["away_team"]], ignore_index=True)
    codes, teams = pd.factorize(names)
    if (codes < 0).any():
        pos = int(np.flatnonzero(codes < 0)[0])
        col = "home_team" if pos < len(frame) else "away_team"
        raise DataValidationError(f"missing team at row {pos % len(frame)}, column {col}")
    n = len(frame)
    return codes[:n].astype(np.int64), codes[n:].astype(np.int64), len(teams)


def elo_ratings(frame: pd.DataFrame, k: float = 20.0, home_advantage: float = 65.0, revert: float = 1.0 / 3.0,
                mean: float = 1505.0, playoff_multiplier: float = 1.2, new_team_elo: float = 1300.0,
                adjustment: np.ndarray | None = None) -> pd.DataFrame:
    """Pre- and post-game ratings per game (``elo_home``, ``elo_away``, ``post_home``, ``post_away``).

    ``adjustment`` (home-minus-away Elo points per game, e.g. the QB adjustment) is added to the
    difference the expected score and the margin multiplier are computed from; the ratings themselves
    stay team ratings. Also returns ``elo_diff`` and ``elo_prob`` of that (adjusted) difference.
    """
    if not 0.0 <= revert <= 1.0:
        raise ValueError(f"revert must be in [0, 1], got {revert}")
    n = len(frame)
    home, away, n_teams = _codes(frame)
    day = day_numbers(frame["kickoff"])
    season = frame["season"].astype(str).to_numpy(dtype=object)
    hs = frame["home_score"].to_numpy(dtype=np.float64)
    as_ = frame["away_score"].to_numpy(dtype=np.float64)
    hfa = np.where(neutral_flags(frame), 0.0, float(home_advantage))
    mult_po = np.where(playoff_flags(frame), float(playoff_multiplier), 1.0)
    adj = np.zeros(n) if adjustment is None else np.nan_to_num(np.asarray(adjustment, dtype=np.float64))
    order = np.lexsort((np.arange(n), day))
    first_season = season[order[0]] if n else None
    rating = [math.nan] * n_teams
    last_season: list[Any] = [None] * n_teams
    pre_h, pre_a, diff_out = np.empty(n), np.empty(n), np.empty(n)
    shift_out = np.zeros(n)
    pending: list[tuple[int, int, float]] = []
    current_day = None
    for i in order:
        if day[i] != current_day:
            for h, a, s in pending:
                rating[h] += s
                rating[a] -= s
            pending.clear()
            current_day = day[i]
        for t in (home[i], away[i]):
            if rating[t] != rating[t]:
                rating[t] = mean if season[i] == first_season else new_team_elo
            elif last_season[t] != season[i]:
                rating[t] = mean * revert + rating[t] * (1.0 - revert)
            last_season[t] = season[i]
        h, a = home[i], away[i]
        pre_h[i], pre_a[i] = rating[h], rating[a]
        diff = (rating[h] - rating[a] + hfa[i] + adj[i]) * mult_po[i]
        diff_out[i] = diff
        if hs[i] == hs[i] and as_[i] == as_[i]:
            margin = hs[i] - as_[i]
            result = 1.0 if margin > 0 else (0.0 if margin < 0 else 0.5)
            expected = 1.0 / (1.0 + 10.0 ** (-diff / 400.0))
            winner_diff = diff if margin > 0 else -diff
            damp = 1.0 if margin == 0 else winner_diff * 0.001 + 2.2
            mult = math.log(max(abs(margin), 1.0) + 1.0) * 2.2 / damp
            shift = k * mult * (result - expected)
            shift_out[i] = shift
            pending.append((h, a, shift))
    return pd.DataFrame({
        "elo_home": pre_h, "elo_away": pre_a, "post_home": pre_h + shift_out, "post_away": pre_a - shift_out,
        "elo_diff": diff_out, "elo_prob": elo_probability(diff_out),
    }, index=frame.index)


def elo_features(frame: pd.DataFrame, k: float = 20.0, home_advantage: float = 65.0, revert: float = 1.0 / 3.0,
                 mean: float = 1505.0, playoff_multiplier: float = 1.2, new_team_elo: float = 1300.0) -> pd.DataFrame:
    """Pre-game 538 Elo of both sides, ``elo_diff`` (HFA and playoff factor in it) and ``elo_prob``."""
    elo = elo_ratings(frame, k=k, home_advantage=home_advantage, revert=revert, mean=mean,
                      playoff_multiplier=playoff_multiplier, new_team_elo=new_team_elo)
    return elo[list(ELO_COLUMNS)]
