"""The championship blocks of the season JSON: standings from run races, title probabilities before a race
(standings plus every race left) and the block the document leads with."""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.f1.season.config import SeasonConfig
from formguide.f1.season.document import rounded
from formguide.f1.simulate import RaceInput, simulate_championship

__all__ = ["championship_before", "current_championship", "final_standings", "standings"]


def standings(season_rows: pd.DataFrame) -> tuple[dict, dict, dict, dict]:
    """Drivers' and constructors' points (race + sprint) and wins of the given run entries."""
    pts = season_rows["points"].fillna(0.0).to_numpy() + season_rows["sprint_points"].fillna(0.0).to_numpy()
    won = (season_rows["position"].to_numpy(dtype=np.float64, na_value=np.nan) == 1).astype(float)
    d = pd.DataFrame({"driver": season_rows["driver"].astype(str).to_numpy(),
                      "team": season_rows["constructor"].astype(str).to_numpy(), "pts": pts, "won": won})
    dp = d.groupby("driver")["pts"].sum().to_dict()
    tp = d.groupby("team")["pts"].sum().to_dict()
    dw = d.groupby("driver")["won"].sum().to_dict()
    tw = d.groupby("team")["won"].sum().to_dict()
    return dp, tp, dw, tw


def championship_before(frame: pd.DataFrame, season: int, race: pd.DataFrame, strengths: np.ndarray,
                        dnf: np.ndarray, n: int, seed: int, drift: float) -> dict:
    """Title probabilities before ``race``: standings of the season's earlier races plus every race left,
    each run with this race's entrants from their pre-weekend strengths (what was known before the weekend),
    drifting as a random walk with the per-race variance estimated on earlier seasons."""
    day = pd.Timestamp(race["date"].iloc[0])
    in_season = frame[frame["season"] == season]
    done = in_season[(in_season["date"] < day) & in_season["position"].notna()]
    dp, tp, dw, tw = standings(done)
    rest = in_season[in_season["date"] >= day].drop_duplicates("race_id").sort_values(["date", "round"])
    drivers = race["driver"].astype(str).tolist()
    teams = race["constructor"].astype(str).tolist()
    inputs = [RaceInput(drivers, teams, strengths, dnf, bool(h), int(r))
              for r, h in zip(rest["round"], rest["has_sprint"], strict=True)]
    n_rounds = int(in_season["round"].max())
    sim = simulate_championship(season, dp, tp, inputs, n,
                                rng=np.random.default_rng([seed, season, int(race["round"].iloc[0]), 7]),
                                driver_wins=dw, constructor_wins=tw, n_rounds=n_rounds, strength_drift=drift)
    out = sim.to_dict()
    out["standings_after_round"] = int(done["round"].max()) if len(done) else 0
    for row in out["drivers"] + out["constructors"]:
        row["title"] = rounded(row["title"])
        row["expected_points"] = rounded(row["expected_points"])
    return out


def final_standings(frame: pd.DataFrame, season: int, config: SeasonConfig) -> dict:
    """Title probabilities when no race is left: the final table (ties on points settled on wins)."""
    rows = frame[(frame["season"] == season) & frame["position"].notna()]
    dp, tp, dw, tw = standings(rows)
    sim = simulate_championship(season, dp, tp, [], config.simulations,
                                rng=np.random.default_rng([config.seed, season, 0, 8]), driver_wins=dw,
                                constructor_wins=tw)
    out = {"as_of_race": None, "final": True, **sim.to_dict()}
    out["standings_after_round"] = int(rows["round"].max()) if len(rows) else 0
    return out


def current_championship(predictions: list[dict], frame: pd.DataFrame, season: int,
                         config: SeasonConfig) -> dict | None:
    """The document's ``championship``: the one before the first race without a result, else the final table
    (None without predictions)."""
    for p in predictions:
        if p["metadata"].get("status") != "completed" and "championship_before" in p:
            return {"as_of_race": p["race_key"], **p["championship_before"]}
    return final_standings(frame, season, config) if predictions else None
