"""Backtests: walk-forward over a date range, the model next to the market and baselines on the same events.

Every sport's backtest has one JSON shape: ``sport``, ``competition``, ``model`` (type, params, refit and the
sport's metrics), ``market`` (the de-margined closing market where the sport has one, else null),
``baselines`` (name -> metrics), ``betting`` (where the sport has prices), ``window`` and ``seconds``, plus
what the sport adds (e.g. reliability tables of podium and points probabilities, ``by_season``).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from formguide.core.days import day_number, day_numbers
from formguide.core.errors import DataValidationError
from formguide.core.options import SportOptions
from formguide.core.sport import Sport
from formguide.core.training import (
    Progress,
    baseline_forecasts,
    phase_progress,
    prepare,
    walk_forward_forecast,
)
from formguide.core.walkforward import Cadence

__all__ = ["backtest"]


def backtest(engine: Engine | None, sport: Sport, competition: str, *, model_type: str, params: dict[str, Any] | None = None,
             feature_options: dict[str, Any] | None = None, options: SportOptions | None = None,
             date_from: datetime | None = None, date_to: datetime | None = None, cadence: Cadence | None = None,
             plots_dir: Path | None = None, progress: Progress | None = None, frame: Any = None) -> dict[str, Any]:
    """Walk-forward backtest of one configuration; returns the report (see the module docstring).

    ``frame`` replaces the store's rows (a frame built in code); ``engine`` may then be None."""
    cadence = cadence or sport.backtest_cadence
    params = params or {}
    prep = prepare(engine, sport, competition, feature_options=feature_options, frame=frame)
    frame, X, rows = prep.frame, prep.X, prep.trainable
    if not rows.any():
        raise DataValidationError(f"no played events for {competition}")
    days = day_numbers(frame[sport.time_column])
    start_day = day_number(date_from) if date_from else sport.default_backtest_start(frame, rows)
    end_day = day_number(date_to) + 1 if date_to else int(days[rows].max()) + 1
    window = (days >= start_day) & (days < end_day)
    t0 = time.perf_counter()
    if progress is not None:
        progress("walk-forward", 0.0)
    forecast = walk_forward_forecast(sport, frame, X, rows, model_type, params, start_day=start_day, end_day=end_day,
                                     cadence=cadence, progress=phase_progress(progress, "walk-forward"))
    if progress is not None:
        progress("baselines", 0.0)
    references = baseline_forecasts(sport, frame, X, rows, start_day=start_day, end_day=end_day, cadence=cadence)
    elapsed = time.perf_counter() - t0
    evaluated = sport.evaluated_events(frame, forecast, window)
    if not evaluated.any():
        raise DataValidationError(
            f"{model_type} made no out-of-sample forecast of a played {competition} event in the window: it needs "
            "more history before the window (a blend first needs about a season of Dixon-Coles forecasts); move "
            "--from later or ingest earlier seasons")
    if progress is not None:
        progress("evaluate", 0.0)
    report = sport.evaluate(frame, {"model": forecast, **references}, window)
    result: dict[str, Any] = {
        "sport": sport.name,
        "competition": competition,
        **(sport.report_extras(options) if options is not None else {}),
        "model": {"type": model_type, "params": params, "refit": str(cadence), **(report["model"] or {})},
        **{k: v for k, v in report.items() if k != "model"},
        "seconds": round(elapsed, 2),
    }
    betting = sport.betting(frame, forecast, evaluated, options) if options is not None else None
    curves = None
    if betting is not None:
        result["betting"], curves = betting
    if options is not None:
        result.update(sport.market_backtests(frame, forecast, evaluated, options, model_type=model_type, params=params,
                                             cadence=cadence, start_day=start_day))
    if plots_dir is not None:
        result.update(_plots(sport, frame, forecast, evaluated, curves, Path(plots_dir), competition, model_type))
    return result


def _plots(sport: Sport, frame: Any, forecast: np.ndarray, rows: np.ndarray, curves: dict | None, folder: Path,
           competition: str, model_type: str) -> dict[str, str]:
    from formguide.core.plots import bankroll_curve

    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{sport.name}-{competition}-{model_type}"
    out = {"reliability_png": str(sport.reliability_plot(
        frame, forecast, rows, folder / f"reliability-{tag}.png",
        title=f"{competition} {model_type}: walk-forward reliability"))}
    if curves:
        out["bankroll_png"] = str(bankroll_curve(curves, folder / f"bankroll-{tag}.png",
                                                 title=f"{competition} {model_type}: bankroll, walk-forward bets"))
    return out
