"""Use cases of the online store: materialise the champions' rows, keep them current, serve predictions from them.

``materialise`` (``formguide materialise``) computes the rows of every champion line of a sport (or of all
sports) for a window: upcoming (from today on) by default, or as of a given day for ``days`` days
(``core.online``). ``refresh_online`` is what ingest, train and promote call when the data or a champion
changed: each line keeps the window it has (an upcoming one moves on to today), and a line without rows gets its
upcoming window when the competition has events from today on. ``served_from_online`` answers a predict
request from current rows, or says it cannot (None) so the use case computes as before.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from formguide.app.common import resolve_competition
from formguide.app.context import Context
from formguide.app.schemas import PredictResult, Request, Result
from formguide.core import online
from formguide.core.errors import FormguideError
from formguide.core.options import SportOptions, parse_options
from formguide.core.sport import ForecastRow, Sport, available_sports, get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import Competition, Event
from formguide.core.views import Column, TableView

__all__ = ["MaterialiseRequest", "MaterialiseResult", "MaterialisedLine", "materialise", "refresh_online",
           "served_from_online"]

log = logging.getLogger("formguide.online")

_stores: dict[tuple[int, str | None], list[online.OnlineStore]] = {}
_stores_lock = threading.Lock()


class MaterialiseRequest(Request):
    """Which champion lines to materialise and for which window (the sport's ``predict`` defaults apply)."""

    sport: str | None = Field(None, description="Only this sport (default: every installed sport).")  # type: ignore[assignment]
    competition: str | None = Field(None, description="Only this competition (needs sport).")
    date: datetime | None = Field(None, description="Materialise as of this day (default: upcoming events, "
                                  "from today on, open-ended).")
    days: int = Field(1, ge=1, le=366, description="Days from date (with date only).")


class MaterialisedLine(BaseModel):
    sport: str
    bet_type: str
    competition: str
    line: str
    as_of: str
    until: str | None = Field(description="End of the window (exclusive); None: open-ended (upcoming).")
    events: int
    rows: int
    model_id: int | None = Field(description="The champion the rows came from (None: the window had no events).")
    refitted: str | None = Field(None, description="Why the champion was refitted as of the window's start.")
    seconds: float


class MaterialiseResult(Result):
    lines: list[MaterialisedLine]


def online_stores(ctx: Context) -> list[online.OnlineStore]:
    """The backends of this context's store (one Redis client per process and store, not per request)."""
    key = (id(ctx.engine), ctx.settings.redis_url)
    with _stores_lock:
        if key not in _stores:
            _stores[key] = online.stores_for(ctx.engine, ctx.settings.redis_url, ctx.settings.store_url)
        return _stores[key]


_defaults: dict[tuple[str, str], SportOptions] = {}


def default_predict_options(sport: Sport) -> SportOptions:
    """The options materialised rows are computed with (a request with other options is computed instead)."""
    key = (sport.name, sport.bet_type)
    if key not in _defaults:
        _defaults[key] = parse_options(sport.options.model("predict"), {}, sport=sport.name, use_case="predict")
    return _defaults[key]


def _champion_lines(ctx: Context, sport: Sport, competition: str | None) -> list[tuple[Sport, str, str]]:
    """(sport view of the bet type, competition, line) of every champion served with the default options."""
    from formguide.app.champions import champions

    out = []
    for champ in champions(ctx, sport.name):
        if champ.competition is None or champ.bet_type is None:
            continue
        if competition is not None and champ.competition.upper() != competition.upper():
            continue
        view = sport.for_bet_type(champ.bet_type)
        if view.line_name(champ.competition, default_predict_options(view)) == champ.name:
            out.append((view, champ.competition, champ.name))
    return out


def _one(ctx: Context, view: Sport, competition: str, line: str, as_of: Any, days: int | None,
         frames: dict[str, pd.DataFrame]) -> MaterialisedLine:
    started = time.perf_counter()
    options = default_predict_options(view)
    if competition not in frames:  # the bet types of a sport share one frame
        frames[competition] = view.load_frame(ctx.engine, [competition]).reset_index(drop=True)
    done = online.materialise(ctx.engine, view, competition, line, options, as_of=as_of, days=days,
                              feature_options=view.feature_options(options), stores=online_stores(ctx),
                              frame=frames[competition])
    meta = done.meta
    return MaterialisedLine(sport=view.name, bet_type=view.bet_type, competition=competition, line=line,
                            as_of=done.as_of.isoformat(), until=None if done.until is None else done.until.isoformat(),
                            events=len({r.event_id for r in done.rows}), rows=len(done.rows),
                            model_id=None if meta is None else meta.model_id,
                            refitted=None if meta is None else meta.refitted,
                            seconds=round(time.perf_counter() - started, 3))


def materialise(ctx: Context, request: MaterialiseRequest) -> MaterialiseResult:
    """Materialise the rows of every champion line of the sport(s) for the window asked for."""
    names = [get_sport(request.sport).name] if request.sport else sorted(available_sports())
    if request.competition is not None and request.sport is None:
        raise FormguideError("--league needs --sport (a league code belongs to one sport)")
    lines: list[MaterialisedLine] = []
    for name in names:
        sport = get_sport(name)
        competition = None if request.competition is None else resolve_competition(ctx, sport, request.competition)
        frames: dict[str, pd.DataFrame] = {}
        for view, comp, line in _champion_lines(ctx, sport, competition):
            lines.append(_one(ctx, view, comp, line, request.date, request.days if request.date else None, frames))
    result = MaterialiseResult(lines=lines)
    when = "upcoming events (from today on)" if request.date is None else \
        f"{request.date.date()} + {request.days} day(s)"
    result.messages.append(f"materialised {sum(x.rows for x in lines)} row(s) of {len(lines)} champion line(s) for "
                           f"{when}" + ("" if lines else "; no champion lines: run `formguide train` first"))
    result.views.append(_view(lines))
    return result


def _view(lines: list[MaterialisedLine]) -> TableView:
    cols = [Column(key="line", align="left"), Column(key="as_of", header="as of", align="left"),
            Column(key="until", align="left", priority=1), Column(key="events", digits=0), Column(key="rows", digits=0),
            Column(key="model_id", header="model", digits=0), Column(key="seconds", digits=2, priority=1),
            Column(key="refitted", align="left", priority=2, max_width=30)]
    rows = [{**x.model_dump(), "as_of": x.as_of[:10], "until": (x.until or "open")[:10]} for x in lines]
    return TableView(title="online rows", columns=cols, rows=rows, empty="no champion lines")


def _has_upcoming(ctx: Context, sport: str, competition: str) -> bool:
    """Whether the competition has an event from yesterday on (cheap: one indexed query, no frame)."""
    since = (online.today() - pd.Timedelta(days=1)).to_pydatetime()
    with session_scope(ctx.engine) as s:
        n = s.scalar(select(func.count(Event.id)).join(Competition, Competition.id == Event.competition_id)
                     .where(Event.sport == sport, Competition.code == competition, Event.kickoff >= since))
    return bool(n)


def refresh_online(ctx: Context, sport_name: str, competition: str | None = None, reason: str = "",
                   line: str | None = None) -> int:
    """Bring the sport's online rows up to date after ``reason`` (an ingest, a train, a promotion).

    Never fails the use case that called it: a line that cannot be materialised is logged and keeps no rows
    that could be read (its token no longer matches). Returns the number of lines materialised.
    """
    try:
        sport = get_sport(sport_name)
        lines = [x for x in _champion_lines(ctx, sport, competition) if line is None or x[2] == line]
    except FormguideError as exc:
        log.warning("online rows of %s not refreshed after %s: %s", sport_name, reason, exc)
        return 0
    frames: dict[str, pd.DataFrame] = {}
    done = 0
    for view, comp, name in lines:
        try:
            kept = online.TableStore(ctx.engine).meta(name)
            if kept is not None and kept.until is not None:  # an explicit window stays that window
                start = pd.Timestamp(kept.as_of)
                days = int((pd.Timestamp(kept.until) - start).days)
                _one(ctx, view, comp, name, start, days, frames)
            elif kept is not None or _has_upcoming(ctx, view.name, comp):
                _one(ctx, view, comp, name, None, None, frames)
            else:
                continue
            done += 1
        except FormguideError as exc:
            log.warning("online rows of %s not refreshed after %s: %s", name, reason, exc)
    return done


#: Answers built from online rows, per engine: (line, as of, days) -> ((token, rows stamp), result, rows recorded).
#: A kept answer is used only while the store's token and the line's rows are the ones it was built from, so it
#: is never staler than the rows themselves.
Kept = tuple[tuple[str, str], PredictResult, list[ForecastRow]]
_answers: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, int], Kept]] = weakref.WeakKeyDictionary()


