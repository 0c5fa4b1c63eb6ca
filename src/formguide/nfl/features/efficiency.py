"""Offensive and defensive efficiency from the team statistics, point in time, with a prior between seasons.

Per team and game (``*_st_*`` columns of :func:`formguide.nfl.frame.build_frame`):

* EPA per play = ``(passing_epa + rushing_epa) / (attempts + sacks_suffered + carries)`` (1999+, gaps in
  1999-2002); success rate from the play-by-play file (2013+, regular season only); CPOE (2006+).
* Offence is the team's own row of the game, defence the opponent's offensive row of the same game.

Estimate before a game: an exponentially weighted mean of the team's earlier games of the season (a game
``j`` games back weighs ``decay**j``) together with a prior worth ``prior_games`` games. The prior is last
season's final estimate shrunk toward last season's league mean, ``mean + carry * (final - mean)``; a
team without last season (or the frame's first season) has no prior, and its first estimate is NaN.
Games without the statistic (missing, not played, or hidden by ``as_of``) weigh nothing. Only games of
days strictly before the game's day count (:func:`formguide.core.features.engine.asof_join`).

Defaults (decay 1.0, i.e. a plain season-to-date mean, a prior worth 10 games, carry 0.7) were chosen on
seasons <= 2008 only, as the best of a grid (decay 0.8-1.0, prior 2-20 games, carry 0.3-0.8) for
predicting each game's offensive plus defensive EPA per play (mean squared error over 2000-2008; the
grid's spread was under 1 %). Success rate and CPOE use the same values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.core.features.engine import asof_join
from formguide.nfl.features.common import side_stat, split, team_games

__all__ = ["EFFICIENCY_COLUMNS", "METRICS", "efficiency_features", "efficiency_states", "game_metrics"]

#: ``name -> (statistic, side)`` of the per-game value: the team's own ("off") or its opponent's ("def").
METRICS: dict[str, tuple[str, str]] = {
    "off_epa": ("epa_per_play", "off"), "def_epa": ("epa_per_play", "def"),
    "off_sr": ("off_success_rate", "off"), "def_sr": ("off_success_rate", "def"),
    "off_cpoe": ("passing_cpoe", "off"), "def_cpoe": ("passing_cpoe", "def"),
}
_NET = ("epa", "sr", "cpoe")
EFFICIENCY_COLUMNS: tuple[str, ...] = tuple(f"{side}_{m}" for side in ("home", "away") for m in METRICS) + tuple(
    f"net_{k}_diff" for k in _NET
)


def game_metrics(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per team-game (long order of :func:`team_games`) value of every metric of :data:`METRICS`."""
    own: dict[str, np.ndarray] = {}
    opp: dict[str, np.ndarray] = {}
    for stat in ("passing_epa", "rushing_epa", "attempts", "sacks_suffered", "carries", "off_success_rate",
                 "passing_cpoe"):
        own[stat], opp[stat] = side_stat(frame, stat)
    for side in (own, opp):
        plays = side["attempts"] + side["sacks_suffered"] + side["carries"]
        with np.errstate(invalid="ignore", divide="ignore"):
            side["epa_per_play"] = np.where(plays > 0, (side["passing_epa"] + side["rushing_epa"]) / plays, np.nan)
    return {name: (own if who == "off" else opp)[stat] for name, (stat, who) in METRICS.items()}


