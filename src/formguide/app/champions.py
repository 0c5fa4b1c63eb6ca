"""Use cases over the registry's champion lines: which competition and bet type each model version is for, and
the champion of every (sport, competition, bet type) with the numbers a dashboard shows.

A registry line is named by the sport (``football-E0``, ``nfl-NFL-spread``); the competition comes from the
training configuration and the bet type from the sport's own line names, so no front end parses names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from formguide.app.context import Context
from formguide.app.registry import _summary
from formguide.app.schemas import ModelSummary
from formguide.core import registry
from formguide.core.errors import FormguideError
from formguide.core.options import parse_options
from formguide.core.sport import Sport, available_sports, get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import ModelRecord

__all__ = ["ChampionStatus", "ModelLine", "champions", "model_lines"]


class ModelLine(ModelSummary):
    """A model version with the line it belongs to and what it was trained on."""

    competition: str | None = Field(None, description="Competition (league) code the version was trained on.")
    bet_type: str | None = Field(None, description="Bet type of its line (None: not one of the sport's lines).")
    training_events: int | None = Field(None, description="Events the final fit learnt from.")
    trained_from: str | None = Field(None, description="First training event's time (ISO).")
    trained_to: str | None = Field(None, description="Last training event's time (ISO).")
    feature_set_version: str | None = None


class ChampionStatus(BaseModel):
    """The champion of one (sport, competition, bet type): version, when, and its walk-forward metrics."""

    sport: str
    competition: str | None
    bet_type: str | None
    name: str
    model_id: int
    version: int
    model_type: str
    status: str
    trained_at: datetime | None
    promoted_at: datetime | None
    headline_metric: str | None
    headline: float | None
    brier: float | None = Field(None, description="Brier score over the evaluation window (None: not a metric "
                                "of the sport).")
    log_loss: float | None = None
    accuracy: float | None = None
    draw_accuracy: float | None = Field(None, description="Where the sport has draws (football).")
    training_events: int | None
    evaluated_events: int | None = Field(None, description="Events of the walk-forward evaluation window.")


def _bet_type(sport: Sport, name: str, competition: str | None) -> str | None:
    """The bet type whose line (with the sport's default options) is ``name``; a one-bet-type sport's own."""
    if len(sport.bet_types) == 1:
        return sport.bet_type
    if competition is None:
        return None
    for bet_type in sport.bet_types:
        view = sport.for_bet_type(bet_type)
        options = parse_options(view.options.model("train"), {}, sport=view.name, use_case="train")
        if view.line_name(competition, options) == name:
            return bet_type
    return None


def _line(record: ModelRecord) -> ModelLine:
    competition = (record.config or {}).get("competition") or next(iter(record.training_competitions or []), None)
    sport = get_sport(record.sport) if record.sport in available_sports() else None
    data = (record.metrics or {}).get("data") or {}
    return ModelLine(**_summary(record).model_dump(), competition=competition,
                     bet_type=None if sport is None else _bet_type(sport, record.name, competition),
                     training_events=data.get("n_events"), trained_from=data.get("date_from"),
                     trained_to=data.get("date_to"), feature_set_version=record.feature_set_version)


def model_lines(ctx: Context, sport: str | None = None, competition: str | None = None,
                bet_type: str | None = None, status: str | None = None) -> list[ModelLine]:
    """Model versions, newest first, of one sport, competition (any case), bet type or status when given."""
    if sport is not None:
        sport = get_sport(sport).name  # a clear error for an unknown sport
        if bet_type is not None:
            bet_type = get_sport(sport).for_bet_type(bet_type).bet_type
    if status is not None and status not in registry.MODEL_STATUSES:
        raise FormguideError(f"status must be one of {', '.join(registry.MODEL_STATUSES)}, got {status!r}")
    with session_scope(ctx.engine) as s:
        lines = [_line(m) for m in registry.list_models(s, sport=sport)]
    return [m for m in lines if _keep(m, competition, bet_type, status)]


def _keep(m: ModelLine, competition: str | None, bet_type: str | None, status: str | None) -> bool:
    if competition is not None and (m.competition or "").upper() != competition.strip().upper():
        return False
    if bet_type is not None and m.bet_type != bet_type.strip().lower():
        return False
    return status is None or m.status == status


def _metric(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) else None


def champions(ctx: Context, sport: str | None = None) -> list[ChampionStatus]:
    """The champion of every line (of one sport, or all), ordered by sport, competition and bet type."""
    if sport is not None:
        sport = get_sport(sport).name
    out = []
    with session_scope(ctx.engine) as s:
        for record in registry.list_models(s, sport=sport):
            if record.status != "champion":
                continue
            m = _line(record)
            evaluation = (record.metrics or {}).get("evaluation") or {}
            metrics = evaluation.get("model") or {}
            out.append(ChampionStatus(
                sport=m.sport, competition=m.competition, bet_type=m.bet_type, name=m.name, model_id=m.id,
                version=m.version, model_type=m.model_type, status=m.status, trained_at=m.created_at,
                promoted_at=m.promoted_at, headline_metric=m.headline_metric, headline=m.headline,
                brier=_metric(metrics, "brier"), log_loss=_metric(metrics, "log_loss"),
                accuracy=_metric(metrics, "accuracy"), draw_accuracy=_metric(metrics, "draw_accuracy"),
                training_events=m.training_events, evaluated_events=(evaluation.get("window") or {}).get("n")))
    return sorted(out, key=lambda c: (c.sport, c.competition or "", c.bet_type or ""))
