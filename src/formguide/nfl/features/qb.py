"""Starting-quarterback adjustment in FiveThirtyEight's style, point in time.

538 rates each game's starting QB with a VALUE built from his box score and keeps two exponentially
weighted averages: one per QB (``qb_alpha`` = 0.1, about his last ten starts) and one per team of whoever
started for it (``team_alpha`` = 0.05, about twenty games). The Elo adjustment of a game is
``qb_elo_per_value * (QB value - team value)`` with 538's 3.3 Elo points per VALUE point, so a team
starting its usual QB gets about 0 and a backup replacing a good starter a negative adjustment.

What the data allows (and how this differs from 538):

* The data has team passing lines per game, not per QB, so the whole team's passing line of a game is
  attributed to its starting QB (``home_qb_id``/``away_qb_id``; a QB benched mid-game is credited with
  his reliever's passes). VALUE here is 538's passing part only:
  ``-2.2 att + 3.7 comp + yds / 5 + 11.3 TD - 14.1 INT - 8 sacks``. 538's QB rushing terms need the QB's
  own rushing, which the team line does not separate from the running backs', so they are left out; so
  is 538's opponent-defence adjustment of VALUE.
* Priors (538 used draft position, which the data lacks): a team seen for the first time starts at
  ``initial_value``, as does a QB seen first in the frame's first season (he was an established starter
  or not, we cannot tell); a QB whose first start in the frame comes later starts at ``debut_value``.
  Both defaults are :func:`qb_priors` of seasons 1999-2008 (rounded to 0.1): the mean VALUE of all
  starts, and the mean VALUE of first starts in 2000-2008.
* Values move at the end of each calendar day (the point-in-time rule); games without a passing line
  (1999-2002 gaps, games not played or hidden) move nothing. No reversion between seasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.core.days import day_numbers
from formguide.nfl.features.elo import elo_ratings

__all__ = ["QB_COLUMNS", "QB_DEFAULTS", "pass_value", "qb_adjustments", "qb_changes", "qb_features", "qb_priors",
           "qb_values"]

#: 538's rates and Elo conversion; priors from :func:`qb_priors` on seasons <= 2008.
QB_DEFAULTS: dict[str, float] = {
    "qb_alpha": 0.1,
    "team_alpha": 0.05,
    "qb_elo_per_value": 3.3,
    "initial_value": 26.5,
    "debut_value": 8.2,
}
_PASSING = ("attempts", "completions", "passing_yards", "passing_tds", "passing_interceptions", "sacks_suffered")


def pass_value(frame: pd.DataFrame, side: str) -> np.ndarray:
    """538's VALUE of a side's passing line in each game (NaN where the line is missing)."""
    get = {c: frame[f"{side}_st_{c}"].to_numpy(dtype=np.float64) for c in _PASSING}
    return (-2.2 * get["attempts"] + 3.7 * get["completions"] + get["passing_yards"] / 5.0
            + 11.3 * get["passing_tds"] - 14.1 * get["passing_interceptions"] - 8.0 * get["sacks_suffered"])


def _qb_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    ids = pd.concat([frame["home_qb_id"], frame["away_qb_id"]], ignore_index=True)
    codes, _ = pd.factorize(ids)  # -1 where the starter is unknown
    return codes[:n].astype(np.int64), codes[n:].astype(np.int64)


def qb_values(frame: pd.DataFrame, qb_alpha: float = 0.1, team_alpha: float = 0.05, initial_value: float = 26.5,
              debut_value: float = 8.2) -> pd.DataFrame:
    """Pre-game rolling values per game and side: ``{side}_qb_value`` of the starter, ``{side}_team_value``.

    Also ``{side}_qb_post`` / ``{side}_team_post`` (after the game) for rating tables. An unknown starter
    (no id) gets the team's value, i.e. no adjustment.
    """
    n = len(frame)
    qb_h, qb_a = _qb_codes(frame)
    teams = pd.concat([frame["home_team"], frame["away_team"]], ignore_index=True)
    t_codes, t_names = pd.factorize(teams)
    t_h, t_a = t_codes[:n], t_codes[n:]
    v_h, v_a = pass_value(frame, "home"), pass_value(frame, "away")
    day = day_numbers(frame["kickoff"])
    season = frame["season"].astype(str).to_numpy(dtype=object)
    order = np.lexsort((np.arange(n), day))
    first_season = season[order[0]] if n else None
    n_qb = int(max(qb_h.max(initial=-1), qb_a.max(initial=-1))) + 1
    qb = np.full(n_qb, np.nan)
    team = np.full(len(t_names), np.nan)
    out = {c: np.full(n, np.nan) for c in ("home_qb_value", "away_qb_value", "home_team_value", "away_team_value",
                                           "home_qb_post", "away_qb_post", "home_team_post", "away_team_post")}
    pending: list[tuple[int, int, float]] = []
    current_day = None
    for i in order:
        if day[i] != current_day:
            for q, t, v in pending:
                qb[q] += qb_alpha * (v - qb[q])
                team[t] += team_alpha * (v - team[t])
            pending.clear()
            current_day = day[i]
        for side, q, t, v in (("home", qb_h[i], t_h[i], v_h[i]), ("away", qb_a[i], t_a[i], v_a[i])):
            if team[t] != team[t]:
                team[t] = initial_value
            if q >= 0 and qb[q] != qb[q]:
                qb[q] = initial_value if season[i] == first_season else debut_value
            q_pre = qb[q] if q >= 0 else team[t]
            out[f"{side}_qb_value"][i], out[f"{side}_team_value"][i] = q_pre, team[t]
            if q >= 0 and v == v:
                pending.append((q, t, v))
                out[f"{side}_qb_post"][i] = q_pre + qb_alpha * (v - q_pre)
                out[f"{side}_team_post"][i] = team[t] + team_alpha * (v - team[t])
            else:
                out[f"{side}_qb_post"][i], out[f"{side}_team_post"][i] = q_pre, team[t]
    return pd.DataFrame(out, index=frame.index)


def qb_priors(frame: pd.DataFrame, last_season: int = 2008) -> tuple[float, float]:
    """``(initial_value, debut_value)``: mean VALUE of every start, and of first starts after the first season.

    Only games of seasons <= ``last_season`` are read (how the defaults were chosen).
    """
    seasons = frame["season"].astype(int).to_numpy()
    sub = frame.loc[seasons <= last_season].sort_values("kickoff", kind="stable")
    ids = np.r_[sub["home_qb_id"].to_numpy(dtype=object), sub["away_qb_id"].to_numpy(dtype=object)]
    vals = np.r_[pass_value(sub, "home"), pass_value(sub, "away")]
    kick = np.r_[sub["kickoff"].to_numpy(), sub["kickoff"].to_numpy()]
    season = np.r_[sub["season"].astype(int).to_numpy(), sub["season"].astype(int).to_numpy()]
    long = pd.DataFrame({"qb": ids, "value": vals, "kickoff": kick, "season": season}).dropna(subset=["qb"])
    long = long.sort_values("kickoff", kind="stable")
    first = long.drop_duplicates("qb", keep="first")
    debut = first.loc[first["season"] > long["season"].min(), "value"]
    return float(np.nanmean(long["value"])), float(np.nanmean(debut))


QB_COLUMNS: tuple[str, ...] = ("qb_adj_home", "qb_adj_away", "qb_change_home", "qb_change_away", "qbelo_home",
                               "qbelo_away", "elo_diff_qb", "elo_prob_qb")


def qb_changes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """1 where a side's starter differs from its starter of the previous game, 0 if the same, NaN if unknown."""
    n = len(frame)
    long = pd.DataFrame({
        "team": np.r_[frame["home_team"].to_numpy(dtype=object), frame["away_team"].to_numpy(dtype=object)],
        "kickoff": np.r_[frame["kickoff"].to_numpy(), frame["kickoff"].to_numpy()],
        "qb": np.r_[frame["home_qb_id"].to_numpy(dtype=object), frame["away_qb_id"].to_numpy(dtype=object)],
    })
    long = long.sort_values(["team", "kickoff"], kind="stable")
    prev = long.groupby("team", sort=False)["qb"].shift(1)
    known = long["qb"].notna() & prev.notna()
    change = np.where(known, (long["qb"] != prev).astype(np.float64), np.nan)
    out = pd.Series(change, index=long.index).sort_index().to_numpy(dtype=np.float64)
    return out[:n], out[n:]


