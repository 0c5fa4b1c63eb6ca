"""Championship points systems of the Formula 1 World Championship, season by season.

Source: the points article of the FIA Formula One Sporting Regulations of each season (e.g. the 2024
regulations: race points 25-18-15-12-10-8-6-4-2-1 to the first ten classified, one point for the fastest
lap when set by a top-ten classified driver, sprint points 8-7-6-5-4-3-2-1), as tabulated for every season
in Wikipedia's "List of Formula One World Championship points scoring systems". The tables below are
checked against the ``points`` column of the Ergast results in ``tests/f1/test_season.py``.

What is modelled: points by classified finishing position for the race and the sprint, the fastest-lap
point (1950-1959 and 2019-2024; 2025 dropped it), and the double points of the 2014 finale. What is not:
dropped scores (only a driver's best N results counted before 1991), points shared between drivers of one
car (1950s), half points for races stopped before 75 % distance and the scaled points for shortened races
from 2022 on (these depend on laps completed, not known before a race), and the pre-1979 constructors' rule
that only a team's best-placed car scored. Simulated championships therefore add every result, which is
the rule from 1991 on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["PointsSystem", "points_system", "race_points", "sprint_points"]

FIRST_SEASON = 1950
# The constructors' championship started in 1958.
FIRST_CONSTRUCTORS_SEASON = 1958


@dataclass(frozen=True)
class PointsSystem:
    """Points of one season. ``race[k]`` / ``sprint[k]`` are the points for classified position ``k + 1``."""

    season: int
    race: tuple[float, ...]
    sprint: tuple[float, ...] = ()
    fastest_lap: float = 0.0
    #: The fastest-lap point only counts when its driver finishes this high (None: any finisher).
    fastest_lap_top: int | None = None
    #: Rounds whose points are multiplied (2014 Abu Dhabi: double points), as {round: factor}; a negative
    #: round counts from the end of the calendar (-1 = the final race).
    multipliers: tuple[tuple[int, float], ...] = ()

    def race_table(self, n: int) -> NDArray[np.float64]:
        """Points for positions 1..n as a length-``n`` array (zeros beyond the scoring places)."""
        return _table(self.race, n)

    def sprint_table(self, n: int) -> NDArray[np.float64]:
        return _table(self.sprint, n)

    def multiplier(self, round_: int, n_rounds: int) -> float:
        for r, factor in self.multipliers:
            if r == round_ or (r < 0 and n_rounds + 1 + r == round_):
                return factor
        return 1.0

    def to_dict(self) -> dict:
        return {"season": self.season, "race": list(self.race), "sprint": list(self.sprint),
                "fastest_lap": self.fastest_lap, "fastest_lap_top": self.fastest_lap_top,
                "multipliers": [list(m) for m in self.multipliers]}


def _table(points: tuple[float, ...], n: int) -> NDArray[np.float64]:
    out = np.zeros(max(int(n), 0), dtype=np.float64)
    k = min(len(points), out.size)
    out[:k] = points[:k]
    return out


_F25 = (25.0, 18.0, 15.0, 12.0, 10.0, 8.0, 6.0, 4.0, 2.0, 1.0)


def points_system(season: int) -> PointsSystem:
    """The points system of ``season`` (1950 onwards; later seasons use the newest known rules, 2025's)."""
    if isinstance(season, bool) or not isinstance(season, int | np.integer):
        raise ValueError(f"season must be a year, got {season!r}")
    season = int(season)
    if season < FIRST_SEASON:
        raise ValueError(f"there was no Formula 1 World Championship in {season} (it started in {FIRST_SEASON})")
    if season <= 1959:
        return PointsSystem(season, (8.0, 6.0, 4.0, 3.0, 2.0), fastest_lap=1.0)
    if season == 1960:
        return PointsSystem(season, (8.0, 6.0, 4.0, 3.0, 2.0, 1.0))
    if season <= 1990:
        return PointsSystem(season, (9.0, 6.0, 4.0, 3.0, 2.0, 1.0))
    if season <= 2002:
        return PointsSystem(season, (10.0, 6.0, 4.0, 3.0, 2.0, 1.0))
    if season <= 2009:
        return PointsSystem(season, (10.0, 8.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0))
    sprint: tuple[float, ...] = ()
    if season == 2021:
        sprint = (3.0, 2.0, 1.0)
    elif season >= 2022:
        sprint = (8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)
    fastest = 1.0 if 2019 <= season <= 2024 else 0.0
    multipliers = ((-1, 2.0),) if season == 2014 else ()
    return PointsSystem(season, _F25, sprint=sprint, fastest_lap=fastest,
                        fastest_lap_top=10 if fastest else None, multipliers=multipliers)


def race_points(season: int, position: ArrayLike, classified: ArrayLike | None = None,
                fastest_lap: ArrayLike | None = None, round_: int | None = None,
                n_rounds: int | None = None) -> NDArray[np.float64]:
    """Race points for finishing positions (1-based; NaN or unclassified entries score 0).

    ``fastest_lap``: 0/1 per entry, adds the fastest-lap point where the season awards one (and the driver
    finished high enough). ``round_``/``n_rounds`` apply a round's multiplier (2014 finale).
    """
    ps = points_system(season)
    pos = np.asarray(position, dtype=np.float64)
    ok = np.isfinite(pos) & (pos >= 1)
    if classified is not None:
        ok &= np.asarray(classified, dtype=bool)
    table = np.asarray(ps.race, dtype=np.float64)
    idx = np.where(ok, pos, 0).astype(np.intp) - 1
    pts = np.where(ok & (idx < table.size), table[np.clip(idx, 0, table.size - 1)], 0.0)
    if fastest_lap is not None and ps.fastest_lap:
        fl = np.asarray(fastest_lap, dtype=np.float64) == 1
        top = ps.fastest_lap_top if ps.fastest_lap_top is not None else np.inf
        pts = pts + np.where(fl & ok & (pos <= top), ps.fastest_lap, 0.0)
    if round_ is not None:
        if n_rounds is None:
            raise ValueError("n_rounds is needed with round_ (a multiplier may count from the end)")
        pts = pts * ps.multiplier(round_, n_rounds)
    return pts


def sprint_points(season: int, position: ArrayLike) -> NDArray[np.float64]:
    """Sprint points for sprint finishing positions (1-based; NaN scores 0; 0 in seasons without sprints)."""
    ps = points_system(season)
    pos = np.asarray(position, dtype=np.float64)
    if not ps.sprint:
        return np.zeros(pos.shape)
    ok = np.isfinite(pos) & (pos >= 1)
    table = np.asarray(ps.sprint, dtype=np.float64)
    idx = np.where(ok, pos, 1).astype(np.intp) - 1
    return np.where(ok & (idx < table.size), table[np.clip(idx, 0, table.size - 1)], 0.0)
