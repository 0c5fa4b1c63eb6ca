"""Monte Carlo races and championships, race scenarios estimated from history, weekend updating, overrides.

Everything works on log-strengths (Plackett–Luce utilities) per driver and race, whatever model made them.

* **Scenarios** (:func:`estimate_scenario_effects`): how much a wet race or a safety-car race reshuffles the
  order and how many more cars retire, measured on past races. The spread is a *scale* on utilities: the
  Plackett–Luce likelihood of the finishers' order is maximised over ``c`` in ``u = c * x`` for a base
  utility ``x`` (by default the starting slot, ``-log(grid)``), separately in the scenario's races and in
  all races where the condition is known; ``scale = c_scenario / c_all``. Below 1 means a more random order.
  The *DNF multiplier* is observed over expected retirements in the scenario's races, expected from each
  season's retirement rate (so eras with fragile cars do not masquerade as a weather effect). Both are
  also reported against the complement (wet vs dry races, safety-car vs clean races).
* **Weekend updating** (:class:`WeekendUpdater`): the pre-weekend strength ``mu`` is a normal prior on the
  race-day strength ``theta ~ N(mu, tau^2)``; the starting grid and the sprint result are noisy linear
  signals of ``theta``. Their slopes, residual variances and the Kalman gains are estimated on past
  races (the gain maximises the Plackett–Luce likelihood of the race result given ``mu + gain * residual``),
  which identifies ``tau^2`` and each session's noise variance. See the class docstring.
* **Overrides** (:func:`apply_weights`): an analyst multiplies a driver's or a team's strength.
* **Races** (:func:`simulate_race`) and **championships** (:func:`simulate_championship`) go through the
  core's one probability layer (:mod:`formguide.core.field_forecast`: the winner drawn exactly from the
  strengths, retirements given not winning), the same layer race predictions and backtests use.

Modules: :mod:`~formguide.f1.simulate.scenarios`, :mod:`~formguide.f1.simulate.retirements`,
:mod:`~formguide.f1.simulate.weekend`, :mod:`~formguide.f1.simulate.weights`, :mod:`~formguide.f1.simulate.race`,
:mod:`~formguide.f1.simulate.championship` (with the strength drift) and
:mod:`~formguide.f1.simulate.plackett_luce` (helpers the estimates share). Everything public is re-exported here.
"""

from formguide.f1.simulate.championship import (
    ChampionshipSimulation,
    RaceInput,
    estimate_strength_drift,
    simulate_championship,
)
from formguide.f1.simulate.plackett_luce import grid_slot
from formguide.f1.simulate.race import RaceSimulation, simulate_race
from formguide.f1.simulate.retirements import SPRINT_DISTANCE_RATIO, estimate_dnf_prob
from formguide.f1.simulate.scenarios import SCENARIOS, ScenarioEffect, estimate_scenario_effects, fit_scale
from formguide.f1.simulate.weekend import WeekendPosterior, WeekendUpdater
from formguide.f1.simulate.weights import apply_weights, check_weights

__all__ = [
    "SCENARIOS",
    "SPRINT_DISTANCE_RATIO",
    "ChampionshipSimulation",
    "RaceInput",
    "RaceSimulation",
    "ScenarioEffect",
    "WeekendPosterior",
    "WeekendUpdater",
    "apply_weights",
    "check_weights",
    "estimate_dnf_prob",
    "estimate_scenario_effects",
    "estimate_strength_drift",
    "fit_scale",
    "grid_slot",
    "simulate_championship",
    "simulate_race",
]
