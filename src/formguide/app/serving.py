"""Use cases that serve the champion: predict a window of events, simulate the rest of a season.

A request whose window has current materialised rows (``app.online``: the same serving code run ahead of time)
is answered from them, and its forecasts are recorded once per (model, event, market, line, as_of). Otherwise a
served result is kept (``core.resultcache``) for the same request on the same data and champion, so asking
again reads one row; every prediction served that way, fresh or kept, is recorded in ``predictions``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
from pydantic import ValidationError

from formguide.app.common import Progress, resolve_competition, sport_and_options
from formguide.app.context import Context
from formguide.app.online import served_from_online
from formguide.app.schemas import (
    PredictRequest,
    PredictResult,
    RaceFieldEntry,
    RaceFieldRequest,
    RaceFieldResult,
    SimulateRequest,
    SimulateResult,
)
from formguide.core import resultcache
from formguide.core.errors import FormguideError
from formguide.core.serving import load_champion, serve, store_predictions
from formguide.core.sport import ForecastRow, Sport, available_sports, get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import ModelRecord
from formguide.core.views import TableView

__all__ = ["NoRaceFieldsError", "predict", "race_field", "race_field_sports", "simulate"]


class NoRaceFieldsError(FormguideError):
    """A race field asked of a sport whose events are not races (its contract's ``race_reference`` is None)."""


def _cache_key(ctx: Context, sport: Sport, competition: str, line: str, use_case: str, request: Any) -> str:
    """Key of a served result: the request (today's date when it names none), the champion, the data."""
    champion, _ = load_champion(ctx.engine, sport, line, competition)  # hash-checked: a tampered model is refused
    signature = resultcache.data_signature(ctx.engine, sport.name, competition)
    asked = {"request": request.model_dump(mode="json"), "today": pd.Timestamp.now().normalize().isoformat()}
    return resultcache.key(use_case, asked, (champion.id, champion.artifact_sha256), signature)


def _restore(model: type, kept: dict[str, Any]) -> Any:
    """A kept result with its tables; None when it no longer reads as one (kept by an older shape)."""
    try:
        result = model.model_validate(kept["result"])
    except ValidationError:
        return None
    result.views = [TableView.model_validate(v) for v in kept["views"]]
    return result


def _keep(ctx: Context, key: str, sport: Sport, use_case: str, result: Any, **extra: Any) -> None:
    resultcache.put(ctx.engine, key, sport=sport.name, use_case=use_case,
                    data={"result": result.json_data(), "views": [v.model_dump() for v in result.views], **extra})


def predict(ctx: Context, request: PredictRequest, progress: Progress | None = None) -> PredictResult:
    """Champion probabilities for the events of a window, as known at its start; stored in ``predictions``."""
    sport, options = sport_and_options(request.sport, "predict", request.options, request.bet_type)
    online = served_from_online(ctx, sport, request.competition, options, request.date, request.days)
    if online is not None:  # current materialised rows of this window (app.online): nothing to compute
        return online
    competition = resolve_competition(ctx, sport, request.competition)
    line = sport.line_name(competition, options)
    key = _cache_key(ctx, sport, competition, line, "predict", request)
    kept = resultcache.get(ctx.engine, key)
    result = None if kept is None else _restore(PredictResult, kept)
    if result is not None:
        store_predictions(ctx.engine, result.model_id, [ForecastRow(**r) for r in kept["stored"]],
                          result.feature_set_version, pd.Timestamp(result.as_of))
        return result
    if progress is not None:
        progress("features", 0.0)
    frame = sport.load_frame(ctx.engine, [competition]).reset_index(drop=True)
    as_of, target = sport.prediction_window(frame, None if request.date is None else pd.Timestamp(request.date),
                                            request.days, options)
    served = serve(ctx.engine, sport, competition, line, as_of, feature_options=sport.feature_options(options),
                   frame=frame)
    if progress is not None:
        progress("predict", 0.5)
    batch = sport.predictions(served, target, options)
    stored = store_predictions(ctx.engine, served.record.id, batch.stored, served.feature_set_version, as_of)
    result = PredictResult(sport=sport.name, bet_type=sport.bet_type, competition=competition, as_of=as_of.isoformat(), model=served.label,
                           model_id=served.record.id, refitted=served.refitted,
                           feature_set_version=served.feature_set_version, stored=stored, events=batch.events)
    note = f" (refitted as of that day: {served.refitted})" if served.refitted else ""
    batch.view.title = f"{sport.name} {competition} from {as_of.date()}, {served.label}{note}"
    result.views.append(batch.view)
    if not batch.events:
        result.messages.append("no events in that window" + (" match the filters" if request.options else ""))
    _keep(ctx, key, sport, "predict", result, stored=[asdict(r) for r in batch.stored])
    return result


def simulate(ctx: Context, request: SimulateRequest, progress: Progress | None = None) -> SimulateResult:
    """Monte Carlo of the rest of a season from the champion as known at ``date_from``."""
    sport, options = sport_and_options(request.sport, "simulate", request.options, request.bet_type)
    if not sport.can_simulate:
        raise FormguideError(f"simulate is not available for {sport.name}{sport.simulation_note}")
    competition = resolve_competition(ctx, sport, request.competition)
    line = sport.line_name(competition, options)
    key = _cache_key(ctx, sport, competition, line, "simulate", request)
    kept = resultcache.get(ctx.engine, key)
    restored = None if kept is None else _restore(SimulateResult, kept)
    if restored is not None:
        return restored

    def served_as_of(as_of: pd.Timestamp, frame: pd.DataFrame | None = None):
        if progress is not None:
            progress("features", 0.0)
        return serve(ctx.engine, sport, competition, line, as_of, feature_options=sport.feature_options(options),
                     frame=frame)

    date_from = None if request.date_from is None else pd.Timestamp(request.date_from)
    output = sport.simulate(ctx.engine, competition, request.season, date_from, request.simulations, request.seed,
                            options, served_as_of)
    result = SimulateResult(sport=sport.name, bet_type=sport.bet_type, competition=competition, season=request.season, data=output.data)
    result.views.append(output.view)
    _keep(ctx, key, sport, "simulate", result)
    return result


def race_field_sports() -> list[str]:
    """The installed sports whose contract serves single race fields (``Sport.race_reference``)."""
    return sorted(name for name in available_sports() if get_sport(name).has_race_fields)


def race_field(ctx: Context, request: RaceFieldRequest, progress: Progress | None = None) -> RaceFieldResult:
    """One race's field as ``formguide predict --race`` serves it, with each entry's finishing-position
    distribution: the same ``predict`` use case (so the same champion, refit, cache and stored rows)."""
    sport = get_sport(request.sport)
    if not sport.has_race_fields:
        raise NoRaceFieldsError(f"{sport.name} has no race fields (its events are not races); sports with race "
                                f"fields: {', '.join(race_field_sports()) or 'none installed'}")
    options: dict[str, Any] = {"race": request.race, "positions": True, "simulations": request.simulations,
                               "seed": request.seed}
    if request.moment is not None:
        options["moment"] = request.moment
    _, parsed = sport_and_options(sport.name, "predict", options)
    served = predict(ctx, PredictRequest(sport=sport.name, options=options, days=1), progress)
    if len(served.events) != 1:  # a race reference names one event; anything else is a defect of the sport
        raise RuntimeError(f"race {request.race} gave {len(served.events)} events, expected one")
    event = served.events[0]
    with session_scope(ctx.engine) as s:
        version = s.get(ModelRecord, served.model_id).version
    entries = [RaceFieldEntry.model_validate({k: v for k, v in e.items() if k != "positions"})
               for e in event["entries"]]
    result = RaceFieldResult(
        sport=sport.name, race=request.race.strip(), event_id=event["event_id"], name=event["name"],
        date=event["date"], details=event.get("details", {}), moment=parsed.model_dump().get("moment"),
        model=served.model, model_id=served.model_id, model_version=version,
        feature_set_version=served.feature_set_version, as_of=served.as_of, refitted=served.refitted,
        simulations=request.simulations, seed=request.seed, entries=entries,
        positions=[e["positions"] for e in event["entries"]], messages=list(served.messages))
    result.views = list(served.views)
    return result
