"""``formguide materialise``: compute the champions' online rows ahead of serving (``app.online``)."""

from __future__ import annotations

from typing import Annotated

import typer

from formguide.cli import ArtifactsOpt, DbOpt, JsonOpt, WideOpt, app, check_output, context, parse_date, show


@app.command()
def materialise(
    sport: Annotated[str | None, typer.Option("--sport", help="Only this sport (default: every installed sport).",
                                              show_default=False)] = None,
    league: Annotated[str | None, typer.Option("--league", "--competition", help="Only this competition (with "
                                               "--sport).", show_default=False)] = None,
    day: Annotated[str | None, typer.Option("--date", metavar="DAY", help=(
        "Materialise as of this day, e.g. 2025-05-18 (default: the upcoming events, from today on)."),
        show_default=False)] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Days from --date.")] = 1,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Compute and store the features and the champion's prediction of every event of a window, per champion
    line, so `predict` and GET /api/v1/predictions read them instead of computing (the store's online_features
    table; Redis too when FORMGUIDE_REDIS_URL is set). Ingest, train and promote keep them current."""
    from formguide.app.online import MaterialiseRequest
    from formguide.app.online import materialise as run

    check_output(json_target)
    request = MaterialiseRequest(sport=sport, competition=league, date=parse_date(day, "--date"), days=days)
    with context(db, artifacts) as ctx:
        result = run(ctx, request)
    show(result, json_target, wide)
