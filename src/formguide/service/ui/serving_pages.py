"""Web UI pages that serve the champions: a day's predictions, a race's field, a season's simulation.

Each page calls the route function of the matching API endpoint (``service.routes_serving``), so its request is
built and checked exactly as ``GET /api/v1/predictions`` or ``GET /api/v1/simulations/...`` build theirs, and
the use case underneath is the one the CLI calls. A user's mistake (unknown league, no champion, a bad date)
is shown in place on the page with the API's status code; the page never shows a traceback.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from formguide.app.champions import champions
from formguide.app.context import Context
from formguide.core.errors import StoreError
from formguide.core.sport import available_sports, get_sport
from formguide.service import routes_field, routes_serving
from formguide.service.ui.common import UiError
from formguide.service.ui.race_data import (
    moments,
    neighbours,
    race_choices,
    race_heat_map,
    race_rows,
    race_summary,
)
from formguide.service.ui.render import page
from formguide.service.ui.serving_data import (
    PageError,
    call_use_case,
    event_cards,
    leagues_of,
    parse_date,
    parse_number,
    sim_table,
    sport_choices,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query()]


def page_context(request: Request) -> Context:
    """The service's context; a store that cannot be opened is the UI's error page (503), not the API's JSON."""
    try:
        return request.app.state.gate.context()
    except StoreError as exc:
        raise UiError(503, str(exc)) from None


Ctx = Annotated[Context, Depends(page_context)]


def _default_sport(ctx: Context) -> str:
    """The first sport with a champion (the one a visitor most likely came for), else the first installed."""
    lines = champions(ctx)
    names = sorted(available_sports())
    return lines[0].sport if lines else (names[0] if names else "")


def _default_league(ctx: Context, sport: str) -> str | None:
    """The sport's default competition, else the first with a champion, else none (the use case says so)."""
    if sport not in available_sports() or get_sport(sport).default_competition is not None:
        return None
    lines = [c.competition for c in champions(ctx, sport) if c.competition]
    return lines[0] if lines else None


def _clean(value: str | None) -> str | None:
    return value.strip() if value is not None and value.strip() else None


@router.get("/predictions", response_class=HTMLResponse)
def predictions_page(request: Request, ctx: Ctx, sport: Text = None, league: Text = None,
                     date: Text = None, bet_type: Text = None, min_edge: Text = None,
                     tier: Text = None) -> HTMLResponse:
    """A day's events of a sport with probability bars, odds, edges and tiers; filters as a GET form."""
    form = {"sport": _clean(sport) or "", "league": _clean(league) or "", "date": _clean(date) or "",
            "bet_type": _clean(bet_type) or "", "min_edge": _clean(min_edge) or "", "tier": _clean(tier) or ""}
    data: dict[str, Any] = {"form": form, "sports": sport_choices(), "leagues": [], "result": None, "cards": [],
                            "error": None}
    status = 200
    try:
        chosen = form["sport"] or call_use_case(lambda: _default_sport(ctx), request)
        form["sport"] = chosen
        form["league"] = form["league"] or call_use_case(lambda: _default_league(ctx, chosen), request) or ""
        data["leagues"] = call_use_case(lambda: leagues_of(ctx, chosen), request)
        day = parse_date(date)
        edge = parse_number(min_edge, "minimum edge")
        result = call_use_case(lambda: routes_serving.predictions(
            ctx, http=request, sport=chosen, league=form["league"] or None, day=day, days=None, date_from=None,
            date_to=None, bet_type=_clean(bet_type), min_edge=edge, tier=_clean(tier)), request)
        view = result.views[0] if result.views else None
        data.update(result=result, cards=event_cards(result.events, view))
    except PageError as exc:
        status, data["error"] = exc.status, exc.message
    return page(request, "predictions.html", "Predictions", status_code=status, **data)


# ------------------------------------------------------------------------------------------ simulations
def _simulation_choices(ctx: Context) -> list[dict[str, Any]]:
    """Every stored competition of the sports that simulate seasons, with its seasons (newest first)."""
    out = []
    for choice in sport_choices():
        if choice.can_simulate:
            for c in leagues_of(ctx, choice.name):
                out.append({"sport": choice.name, "league": c.code, "name": c.name,
                            "seasons": [s.code for s in reversed(c.seasons)]})
    return out


@router.get("/simulations", response_class=HTMLResponse, response_model=None)
def simulations_picker(request: Request, ctx: Ctx, sport: Text = None, league: Text = None,
                       season: Text = None, league_key: Text = None) -> HTMLResponse | RedirectResponse:
    """The picker; with sport, league and season given (the picker's GET form sends ``league_key`` =
    ``sport/league``) the simulation's own page."""
    sport, league, season = _clean(sport), _clean(league), _clean(season)
    if league_key and "/" in league_key:
        sport, league = (_clean(part) for part in league_key.split("/", 1))
    if sport and league and season:
        return RedirectResponse(f"/simulations/{quote(sport)}/{quote(league)}/{quote(season)}", status_code=303)
    form = {"sport": sport or "", "league": league or "", "season": season or ""}
    try:
        choices = call_use_case(lambda: _simulation_choices(ctx), request)
    except PageError as exc:
        return page(request, "simulation.html", "Season simulation", status_code=exc.status, choices=[],
                    result=None, error=exc.message, form=form)
    return page(request, "simulation.html", "Season simulation", choices=choices, result=None, error=None,
                form=form)


