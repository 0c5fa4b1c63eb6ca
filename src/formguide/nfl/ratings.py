"""NFL ratings a user can look at (``formguide ratings --sport nfl``): Elo, the starting QB's adjustment,
efficiency and division of every team of the current season, as known before a date.

Every number comes from the feature code (:func:`formguide.nfl.features.elo_table`, which calls the same
functions the ``nfl-core`` feature set does, with its defaults), so a team's row is what the features of
its next game say (training/serving parity): 538 Elo and the QB-adjusted Elo chain, the starter listed for
that game with his VALUE against the team's usual starter's (538's 3.3 Elo points per VALUE point),
season-to-date EPA per play and success rate with last season's prior. A team with no game left in the
frame is described after its last game.

Point in time: outcomes (scores and team statistics) of games on or after the day are blanked first
(``hide_outcomes``), so only games of days strictly before it count. The current season is that of the first
game on or after the day (the schedule is known in advance), else that of the last result before it.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core.errors import DataValidationError
from formguide.core.features.engine import hide_outcomes
from formguide.core.ratings import RatingColumn, RatingFact, RatingsOutput

__all__ = ["RATING_COLUMNS", "nfl_ratings"]

RATING_COLUMNS = [
    RatingColumn(key="elo", header="Elo", digits=0, description=(
        "538-style Elo going into the team's next game (season reversion included)")),
    RatingColumn(key="qbelo", header="QB Elo", digits=0, priority=1, description=(
        "538's QB-adjusted Elo chain: ratings learned with each game's starting-QB adjustment")),
    RatingColumn(key="qb_adj", header="QB adj", digits=1, description=(
        "Elo points of the listed starter against the team's usual one (3.3 per VALUE point)")),
    RatingColumn(key="qb", header="starter", text=True, priority=2, description=(
        "starting QB listed for the next game (else the last one)")),
    RatingColumn(key="off_epa", header="off EPA/play", digits=3, description=(
        "offensive EPA per play, season to date with last season's prior")),
    RatingColumn(key="def_epa", header="def EPA/play", digits=3, higher_is_better=False, description=(
        "EPA per play allowed (lower is better)")),
    RatingColumn(key="off_sr", header="off SR", digits=3, priority=1, description=(
        "offensive success rate (play-by-play, regular season, 2013 on)")),
    RatingColumn(key="def_sr", header="def SR", digits=3, priority=1, higher_is_better=False, description=(
        "success rate allowed (lower is better)")),
    RatingColumn(key="division", header="division", text=True, priority=1),
    RatingColumn(key="record", header="W-L-T", text=True, priority=2, description=(
        "this season's record before the date")),
    RatingColumn(key="qb_value", header="QB VALUE", digits=1, priority=3),
    RatingColumn(key="team_qb_value", header="team QB VALUE", digits=1, priority=3),
]
_FROM_TABLE = ("elo", "qbelo", "qb_adj", "off_epa", "def_epa", "off_sr", "def_sr", "qb_value", "team_qb_value")


def _number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value) + 0.0  # never -0.0


def _current_season(known: pd.DataFrame, day: pd.Timestamp, played: np.ndarray) -> str:
    upcoming = known.loc[(known["kickoff"] >= day).to_numpy()]
    if len(upcoming):
        return str(upcoming.sort_values("kickoff", kind="stable")["season"].iloc[0])
    return str(known.loc[played].sort_values("kickoff", kind="stable")["season"].iloc[-1])


def _records(games: pd.DataFrame) -> dict[str, str]:
    """W-L(-T) of each team over ``games`` (played ones)."""
    margin = (games["home_score"] - games["away_score"]).to_numpy(dtype=np.float64)
    long = pd.DataFrame({"team": np.r_[games["home_team"].to_numpy(dtype=object),
                                       games["away_team"].to_numpy(dtype=object)],
                         "m": np.r_[margin, -margin]})
    counts = pd.DataFrame({"w": long["m"] > 0, "l": long["m"] < 0, "t": long["m"] == 0}).groupby(long["team"]).sum()
    return {str(t): f"{r.w}-{r.l}" + (f"-{r.t}" if r.t else "") for t, r in counts.iterrows()}


def _title(competition: str, season: str, day: pd.Timestamp, n: int, first: pd.Timestamp,
           last: pd.Timestamp) -> str:
    from formguide.nfl.features.efficiency import efficiency_states
    from formguide.nfl.features.elo import ELO_DEFAULTS
    from formguide.nfl.features.qb import QB_DEFAULTS

    prior = inspect.signature(efficiency_states).parameters["prior_games"].default
    return (f"{competition} {season} ratings before {day.date()}: 538 Elo (k {ELO_DEFAULTS['k']:g}, home "
            f"{ELO_DEFAULTS['home_advantage']:g}) on {n:,} games {first.date()} to {last.date()}; QB VALUE "
            f"(alpha {QB_DEFAULTS['qb_alpha']:g} QB, {QB_DEFAULTS['team_alpha']:g} team); EPA/play and success "
            f"rate season to date with a {prior:g}-game prior")


def nfl_ratings(sport: Any, engine: Engine | None, competition: str, as_of: pd.Timestamp,
                frame: pd.DataFrame | None = None) -> RatingsOutput:
    """Ratings of every team of the current season from games of days strictly before ``as_of``."""
    from formguide.nfl.features import elo_table
    from formguide.nfl.frame import OUTCOME_COLUMNS
    from formguide.nfl.teams import UnknownTeamError, division

    day = pd.Timestamp(as_of).normalize()
    if frame is None:
        frame = sport.load_frame(engine, [competition])
    elif "competition" in frame:
        frame = frame.loc[(frame["competition"].astype(str) == competition).to_numpy()]
    known = hide_outcomes(frame, day, OUTCOME_COLUMNS)
    played = (known["home_score"].notna() & known["away_score"].notna() & (known["kickoff"] < day)).to_numpy()
    if not played.any():
        raise DataValidationError(f"no {competition} results before {day.date()}: nothing to rate yet")
    season = _current_season(known, day, played)
    in_season = (known["season"].astype(str) == season).to_numpy()
    teams = set(known.loc[in_season, "home_team"].astype(str)) | set(known.loc[in_season, "away_team"].astype(str))
    table = elo_table(frame, day).set_index("team")
    records = _records(known.loc[in_season & played])
    rows = []
    for team in sorted(teams):
        r = table.loc[team]
        try:
            div: str | None = division(team, int(season))
        except (UnknownTeamError, ValueError):
            div = None
        qb = r["qb_name"] if isinstance(r["qb_name"], str) else (r["qb_id"] if isinstance(r["qb_id"], str) else None)
        rows.append({"name": team, **{k: _number(r[k]) for k in _FROM_TABLE}, "qb": qb, "division": div,
                     "record": records.get(team, "0-0")})
    kick = known.loc[played, "kickoff"]
    from formguide.nfl.features.elo import ELO_DEFAULTS

    facts = [
        RatingFact(key="home_advantage", label="home advantage (Elo points)", value=ELO_DEFAULTS["home_advantage"],
                   digits=0, description="added to the home side's Elo difference, none at a neutral site"),
    ]
    notes = []
    if all(row["off_sr"] is None for row in rows):
        notes.append("success rate: not in the data for this season (play-by-play EPA file, 2013 on)")
    return RatingsOutput(
        competition=competition, season=season, as_of=day.date().isoformat(),
        title=_title(competition, season, day, int(played.sum()), kick.min(), kick.max()), entity="team",
        columns=RATING_COLUMNS, headline="elo", axes=("off_epa", "def_epa"), rows=rows, facts=facts, notes=notes,
        window={"elo": {"first": kick.min().isoformat(), "last": kick.max().isoformat(),
                        "events": int(played.sum())}})
