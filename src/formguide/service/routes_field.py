"""The field of one race: ``GET /api/v1/{sport}/races/{race}/field`` (F1's is ``/api/v1/f1/races/2024-22/field``).

It calls the application layer's ``race_field``, which is ``predict`` of that race (the use case behind
``formguide predict --sport f1 --race 2024-22``) with the finishing-position distribution turned on. Which sports
have race fields is the sport contract's ``race_reference``, never the sport's name: any other sport answers 404
naming the sports that have them, as does a race the store does not hold (with how races are written and the
stored range); a race written in a form the sport cannot read is a 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from formguide.app.context import Context
from formguide.app.schemas import RaceFieldRequest, RaceFieldResult
from formguide.app.serving import NoRaceFieldsError, race_field
from formguide.core.sport import RaceNotFoundError, RaceReferenceError
from formguide.service.catalog import check_sport
from formguide.service.errors import ApiError
from formguide.service.gate import context
from formguide.service.metrics import count_predictions

router = APIRouter(tags=["serving"])
Ctx = Annotated[Context, Depends(context)]


@router.get("/{sport}/races/{race}/field", response_model=RaceFieldResult, response_model_exclude={"views"},
            summary="One race's field: win, podium, points and finishing-position probabilities")
def field(
    ctx: Ctx,
    http: Request,
    sport: Annotated[str, Path(description="Sport plug-in with race fields (f1).")],
    race: Annotated[str, Path(description="The race as the sport writes it (F1: SEASON-ROUND, e.g. 2024-22).")],
    moment: Annotated[str | None, Query(description="Prediction moment (F1: pre-quali or post-quali; default "
                                        "the sport's, F1 post-quali).")] = None,
    simulations: Annotated[int, Query(ge=100, le=1_000_000, description="Simulated races.")] = 20000,
    seed: Annotated[int, Query(ge=0, description="Random seed.")] = 0,
) -> RaceFieldResult:
    """Per entry (F1: driver, constructor, grid when known) P(win), P(podium), P(points), P(retire), the expected
    position and the result once run; the entries x positions distribution; the champion's model and version,
    the feature-set version and the moment. Asked again on the same data and champion, the kept result is read."""
    found = check_sport(sport, field="path.sport")
    request = RaceFieldRequest(sport=found.name, race=race, moment=moment, simulations=simulations, seed=seed)
    try:
        result = race_field(ctx, request)
    except NoRaceFieldsError as exc:
        raise ApiError(404, "not_found", str(exc), field="path.sport") from None
    except RaceNotFoundError as exc:
        raise ApiError(404, "not_found", str(exc), field="path.race") from None
    except RaceReferenceError as exc:
        raise ApiError(422, "validation", f"{exc} ({found.name} races are written {found.race_reference})",
                       field="path.race") from None
    count_predictions(http.app, result.sport, "field", 1)
    return result
