"""Team form and head-to-head, point in time: results of days strictly before the game's day only.

Form (per side, from the home side's view):

* season to date: win percentage (a tie counts half), points for, against and differential per game;
  NaN before the team's first game of the season;
* ``pd_last5`` / ``pd_last10``: mean point differential over the team's last 5 / 10 games, across
  seasons (playoffs included);
* ``streak``: signed run of consecutive wins (+) or losses (-) this season, 0 after a tie or before the
  first game.

Head-to-head: the mean margin of the two teams' last ``h2h_games`` meetings (either venue, any season)
from the current home team's view, and how many there were (0 and NaN when they never met).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.core.features.engine import asof_join, rolling_before, trailing_window
from formguide.nfl.features.common import split, team_games

__all__ = ["FORM_COLUMNS", "H2H_COLUMNS", "form_features", "h2h_features"]

_SIDE_STATS = ("win_pct", "pf_pg", "pa_pg", "pd_pg", "pd_last5", "pd_last10", "streak")
FORM_COLUMNS: tuple[str, ...] = tuple(f"{side}_{s}" for side in ("home", "away") for s in _SIDE_STATS) + (
    "win_pct_diff", "pd_pg_diff", "pd_last5_diff", "pd_last10_diff", "streak_diff",
)
H2H_COLUMNS: tuple[str, ...] = ("h2h_margin", "h2h_n")
#: Longer than any NFL season (17 games + 4 playoff rounds), so a (team, season) window is the season to date.
_SEASON_WINDOW = 24


def _history(frame: pd.DataFrame) -> pd.DataFrame:
    """Played team-games with win (1 / 0.5 / 0), points and margin."""
    long = team_games(frame)
    hist = long[long["pf"].notna()].copy()
    margin = (hist["pf"] - hist["pa"]).to_numpy()
    hist["margin"] = margin
    hist["win"] = np.where(margin > 0, 1.0, np.where(margin < 0, 0.0, 0.5))
    return hist


def _streaks(hist: pd.DataFrame) -> np.ndarray:
    """Signed run length after each played game within its team-season (vectorised run-length count)."""
    if hist.empty:
        return np.zeros(0)
    h = hist.sort_values(["team", "season", "kickoff"], kind="stable")
    sign = np.sign(h["margin"].to_numpy())
    group = pd.factorize(h["team"].astype(str) + "|" + h["season"].astype(str))[0]
    new_run = np.r_[True, (sign[1:] != sign[:-1]) | (group[1:] != group[:-1])]
    run_id = np.cumsum(new_run)
    length = pd.Series(np.ones(len(h))).groupby(run_id).cumsum().to_numpy()
    return pd.Series(sign * length, index=h.index).reindex(hist.index).to_numpy(dtype=np.float64)


def form_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Season-to-date record, rolling point differential and streak of both sides."""
    n = len(frame)
    events = team_games(frame)[["team", "season", "kickoff"]]
    hist = _history(frame)
    season = rolling_before(events, hist, ["team", "season"], "kickoff", ["win", "pf", "pa", "margin"],
                            _SEASON_WINDOW, how="mean")
    last5 = rolling_before(events, hist, "team", "kickoff", ["margin"], 5, how="mean")["margin"].to_numpy()
    last10 = rolling_before(events, hist, "team", "kickoff", ["margin"], 10, how="mean")["margin"].to_numpy()
    hist = hist.assign(streak=_streaks(hist))
    streak = asof_join(events, hist, ["team", "season"], "kickoff", columns=["streak"])["streak"].to_numpy()
    long = {
        "win_pct": season["win"].to_numpy(), "pf_pg": season["pf"].to_numpy(), "pa_pg": season["pa"].to_numpy(),
        "pd_pg": season["margin"].to_numpy(), "pd_last5": last5, "pd_last10": last10,
        "streak": np.nan_to_num(streak.astype(np.float64), nan=0.0),
    }
    out: dict[str, np.ndarray] = {}
    for stat in _SIDE_STATS:
        out[f"home_{stat}"], out[f"away_{stat}"] = split(np.asarray(long[stat], dtype=np.float64), n)
    for stat, name in (("win_pct", "win_pct_diff"), ("pd_pg", "pd_pg_diff"), ("pd_last5", "pd_last5_diff"),
                       ("pd_last10", "pd_last10_diff"), ("streak", "streak_diff")):
        out[name] = out[f"home_{stat}"] - out[f"away_{stat}"]
    return pd.DataFrame(out, index=frame.index)[list(FORM_COLUMNS)]


def _pair_keys(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Unordered pair key per game and +1 where the home team is the pair's first (alphabetical) team."""
    home = frame["home_team"].astype(str).to_numpy()
    away = frame["away_team"].astype(str).to_numpy()
    first = np.where(home < away, home, away)
    second = np.where(home < away, away, home)
    key = np.char.add(np.char.add(first.astype(str), "|"), second.astype(str))
    return key.astype(object), np.where(home < away, 1.0, -1.0)


def h2h_features(frame: pd.DataFrame, h2h_games: int = 5) -> pd.DataFrame:
    """Mean margin (current home team's view) and count of the pair's last ``h2h_games`` meetings."""
    if int(h2h_games) < 1:
        raise ValueError(f"h2h_games must be >= 1, got {h2h_games!r}")
    pair, sign = _pair_keys(frame)
    margin = (frame["home_score"] - frame["away_score"]).to_numpy(dtype=np.float64)
    events = pd.DataFrame({"pair": pair, "kickoff": frame["kickoff"].to_numpy()})
    ok = ~np.isnan(margin)
    hist = pd.DataFrame({"pair": pair[ok], "kickoff": frame["kickoff"].to_numpy()[ok],
                         "margin": (margin * sign)[ok]})
    state = trailing_window(hist, "pair", "kickoff", ["margin"], int(h2h_games), count_column="n")
    timeline = pd.concat([hist[["pair", "kickoff"]], state], axis=1)
    joined = asof_join(events, timeline, "pair", "kickoff", columns=["margin", "n"])
    return pd.DataFrame({
        "h2h_margin": joined["margin"].to_numpy(dtype=np.float64) * sign,
        "h2h_n": np.nan_to_num(joined["n"].to_numpy(dtype=np.float64), nan=0.0),
    }, index=frame.index)
