"""Use case: every participant's ratings as known before a date, as a table and optionally a PNG.

What the numbers are is the sport's (``Sport.ratings``: football's Dixon-Coles attack, defence and Elo; the
NFL's Elo, QB adjustment and efficiency); this layer checks the request, resolves the competition, and turns
the sport's :class:`~formguide.core.ratings.RatingsOutput` into a table and, when asked, a picture.
"""

from __future__ import annotations

import pandas as pd

from formguide.app.common import Progress, resolve_competition
from formguide.app.context import Context
from formguide.app.schemas import RatingsRequest, RatingsResult
from formguide.core.errors import FormguideError
from formguide.core.ratings import ratings_plot, ratings_view
from formguide.core.sport import get_sport

__all__ = ["ratings"]


def ratings(ctx: Context, request: RatingsRequest, progress: Progress | None = None) -> RatingsResult:
    """Ratings of the competition's participants from results of days strictly before ``request.date``."""
    sport = get_sport(request.sport)
    if not sport.can_rate:
        raise FormguideError(f"ratings are not available for {sport.name}")
    if request.options:
        names = ", ".join(f"--{k.replace('_', '-')}" for k in request.options)
        raise FormguideError(f"{names}: {sport.name} ratings take no sport-specific options")
    competition = resolve_competition(ctx, sport, request.competition)
    as_of = (pd.Timestamp.now() if request.date is None else pd.Timestamp(request.date)).normalize()
    if progress is not None:
        progress("ratings", 0.0)
    output = sport.ratings(ctx.engine, competition, as_of)
    png = None
    if request.png is not None and output.rows:
        if progress is not None:
            progress("plot", 0.8)
        try:
            png = str(ratings_plot(output, request.png))
        except OSError as exc:
            raise FormguideError(f"cannot write {request.png}: {exc.strerror or exc}") from None
    result = RatingsResult(sport=sport.name, competition=competition, as_of=output.as_of, png=png, ratings=output)
    result.views.append(ratings_view(output))
    if png is not None:
        result.messages.append(f"wrote {png}")
    elif request.png is not None:
        result.messages.append(f"nothing to draw: {request.png} not written")
    return result
