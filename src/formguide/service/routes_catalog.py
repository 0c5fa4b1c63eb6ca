"""Read endpoints about what is installed and stored: sports, and competitions with their seasons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from formguide.app import competitions
from formguide.app.context import Context
from formguide.app.schemas import CompetitionSummary
from formguide.core.sport import available_sports, get_sport
from formguide.service.catalog import check_sport
from formguide.service.gate import context

router = APIRouter(tags=["catalog"])


class SportInfo(BaseModel):
    """What a sport offers (``formguide info`` shows the same)."""

    name: str
    model_types: list[str]
    bet_types: list[str]
    default_competition: str | None
    headline_metric: str
    promotion_metrics: list[str]
    metric_columns: list[str]
    can_simulate: bool
    can_rate: bool


@router.get("/sports", response_model=list[SportInfo], summary="Installed sports")
def sports() -> list[SportInfo]:
    out = []
    for name in sorted(available_sports()):
        sport = get_sport(name)
        out.append(SportInfo(**sport.describe(), can_simulate=sport.can_simulate, can_rate=sport.can_rate))
    return out


@router.get("/leagues", response_model=list[CompetitionSummary], summary="Stored competitions with their seasons")
def leagues(ctx: Annotated[Context, Depends(context)],
            sport: Annotated[str | None, Query(description="Only this sport.")] = None) -> list[CompetitionSummary]:
    """Every stored competition (of one sport, or all) with its seasons, date ranges and event counts."""
    if sport is not None:
        check_sport(sport)
    return competitions(ctx, sport)