@router.get("/simulations/{sport}/{league}/{season}", response_class=HTMLResponse)
def simulation_page(request: Request, ctx: Ctx, sport: str, league: str, season: str, date_from: Text = None,
                    simulations: Text = None, seed: Text = None) -> HTMLResponse:
    """The season's Monte Carlo, drawn from the simulation's own table: probability columns as bars."""
    form = {"sport": sport, "league": league, "season": season, "date_from": _clean(date_from) or "",
            "simulations": _clean(simulations) or "", "seed": _clean(seed) or ""}
    data: dict[str, Any] = {"form": form, "choices": [], "result": None, "error": None, "tables": []}
    status = 200
    try:
        data["choices"] = call_use_case(lambda: _simulation_choices(ctx), request)
        start = parse_date(date_from, "from")
        n = parse_number(simulations, "simulations", int)
        if n is not None and not 1 <= n <= routes_serving.MAX_SIMULATIONS:
            raise PageError(422, f"simulations: between 1 and {routes_serving.MAX_SIMULATIONS:,} seasons a "
                            f"request, got {n:,}")
        s = parse_number(seed, "seed", int)
        if s is not None and s < 0:
            raise PageError(422, f"seed: must be 0 or more, got {s}")
        result = call_use_case(lambda: routes_serving.simulations(
            ctx, sport=sport, league=league, season=season, date_from=start,
            simulations=20000 if n is None else n, seed=0 if s is None else s, bet_type=None), request)
        data.update(result=result, tables=[(v, *sim_table(v)) for v in result.views])
    except PageError as exc:
        status, data["error"] = exc.status, exc.message
    return page(request, "simulation.html", f"Simulation {league} {season}", status_code=status, **data)


# ------------------------------------------------------------------------------------------ race fields
def _race_sports() -> list[str]:
    return [c.name for c in sport_choices() if c.race_fields]


def _race_form(request: Request, ctx: Context, sport: str, race: str, moment: str) -> dict[str, Any]:
    """The race picker: the sports with race fields, the stored races (when listable), the moments."""
    found = get_sport(sport) if sport in available_sports() else None
    stored = (call_use_case(lambda: leagues_of(ctx, sport), request)
              if found is not None and found.has_race_fields else [])
    return {"sports": _race_sports(), "sport": sport, "race": race, "moment": moment,
            "reference": found.race_reference if found is not None else None,
            "moments": moments(found) if found is not None else [],
            "choices": race_choices(found, stored) if found is not None else [],
            "neighbours": neighbours(found, stored, race) if found is not None and race else (None, None)}


def _race_view(request: Request, title: str, status_code: int = 200, **data: Any) -> HTMLResponse:
    """The race template with ``Races`` marked in the navigation (a race's own path is not under ``/races``)."""
    return page(request, "race.html", title, status_code=status_code, current="/races", **data)


@router.get("/races", response_class=HTMLResponse, response_model=None)
def races_picker(request: Request, ctx: Ctx, sport: Text = None, race: Text = None,
                 moment: Text = None) -> HTMLResponse | RedirectResponse:
    """The race picker; with a race given (the picker's GET form) that race's page."""
    sports = _race_sports()
    sport = _clean(sport) or (sports[0] if sports else "")
    race, moment = _clean(race), _clean(moment)
    if sport and race:
        query = f"?moment={quote(moment)}" if moment else ""
        return RedirectResponse(f"/{quote(sport)}/races/{quote(race)}{query}", status_code=303)
    status, error = (200, None) if sports else (404, "no installed sport has race fields")
    try:
        form = _race_form(request, ctx, sport, "", moment or "")
    except PageError as exc:
        status, error, form = exc.status, exc.message, _empty_race_form(sport)
    return _race_view(request, "Races", status_code=status, result=None, error=error, form=form)


def _empty_race_form(sport: str, race: str = "") -> dict[str, Any]:
    return {"sports": _race_sports(), "sport": sport, "race": race, "moment": "", "reference": None,
            "moments": [], "choices": [], "neighbours": (None, None)}


@router.get("/{sport}/races", response_class=HTMLResponse, response_model=None)
def sport_races(request: Request, ctx: Ctx, sport: str) -> HTMLResponse:
    """The race picker of one sport (a sport without race fields says which sports have them)."""
    try:
        form = _race_form(request, ctx, sport, "", "")
    except PageError as exc:
        return _race_view(request, "Races", status_code=exc.status, result=None, error=exc.message,
                    form=_empty_race_form(sport))
    if sport not in form["sports"]:
        message = (f"{sport} has no race fields; sports with race fields: {', '.join(form['sports']) or 'none'}"
                   if sport in available_sports() else f"unknown sport {sport!r}")
        return _race_view(request, "Races", status_code=404, result=None, error=message, form=form)
    return _race_view(request, f"{sport} races", result=None, error=None, form=form)


@router.get("/{sport}/races/{race}", response_class=HTMLResponse)
def race_page(request: Request, ctx: Ctx, sport: str, race: str, moment: Text = None) -> HTMLResponse:
    """One race's field: win/podium/points bars and the finishing-position heat map (the field endpoint's use
    case, so the same champion, refit and kept result as ``GET /api/v1/{sport}/races/{race}/field``)."""
    moment = _clean(moment)
    data: dict[str, Any] = {"form": _empty_race_form(sport, race), "result": None, "error": None}
    status = 200
    try:
        data["form"] = _race_form(request, ctx, sport, race, moment or "")
        result = call_use_case(lambda: routes_field.field(ctx, http=request, sport=sport, race=race,
                                                          moment=moment, simulations=20000, seed=0), request)
        data.update(result=result, rows=race_rows(result), heat=race_heat_map(result),
                    summary=race_summary(result))
        data["form"]["moment"] = result.moment or ""
    except PageError as exc:
        status, data["error"] = exc.status, exc.message
    title = data["result"].name if data["result"] is not None else f"Race {race}"
    return _race_view(request, title, status_code=status, **data)
