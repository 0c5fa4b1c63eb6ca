"""What the race page shows: a race field's probabilities as bars, its position distribution as a heat map, and
a picker of the races the store holds.

Which sports have race pages, how their races are written and which prediction moments they know all come from
the sport contract (``Sport.race_reference``, the ``moment`` field of its predict options), never from a sport's
name. The picker can list stored races only for sports whose races are written ``SEASON-ROUND`` (the form the
contract's ``race_reference`` declares first): it numbers each stored season's events 1..n, which is what a
round is. Any other form still gets a free-text race box.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from formguide.app.schemas import CompetitionSummary, RaceFieldResult
from formguide.core.sport import Sport
from formguide.service.ui.heatmap import HeatMap, heat_map
from formguide.service.ui.serving_data import Bar, bar, option_choices

__all__ = ["RaceChoice", "RaceRow", "moments", "race_choices", "race_rows", "race_heat_map", "neighbours"]


class RaceRow(BaseModel):
    label: str
    team: str | None
    start: int | None
    bars: list[Bar]
    retire: str
    expected_position: str
    actual: int | None


class RaceChoice(BaseModel):
    """The races of one stored season, newest first, for the picker."""

    season: str
    races: list[str] = Field(description="Race references, last round first.")


def moments(sport: Sport) -> list[str]:
    """The prediction moments the sport's predict options take (a ``Literal`` field named ``moment``)."""
    return option_choices(sport, "predict", "moment")


def _season_round(sport: Sport) -> bool:
    return (sport.race_reference or "").upper().startswith("SEASON-ROUND")


def race_choices(sport: Sport, stored: list[CompetitionSummary], seasons: int = 3) -> list[RaceChoice]:
    """The latest ``seasons`` stored seasons' races (``SEASON-ROUND`` sports only; else none)."""
    if not _season_round(sport):
        return []
    items = [s for c in stored for s in c.seasons if s.events]
    items.sort(key=lambda s: s.code, reverse=True)
    return [RaceChoice(season=s.code, races=[f"{s.code}-{r:02d}" for r in range(s.events, 0, -1)])
            for s in items[:seasons]]


def neighbours(sport: Sport, stored: list[CompetitionSummary], race: str) -> tuple[str | None, str | None]:
    """The previous and next stored race of ``race`` (``SEASON-ROUND`` sports; None past either end)."""
    if not _season_round(sport):
        return None, None
    order = [(s.code, r) for c in stored for s in sorted(c.seasons, key=lambda s: s.code) for r in
             range(1, s.events + 1)]
    try:
        season, rnd = race.strip().split("-", 1)
        here = order.index((season, int(rnd)))
    except ValueError:
        return None, None
    ref = [f"{s}-{r:02d}" for s, r in order]
    return (ref[here - 1] if here > 0 else None), (ref[here + 1] if here + 1 < len(ref) else None)


def race_rows(result: RaceFieldResult) -> list[RaceRow]:
    """The field, most likely winner first: win/podium/points bars and the rest as text."""
    rows = []
    for e in result.entries:
        rows.append(RaceRow(label=e.label, team=e.team, start=e.start,
                            bars=[bar("win", e.p_win), bar("podium", e.p_podium), bar("points", e.p_points)],
                            retire=f"{100.0 * e.p_retire:.1f}%", expected_position=f"{e.expected_position:.1f}",
                            actual=e.actual_position))
    return rows


def race_heat_map(result: RaceFieldResult) -> HeatMap:
    """Entries x finishing positions, entries in the result's order (most likely winner first)."""
    return heat_map(result.positions, [e.label for e in result.entries])


def race_summary(result: RaceFieldResult) -> dict[str, Any]:
    """The facts over the tables: model, version, feature set, moment, as of."""
    return {"model": result.model, "model_id": result.model_id, "version": result.model_version,
            "features": result.feature_set_version, "moment": result.moment, "as_of": result.as_of,
            "simulations": result.simulations, "refitted": result.refitted}
