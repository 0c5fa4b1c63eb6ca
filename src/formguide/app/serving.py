"""Use cases that serve the champion: predict a window of events, simulate the rest of a season.

A served result is kept (``core.resultcache``) for the same request on the same data and champion, so asking
again reads one row; every prediction served, fresh or kept, is recorded in ``predictions``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
from pydantic import ValidationError

from formguide.app.common import Progress, resolve_competition, sport_and_options
from formguide.app.context import Context
from formguide.app.schemas import PredictRequest, PredictResult, SimulateRequest, SimulateResult
from formguide.core import resultcache
from formguide.core.errors import FormguideError
from formguide.core.serving import load_champion, serve, store_predictions
from formguide.core.sport import ForecastRow, Sport
from formguide.core.views import TableView

__all__ = ["predict", "simulate"]


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
