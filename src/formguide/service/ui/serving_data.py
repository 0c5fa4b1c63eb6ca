"""What the predictions and season-simulation pages show, computed from the use cases' own results.

The pages call the same route functions as ``GET /api/v1/predictions`` and ``GET /api/v1/simulations/...``
(``service.routes_serving``), so a page builds its request exactly as the API does: one code path, the same
checks, the same errors. This module turns the typed results into small typed page models (probability bars,
odds, edges, a simulation's columns) with no HTML in them; the templates only lay them out. Nothing here
knows a sport: outcomes come from the result's own keys and the labels from its table's column headers.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import OperationalError

from formguide.app.context import Context
from formguide.app.schemas import CompetitionSummary
from formguide.core.errors import FormguideError
from formguide.core.options import validation_message
from formguide.core.sport import Sport, available_sports, get_sport
from formguide.core.views import Column, TableView, format_cell
from formguide.service.errors import ApiError, status_of

__all__ = ["Bar", "EventCard", "Outcome", "PageError", "SimColumn", "SimRow", "bar", "call_use_case", "event_cards",
           "leagues_of", "option_choices", "parse_date", "parse_number", "sim_table", "sport_choices"]

T = TypeVar("T")


class PageError(Exception):
    """A request a page cannot answer: shown in place with its status code, never as a traceback."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def call_use_case(fn: Callable[[], T], request: Request | None = None) -> T:
    """Run a route function (and so its use case); the errors a user causes become a :class:`PageError`.

    The statuses are the API's (``service.errors``): 404 unknown sport/league/season or no champion, 400 a sport
    option the sport lacks, 422 a value out of range, 503 the store unreachable (then the service's store is
    forgotten, so the next request opens it again, as the API does).
    """
    try:
        return fn()
    except ApiError as exc:
        raise PageError(exc.status, exc.message) from None
    except ValidationError as exc:
        raise PageError(422, validation_message(exc)) from None
    except FormguideError as exc:
        status = status_of(exc)[0]
        if status == 503:
            _reset(request)
        raise PageError(status, str(exc)) from None
    except OperationalError as exc:
        _reset(request)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise PageError(503, f"the store cannot be used right now: {reason}") from None


def _reset(request: Request | None) -> None:
    gate = getattr(request.app.state, "gate", None) if request is not None else None
    if gate is not None:
        gate.reset()


