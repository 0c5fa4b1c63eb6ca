"""The NFL feature set ("nfl-core"): point-in-time features of a game from the home side's view.

Families (one module each): ``elo`` (538 Elo), ``qb`` (starting-QB adjustment and QB-adjusted Elo),
``form`` (season-to-date record, rolling point differential, streak), ``h2h``, ``efficiency`` (EPA per
play, success rate, CPOE with a prior between seasons), ``schedule`` (rest, byes, short weeks, playoff and
divisional flags), ``weather``, ``injuries`` (position-weighted listed-out players) and ``market``
(closing spread, total, de-vigged moneyline and spread-implied probabilities; only with
``include_market``). Outcomes are those of :data:`formguide.nfl.frame.OUTCOME_COLUMNS`; a game on day D
uses only outcomes of days before D, so ``build(frame, as_of=D)`` gives its training row.
"""

from __future__ import annotations

import inspect
from typing import Any

from formguide.core.features.engine import (
    FeatureDefinition,
    FeatureSet,
    asof_join,
    rolling_before,
    trailing_window,
)
from formguide.nfl.features import common, efficiency, elo, form, injuries, market, qb, schedule
from formguide.nfl.features.table import TABLE_COLUMNS, elo_table
from formguide.nfl.frame import OUTCOME_COLUMNS

__all__ = ["FEATURE_PARAMS", "TABLE_COLUMNS", "elo_table", "nfl_feature_set"]

_GAME = ("season", "kickoff", "home_team", "away_team", "home_score", "away_score")
_PASSING = tuple(f"{side}_st_{c}" for side in ("home", "away") for c in (
    "attempts", "completions", "passing_yards", "passing_tds", "passing_interceptions", "sacks_suffered"))
_EFFICIENCY = tuple(f"{side}_st_{c}" for side in ("home", "away") for c in (
    "passing_epa", "rushing_epa", "attempts", "sacks_suffered", "carries", "off_success_rate", "passing_cpoe"))
_INJURY = tuple(f"{side}_inj_{f}" for side in ("home", "away") for f in (*injuries.WEIGHTED_FIELDS, "out_total"))

_SPECS: tuple[tuple[str, Any, tuple[str, ...], tuple[Any, ...], tuple[str, ...]], ...] = (
    ("elo", elo.elo_features, elo.ELO_COLUMNS, (elo.elo_ratings, elo.elo_probability), _GAME),
    ("qb", qb.qb_features, qb.QB_COLUMNS,
     (qb.qb_values, qb.pass_value, qb.qb_adjustments, qb.qb_changes, elo.elo_ratings, elo.elo_probability),
     _GAME + ("home_qb_id", "away_qb_id") + _PASSING),
    ("form", form.form_features, form.FORM_COLUMNS,
     (form._history, form._streaks, common.team_games, rolling_before, trailing_window, asof_join), _GAME),
    ("h2h", form.h2h_features, form.H2H_COLUMNS, (form._pair_keys, trailing_window, asof_join), _GAME),
    ("efficiency", efficiency.efficiency_features, efficiency.EFFICIENCY_COLUMNS,
     (efficiency.efficiency_states, efficiency.game_metrics, common.team_games, common.side_stat, asof_join),
     _GAME + _EFFICIENCY),
    ("schedule", schedule.schedule_features, schedule.SCHEDULE_COLUMNS, (elo.playoff_flags, elo.neutral_flags),
     ("home_rest", "away_rest")),
    ("weather", schedule.weather_features, schedule.WEATHER_COLUMNS, (), ("temp", "wind", "roof", "surface")),
    ("injuries", injuries.injury_features, injuries.INJURY_COLUMNS, (), _INJURY + (
        "home_inj_prev_qb_out", "away_inj_prev_qb_out")),
)
_MARKET = ("market", market.market_features, market.MARKET_COLUMNS, (market._decimal,), market.MARKET_INPUTS[:4])


def _params_of(function: Any) -> set[str]:
    return {p for p in inspect.signature(function).parameters if p != "frame"}


#: Every parameter ``nfl_feature_set`` accepts, and the families that use it.
FEATURE_PARAMS: dict[str, tuple[str, ...]] = {}
for _name, _fn, *_ in (*_SPECS, _MARKET):
    for _p in sorted(_params_of(_fn)):
        FEATURE_PARAMS[_p] = (*FEATURE_PARAMS.get(_p, ()), _name)


def nfl_feature_set(include_market: bool = True, **params: Any) -> FeatureSet:
    """The NFL feature set; ``params`` go to every family whose function takes them (``k`` to Elo and QB Elo).

    Defaults are 538's published Elo and QB constants and values chosen on seasons <= 2008 (2009-2012 for
    the injury weights); see each module. With ``include_market=False`` no column reads a price or line.
    """
    unknown = sorted(set(params) - set(FEATURE_PARAMS))
    if unknown:
        raise ValueError(f"unknown NFL feature parameter(s) {unknown}; known: {sorted(FEATURE_PARAMS)}")
    specs = (*_SPECS, _MARKET) if include_market else _SPECS
    definitions = []
    for name, function, columns, deps, requires in specs:
        own = {p: v for p, v in params.items() if p in _params_of(function)}
        definitions.append(FeatureDefinition(name, function, columns, params=own, dependencies=deps,
                                             requires=requires))
    return FeatureSet("nfl-core", definitions, outcome_columns=OUTCOME_COLUMNS, time_column="kickoff")
