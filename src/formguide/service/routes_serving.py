"""Read endpoints that serve the champions and the run history: predictions, season simulations, training runs.

Each calls the application layer's use case the CLI calls (``predict``, ``simulate``, ``list_runs``); a served
result is kept by the use case itself for the same request on the same data and champion, so asking again
reads one stored row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from formguide.app import list_runs, predict, simulate
from formguide.app.context import Context
from formguide.app.schemas import PredictRequest, PredictResult, RunSummary, SimulateRequest, SimulateResult
from formguide.service.catalog import check_league, check_season, check_sport
from formguide.service.errors import ApiError
from formguide.service.gate import context
from formguide.service.metrics import count_predictions

router = APIRouter(tags=["serving"])
Ctx = Annotated[Context, Depends(context)]
BetTypeQ = Annotated[str | None, Query(description="Bet type (default: the sport's first).")]
#: Most seasons one HTTP request may simulate (one request must not hold the server for minutes).
MAX_SIMULATIONS = 200_000


@router.get("/training-history", response_model=list[RunSummary], summary="Training runs, most recent first")
def training_history(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 20,
                     sport: Annotated[str | None, Query(description="Only this sport.")] = None
                     ) -> list[RunSummary]:
    """Run type, status, dates, event count, metrics and error of each run (failed, skipped and promotions too)."""
    if sport is not None:
        check_sport(sport)
    return list_runs(ctx, limit, sport)


def _window(day: date | None, days: int | None, date_from: date | None, date_to: date | None
            ) -> tuple[datetime | None, int]:
    """(first day, number of days) of the prediction window, from ``date``+``days`` or ``date_from``..``date_to``."""
    if day is not None and (date_from is not None or date_to is not None):
        raise ApiError(422, "validation", "give date (with days) or date_from/date_to, not both", field="query.date")
    if date_from is None and date_to is not None:
        raise ApiError(422, "validation", "date_to needs date_from", field="query.date_from")
    if date_from is not None:
        if days is not None:
            raise ApiError(422, "validation", "days goes with date, not with date_from/date_to", field="query.days")
        if date_to is None:
            return datetime.combine(date_from, datetime.min.time()), 1
        if date_from > date_to:
            raise ApiError(422, "validation", f"date_from {date_from} is after date_to {date_to}",
                           field="query.date_from")
        return datetime.combine(date_from, datetime.min.time()), (date_to - date_from).days + 1
    return (None if day is None else datetime.combine(day, datetime.min.time())), days or 1


@router.get("/predictions", response_model=PredictResult, response_model_exclude={"views"},
            summary="The champion's probabilities for a window of events")
def predictions(
    ctx: Ctx,
    http: Request,
    sport: Annotated[str, Query(description="Sport plug-in.")] = "football",
    league: Annotated[str | None, Query(description="Competition code (the sport's default if it has one).")]
        = None,
    day: Annotated[date | None, Query(alias="date", description="First day (default: today); a past day is "
                                      "predicted as it was known then.")] = None,
    days: Annotated[int | None, Query(ge=1, le=366, description="Days from date (default 1).")] = None,
    date_from: Annotated[date | None, Query(description="First day (instead of date).")] = None,
    date_to: Annotated[date | None, Query(description="Last day, with date_from.")] = None,
    bet_type: BetTypeQ = None,
    min_edge: Annotated[float | None, Query(description="Only rows whose best edge is at least this.")] = None,
    tier: Annotated[str | None, Query(description="Only rows of this tier or better (A, B, C, D).")] = None,
) -> PredictResult:
    """Probabilities, fair odds, market price, edge, tier and stake per event (match sports), or the field's win,
    podium and points probabilities (field sports), with the model version and feature-set version."""
    found = check_sport(sport)
    if league is not None:
        league = check_league(ctx, found, league).code
    first, n_days = _window(day, days, date_from, date_to)
    options: dict[str, Any] = {k: v for k, v in {"min_edge": min_edge, "tier": tier}.items() if v is not None}
    request = PredictRequest(sport=found.name, bet_type=bet_type, competition=league, date=first, days=n_days,
                             options=options)
    result = predict(ctx, request)
    count_predictions(http.app, result.sport, "predictions", len(result.events))
    return result


@router.get("/simulations/{sport}/{league}/{season}", response_model=SimulateResult,
            response_model_exclude={"views"}, summary="Monte Carlo of the rest of a season")
def simulations(
    ctx: Ctx,
    sport: Annotated[str, Path(description="Sport plug-in.")],
    league: Annotated[str, Path(description="Competition code (any case).")],
    season: Annotated[str, Path(description="Season code, e.g. 2425.")],
    date_from: Annotated[date | None, Query(description="Simulate from this day (default: after the last "
                                            "result).")] = None,
    simulations: Annotated[int, Query(ge=1, le=MAX_SIMULATIONS, description=(
        "Simulated seasons (a request's memory and time grow with it; the CLI allows more)."))] = 20000,
    seed: Annotated[int, Query(ge=0, description="Random seed.")] = 0,
    bet_type: BetTypeQ = None,
) -> SimulateResult:
    """The latest stored simulation of the same request on the same data and champion, else a fresh one."""
    found = check_sport(sport, field="path.sport")
    competition = check_league(ctx, found, league, field="path.league")
    check_season(competition, season)
    request = SimulateRequest(sport=found.name, bet_type=bet_type, competition=competition.code, season=season,
                              date_from=date_from, simulations=simulations, seed=seed)
    return simulate(ctx, request)
