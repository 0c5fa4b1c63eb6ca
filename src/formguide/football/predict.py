"""Football season simulations from the champion goal model, served as of a date by the core.

The competition's rules (``rules.rules_for``: places, tie-breakers, a split) rank every simulated table;
points deductions (``--deduction TEAM=POINTS``) count before ranking. A league that splits gets a score
matrix for every ordered pair of teams, so each simulation can play the fixtures of its own groups.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.sport import SimulationOutput
from formguide.core.views import Column, TableView
from formguide.football.rules import CompetitionRules, describe_tiebreak, rules_for, season_label
from formguide.football.simulate import SeasonSimulation, simulate_season, split_candidates

if TYPE_CHECKING:
    from formguide.football.sport import FootballSport

__all__ = ["parse_deduction", "resolve_deductions", "simulate_remaining"]


def parse_deduction(value: str) -> tuple[str, int]:
    """``"Nott'm Forest=4"`` -> ``("Nott'm Forest", 4)``: points deducted (negative: points awarded)."""
    team, sep, points = str(value).rpartition("=")
    team = team.strip()
    if not sep or not team:
        raise ValueError(f"{value!r} is not TEAM=POINTS (e.g. Everton=8)")
    try:
        n = int(points.strip())
    except ValueError:
        raise ValueError(f"{value!r}: the points after '=' must be a whole number, got {points.strip()!r}") from None
    return team, n


def resolve_deductions(values: Iterable[str], teams: Iterable[str], where: str) -> dict[str, int]:
    """Deductions per team as the data spells it (any case; repeated teams add up); unknown teams refused."""
    known = {t.casefold(): t for t in teams}
    out: dict[str, int] = {}
    for value in values:
        name, points = parse_deduction(value)
        team = known.get(name.casefold())
        if team is None:
            close = difflib.get_close_matches(name, list(known.values()), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; teams: {', '.join(sorted(known.values()))}"
            raise FormguideError(f"--deduction: no team {name!r} in {where}{hint}")
        out[team] = out.get(team, 0) + points
    return out


def simulate_remaining(sport: FootballSport, engine: Engine, competition: str, season: str,
                       date_from: pd.Timestamp | None, *, n: int, seed: int, serve: Callable[..., Any],
                       deductions: Iterable[str] = ()) -> SimulationOutput:
    """Simulate the rest of a season from the champion goal model's score distributions as of ``date_from``
    (default: the day after the season's last result), ranked by the competition's rules."""
    from formguide.football.models.estimators import ScoreDistribution

    full = sport.load_frame(engine, [competition]).reset_index(drop=True)
    season_rows = full[full["season"] == season]
    if season_rows.empty:
        known = ", ".join(sorted(full["season"].unique()))
        raise DataValidationError(f"no events for {competition} season {season}; seasons in the store: {known}")
    teams = sorted(set(season_rows["home_team"]) | set(season_rows["away_team"]))
    where = f"{competition} {_label(season)}"
    adjustments = {team: -points for team, points in resolve_deductions(deductions, teams, where).items()}
    rules = rules_for(competition, season)
    if rules is not None and rules.teams != len(teams):
        raise DataValidationError(f"{where}: the store has {len(teams)} teams, the competition rules of "
                                  f"{rules.seasons} are for {rules.teams}")
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
    pairs = split_candidates(teams) if rules is not None and rules.split is not None else None
    try:
        sim = simulate_season(played, fixtures, score_probs, n=n, seed=seed, adjustments=adjustments, rules=rules,
                              split_fixtures=pairs, split_probs=None if pairs is None else est.score_matrix(pairs))
    except ValueError as exc:
        raise DataValidationError(f"{where}: {exc}") from None
    data = {"competition": competition, "season": season, "from": pd.Timestamp(date_from).date().isoformat(),
            "model": served.label, "model_id": record.id, "refitted": served.refitted, "n_simulations": n,
            "seed": seed, "n_fixtures": len(fixtures), "deductions": {t: -p for t, p in adjustments.items()},
            "table": sim.to_frame().to_dict(orient="records"), "simulation": sim.to_dict()}
    return SimulationOutput(data=data, view=_view(sim, data, rules, competition, season, served.label))


def _label(season: str) -> str:
    try:
        return season_label(season)
    except ValueError:
        return season


def _view(sim: SeasonSimulation, data: Mapping[str, Any], rules: CompetitionRules | None, competition: str,
          season: str, model_label: str) -> TableView:
    """Current and expected points, expected position and one column per place class of the competition."""
    if rules is not None:
        classes = [(p.key, p.header) for p in rules.places]
        notes = [f"{p.label}: {p.positions}" for p in rules.places]
        notes = ["places: " + "; ".join(notes), "ties: " + describe_tiebreak(rules.tiebreak)]
        if rules.split is not None:
            notes.append("after the split: " + describe_tiebreak(rules.split_tiebreak))
            classes.insert(0, ("split_top", f"top {rules.split.groups[0].size}"))
        if rules.assumed_for is not None:
            notes.append(f"rules of {rules.seasons} assumed for {_label(season)} (the rules table ends there)")
    else:
        classes = [("title", "title"), ("top_n", f"top {sim.n_top}"), ("relegation", f"bottom {sim.n_relegation}")]
        notes = [f"no competition rules for {competition} {_label(season)}: ranked by points, goal difference, "
                 "goals scored"]
    if data["deductions"]:
        notes.append("deductions: " + ", ".join(f"{t} -{p}" for t, p in data["deductions"].items()))
    notes += list(sim.notes)
    keys = ["team", "current_points", "expected_points", "expected_position"] + [k for k, _ in classes]
    columns = [Column(key="team", align="left"), Column(key="current_points", header="pts now", digits=0),
               Column(key="expected_points", header="exp pts", digits=1),
               Column(key="expected_position", header="exp pos", digits=1, priority=3)]
    columns += [Column(key=k, header=h, digits=3, priority=1 if k in ("title", "relegation") else 2)
                for k, h in classes]
    return TableView(
        title=f"{competition} {season}: {data['n_simulations']} simulations of {data['n_fixtures']} fixtures from "
              f"{data['from']} ({model_label})",
        columns=columns, rows=[{k: r[k] for k in keys} for r in data["table"]], notes=notes)
