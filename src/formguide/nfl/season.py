"""``formguide simulate --sport nfl``: the rest of a regular season from the moneyline champion's forecasts.

The champion is served as of ``date_from`` (every result from that day on hidden, refitted if it saw them),
so games played before that day keep their real result and every other regular-season game of the season
(unplayed, or played on or after ``date_from``) is drawn from the champion's ``[home win, tie, away win]``.
Strictly as of that day no later game has a closing line or price yet, so the market inputs of those games are
hidden too: the model then forecasts them from its Elo prior (``estimator.prior_columns``) and the rest of
its features.
:mod:`formguide.nfl.season_sim` draws and ranks the seasons with the tie-breakers of
:mod:`formguide.nfl.tiebreak`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.sport import SimulationOutput
from formguide.core.views import Column, TableView
from formguide.nfl.season_sim import (
    AWAY_WIN,
    HOME_WIN,
    TIE,
    UNPLAYED,
    NFLSchedule,
    NFLSeasonSimulation,
    ScheduleError,
    simulate_season,
)
from formguide.nfl.tiebreak import DIVISION_TIEBREAKERS, WILDCARD_TIEBREAKERS

if TYPE_CHECKING:
    from formguide.nfl.sport import NFLSport

__all__ = ["simulate_remaining"]

FIRST_SEASON = 1999
NEEDS_MONEYLINE = ("simulate needs the NFL moneyline champion: run formguide train --sport nfl --bet-type "
                   "moneyline (and simulate without --bet-type)")


def _season_number(season: str, known: list[str]) -> int:
    try:
        year = int(str(season).strip())
    except ValueError:
        raise DataValidationError(f"--season {season!r}: an NFL season is a year, e.g. 2024; seasons in the "
                                  f"store: {', '.join(known)}") from None
    if year < FIRST_SEASON:
        raise DataValidationError(f"--season {season}: NFL seasons start at {FIRST_SEASON} in formguide")
    return year


def _regular_season(full: pd.DataFrame, competition: str, season: str) -> tuple[pd.DataFrame, int]:
    """The season's regular-season rows (index = rows of ``full``) and the season as a year."""
    known = sorted(full["season"].astype(str).unique())
    year = _season_number(season, known)
    rows = full[(full["season"].astype(str) == str(year)) & ~full["playoff"].astype(bool)]
    if rows.empty:
        raise DataValidationError(f"no regular-season games for {competition} season {year}; seasons in the "
                                  f"store: {', '.join(known) or 'none'}")
    return rows, year


def _date_from(rows: pd.DataFrame, date_from: pd.Timestamp | None, year: int) -> pd.Timestamp:
    """The day to simulate from: by default the day after the last result; else within the season."""
    first = rows["kickoff"].min().normalize()
    last = rows["kickoff"].max().normalize() + pd.Timedelta(days=1)
    if date_from is None:
        played = rows[rows["home_score"].notna()]
        return (played["kickoff"].max().normalize() + pd.Timedelta(days=1)) if len(played) else first
    day = pd.Timestamp(date_from).normalize()
    if not first <= day <= last:
        raise DataValidationError(f"--from {day.date()} lies outside the {year} regular season: give a day from "
                                  f"{first.date()} (first game) to {last.date()} (after the last game)")
    return day


