"""Use cases that fit models: train (validate, evaluate, register, promote) and backtest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from formguide.app.common import (
    Progress,
    resolve_cadence,
    resolve_competition,
    resolve_metric,
    resolve_model_type,
    sport_and_options,
)
from formguide.app.context import Context
from formguide.app.schemas import BacktestRequest, BacktestResult, TrainRequest, TrainResult
from formguide.core import artifacts, deadline
from formguide.core.backtest import backtest as run_backtest
from formguide.core.mlflow_mirror import mirrored_training
from formguide.core.sport import Sport
from formguide.core.training import TrainPlan
from formguide.core.training import train as run_train
from formguide.core.views import TableView, metrics_view

__all__ = ["backtest", "train"]


def train(ctx: Context, request: TrainRequest, progress: Progress | None = None) -> TrainResult:
    """Validate, build features, evaluate walk-forward, fit, register and promote if better (``core.training``)."""
    sport, options = sport_and_options(request.sport, "train", request.options, request.bet_type)
    competition = resolve_competition(ctx, sport, request.competition)
    model_type = resolve_model_type(sport, request.model_type)
    plan = TrainPlan(competition=competition, line=sport.line_name(competition, options), model_type=model_type,
                     params=sport.model_params(model_type, options), feature_options=sport.feature_options(options),
                     until=request.until, seasons=request.seasons, eval_seasons=request.eval_seasons,
                     promote_metric=resolve_metric(sport, request.metric), cadence=sport.train_cadence,
                     date_from=request.date_from)
    with mirrored_training(ctx.settings.mlflow_uri, ctx.engine, plan.line, ctx.artifacts) as mirrored, \
            deadline.time_limit(request.max_runtime):
        outcome = run_train(ctx.engine, sport, plan, artifacts_dir=ctx.artifacts, force=request.force,
                            progress=progress)
    result = TrainResult(sport=sport.name, bet_type=sport.bet_type, competition=competition, status=outcome.status, run_id=outcome.run_id,
                         name=outcome.name, model_id=outcome.model_id, version=outcome.version,
                         promoted=outcome.promoted, message=outcome.message, model_card=outcome.card_path,
                         metrics=outcome.metrics)
    result.messages.append(outcome.message)
    evaluation = (outcome.metrics or {}).get("evaluation")
    if evaluation and outcome.status == "registered":
        result.views.append(evaluation_view(sport, f"walk-forward evaluation {_span(evaluation)}", evaluation))
    if outcome.card_path:
        result.messages.append(f"model card: {outcome.card_path}")
    if outcome.promoted:  # a new champion: its online rows replace the old one's (app.online)
        from formguide.app.online import refresh_online

        refresh_online(ctx, sport.name, competition, reason="train", line=plan.line)
    result.messages.extend(mirrored)
    return result


def _span(report: dict[str, Any]) -> str:
    w = report.get("window") or {}
    return f"{str(w.get('from'))[:10]} .. {str(w.get('to'))[:10]}"


def evaluation_view(sport: Sport, title: str, report: dict[str, Any]) -> TableView:
    """The sport's metric columns of a report's model, market and baselines (secondary columns droppable)."""
    priorities = {c: (1 if i >= 5 else 0) for i, c in enumerate(sport.metric_columns)}
    return metrics_view(title, report, sport.metric_columns, priorities=priorities)


def backtest(ctx: Context, request: BacktestRequest, progress: Progress | None = None) -> BacktestResult:
    """Walk-forward backtest of one configuration next to the market and baselines, with betting where priced."""
    sport, options = sport_and_options(request.sport, "backtest", request.options, request.bet_type)
    competition = resolve_competition(ctx, sport, request.competition)
    model_type = resolve_model_type(sport, request.model_type)
    cadence = resolve_cadence(sport, request.refit, sport.backtest_cadence)
    plots = request.plots if request.plots is not None else artifacts.plots_dir(ctx.artifacts)

    def moment(value: Any) -> datetime | None:
        return None if value is None else datetime(value.year, value.month, value.day)

    with deadline.time_limit(request.max_runtime):
        report = run_backtest(ctx.engine, sport, competition, model_type=model_type,
                              params=sport.model_params(model_type, options),
                              feature_options=sport.feature_options(options), options=options,
                              date_from=moment(request.date_from), date_to=moment(request.date_to),
                              cadence=cadence, plots_dir=plots, progress=progress)
    ledger = _write_ledger(report, request.ledger)
    result = BacktestResult(sport=sport.name, bet_type=sport.bet_type, competition=competition, report=report)
    title = f"{competition} {model_type} walk-forward {_span(report)} ({report['seconds']} s)"
    result.views.append(evaluation_view(sport, title, report))
    betting = report.get("betting")
    if betting:
        result.views.append(_betting_view(betting))
    result.views.extend(sport.backtest_views(report))
    for key in ("bankroll_png", "reliability_png"):
        if report.get(key):
            result.messages.append(f"{key.removesuffix('_png')}: {report[key]}")
    if request.ledger is not None:
        result.messages.append(f"ledger: {ledger}" if ledger else f"no ledger written: {sport.name} placed no bets "
                               "here (no prices to bet at)")
    return result


def _write_ledger(report: dict[str, Any], target: Any) -> str | None:
    """Move the betting block's per-bet rows out of the report: into ``target`` (CSV or JSON) when given, whose
    path the report then carries as ``ledger``."""
    from formguide.core.ledger import write_ledger

    rows = (report.get("betting") or {}).pop("ledger", None)
    if target is None or rows is None:
        return None
    report["ledger"] = str(write_ledger(target, rows))
    return report["ledger"]


def _betting_view(betting: dict[str, Any]) -> TableView:
    from formguide.core.views import Column

    cols = [Column(key="staking", align="left"), Column(key="bets", digits=0), Column(key="staked", digits=2),
            Column(key="profit", digits=2), Column(key="roi", digits=4), Column(key="clv", digits=4),
            Column(key="max_drawdown", digits=3), Column(key="final_bankroll", header="final", digits=2, priority=1),
            Column(key="clv_positive", header="clv>0", digits=3, priority=1),
            Column(key="pushes", digits=0, priority=1), Column(key="half_results", header="halves", digits=0,
                                                               priority=2)]
    keys = ("bets", "staked", "profit", "roi", "clv", "max_drawdown", "final_bankroll", "clv_positive", "pushes",
            "half_results")
    rows = [{"staking": s, **{k: betting[s].get(k) for k in keys}} for s in ("flat", "kelly")]
    return TableView(title=f"betting vs {betting['odds']}, min edge {betting['min_edge']}", columns=cols, rows=rows)
