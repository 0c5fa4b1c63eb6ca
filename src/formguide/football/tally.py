"""Drawn fixtures tallied into tables, and the season's matches as head-to-head criteria need them.

:class:`Draws` holds the fixtures whose scores are drawn, sorted by home team so that each team's home rows
are one slice, with their guide-table sampler and the packed codes (``sampling.cell_codes``) that tally
points, goals for and goals against in one sum. :func:`match_source` concatenates played and drawn matches
for the simulations a head-to-head criterion looks at, without copying the drawn goals of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from formguide.football.sampling import cell_codes, result_points, sample_cells, sampler
from formguide.football.standings import Matches

__all__ = ["Draws", "Part", "match_source", "played_part", "table"]


class Draws:
    """Fixtures whose scores are drawn: sorted by home team, with their sampler and packed tally codes."""

    def __init__(self, home: NDArray[np.intp], away: NDArray[np.intp], probs: NDArray[np.float64], t: int,
                 points: tuple[int, int, int]) -> None:
        order = np.argsort(home, kind="stable")  # each team's home rows one contiguous slice
        self.home, self.away, probs = home[order], away[order], probs[order]
        self.by_away = np.argsort(self.away, kind="stable")
        self.home_bounds = np.searchsorted(self.home, np.arange(t + 1))
        self.away_bounds = np.searchsorted(self.away[self.by_away], np.arange(t + 1))
        self.m, rows, self.cols = probs.shape
        self.t = t
        per_team = np.bincount(self.home, minlength=t) + np.bincount(self.away, minlength=t)
        self.code_home, self.code_away, self.base = cell_codes(rows, self.cols, int(per_team.max(initial=0)), points)
        self.probs = probs
        self.cdf, self.guide = sampler(probs)

    def draw(self, rng: np.random.Generator, b: int) -> NDArray[np.integer]:
        if not self.m:
            return np.zeros((0, b), dtype=np.int16)
        return sample_cells(rng.integers(0, 2**32, size=(self.m, b), dtype=np.uint32), self.cdf, self.guide)

    def tally(self, cells: NDArray[np.integer], active: NDArray[np.bool_] | None = None
              ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Points, goals for, goals against ``(b, t)`` from the drawn cells (only ``active`` fixtures count)."""
        b = cells.shape[1]
        packed = np.zeros((self.t, b), dtype=self.code_home.dtype)
        if self.m:
            home_codes = np.take(self.code_home, cells)
            away_codes = np.take(self.code_away, cells[self.by_away])
            if active is not None:
                home_codes = np.where(active, home_codes, 0)
                away_codes = np.where(active[self.by_away], away_codes, 0)
            hb, ab = self.home_bounds, self.away_bounds
            for team in range(self.t):
                packed[team] += home_codes[hb[team]:hb[team + 1]].sum(axis=0, dtype=packed.dtype)
                packed[team] += away_codes[ab[team]:ab[team + 1]].sum(axis=0, dtype=packed.dtype)
        rest, ga = np.divmod(packed.T.astype(np.int64), self.base)
        pts, gf = np.divmod(rest, self.base)
        return pts, gf, ga

    def part(self, cells: NDArray[np.integer], active: NDArray[np.bool_] | None = None) -> Part:
        return Part(self.home, self.away, lambda rows: np.divmod(cells[:, rows], self.cols), active)


@dataclass(frozen=True)
class Part:
    """Matches for head-to-head: teams, goals of the given simulations, where they count."""

    home: NDArray[np.intp]
    away: NDArray[np.intp]
    goals: Callable[[NDArray[np.intp] | slice], tuple[NDArray, NDArray]]
    active: NDArray[np.bool_] | None = None


def played_part(home: NDArray[np.intp], away: NDArray[np.intp], hg: NDArray, ag: NDArray, b: int) -> Part:
    def goals(rows):
        s = b if isinstance(rows, slice) else len(rows)
        return np.broadcast_to(hg[:, None], (len(hg), s)), np.broadcast_to(ag[:, None], (len(ag), s))

    return Part(home, away, goals)


def match_source(parts: Sequence[Part]) -> Callable[[NDArray[np.intp] | slice], Matches]:
    """The matches of the given simulations, concatenated over ``parts``."""

    def matches(rows):
        goals = [p.goals(rows) for p in parts]
        any_active = any(p.active is not None for p in parts)
        active = None
        if any_active:
            active = np.concatenate([
                p.active[:, rows] if p.active is not None else np.ones(g[0].shape, dtype=bool)
                for p, g in zip(parts, goals, strict=True)])
        return Matches(home=np.concatenate([p.home for p in parts]), away=np.concatenate([p.away for p in parts]),
                       home_goals=np.concatenate([g[0] for g in goals]).astype(np.int64),
                       away_goals=np.concatenate([g[1] for g in goals]).astype(np.int64), active=active)

    return matches


def table(home: NDArray[np.intp], away: NDArray[np.intp], hg: NDArray, ag: NDArray, t: int, points
           ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Points, goals for and goals against per team from matches already played."""

    def total(h_val: NDArray, a_val: NDArray) -> NDArray[np.int64]:
        return (np.bincount(home, h_val, t) + np.bincount(away, a_val, t)).astype(np.int64)

    return (total(result_points(hg, ag, points), result_points(ag, hg, points)), total(hg, ag), total(ag, hg))
