"""Football season simulations from the champion goal model, served as of a date by the core."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.sport import SimulationOutput
from formguide.core.views import Column, TableView
from formguide.football.simulate import simulate_season

if TYPE_CHECKING:
    from formguide.football.sport import FootballSport


def simulate_remaining(sport: FootballSport, engine: Engine, competition: str, season: str,
                       date_from: pd.Timestamp | None, *, n: int, seed: int,
                       serve: Callable[..., Any]) -> SimulationOutput:
    """Simulate the rest of a season from the champion goal model's score distributions as of ``date_from``
    (default: the day after the season's last result)."""
    from formguide.football.models.estimators import ScoreDistribution

    full = sport.load_frame(engine, [competition]).reset_index(drop=True)
    season_rows = full[full["season"] == season]
    if season_rows.empty:
        known = ", ".join(sorted(full["season"].unique()))
        raise DataValidationError(f"no events for {competition} season {season}; seasons in the store: {known}")
    if date_from is None:
        played = season_rows[season_rows["home_goals"].notna()]
        date_from = ((played["kickoff"].max() + pd.Timedelta(days=1)).normalize() if len(played)
                     else season_rows["kickoff"].min().normalize())
    served = serve(pd.Timestamp(date_from), full)
    est, record = served.estimator, served.record
    if not isinstance(est, ScoreDistribution):
        raise FormguideError(f"{record.name} v{record.version} is a {record.model_type} model without score "
                             "distributions; simulate needs a goal model (train --model dixon-coles or blend)")
    frame = served.frame
    in_season = (frame["season"] == season).to_numpy()
    played = frame[in_season & frame["home_goals"].notna().to_numpy()]
    fixtures = frame[in_season & frame["home_goals"].isna().to_numpy()]
    score_probs = est.score_matrix(fixtures) if len(fixtures) else np.zeros((0, 1, 1))
    sim = simulate_season(played, fixtures, score_probs, n=n, seed=seed)
    table = sim.to_frame()
    data = {"competition": competition, "season": season, "from": pd.Timestamp(date_from).date().isoformat(),
            "model": served.label, "model_id": record.id, "refitted": served.refitted, "n_simulations": n,
            "seed": seed, "n_fixtures": len(fixtures), "table": table.to_dict(orient="records"),
            "simulation": sim.to_dict()}
    view = TableView(
        title=f"{competition} {season}: {n} simulations of {len(fixtures)} fixtures from {data['from']} "
              f"({served.label})",
        columns=[Column(key="team", align="left"), Column(key="current_points", header="pts now", digits=0),
                 Column(key="expected_points", header="exp pts", digits=1),
                 Column(key="expected_position", header="exp pos", digits=1),
                 Column(key="title", digits=3), Column(key="top_n", header="top 4", digits=3),
                 Column(key="relegation", digits=3)],
        rows=[{k: r[k] for k in ("team", "current_points", "expected_points", "expected_position", "title",
                                 "top_n", "relegation")} for r in data["table"]])
    return SimulationOutput(data=data, view=view)
