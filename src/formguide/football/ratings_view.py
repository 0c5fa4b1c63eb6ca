"""Football ratings a user can look at (``formguide ratings``): Dixon-Coles attack and defence, the league's
home advantage and Elo of every team of a league's current season, as known before a date.

Point in time: the frame is first seen as it was known before the day (``FeatureSet.hide_outcomes``: every
result from that day on is blanked, fixture lists stay), then

* Dixon-Coles is :class:`~formguide.football.models.estimators.DixonColesEstimator` with its defaults (the
  model ``formguide train --model dixon-coles`` fits: time decay, ridge, four-year window, matches with a
  sending-off counted for less), fitted on the league's results before the day. Its goals fit gives each
  team's attack and defence (log scale, summing to zero; shown on the exp scale as multiples of an average
  team's goals) and the league's home advantage. The estimator's shots-on-target fit, which it blends into
  forecasts, is not shown: it rates chances, not goals.
* Elo is :func:`formguide.football.ratings.elo_timeline` with the feature set's parameters: each team's
  rating after its last match before the day.

The current season is the season of the league's latest result before the day; its teams are those of its
fixture list as stored (known before kick-off). Rows are sorted by the headline: the expected goal
difference per match against an average team, home and away averaged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.core.errors import DataValidationError
from formguide.core.ratings import RatingColumn, RatingFact, RatingsOutput

__all__ = ["football_ratings"]


def _known_before(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    from formguide.football.features import football_feature_set

    return football_feature_set().hide_outcomes(frame, day)


def _latest_elo(known: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Each team's Elo after its last match before ``day`` (the feature set's parameters)."""
    from formguide.football.features import _elo_params
    from formguide.football.ratings import elo_timeline

    timeline = elo_timeline(known, **_elo_params(None))
    timeline = timeline[timeline["kickoff"] < day]
    return timeline.groupby("team", sort=False)["elo"].last()


def _dixon_coles(known: pd.DataFrame):
    from formguide.football.models.estimators import DixonColesEstimator

    return DixonColesEstimator().fit(known)


def _goal_rates(model, teams: list[str]) -> dict[str, np.ndarray]:
    """Attack and defence (log) of each team from the goals fit; a team it never saw gets what the estimator
    gives an unseen team (average, worsened by its promoted penalty), flagged in ``seen``."""
    names = np.asarray(teams, dtype=str)
    fitted = model.model_
    pos = np.minimum(np.searchsorted(fitted.teams_, names), fitted.teams_.size - 1)
    seen = fitted.teams_[pos] == names
    penalty = float(model.promoted_penalty)
    attack = np.where(seen, fitted.attack_[pos], -penalty)
    defence = np.where(seen, fitted.defence_[pos], penalty)
    # Expected goals against an average team (attack 0, defence 0), home and away averaged.
    venue = (np.exp(fitted.home_advantage_) + 1.0) / 2.0
    scored = np.exp(fitted.intercept_ + attack) * venue
    conceded = np.exp(fitted.intercept_ + defence) * venue
    return {"attack": attack, "defence": defence, "scored": scored, "conceded": conceded, "seen": seen}


_COLUMNS = [
    RatingColumn(key="xgd", header="xGD", digits=2, description=(
        "expected goal difference per match against an average team, home and away averaged (Dixon-Coles)")),
    RatingColumn(key="attack", header="attack (exp)", digits=2, description=(
        "goals scored as a multiple of an average team's, against the same opponent (exp of the log rating)")),
    RatingColumn(key="defence", header="defence (exp)", digits=2, higher_is_better=False, description=(
        "goals conceded as a multiple of an average team's (below 1 is better)")),
    RatingColumn(key="elo", header="Elo", digits=0, description="rating after the team's last league match"),
    RatingColumn(key="played", header="played", digits=0, priority=2, description=(
        "league matches of the current season before the date")),
    RatingColumn(key="attack_log", header="attack (log)", digits=3, priority=3),
    RatingColumn(key="defence_log", header="defence (log)", digits=3, priority=3, higher_is_better=False),
]


