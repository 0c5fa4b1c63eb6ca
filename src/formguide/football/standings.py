"""The order of a final table, per simulation: points, then a league's tie-breakers, then a fair coin.

Every simulated season is a row of ``(n_simulations, n_teams)`` arrays. Criteria that are one number per
team (goal difference, goals, wins, away goals) are fields of one packed integer key, sorted once per row.
A head-to-head criterion compares teams level on every field before it: per simulation, the matches
between two teams of the same "mini-table" are those whose two teams share that prefix key, so the
mini-table is a masked sum over the season's matches — computed only for the simulations where some
teams are level at all, in chunks, with no loop over simulations or teams.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from formguide.football.rules import CRITERIA, HEAD_TO_HEAD
from formguide.football.sampling import result_points

__all__ = ["MATCH_STATS", "Matches", "match_stats", "order_key", "rank", "settle_play_offs"]

#: Per-team totals that need the goals of every match (not only the packed points/goals tally).
MATCH_STATS = ("wins", "away_goals_for", "away_wins")
# Simulations per chunk of a head-to-head computation: bounds the (matches x simulations) work arrays.
_CHUNK = 2048


@dataclass(frozen=True)
class Matches:
    """A season's matches as a set of simulations saw them: teams (``M``) and goals (``M x s``).

    ``active[k, j]`` is False where match ``k`` was not played in simulation ``j`` (a fixture of a split
    group that simulation did not form); ``None`` means every match counts everywhere.
    """

    home: NDArray[np.intp]
    away: NDArray[np.intp]
    home_goals: NDArray[np.integer]
    away_goals: NDArray[np.integer]
    active: NDArray[np.bool_] | None = None


#: Matches of the simulations at the given row indices (or ``slice(None)`` for all of them).
MatchSource = Callable[[NDArray[np.intp] | slice], Matches]


def _team_sums(m: Matches, weight: NDArray[np.bool_] | None, values: Sequence[tuple[NDArray, NDArray]], t: int
               ) -> list[NDArray[np.int64]]:
    """Per team and simulation ``(s, t)``: the sum of each (home value, away value) over counted matches."""
    n_matches = len(m.home)
    s = m.home_goals.shape[1] if m.home_goals.ndim == 2 else 0
    if n_matches == 0:
        return [np.zeros((s, t), dtype=np.int64) for _ in values]
    cols = np.arange(n_matches)
    inc_home = np.zeros((t, n_matches), dtype=np.float32)
    inc_away = np.zeros((t, n_matches), dtype=np.float32)
    inc_home[m.home, cols] = 1.0
    inc_away[m.away, cols] = 1.0
    out = []
    for vh, va in values:  # float32 matmul is exact: every sum is a small integer (< 2**24)
        if weight is not None:
            vh, va = np.where(weight, vh, 0), np.where(weight, va, 0)
        total = inc_home @ np.asarray(vh, dtype=np.float32) + inc_away @ np.asarray(va, dtype=np.float32)
        out.append(np.rint(total.T).astype(np.int64))
    return out


def match_stats(m: Matches, t: int, names: Sequence[str]) -> dict[str, NDArray[np.int64]]:
    """Season totals per simulation and team ``(s, t)`` of the :data:`MATCH_STATS` asked for."""
    hg, ag = m.home_goals, m.away_goals
    zero = np.zeros_like(hg)
    spec = {"wins": ((hg > ag), (ag > hg)), "away_goals_for": (zero, ag), "away_wins": (zero, (ag > hg))}
    names = [n for n in names if n in spec]
    sums = _team_sums(m, m.active, [spec[n] for n in names], t)
    return dict(zip(names, sums, strict=True))


def _head_to_head(m: Matches, prefix: NDArray[np.int64], block: Sequence[str], points: tuple[int, int, int]
                  ) -> list[NDArray[np.int64]]:
    """Mini-table values ``(s, t)`` of the head-to-head criteria in ``block`` among teams equal on ``prefix``."""
    t = prefix.shape[1]
    same = prefix[:, m.home].T == prefix[:, m.away].T  # (M, s): both teams in the same mini-table
    if m.active is not None:
        same &= m.active
    hg, ag = m.home_goals, m.away_goals
    spec = {
        "h2h_points": (result_points(hg, ag, points), result_points(ag, hg, points)),
        "h2h_goal_difference": (hg - ag, ag - hg),
        "h2h_goals_for": (hg, ag),
        "h2h_away_goals_for": (np.zeros_like(hg), ag),
    }
    return _team_sums(m, same, [spec[c] for c in block], t)


def order_key(fields: Sequence[NDArray[np.integer]]) -> NDArray[np.int64]:
    """One int64 per entry that sorts like the tuple of ``fields`` (first most significant; higher better).

    Fields are shifted to start at 0 and packed in mixed radix; when the product of their ranges would
    overflow, the packed prefix is replaced by its dense rank (order-preserving) and packing goes on.
    """
    key: NDArray[np.int64] | None = None
    span_so_far = 1
    for f in fields:
        f = np.asarray(f, dtype=np.int64)
        f = f - f.min() if f.size else f
        span = int(f.max(initial=0)) + 1
        if key is None:
            key, span_so_far = f.copy(), span
            continue
        if float(span_so_far) * span >= 2.0**62:
            uniq, dense = np.unique(key, return_inverse=True)
            key, span_so_far = dense.reshape(key.shape).astype(np.int64), len(uniq)
            if float(span_so_far) * span >= 2.0**62:
                raise ValueError("tie-break fields too large to rank")  # pragma: no cover - 2**62 teams
        key = key * span + f
        span_so_far *= span
    assert key is not None
    return key


def _has_ties(key: NDArray[np.int64]) -> NDArray[np.bool_]:
    s = np.sort(key, axis=1)
    return (s[:, 1:] == s[:, :-1]).any(axis=1)


def rank(points: NDArray[np.int64], stats: Mapping[str, NDArray[np.integer]], criteria: Sequence[str],
         rng: np.random.Generator, matches: MatchSource | None = None, *,
         leading: NDArray[np.integer] | None = None, scheme: tuple[int, int, int] = (3, 1, 0)) -> NDArray[np.intp]:
    """Team index in each finishing position ``(n, t)``: ``leading`` (higher first; the split group), points,
    then ``criteria`` in order (higher is better; names from :data:`rules.CRITERIA`), then a fair coin.

    ``stats`` holds the per-team criteria already tallied (``goal_difference``, ``goals_for``, the split's
    ``split_rank``/``not_rounded``); the :data:`MATCH_STATS` and the head-to-head criteria are computed from
    ``matches`` when asked for.
    """
    n, t = points.shape
    tie = rng.permuted(np.broadcast_to(np.arange(t, dtype=np.int64), (n, t)), axis=1)
    unknown = [c for c in criteria if c not in CRITERIA]
    if unknown:
        raise ValueError(f"unknown tie-breaker(s) {unknown}; known: {', '.join(CRITERIA)}")
    missing = [c for c in MATCH_STATS if c in criteria and c not in stats]
    if missing:
        if matches is None:
            raise ValueError(f"tie-breakers {missing} need the matches")
        stats = {**stats, **match_stats(matches(slice(None)), t, missing)}
    fields: list[NDArray[np.integer]] = ([] if leading is None else [leading]) + [points]
    i = 0
    while i < len(criteria):
        if criteria[i] not in HEAD_TO_HEAD:
            c = criteria[i]
            if c not in stats:
                raise ValueError(f"tie-breaker {c!r} has no values")
            fields.append(stats[c])
            i += 1
            continue
        j = i
        while j < len(criteria) and criteria[j] in HEAD_TO_HEAD:
            j += 1
        fields.extend(_head_to_head_fields(order_key(fields), criteria[i:j], matches, scheme))
        i = j
    fields.append(tie)
    return np.argsort(-order_key(fields), axis=1)


def _head_to_head_fields(prefix: NDArray[np.int64], block: Sequence[str], matches: MatchSource | None,
                         scheme: tuple[int, int, int]) -> list[NDArray[np.int64]]:
    """Head-to-head values for every simulation with a tie on ``prefix`` (zero elsewhere: nothing to split)."""
    out = [np.zeros(prefix.shape, dtype=np.int64) for _ in block]
    sims = np.flatnonzero(_has_ties(prefix))
    if sims.size == 0:
        return out
    if matches is None:
        raise ValueError("head-to-head tie-breakers need the matches")
    for lo in range(0, sims.size, _CHUNK):
        rows = sims[lo:lo + _CHUNK]
        for arr, vals in zip(out, _head_to_head(matches(rows), prefix[rows], block, scheme), strict=True):
            arr[rows] = vals
    return out


def settle_play_offs(order: NDArray[np.intp], points: NDArray[np.int64], positions: Sequence[int],
                     rng: np.random.Generator) -> NDArray[np.intp]:
    """Two teams (and only two) level on points in positions ``p`` and ``p + 1`` play a one-off play-off:
    a fair coin decides who takes ``p`` (Serie A's title and relegation play-offs from 2022/23)."""
    if not positions:
        return order
    n, t = order.shape
    ranked = np.take_along_axis(points, order, axis=1)
    order = order.copy()
    for p in positions:
        i = p - 1
        two = ranked[:, i] == ranked[:, i + 1]
        if i > 0:
            two &= ranked[:, i - 1] != ranked[:, i]
        if i + 2 < t:
            two &= ranked[:, i + 2] != ranked[:, i]
        rows = np.flatnonzero(two & (rng.random(n) < 0.5))
        order[rows, i], order[rows, i + 1] = order[rows, i + 1], order[rows, i].copy()
    return order