def served_from_online(ctx: Context, sport: Sport, competition: str | None, options: SportOptions,
                       date: Any, days: int) -> PredictResult | None:
    """The predict result read from current online rows; None when there are none for this request.

    ``competition`` may be as the user typed it: only a line materialised under exactly that code answers (its
    rows prove the competition is stored); anything else goes the computing path, which resolves it.
    """
    view_of = getattr(sport, "prediction_view", None)
    competition = competition or sport.default_competition
    if view_of is None or competition is None or options != default_predict_options(sport):
        return None
    line = sport.line_name(competition, options)
    as_of = online.today() if date is None else pd.Timestamp(date).normalize()
    token, stamp = online.current_state(ctx.engine, sport.name, line)
    kept = _answers.setdefault(ctx.engine, {})
    found = kept.get((line, as_of.isoformat(), days))
    if token is not None and found is not None and found[0] == (token, stamp):
        result = found[1]
        online.record_once(ctx.engine, result.model_id, found[2], result.feature_set_version, as_of)
        return result.model_copy()
    hit = online.lookup(ctx.engine, online_stores(ctx), sport.name, line, as_of, days, token=token)
    if hit is None or hit.meta.competition != competition:
        return None
    meta, events, stored = hit.meta, hit.events, hit.stored
    online.record_once(ctx.engine, meta.model_id, stored, meta.feature_set_version, as_of)
    result = PredictResult(sport=sport.name, bet_type=sport.bet_type, competition=competition, as_of=as_of.isoformat(),
                           model=meta.label, model_id=meta.model_id, refitted=meta.refitted,
                           feature_set_version=meta.feature_set_version, stored=len(stored), events=events)
    table = view_of(events)
    note = f" (refitted as of that day: {meta.refitted})" if meta.refitted else ""
    table.title = f"{sport.name} {competition} from {as_of.date()}, {meta.label}{note}"
    result.views.append(table)
    kept[(line, as_of.isoformat(), days)] = ((meta.token, stamp), result, stored)
    return result.model_copy()