def football_ratings(frame: pd.DataFrame, competition: str, as_of: pd.Timestamp) -> RatingsOutput:
    """Ratings of every team of the league's current season from results of days strictly before ``as_of``."""
    day = pd.Timestamp(as_of).normalize()
    known = _known_before(frame, day)
    played = known["home_goals"].notna() & known["away_goals"].notna() & (known["kickoff"] < day)
    if not played.any():
        raise DataValidationError(f"no {competition} results before {day.date()}: nothing to rate yet")
    season = str(known.loc[played].sort_values("kickoff", kind="stable")["season"].iloc[-1])
    in_season = (known["season"].astype(str) == season).to_numpy()
    sides = pd.concat([known.loc[in_season, "home_team"], known.loc[in_season, "away_team"]])
    teams = sorted(pd.unique(sides.astype(str)).tolist())
    season_played = pd.concat([known.loc[in_season & played, "home_team"],
                               known.loc[in_season & played, "away_team"]]).astype(str).value_counts()

    model = _dixon_coles(known)
    rates = _goal_rates(model, teams)
    elo = _latest_elo(known, day)
    rows = []
    for i, team in enumerate(teams):
        rating = elo.get(team)
        rows.append({
            "name": team,
            "xgd": float(rates["scored"][i] - rates["conceded"][i]),
            "attack": float(np.exp(rates["attack"][i])),
            "defence": float(np.exp(rates["defence"][i])),
            "elo": None if rating is None or not np.isfinite(rating) else float(rating),
            "played": int(season_played.get(team, 0)),
            "attack_log": float(rates["attack"][i]),
            "defence_log": float(rates["defence"][i]),
        })

    fitted = model.model_
    window = known.loc[played & (known["kickoff"] >= fitted.ref_date_ - pd.Timedelta(days=model.max_age_days))]
    first, last = window["kickoff"].min(), window["kickoff"].max()
    elo_first = known.loc[played, "kickoff"].min()
    title = (f"{competition} {season} ratings before {day.date()}: Dixon-Coles (xi {model.xi:g}/day, ridge "
             f"{model.l2:g}) on {fitted.n_matches_:,} matches {first.date()} to {last.date()}; Elo (k "
             f"{_elo_k():g}) on {int(played.sum()):,} matches from {elo_first.date()}")
    notes = []
    unseen = [t for t, s in zip(teams, rates["seen"], strict=True) if not s]
    if unseen:
        notes.append(f"not in the Dixon-Coles window, rated as a promoted side: {', '.join(unseen)}")
    facts = [
        RatingFact(key="home_advantage", label="home advantage (exp)", value=float(np.exp(fitted.home_advantage_)),
                   description="home goals as a multiple of the same match's away goals rate; log "
                   f"{fitted.home_advantage_:.3f}"),
        RatingFact(key="average_goals", label="average team's goals per match", value=float(
            np.exp(fitted.intercept_) * (np.exp(fitted.home_advantage_) + 1.0) / 2.0),
                   description="against an average team, home and away averaged"),
        RatingFact(key="rho", label="Dixon-Coles rho", value=float(fitted.rho_), description="low-score dependence"),
    ]
    return RatingsOutput(
        competition=competition, season=season, as_of=day.date().isoformat(), title=title, entity="team",
        columns=_COLUMNS, headline="xgd", axes=("attack", "defence"), rows=rows, facts=facts, notes=notes,
        window={"dixon_coles": {"first": first.isoformat(), "last": last.isoformat(), "events": int(fitted.n_matches_)},
                "elo": {"first": elo_first.isoformat(), "last": known.loc[played, "kickoff"].max().isoformat(),
                        "events": int(played.sum())}})


def _elo_k() -> float:
    from formguide.football.features import _elo_params

    return float(_elo_params(None)["k"])