def parse_date(value: str | None, name: str = "date") -> date | None:
    """A form's ISO date; empty means none; anything else is a one-line 422."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PageError(422, f"{name}: {value!r} is not a date (write it as 2025-05-18)") from None


def parse_number(value: str | None, name: str, kind: type = float) -> Any:
    """A form's number; empty means none; anything else is a one-line 422."""
    if value is None or not value.strip():
        return None
    try:
        number = kind(value.strip())
    except ValueError:
        raise PageError(422, f"{name}: {value!r} is not a{'n integer' if kind is int else ' number'}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise PageError(422, f"{name}: {value!r} is not a finite number")
    return number


class SportChoice(BaseModel):
    """A sport for a form's picker, with what its filters may offer (from the sport contract)."""

    name: str
    bet_types: list[str]
    filters: list[str] = Field(description="The predict options of the sport the predictions form offers.")
    tiers: list[str] = Field(default_factory=list, description="The signal tiers its tier filter takes.")
    can_simulate: bool
    race_fields: bool


def option_choices(sport: Sport, use_case: str, name: str) -> list[str]:
    """The values a sport's option takes when its type is a ``Literal`` (e.g. the tiers, F1's moments)."""
    field = sport.options.model(use_case).model_fields.get(name)
    if field is None:
        return []
    choices: list[str] = []
    for arg in (field.annotation, *typing.get_args(field.annotation)):
        if typing.get_origin(arg) is typing.Literal:
            choices.extend(str(a) for a in typing.get_args(arg))
    return choices




def sport_choices() -> list[SportChoice]:
    out = []
    for name in sorted(available_sports()):
        sport = get_sport(name)
        fields = sport.options.model("predict").model_fields
        out.append(SportChoice(name=name, bet_types=list(sport.bet_types),
                               filters=[f for f in ("min_edge", "tier") if f in fields],
                               tiers=option_choices(sport, "predict", "tier"),
                               can_simulate=sport.can_simulate, race_fields=sport.has_race_fields))
    return out


def leagues_of(ctx: Context, sport: str) -> list[CompetitionSummary]:
    from formguide.app import competitions

    return competitions(ctx, sport) if sport in available_sports() else []


# ------------------------------------------------------------------------------------------ predictions
class Bar(BaseModel):
    """A probability drawn as a CSS bar, labelled with its percentage."""

    label: str
    value: float | None
    percent: str
    width: float = Field(description="The bar's width in % (0-100).")


def bar(label: str, value: Any) -> Bar:
    v = float(value) if isinstance(value, int | float) and math.isfinite(float(value)) else None
    return Bar(label=label, value=v, percent="-" if v is None else f"{100.0 * v:.1f}%",
               width=0.0 if v is None else round(min(max(100.0 * v, 0.0), 100.0), 2))


class Outcome(BaseModel):
    """One outcome of a match: its probability bar, fair odds, market price, edge, and whether it is the bet."""

    key: str
    bar: Bar
    line: str | None = None
    fair: str
    fair_us: str | None = None
    price: str
    price_us: str | None = None
    edge: str
    edge_value: float | None
    selected: bool


class EventCard(BaseModel):
    """One event of a day's predictions."""

    title: str
    when: str
    outcomes: list[Outcome] = Field(default_factory=list)
    selection: str | None = None
    best_edge: str | None = None
    tier: str | None = None
    stake: str | None = None
    actual: str | None = None
    settlement: str | None = None
    profit: str | None = None
    extra: list[tuple[str, str]] = Field(default_factory=list, description="Further markets and the result, as "
                                         "(header, text) from the result's own table.")
    entries: list[dict[str, Any]] = Field(default_factory=list, description="A field event's entries (bars).")
    race: str | None = Field(None, description="The race reference of a field event (for its race page).")


def _odds(values: dict[str, Any] | None, key: str) -> str:
    v = (values or {}).get(key)
    return format_cell(float(v), 2) if isinstance(v, int | float) else "-"


def _american(values: dict[str, Any] | None, key: str) -> str | None:
    """The price in the sport's other format (``price_formats``, e.g. American odds), when the result has it."""
    us = (values or {}).get(key)
    return f"{us:+.0f}" if isinstance(us, int | float) and math.isfinite(us) else None


def _edge(value: Any) -> tuple[str, float | None]:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "-", None
    return f"{100.0 * value:+.1f}%", float(value)


def _labels(view: TableView | None, keys: list[str]) -> dict[str, str]:
    """The outcome labels the result's own table uses (e.g. H -> home), else the key."""
    headers = {c.key: c.title for c in (view.columns if view is not None else [])}
    return {k: headers.get(k, k) for k in keys}


#: Columns of a match table the card already shows in its own form.
_SHOWN = {"date", "match", "bet", "edge", "tier", "stake", "result", "settled", "profit", "best", "fair", "american",
          "line"}


def _match_card(event: dict[str, Any], row: dict[str, Any] | None, view: TableView | None) -> EventCard:
    probs: dict[str, Any] = event.get("probabilities") or {}
    labels = _labels(view, list(probs))
    selection = event.get("selection")
    lines = event.get("lines") or {}
    outcomes = []
    for key, p in probs.items():
        edge_text, edge_value = _edge((event.get("edge") or {}).get(key))
        line = lines.get(key)
        outcomes.append(Outcome(
            key=key, bar=bar(labels[key], p), line=None if line is None else f"{line:+g}",
            fair=_odds(event.get("fair_odds"), key), fair_us=_american(event.get("fair_odds_american"), key),
            price=_odds(event.get("market_prices"), key),
            price_us=_american(event.get("market_prices_american"), key),
            edge=edge_text, edge_value=edge_value, selected=selection is not None and labels[key] == selection))
    extra = []
    if row is not None and view is not None:
        extra = [(c.title, format_cell(row.get(c.key), c.digits)) for c in view.columns
                 if c.key not in _SHOWN and c.key not in probs and row.get(c.key) not in (None, "")]
    stake, profit = event.get("stake"), event.get("profit")
    return EventCard(
        title=f"{event.get('home_team', '?')} v {event.get('away_team', '?')}",
        when=str(event.get("kickoff") or "")[:16].replace("T", " "), outcomes=outcomes, selection=selection,
        best_edge=_edge(event.get("best_edge"))[0] if selection else None, tier=event.get("tier"),
        stake=None if not isinstance(stake, int | float) or not stake else f"{stake:.2f}",
        actual=event.get("actual"), settlement=event.get("settlement"), extra=extra,
        profit=f"{profit:+.2f}" if isinstance(profit, int | float) and event.get("settlement") else None)


def _field_card(event: dict[str, Any], race_ref: Callable[[dict[str, Any]], str | None]) -> EventCard:
    entries = []
    for e in event.get("entries") or []:
        entries.append({"label": e.get("label"), "team": e.get("team"), "start": e.get("start"),
                        "bars": [bar("win", e.get("p_win")), bar("podium", e.get("p_podium")),
                                 bar("points", e.get("p_points"))], "actual": e.get("actual_position")})
    return EventCard(title=str(event.get("name", "")), when=str(event.get("date") or "")[:16].replace("T", " "),
                     entries=entries, race=race_ref(event))


def default_race_ref(event: dict[str, Any]) -> str | None:
    """``SEASON-ROUND`` of a field event whose details carry them (how race pages are addressed)."""
    details = event.get("details") or {}
    season, rnd = details.get("season"), details.get("round")
    return f"{season}-{int(rnd):02d}" if season is not None and rnd is not None else None


def event_cards(events: list[dict[str, Any]], view: TableView | None,
                race_ref: Callable[[dict[str, Any]], str | None] = default_race_ref) -> list[EventCard]:
    """Cards of a prediction result's events, each with its table row (match sports: one row per event)."""
    match_rows = [r for r in (view.rows if view is not None else [])]
    cards = []
    for i, event in enumerate(events):
        if "entries" in event:
            cards.append(_field_card(event, race_ref))
        else:
            row = match_rows[i] if i < len(match_rows) and len(match_rows) == len(events) else None
            cards.append(_match_card(event, row, view))
    return cards


# ------------------------------------------------------------------------------------------ simulations
class SimColumn(BaseModel):
    key: str
    header: str
    align: str
    probability: bool = Field(description="Drawn as a bar: every value is a probability.")


class SimRow(BaseModel):
    cells: list[Bar | str]


def _is_probability(column: Column, rows: list[dict[str, Any]]) -> bool:
    """A column of floats all within [0, 1] shown with 3+ digits: a probability (title, top-4, playoffs...).

    The tables carry no unit, so this reads the values: counts are ints, expected points and positions exceed
    1 somewhere in a league, and probabilities are shown with three decimals by every sport's view.
    """
    values = [r.get(column.key) for r in rows if r.get(column.key) is not None]
    return (column.digits >= 3 and bool(values) and all(isinstance(v, float) for v in values)
            and all(0.0 <= v <= 1.0 for v in values))


def sim_table(view: TableView) -> tuple[list[SimColumn], list[SimRow]]:
    """A simulation's own table (its columns, in its order): probability columns as bars, the rest as text."""
    columns = [SimColumn(key=c.key, header=c.title, align=c.align, probability=_is_probability(c, view.rows))
               for c in view.columns]
    rows = []
    for r in view.rows:
        cells: list[Bar | str] = []
        for c, sc in zip(view.columns, columns, strict=True):
            cells.append(bar(sc.header, r.get(c.key)) if sc.probability else format_cell(r.get(c.key), c.digits))
        rows.append(SimRow(cells=cells))
    return columns, rows
