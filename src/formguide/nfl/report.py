"""The NFL backtest report: the model, the market and every baseline on the same games, with intervals.

Same JSON shape as every sport (``window``, ``model``, ``market``, ``baselines``, each block with n, Brier,
log loss, accuracy and ECE), plus what a bettor reads next: ``vs_market`` and each baseline's
``vs_model`` (paired Brier differences with a 95 % bootstrap interval, negative = the model is better),
``picks`` (the likelier side of every game: hit rate with its Wilson interval and the return at the real
closing prices, -110 where the data has no price) and ``by_season`` (model and market Brier per season).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from formguide.nfl.evaluate import paired_difference, pick_record, side_probabilities, side_summary

if TYPE_CHECKING:
    from formguide.nfl.sport import NFLSport

__all__ = ["evaluate_bet_type"]


def _brier_terms(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (p - y) ** 2


def evaluate_bet_type(sport: NFLSport, frame: pd.DataFrame, forecasts: dict[str, np.ndarray],
                      window: np.ndarray) -> dict[str, Any]:
    outcome = sport.outcome(frame)
    p_model, y, ok_model = side_probabilities(forecasts["model"], outcome)
    rows = window & ok_model
    times = frame[sport.time_column][rows]
    report: dict[str, Any] = {
        "window": {"from": times.min().isoformat() if len(times) else None,
                   "to": times.max().isoformat() if len(times) else None, "n": int(rows.sum()),
                   "pushes_left_out": int((window & (outcome == 1) & ~np.isnan(forecasts["model"]).any(axis=1)).sum())},
        "model": side_summary(p_model[rows], y[rows]),
        "market": None,
        "baselines": {},
    }
    market = sport.market_probabilities(frame)
    p_market, _, ok_market = side_probabilities(market, outcome)
    same = rows & ok_market
    if same.any():
        report["market"] = side_summary(p_market[same], y[same])
        report["market"]["model_on_same_events"] = side_summary(p_model[same], y[same])
        report["vs_market"] = paired_difference(_brier_terms(p_model[same], y[same]),
                                                _brier_terms(p_market[same], y[same]))
    for name, forecast in forecasts.items():
        if name == "model":
            continue
        p_base, _, ok_base = side_probabilities(forecast, outcome)
        both = rows & ok_base
        block = side_summary(p_base[both], y[both])
        if block is not None:
            block["vs_model"] = paired_difference(_brier_terms(p_model[both], y[both]),
                                                  _brier_terms(p_base[both], y[both]))
        report["baselines"][name] = block
    decided_or_push = window & (outcome >= 0) & np.isfinite(p_model)
    settle = sport.settlement(frame)[:, [0, 2]][decided_or_push]
    odds = sport.best_odds(frame)[:, [0, 2]][decided_or_push]
    report["picks"] = pick_record(p_model[decided_or_push], settle, odds)
    report["by_season"] = _by_season(frame, p_model, p_market, y, rows, ok_market)
    return report


def _by_season(frame: pd.DataFrame, p_model: np.ndarray, p_market: np.ndarray, y: np.ndarray, rows: np.ndarray,
               ok_market: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seasons = frame["season"].astype(str).to_numpy()
    for season in pd.unique(seasons[rows]):
        in_season = rows & (seasons == season)
        same = in_season & ok_market
        out[str(season)] = {"n": int(in_season.sum()),
                            "model_brier": float(np.mean(_brier_terms(p_model[in_season], y[in_season]))),
                            "market_brier": float(np.mean(_brier_terms(p_market[same], y[same]))) if same.any()
                            else None}
    return out
