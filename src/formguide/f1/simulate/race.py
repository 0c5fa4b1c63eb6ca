"""One race simulated many times under a scenario, through the core's probability layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.errors import FormguideError
from formguide.core.field_forecast import field_probabilities
from formguide.f1.points import PointsSystem, points_system
from formguide.f1.simulate.scenarios import ScenarioEffect
from formguide.f1.simulate.weights import apply_weights

__all__ = ["RaceSimulation", "check_n", "simulate_race"]


@dataclass(frozen=True, eq=False)
class RaceSimulation:
    """Per-driver outcome probabilities of one simulated race (arrays indexed like ``drivers``)."""

    drivers: list[str]
    constructors: list[str]
    scenario: str | None
    log_strength: NDArray[np.float64]   # after the scenario scale
    dnf_prob: NDArray[np.float64]       # after the scenario multiplier
    position_probs: NDArray[np.float64]  # (n, n): P[i, k] = P(driver i finishes k+1), retirements at the back
    win: NDArray[np.float64]
    podium: NDArray[np.float64]
    points_prob: NDArray[np.float64]    # P(scores points)
    expected_points: NDArray[np.float64]
    expected_position: NDArray[np.float64]
    retired: NDArray[np.float64]        # simulated retirement share
    n_simulations: int
    effect: ScenarioEffect | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"driver": self.drivers, "constructor": self.constructors, "win": self.win,
                             "podium": self.podium, "points_prob": self.points_prob,
                             "expected_points": self.expected_points, "expected_position": self.expected_position,
                             "dnf": self.retired}).sort_values("expected_position", kind="stable")


def check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 1:
        raise FormguideError(f"the number of simulations must be a positive integer, got {n!r}")
    return int(n)


def _scenario(scenario: str | None, effects: Mapping[str, ScenarioEffect] | None) -> ScenarioEffect | None:
    if scenario is None:
        return None
    if effects is None:
        raise FormguideError(f"scenario {scenario!r} needs scenario_effects (estimate_scenario_effects on "
                             "past races); pass scenario=None for the model's average race")
    if scenario not in effects:
        raise FormguideError(f"no effect estimated for scenario {scenario!r}; available: {', '.join(effects)}")
    return effects[scenario]


def simulate_race(
    drivers: Sequence[str],
    constructors: Sequence[str],
    log_strength: ArrayLike,
    dnf_prob: ArrayLike | float | None,
    n: int,
    scenario: str | None = None,
    scenario_effects: Mapping[str, ScenarioEffect] | None = None,
    rng: np.random.Generator | int | None = None,
    points: PointsSystem | Sequence[float] | None = None,
    driver_weights: Mapping[str, object] | None = None,
    team_weights: Mapping[str, object] | None = None,
    driver_aliases: Sequence[str] | None = None,
) -> RaceSimulation:
    """Simulate one race ``n`` times under a scenario.

    ``scenario=None`` uses the strengths as given (the average race the model was fitted on); a named
    scenario scales the log-strengths and multiplies the retirement probabilities by its estimated effect.
    ``points``: a season's :class:`PointsSystem` or points by position (default: the current system, 2025).
    Retired cars score nothing. Weights are analyst overrides (:func:`apply_weights`).
    """
    n = check_n(n)
    drivers = [str(d) for d in drivers]
    constructors = [str(c) for c in constructors]
    u = apply_weights(log_strength, drivers, constructors, driver_weights, team_weights, driver_aliases)
    k = u.size
    q = (np.zeros(k) if dnf_prob is None
         else np.broadcast_to(np.asarray(dnf_prob, dtype=np.float64), (k,)).astype(np.float64))
    effect = _scenario(scenario, scenario_effects)
    if effect is not None:
        u = u * effect.scale
        q = np.clip(q * effect.dnf_multiplier, 0.0, 1.0)
    if points is None:
        points = points_system(2025)
    table = (points.race_table(k) if isinstance(points, PointsSystem)
             else np.pad(np.asarray(points, dtype=np.float64), (0, max(k - len(points), 0)))[:k])
    fc = field_probabilities(u, np.zeros(k), dnf_prob=q, n_sims=n, seed=rng, points=int(np.count_nonzero(table)),
                             points_table=table, positions=True)
    f = fc.frame
    return RaceSimulation(
        drivers=drivers, constructors=constructors, scenario=scenario, log_strength=u, dnf_prob=q,
        position_probs=fc.positions, win=f["p_win"].to_numpy(), podium=f["p_podium"].to_numpy(),
        points_prob=f["p_points"].to_numpy(), expected_points=f["expected_points"].to_numpy(),
        expected_position=f["expected_position"].to_numpy(), retired=f["p_retire"].to_numpy(), n_simulations=n,
        effect=effect,
    )
