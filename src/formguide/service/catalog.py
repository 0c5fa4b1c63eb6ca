"""What the store holds, checked before a use case runs, so an unknown sport, league or season is a 404 that
names what is stored (the same ``app.competitions`` use case the CLI's ``formguide competitions`` calls)."""

from __future__ import annotations

from formguide.app import competitions
from formguide.app.context import Context
from formguide.app.schemas import CompetitionSummary
from formguide.core.sport import Sport, available_sports, get_sport
from formguide.service.errors import ApiError

__all__ = ["check_league", "check_season", "check_sport"]


def check_sport(name: str, field: str = "query.sport") -> Sport:
    if name not in available_sports():
        known = ", ".join(sorted(available_sports())) or "none installed"
        raise ApiError(404, "not_found", f"unknown sport {name!r}; known sports: {known}", field=field)
    return get_sport(name)


def check_league(ctx: Context, sport: Sport, league: str, field: str = "query.league") -> CompetitionSummary:
    """The stored competition ``league`` names (any case)."""
    stored = competitions(ctx, sport.name)
    match = next((c for c in stored if c.code.upper() == league.strip().upper()), None)
    if match is None:
        known = ", ".join(c.code for c in stored) or f"none yet (run `formguide ingest {sport.name} PATH...`)"
        raise ApiError(404, "not_found", f"unknown {sport.name} league {league!r}; stored: {known}", field=field)
    return match


def check_season(competition: CompetitionSummary, season: str, field: str = "path.season") -> None:
    codes = [s.code for s in competition.seasons]
    if season not in codes:
        raise ApiError(404, "not_found", f"season {season!r} of {competition.sport} {competition.code} is not in "
                       f"the store; stored seasons: {', '.join(codes) or 'none'}", field=field)
