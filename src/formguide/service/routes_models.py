"""The model registry over HTTP: versions, champions, one version's card and plots, promotion (a write)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from formguide.app import promote_model, show_model
from formguide.app.champions import ChampionStatus, ModelLine, champions, model_lines
from formguide.app.context import Context
from formguide.core.registry import MODEL_STATUSES
from formguide.service.auth import require_token
from formguide.service.catalog import check_league, check_sport
from formguide.service.errors import ApiError
from formguide.service.gate import context

router = APIRouter(prefix="/models", tags=["models"])

Ctx = Annotated[Context, Depends(context)]
SportQ = Annotated[str | None, Query(description="Only this sport.")]
LeagueQ = Annotated[str | None, Query(description="Only this competition code (any case); needs sport.")]
BetTypeQ = Annotated[str | None, Query(description="Only this bet type (e.g. moneyline); needs sport.")]
ModelId = Annotated[int, PathParam(ge=1, description="Model id (`formguide models list`).")]
#: Files of a model's artifact folder the API hands out.
SERVED_SUFFIXES = (".png", ".md")


class ModelLinks(BaseModel):
    self: str
    promote: str
    files: dict[str, str] = Field(default_factory=dict, description="The card and plots: file name -> URL.")


class ModelPage(BaseModel):
    """One version: its summary and line, training facts, walk-forward evaluation, model card and links."""

    model: ModelLine
    feature_set_version: str | None
    data_fingerprint: str | None
    artifact_sha256: str | None
    config: dict[str, Any] | None
    evaluation: dict[str, Any] | None
    card: str = Field(description="The model card (Markdown), its status as it is now.")
    links: ModelLinks


class LineVersions(BaseModel):
    """Every version of one champion line, newest first, side by side."""

    sport: str
    name: str
    competition: str | None
    bet_type: str | None
    champion: int | None = Field(description="Version of the champion (None: the line has none).")
    versions: list[ModelLine]


def _filters(ctx: Context, sport: str | None, league: str | None, bet_type: str | None) -> tuple:
    if sport is None and (league is not None or bet_type is not None):
        raise ApiError(422, "validation", "league and bet_type filter one sport's models: give sport too",
                       field="query.sport")
    if sport is not None:
        found = check_sport(sport)
        if league is not None:
            league = check_league(ctx, found, league).code
        if bet_type is not None:
            bet_type = found.for_bet_type(bet_type).bet_type
    return sport, league, bet_type


@router.get("", response_model=list[ModelLine], summary="Model versions, newest first")
def list_versions(ctx: Ctx, sport: SportQ = None, league: LeagueQ = None, bet_type: BetTypeQ = None,
                  status: Annotated[Literal[MODEL_STATUSES] | None, Query(  # type: ignore[valid-type]
                      description="candidate, champion or retired.")] = None) -> list[ModelLine]:
    sport, league, bet_type = _filters(ctx, sport, league, bet_type)
    return model_lines(ctx, sport, league, bet_type, status)


@router.get("/status", response_model=list[ChampionStatus], summary="The champion of every line")
def status(ctx: Ctx, sport: SportQ = None) -> list[ChampionStatus]:
    """Per sport, competition and bet type: the champion's version, when it was trained, its walk-forward Brier,
    log loss, accuracy and draw accuracy (where the sport has them) and how many events it learnt from."""
    if sport is not None:
        check_sport(sport)
    return champions(ctx, sport)


@router.get("/versions", response_model=list[LineVersions], summary="Versions of each line side by side")
def versions(ctx: Ctx, sport: SportQ = None, league: LeagueQ = None, bet_type: BetTypeQ = None
             ) -> list[LineVersions]:
    sport, league, bet_type = _filters(ctx, sport, league, bet_type)
    by_line: dict[str, list[ModelLine]] = {}
    for m in model_lines(ctx, sport, league, bet_type):
        by_line.setdefault(m.name, []).append(m)
    out = []
    for name, items in sorted(by_line.items()):
        items.sort(key=lambda m: -m.version)
        champ = next((m.version for m in items if m.status == "champion"), None)
        out.append(LineVersions(sport=items[0].sport, name=name, competition=items[0].competition,
                                bet_type=items[0].bet_type, champion=champ, versions=items))
    return out


def _folder(card_path: str | None) -> Path | None:
    return Path(card_path).parent if card_path else None


def _files(folder: Path | None) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SERVED_SUFFIXES)


@router.get("/{model_id}", response_model=ModelPage, summary="One model version")
def show(ctx: Ctx, model_id: ModelId, request: Request) -> ModelPage:
    detail = show_model(ctx, str(model_id))
    line = next(m for m in model_lines(ctx, detail.model.sport) if m.id == model_id)
    base = str(request.url_for("show", model_id=model_id).path)
    files = {name: f"{base}/files/{name}" for name in _files(_folder(detail.card_path))}
    return ModelPage(model=line, feature_set_version=detail.feature_set_version,
                     data_fingerprint=detail.data_fingerprint, artifact_sha256=detail.artifact_sha256,
                     config=detail.config, evaluation=detail.evaluation, card=detail.card,
                     links=ModelLinks(self=base, promote=f"{base}/promote", files=files))


@router.get("/{model_id}/files/{name}", summary="A file of the model's card folder (plots, card)",
            response_class=FileResponse, responses={404: {"description": "No such file"}})
def model_file(ctx: Ctx, model_id: ModelId, name: str) -> FileResponse:
    folder = _folder(show_model(ctx, str(model_id)).card_path)
    listed = _files(folder)
    if name not in listed or folder is None:
        raise ApiError(404, "not_found", f"model {model_id} has no file {name!r}; it has: "
                       f"{', '.join(listed) or 'none'}", field="path.name")
    return FileResponse(folder / name)


@router.post("/{model_id}/promote", response_model=ModelLine, summary="Make a version its line's champion",
             dependencies=[Depends(require_token)])
def promote(ctx: Ctx, model_id: ModelId) -> ModelLine:
    """The previous champion is retired and every card of the line brought up to date. Needs the API token."""
    summary = promote_model(ctx, str(model_id))
    return next(m for m in model_lines(ctx, summary.sport) if m.id == model_id)
