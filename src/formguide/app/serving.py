"""Use cases that serve the champion: predict a window of events, simulate the rest of a season."""

from __future__ import annotations

import pandas as pd

from formguide.app.common import Progress, resolve_competition, sport_and_options
from formguide.app.context import Context
from formguide.app.schemas import PredictRequest, PredictResult, SimulateRequest, SimulateResult
from formguide.core.serving import serve, store_predictions

__all__ = ["predict", "simulate"]


def predict(ctx: Context, request: PredictRequest, progress: Progress | None = None) -> PredictResult:
    """Champion probabilities for the events of a window, as known at its start; stored in ``predictions``."""
    sport, options = sport_and_options(request.sport, "predict", request.options)
    competition = resolve_competition(ctx, sport, request.competition)
    line = sport.line_name(competition, options)
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
    result = PredictResult(sport=sport.name, competition=competition, as_of=as_of.isoformat(), model=served.label,
                           model_id=served.record.id, refitted=served.refitted,
                           feature_set_version=served.feature_set_version, stored=stored, events=batch.events)
    note = f" (refitted as of that day: {served.refitted})" if served.refitted else ""
    batch.view.title = f"{sport.name} {competition} from {as_of.date()}, {served.label}{note}"
    result.views.append(batch.view)
    if not batch.events:
        result.messages.append("no events in that window" + (" match the filters" if request.options else ""))
    return result


def simulate(ctx: Context, request: SimulateRequest, progress: Progress | None = None) -> SimulateResult:
    """Monte Carlo of the rest of a season from the champion as known at ``date_from``."""
    sport, options = sport_and_options(request.sport, "simulate", request.options)
    competition = resolve_competition(ctx, sport, request.competition)
    line = sport.line_name(competition, options)

    def served_as_of(as_of: pd.Timestamp, frame: pd.DataFrame | None = None):
        if progress is not None:
            progress("features", 0.0)
        return serve(ctx.engine, sport, competition, line, as_of, feature_options=sport.feature_options(options),
                     frame=frame)

    date_from = None if request.date_from is None else pd.Timestamp(request.date_from)
    output = sport.simulate(ctx.engine, competition, request.season, date_from, request.simulations, request.seed,
                            options, served_as_of)
    result = SimulateResult(sport=sport.name, competition=competition, season=request.season, data=output.data)
    result.views.append(output.view)
    return result