def qb_adjustments(values: pd.DataFrame, qb_elo_per_value: float = 3.3) -> tuple[np.ndarray, np.ndarray]:
    """Elo points of each side's starter against its team's usual starter."""
    home = qb_elo_per_value * (values["home_qb_value"] - values["home_team_value"]).to_numpy(dtype=np.float64)
    away = qb_elo_per_value * (values["away_qb_value"] - values["away_team_value"]).to_numpy(dtype=np.float64)
    return home, away


def qb_features(frame: pd.DataFrame, qb_alpha: float = 0.1, team_alpha: float = 0.05, qb_elo_per_value: float = 3.3,
                initial_value: float = 26.5, debut_value: float = 8.2, k: float = 20.0, home_advantage: float = 65.0,
                revert: float = 1.0 / 3.0, mean: float = 1505.0, playoff_multiplier: float = 1.2,
                new_team_elo: float = 1300.0) -> pd.DataFrame:
    """QB adjustments of both sides and the QB-adjusted Elo (538's "QB Elo").

    The QB-adjusted Elo is its own chain, as 538's: the adjustment enters the difference the expected
    score and the margin multiplier are computed from, so the ratings learn what the starter explains.
    That variant beat adding the adjustment to the plain Elo difference on seasons 2000-2008 (Brier
    0.2200 against 0.2205), the only seasons it was compared on.
    """
    values = qb_values(frame, qb_alpha=qb_alpha, team_alpha=team_alpha, initial_value=initial_value,
                       debut_value=debut_value)
    adj_h, adj_a = qb_adjustments(values, qb_elo_per_value)
    elo = elo_ratings(frame, k=k, home_advantage=home_advantage, revert=revert, mean=mean,
                      playoff_multiplier=playoff_multiplier, new_team_elo=new_team_elo, adjustment=adj_h - adj_a)
    change_h, change_a = qb_changes(frame)
    return pd.DataFrame({
        "qb_adj_home": adj_h, "qb_adj_away": adj_a, "qb_change_home": change_h, "qb_change_away": change_a,
        "qbelo_home": elo["elo_home"].to_numpy(), "qbelo_away": elo["elo_away"].to_numpy(),
        "elo_diff_qb": elo["elo_diff"].to_numpy(), "elo_prob_qb": elo["elo_prob"].to_numpy(),
    }, index=frame.index)
