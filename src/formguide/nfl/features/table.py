"""Ratings as of a moment: each franchise's Elo, QB-adjusted Elo, current QB and efficiency (for `ratings`).

The frame is first seen as it was known at ``as_of`` (outcomes of games from then on blanked), then each
team is described going into its next game when the frame has one (season reversion and the announced
starter included), else after its last game. The numbers come from the same functions as the features,
so a team's row equals the features of its next game.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from formguide.core.features.engine import hide_outcomes
from formguide.nfl.features.common import team_games
from formguide.nfl.features.efficiency import METRICS, efficiency_states
from formguide.nfl.features.elo import elo_ratings
from formguide.nfl.features.qb import qb_adjustments, qb_values
from formguide.nfl.frame import OUTCOME_COLUMNS

__all__ = ["TABLE_COLUMNS", "elo_table"]

TABLE_COLUMNS: tuple[str, ...] = ("team", "last_game", "next_game", "elo", "qbelo", "qb_id", "qb_name", "qb_value",
                                  "team_qb_value", "qb_adj", *METRICS)


def _long(home: np.ndarray, away: np.ndarray) -> np.ndarray:
    return np.r_[np.asarray(home), np.asarray(away)]


def elo_table(frame: pd.DataFrame, as_of: Any, **params: Any) -> pd.DataFrame:
    """One row per franchise in the frame, best Elo first; ``params`` as for ``nfl_feature_set``."""
    elo_keys = ("k", "home_advantage", "revert", "mean", "playoff_multiplier", "new_team_elo")
    qb_keys = ("qb_alpha", "team_alpha", "initial_value", "debut_value")
    eff_keys = ("decay", "prior_games", "carry")
    elo_p = {k: v for k, v in params.items() if k in elo_keys}
    qb_p = {k: v for k, v in params.items() if k in qb_keys}
    eff_p = {k: v for k, v in params.items() if k in eff_keys}
    known = hide_outcomes(frame, as_of, OUTCOME_COLUMNS)
    cutoff = pd.Timestamp(as_of)
    elo = elo_ratings(known, **elo_p)
    qbv = qb_values(known, **qb_p)
    adj_h, adj_a = qb_adjustments(qbv, float(params.get("qb_elo_per_value", 3.3)))
    qbelo = elo_ratings(known, adjustment=adj_h - adj_a, **elo_p)
    pre, post = efficiency_states(known, **eff_p)
    long = team_games(known)
    before = (long["kickoff"] < cutoff).to_numpy()
    cols = {
        "elo": (_long(elo["elo_home"], elo["elo_away"]), _long(elo["post_home"], elo["post_away"])),
        "qbelo": (_long(qbelo["elo_home"], qbelo["elo_away"]), _long(qbelo["post_home"], qbelo["post_away"])),
        "qb_value": (_long(qbv["home_qb_value"], qbv["away_qb_value"]),
                     _long(qbv["home_qb_post"], qbv["away_qb_post"])),
        "team_qb_value": (_long(qbv["home_team_value"], qbv["away_team_value"]),
                          _long(qbv["home_team_post"], qbv["away_team_post"])),
        **{m: (pre[m].to_numpy(dtype=np.float64), post[m].to_numpy(dtype=np.float64)) for m in METRICS},
    }
    qb_id = _long(known["home_qb_id"].to_numpy(dtype=object), known["away_qb_id"].to_numpy(dtype=object))
    qb_name = (_long(known["home_qb_name"].to_numpy(dtype=object), known["away_qb_name"].to_numpy(dtype=object))
               if "home_qb_name" in known else np.full(len(long), None, dtype=object))
    order = np.lexsort((long["row"].to_numpy(), long["kickoff"].to_numpy()))
    rows = []
    for team in sorted(pd.unique(long["team"])):
        mine = order[(long["team"].to_numpy()[order] == team)]
        past, future = mine[before[mine]], mine[~before[mine]]
        if future.size:
            i, which = int(future[0]), 0
        elif past.size:
            i, which = int(past[-1]), 1
        else:
            continue
        row = {"team": team,
               "last_game": long["kickoff"].iloc[int(past[-1])] if past.size else pd.NaT,
               "next_game": long["kickoff"].iloc[int(future[0])] if future.size else pd.NaT,
               "qb_id": qb_id[i], "qb_name": qb_name[i]}
        row.update({name: float(vals[which][i]) for name, vals in cols.items()})
        row["qb_adj"] = float(params.get("qb_elo_per_value", 3.3)) * (row["qb_value"] - row["team_qb_value"])
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return table.sort_values(["elo", "team"], ascending=[False, True], kind="stable").reset_index(drop=True)