def _hide_lines_from(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The frame with the closing lines and prices of games on or after ``day`` unknown (as they were then)."""
    from formguide.nfl.features.market import MARKET_INPUTS

    ahead = (frame["kickoff"] >= day).to_numpy()
    out = frame.copy()
    out.loc[ahead, [c for c in MARKET_INPUTS if c in out.columns]] = np.nan
    return out


def _results(known: pd.DataFrame) -> np.ndarray:
    """:data:`HOME_WIN`/:data:`TIE`/:data:`AWAY_WIN` of each played row, :data:`UNPLAYED` where hidden."""
    diff = known["home_score"].to_numpy(dtype=np.float64) - known["away_score"].to_numpy(dtype=np.float64)
    out = np.where(diff > 0, HOME_WIN, np.where(diff < 0, AWAY_WIN, TIE))
    return np.where(np.isnan(diff), UNPLAYED, out).astype(np.int8)


def _forecasts(est: Any, known: pd.DataFrame, X: pd.DataFrame, open_rows: np.ndarray) -> np.ndarray:
    """``(n, 3)`` home win / tie / away win of the open games (rows normalised to sum to one)."""
    p = np.full((len(known), 3), np.nan)
    if open_rows.any():
        p[open_rows] = est.predict_proba(known[open_rows], X[open_rows])
    bad = open_rows & ~np.isfinite(p).all(axis=1)
    if bad.any():
        game = known["game_id"].iloc[int(np.argmax(bad))]
        raise DataValidationError(f"the champion gives no forecast for game {game} (missing features)")
    return p / p.sum(axis=1, keepdims=True)


def simulate_remaining(sport: NFLSport, engine: Engine, competition: str, season: str,
                       date_from: pd.Timestamp | None, *, n: int, seed: int, serve: Callable[..., Any]
                       ) -> SimulationOutput:
    """Simulate the rest of an NFL regular season ``n`` times as known on ``date_from`` (see the module)."""
    from formguide.nfl.models.estimator import NFLDistributionEstimator

    if sport.bet_type != "moneyline":
        raise FormguideError(NEEDS_MONEYLINE + f"; asked for the {sport.bet_type} line")
    full = sport.load_frame(engine, [competition]).reset_index(drop=True)
    rows, year = _regular_season(full, competition, season)
    day = _date_from(rows, date_from, year)
    full = _hide_lines_from(full, day)
    served = serve(day, full)
    est, record = served.estimator, served.record
    if not isinstance(est, NFLDistributionEstimator) or est.bet_type != "moneyline":
        raise FormguideError(f"{record.name} v{record.version} is no moneyline model; " + NEEDS_MONEYLINE)
    in_season = full.index.isin(rows.index)
    known, X = served.frame[in_season], served.X[in_season]
    result = _results(known)
    p = _forecasts(est, known, X, result == UNPLAYED)
    try:
        schedule = NFLSchedule(year, known["home_team"].to_numpy(dtype=object),
                               known["away_team"].to_numpy(dtype=object), result, p[:, 0], p[:, 1],
                               game_ids=tuple(known["game_id"].astype(str)))
        sim = simulate_season(schedule, n=n, seed=seed)
    except (ScheduleError, ValueError) as exc:
        raise DataValidationError(f"{competition} {year}: {exc}") from None
    data = {"competition": competition, "season": str(year), "from": day.date().isoformat(),
            "model": served.label, "model_id": record.id, "refitted": served.refitted, "n_simulations": n,
            "seed": seed, "n_games": len(known), "n_simulated": int((result == UNPLAYED).sum()),
            "seeds": int(sim.seed_probs.shape[1]), "tiebreakers": {"division": list(DIVISION_TIEBREAKERS),
                                                     "wild card and seeding": list(WILDCARD_TIEBREAKERS)},
            "table": team_rows(sim, schedule)}
    return SimulationOutput(data=data, view=_view(data, served.label))


def _records(schedule: NFLSchedule, teams: tuple[str, ...]) -> np.ndarray:
    """``(T, 3)`` wins, losses and ties of the games played so far."""
    index = {t: i for i, t in enumerate(teams)}
    home = np.array([index[t] for t in schedule.home], dtype=np.intp)
    away = np.array([index[t] for t in schedule.away], dtype=np.intp)
    out = np.zeros((len(teams), 3), dtype=np.int64)
    for col, home_result, away_result in ((0, HOME_WIN, AWAY_WIN), (1, AWAY_WIN, HOME_WIN), (2, TIE, TIE)):
        out[:, col] = np.bincount(home[schedule.result == home_result], minlength=len(teams)) + \
            np.bincount(away[schedule.result == away_result], minlength=len(teams))
    return out


def _quantile(probs: np.ndarray, values: np.ndarray, q: float) -> float:
    """Smallest value whose cumulative probability reaches ``q``."""
    return float(values[min(int(np.searchsorted(np.cumsum(probs), q - 1e-12)), len(values) - 1)])


def team_rows(sim: NFLSeasonSimulation, schedule: NFLSchedule) -> list[dict[str, Any]]:
    """One row per team: record now, expected wins, the win-total distribution and the probabilities."""
    record = _records(schedule, sim.teams)
    values = np.arange(sim.win_probs.shape[1]) / 2  # ties count half a win
    rows = []
    for i, team in enumerate(sim.teams):
        w, loss, t = (int(x) for x in record[i])
        probs = sim.win_probs[i, : 2 * int(sim.games[i]) + 1]
        rows.append({
            "team": team, "conference": sim.conferences[i], "division": sim.divisions[i],
            "wins": w, "losses": loss, "ties": t, "record": f"{w}-{loss}" + (f"-{t}" if t else ""),
            "games": int(sim.games[i]), "expected_wins": float(sim.expected_wins[i]),
            "wins_10": _quantile(probs, values, 0.1), "wins_50": _quantile(probs, values, 0.5),
            "wins_90": _quantile(probs, values, 0.9),
            "win_totals": {f"{v:g}": float(p) for v, p in zip(values, probs, strict=False) if p > 0},
            "p_division": float(sim.p_division[i]), "p_playoffs": float(sim.p_playoffs[i]),
            "p_first_seed": float(sim.p_first_seed[i]), "p_bye": float(sim.p_bye[i]),
            "seed_probs": [float(x) for x in sim.seed_probs[i]],
        })
    rows.sort(key=lambda r: (r["division"], -r["expected_wins"], r["team"]))
    return rows


def _view(data: dict[str, Any], label: str) -> TableView:
    rows = [{**r, "win_range": f"{r['wins_10']:g}-{r['wins_90']:g}"} for r in data["table"]]
    columns = [Column(key="team", align="left"), Column(key="division", align="left", priority=2),
               Column(key="record", header="W-L-T"), Column(key="expected_wins", header="exp W", digits=1),
               Column(key="win_range", header="W 10-90%", priority=1),
               Column(key="p_division", header="division", digits=3),
               Column(key="p_playoffs", header="playoffs", digits=3),
               Column(key="p_first_seed", header="1 seed", digits=3, priority=1)]
    notes = ["a tie counts half a win; W 10-90%: the 10% and 90% quantiles of the win total",
             f"{data['seeds']} playoff seeds a conference",
             "division ties: " + ", ".join(data["tiebreakers"]["division"]),
             "wild cards and seeding: " + ", ".join(data["tiebreakers"]["wild card and seeding"]),
             "points-based tie-breakers are not simulated (the coin flip comes after strength of schedule)"]
    if int(data["season"]) < 2002:
        notes.append("1999-2001 alignment: three divisions a conference, 31 teams (Houston joined in 2002)")
    if data["refitted"]:
        notes.append(f"champion refitted as of {data['from']}: {data['refitted']}")
    return TableView(title=f"NFL {data['season']}: {data['n_simulations']} simulations of {data['n_simulated']} "
                           f"games from {data['from']} ({label})", columns=columns, rows=rows, notes=notes)
