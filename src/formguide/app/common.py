"""What every use case checks first: the sport, the competition, the model type, the sport's options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from formguide.app.context import Context
from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.options import SportOptions, flag, parse_options
from formguide.core.sport import Sport, get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import Competition, Event
from formguide.core.walkforward import Cadence

__all__ = ["Progress", "resolve_cadence", "resolve_competition", "resolve_model_type", "sport_and_options"]

#: ``progress(phase, fraction done)`` of a long use case.
Progress = Callable[[str, float], None]


def sport_and_options(sport_name: str, use_case: str, options: dict[str, Any], bet_type: str | None = None
                      ) -> tuple[Sport, SportOptions]:
    """The sport (as seen for the bet type asked for) and its validated options for the use case."""
    sport = get_sport(sport_name).for_bet_type(bet_type)
    return sport, parse_options(sport.options.model(use_case), dict(options), sport=sport.name, use_case=use_case)


def stored_competitions(ctx: Context, sport: Sport) -> dict[str, int]:
    """Competition code -> number of stored events, for one sport."""
    with session_scope(ctx.engine) as s:
        rows = s.execute(select(Competition.code, func.count(Event.id)).join(Event, Event.competition_id == Competition.id,
                                                                             isouter=True)
                         .where(Competition.sport == sport.name).group_by(Competition.code)).all()
    return {code: int(n) for code, n in rows}


def resolve_competition(ctx: Context, sport: Sport, code: str | None) -> str:
    """The stored competition ``code`` names (any case); the sport's default when none is given."""
    stored = stored_competitions(ctx, sport)
    if code is None:
        if sport.default_competition is not None:
            return sport.default_competition
        known = ", ".join(sorted(stored)) or "none stored yet"
        raise FormguideError(f"--league is required for {sport.name} (stored competitions: {known})")
    if not stored:
        raise DataValidationError(f"no {sport.name} competitions in the store yet; run `formguide ingest {sport.name} "
                                  "PATH...` first")
    by_upper = {c.upper(): c for c in stored}
    match = by_upper.get(code.strip().upper())
    if match is None:
        raise FormguideError(f"unknown {sport.name} league {code!r}; stored: {', '.join(sorted(stored))}")
    return match


def resolve_model_type(sport: Sport, model_type: str | None) -> str:
    if model_type is None:
        return sport.model_types[0]
    if model_type not in sport.model_types:
        raise FormguideError(f"unknown {sport.name} model {model_type!r}; choose one of {', '.join(sport.model_types)}")
    return model_type


def resolve_cadence(sport: Sport, refit: str | None, default: Cadence) -> Cadence:
    """The refit cadence asked for, of the kind the sport walks forward by (calendar or event groups)."""
    if refit is None:
        return default
    try:
        cadence = Cadence.parse(refit)
    except ValueError as exc:
        raise FormguideError(f"{flag('refit')}: {exc}") from None
    if (cadence.groups is None) != (default.groups is None):
        want = ("a number of events (e.g. --refit 1 refits before every event)" if default.groups is not None
                else "daily, weekly or monthly")
        raise FormguideError(f"--refit for {sport.name} is {want}; got {refit!r}")
    return cadence


def resolve_metric(sport: Sport, metric: str | None) -> str:
    if metric is None:
        return sport.headline_metric
    if metric not in sport.promotion_metrics:
        raise FormguideError(f"--metric for {sport.name} must be one of {', '.join(sport.promotion_metrics)}, got "
                             f"{metric!r}")
    return metric