def _group_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sums down the rows that restart at every ``starts`` row (rows sorted by group).

    Summed within each group (never a global running total minus an offset), so a value depends only on
    the earlier rows of its own group, to the last bit: serving equals training exactly.
    """
    group = np.cumsum(starts)
    return pd.DataFrame(values).groupby(group, sort=False).cumsum().to_numpy(dtype=np.float64)


def efficiency_states(frame: pd.DataFrame, decay: float = 1.0, prior_games: float = 10.0,
                      carry: float = 0.7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long (team-game) estimates of every metric before each game (``pre``) and after it (``post``)."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    if prior_games < 0 or not 0.0 <= carry <= 1.0:
        raise ValueError(f"prior_games must be >= 0 and carry in [0, 1], got {prior_games}, {carry}")
    long = team_games(frame)
    names = list(METRICS)
    values = game_metrics(frame)
    x_all = np.column_stack([values[m] for m in names])
    first_kick = long.groupby("season", sort=False)["kickoff"].transform("min").to_numpy()
    season_code = pd.factorize(first_kick, sort=True)[0]  # seasons in time order
    team_code, teams = pd.factorize(long["team"])
    order = np.lexsort((long["row"].to_numpy(), long["day"].to_numpy(), team_code, season_code))
    sc, tc, x = season_code[order], team_code[order], x_all[order]
    n = len(order)
    starts = np.r_[True, (sc[1:] != sc[:-1]) | (tc[1:] != tc[:-1])] if n else np.zeros(0, dtype=bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    weight = (decay ** -(np.arange(n) - first).astype(np.float64))[:, None]
    present = ~np.isnan(x)
    num = _group_cumsum(np.where(present, weight * np.nan_to_num(x), 0.0), starts)
    den = _group_cumsum(np.where(present, weight, 0.0), starts)
    prior = np.full(x.shape, np.nan)
    final = np.full((len(teams), len(names)), np.nan)
    league = np.full(len(names), np.nan)
    bounds = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1], True]) if n else np.array([0])
    state = np.full(x.shape, np.nan)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        own = final[tc[a:b]]
        prior[a:b] = league + carry * (np.where(np.isnan(own), league, own) - league)
        w0 = np.where(np.isnan(prior[a:b]), 0.0, prior_games * decay)
        with np.errstate(invalid="ignore", divide="ignore"):
            st = (w0 * np.nan_to_num(prior[a:b]) + num[a:b]) / (w0 + den[a:b])
        state[a:b] = np.where(w0 + den[a:b] > 0, st, np.nan)
        last = np.r_[tc[a + 1:b] != tc[a:b - 1], True]
        final = np.full_like(final, np.nan)
        final[tc[a:b][last]] = state[a:b][last]
        with np.errstate(invalid="ignore"):
            counts = present[a:b].sum(axis=0)
            league = np.where(counts > 0, np.nansum(x[a:b], axis=0) / np.maximum(counts, 1), np.nan)
    post_arr, prior_arr = np.empty_like(state), np.empty_like(prior)
    post_arr[order], prior_arr[order] = state, prior
    post = pd.DataFrame(post_arr, columns=names, index=long.index)
    timeline = pd.concat([long[["team", "season", "kickoff"]], post], axis=1)
    pre = asof_join(long[["team", "season", "kickoff"]], timeline, ["team", "season"], "kickoff", columns=names)
    pre = pre.astype(np.float64).fillna(pd.DataFrame(prior_arr, columns=names, index=long.index))
    return pre, post


def efficiency_features(frame: pd.DataFrame, decay: float = 1.0, prior_games: float = 10.0,
                        carry: float = 0.7) -> pd.DataFrame:
    """Both sides' offensive and defensive EPA/play, success rate and CPOE before the game, and net gaps."""
    n = len(frame)
    pre, _ = efficiency_states(frame, decay=decay, prior_games=prior_games, carry=carry)
    out: dict[str, np.ndarray] = {}
    for name in METRICS:
        out[f"home_{name}"], out[f"away_{name}"] = split(pre[name].to_numpy(dtype=np.float64), n)
    for k in _NET:
        out[f"net_{k}_diff"] = ((out[f"home_off_{k}"] - out[f"home_def_{k}"])
                                - (out[f"away_off_{k}"] - out[f"away_def_{k}"]))
    return pd.DataFrame(out, index=frame.index)[list(EFFICIENCY_COLUMNS)]
