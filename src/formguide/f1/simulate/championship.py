"""Championships: title probabilities from the standings plus every race left, with each driver's strength
drifting as a random walk between races (:func:`estimate_strength_drift`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.errors import FormguideError
from formguide.core.field import finishing_positions
from formguide.core.field_forecast import sample_finishes
from formguide.f1.points import points_system
from formguide.f1.simulate.plackett_luce import centre, race_codes
from formguide.f1.simulate.race import check_n
from formguide.f1.simulate.retirements import SPRINT_DISTANCE_RATIO

__all__ = ["ChampionshipSimulation", "RaceInput", "estimate_strength_drift", "simulate_championship"]


def estimate_strength_drift(frame: pd.DataFrame, strength: ArrayLike) -> tuple[float, int]:
    """Variance per race of the change in a driver's pre-race strength, for championship simulations.

    ``strength``: out-of-sample pre-race log-strengths per entry (centred within each race here). For every
    driver's consecutive entries within a season, the change in centred strength is divided by the rounds
    between them; the estimate is ``sum(change^2) / sum(rounds)`` (a random walk's increment variance).
    Returns ``(variance, number of pairs)``; ``(0.0, 0)`` without pairs.
    """
    u = np.asarray(strength, dtype=np.float64)
    if u.shape != (len(frame),):
        raise ValueError(f"strength must have one value per frame row ({len(frame)}), got shape {u.shape}")
    codes, n = race_codes(frame)
    c = centre(u, codes, n)
    ok = np.isfinite(c)
    d = pd.DataFrame({"driver": frame["driver"].astype(str).to_numpy()[ok], "season": frame["season"].to_numpy()[ok],
                      "round": frame["round"].to_numpy(dtype=np.float64)[ok], "u": c[ok]})
    d = d.sort_values(["driver", "season", "round"], kind="stable")
    same = ((d["driver"].to_numpy()[1:] == d["driver"].to_numpy()[:-1])
            & (d["season"].to_numpy()[1:] == d["season"].to_numpy()[:-1]))
    gap = np.diff(d["round"].to_numpy())[same]
    change = np.diff(d["u"].to_numpy())[same]
    good = gap > 0
    if not good.any():
        return 0.0, 0
    return float(np.sum(change[good] ** 2) / np.sum(gap[good])), int(good.sum())


@dataclass(frozen=True)
class RaceInput:
    """One remaining race of a championship: its entrants, strengths, retirement probabilities, sprint."""

    drivers: Sequence[str]
    constructors: Sequence[str]
    log_strength: ArrayLike
    dnf_prob: ArrayLike | float | None = None
    has_sprint: bool = False
    round: int | None = None


@dataclass(frozen=True, eq=False)
class ChampionshipSimulation:
    drivers: list[str]
    constructors: list[str]
    driver_title: NDArray[np.float64]
    driver_expected_points: NDArray[np.float64]
    driver_current_points: NDArray[np.float64]
    driver_position_probs: NDArray[np.float64]
    constructor_title: NDArray[np.float64]
    constructor_expected_points: NDArray[np.float64]
    constructor_current_points: NDArray[np.float64]
    n_simulations: int
    n_remaining_races: int
    n_remaining_sprints: int
    strength_drift: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "n_simulations": self.n_simulations, "remaining_races": self.n_remaining_races,
            "remaining_sprints": self.n_remaining_sprints, "strength_drift": self.strength_drift,
            "notes": list(self.notes),
            "drivers": [{"driver": d, "title": float(t), "expected_points": float(e), "current_points": float(c)}
                        for d, t, e, c in sorted(zip(self.drivers, self.driver_title, self.driver_expected_points,
                                                     self.driver_current_points, strict=True),
                                                 key=lambda r: (-r[1], -r[2]))],
            "constructors": [{"constructor": d, "title": float(t), "expected_points": float(e),
                              "current_points": float(c)}
                             for d, t, e, c in sorted(zip(self.constructors, self.constructor_title,
                                                          self.constructor_expected_points,
                                                          self.constructor_current_points, strict=True),
                                                      key=lambda r: (-r[1], -r[2]))],
        }


def _title_shares(points: NDArray[np.float64], wins: NDArray[np.float64], rng: np.random.Generator
                  ) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Title share per competitor from ``(n_sims, k)`` totals; ties on points go to more wins, then a draw
    standing in for the rest of the countback (second places, ...). Also returns final positions."""
    n_sims, k = points.shape
    key = np.lexsort((rng.random(points.shape), -wins, -points), axis=-1) if k else np.zeros((n_sims, 0), int)
    champion = key[:, 0]
    share = np.bincount(champion, minlength=k) / n_sims
    return share, finishing_positions(key)


def simulate_championship(
    season: int,
    driver_points: Mapping[str, float],
    constructor_points: Mapping[str, float],
    races: Sequence[RaceInput],
    n: int,
    rng: np.random.Generator | int | None = None,
    driver_wins: Mapping[str, float] | None = None,
    constructor_wins: Mapping[str, float] | None = None,
    n_rounds: int | None = None,
    strength_drift: float = 0.0,
) -> ChampionshipSimulation:
    """Drivers' and constructors' title probabilities from current standings plus the remaining races.

    Each remaining race (and its sprint, if any) is simulated ``n`` times with the season's points system;
    a driver's points go to the constructor they drive for in that race. Sprint retirements use the race
    probability at the same hazard per kilometre (:data:`SPRINT_DISTANCE_RATIO`). The fastest-lap point is
    not simulated (no model of who sets it); ties on points are settled on wins, then at random.

    ``strength_drift``: variance per race of a random walk on each driver's log-strength, drawn per
    simulation (:func:`estimate_strength_drift`), so that a race further away is less certain than the next
    one. Races are taken in the given order; the first uses the strengths as given.
    """
    if not math.isfinite(strength_drift) or strength_drift < 0:
        raise FormguideError(f"strength_drift must be a finite variance >= 0, got {strength_drift!r}")
    n = check_n(n)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    ps = points_system(season)
    drivers = sorted({str(d) for d in driver_points} | {str(d) for r in races for d in r.drivers})
    teams = sorted({str(c) for c in constructor_points} | {str(c) for r in races for c in r.constructors})
    d_index = {d: i for i, d in enumerate(drivers)}
    t_index = {t: i for i, t in enumerate(teams)}
    d_pts = np.zeros((n, len(drivers)))
    t_pts = np.zeros((n, len(teams)))
    d_wins = np.zeros((n, len(drivers)))
    t_wins = np.zeros((n, len(teams)))
    d_now = np.array([float(driver_points.get(d, 0.0)) for d in drivers])
    t_now = np.array([float(constructor_points.get(t, 0.0)) for t in teams])
    d_pts += d_now
    t_pts += t_now
    if driver_wins:
        d_wins += np.array([float(driver_wins.get(d, 0.0)) for d in drivers])
    if constructor_wins:
        t_wins += np.array([float(constructor_wins.get(t, 0.0)) for t in teams])
    total_rounds = n_rounds if n_rounds is not None else max((r.round or 0 for r in races), default=0)
    sprints = 0
    n_d, n_t = len(drivers), len(teams)
    sim_d = (np.arange(n, dtype=np.intp) * n_d)[:, None]
    sim_t = (np.arange(n, dtype=np.intp) * n_t)[:, None]
    walk = np.zeros((n, n_d)) if strength_drift > 0 else None
    for i_race, race in enumerate(races):
        dr = np.array([d_index[str(d)] for d in race.drivers], dtype=np.intp)
        tr = np.array([t_index[str(c)] for c in race.constructors], dtype=np.intp)
        k = dr.size
        if np.unique(dr).size != k or tr.size != k:
            raise FormguideError(f"race {race.round}: drivers must be unique and each needs a constructor")
        u = np.asarray(race.log_strength, dtype=np.float64)
        q = (np.zeros(k) if race.dnf_prob is None
             else np.broadcast_to(np.asarray(race.dnf_prob, dtype=np.float64), (k,)))
        mult = ps.multiplier(race.round, total_rounds) if race.round is not None else 1.0
        sessions = [(ps.race_table(k) * mult, q, True)]
        if race.has_sprint and ps.sprint:
            sessions.append((ps.sprint_table(k), 1.0 - (1.0 - q) ** SPRINT_DISTANCE_RATIO, False))
            sprints += 1
        if walk is not None and i_race > 0:
            walk += gen.normal(0.0, math.sqrt(strength_drift), size=walk.shape)
        for table, qq, counts_wins in sessions:
            if walk is None:
                orders, retired = sample_finishes(u, qq, n, gen)
            else:  # one field per simulation: its own strengths
                orders, retired = sample_finishes(u + walk[:, dr], qq, 1, gen)
                orders, retired = orders[:, 0, :], retired[:, 0, :]
            # Only the scoring places matter; a place is scored when a finisher holds it (retired cars are
            # behind every finisher, so that is "place < number of finishers").
            scoring = int(np.count_nonzero(table))
            top = orders[:, :scoring]
            finishers = k - retired.sum(axis=1)
            w = table[:scoring] * (np.arange(scoring) < finishers[:, None])
            d_pts += np.bincount((sim_d + dr[top]).ravel(), weights=w.ravel(), minlength=n * n_d).reshape(n, n_d)
            t_pts += np.bincount((sim_t + tr[top]).ravel(), weights=w.ravel(), minlength=n * n_t).reshape(n, n_t)
            if counts_wins:
                won = (finishers > 0).astype(np.float64)
                d_wins += np.bincount(sim_d[:, 0] + dr[orders[:, 0]], weights=won, minlength=n * n_d).reshape(n, n_d)
                t_wins += np.bincount(sim_t[:, 0] + tr[orders[:, 0]], weights=won, minlength=n * n_t).reshape(n, n_t)
    d_title, d_final = _title_shares(d_pts, d_wins, gen)
    t_title, _ = _title_shares(t_pts, t_wins, gen)
    d_dist = np.zeros((len(drivers), len(drivers)))
    if len(drivers):
        cell = (np.arange(len(drivers)) * len(drivers) + d_final).ravel()  # (sims, drivers) -> driver*K + pos
        d_dist = np.bincount(cell, minlength=len(drivers) ** 2).reshape(len(drivers), len(drivers)) / n
    notes = ["fastest-lap points are not simulated"] if ps.fastest_lap else []
    return ChampionshipSimulation(
        drivers=drivers, constructors=teams, driver_title=d_title, driver_expected_points=d_pts.mean(axis=0),
        driver_current_points=d_now, driver_position_probs=d_dist, constructor_title=t_title,
        constructor_expected_points=t_pts.mean(axis=0), constructor_current_points=t_now, n_simulations=n,
        n_remaining_races=len(races), n_remaining_sprints=sprints, strength_drift=float(strength_drift),
        notes=notes,
    )
