"""NFL standings and tie-breaking procedures, vectorised over many simulated seasons at once.

A season's final standings need more than wins: the NFL breaks ties in win percentage (a tie game is half
a win) by a fixed list of steps, and which step applies depends on the tied group (two clubs or three and
more, one division or several). This module ranks every division and seeds every conference for ``n``
simulated seasons together. :func:`records` turns the doubled points of each game (home win 2, tie 1, away
win 0) into everything the steps compare; :func:`rank_divisions` and :func:`seed_conferences` apply them.

How a tie is broken (the NFL's "only one club advances" rule): the best club of the tied group is found,
it takes the place, and the others start again from step 1 for the next place. Within one pick, a step that
separates some clubs but leaves two or more tied sends those back to step 1 with the smaller group (its
two-club or three-club format); a step that separates nobody moves on to the next step. Steps implemented:

* division (two clubs and three or more): head-to-head win percentage among the tied clubs, division
  record, record in common games, conference record, strength of victory, strength of schedule, coin flip;
* wild cards and the order of division winners (clubs from different divisions): all but the best-ranked
  club of each division are set aside (division order as found by the division tie-breakers), then
  head-to-head (two clubs: if they met; three or more: only a sweep, one club beating each of the others,
  or one club losing to each of the others, counts), conference record, common games (at least four for
  every tied club), strength of victory, strength of schedule, coin flip.

Not implemented (no points are simulated): the points-based steps between strength of schedule and the
coin flip (combined ranking of points scored and allowed, net points, net touchdowns).

Every percentage is a ratio of small integers, so equal percentages are equal floats (IEEE division is
correctly rounded) and ties are found with ``==``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["DIVISION_TIEBREAKERS", "WILDCARD_TIEBREAKERS", "Records", "rank_divisions", "records",
           "seed_conferences"]

#: Common games a wild-card tie needs for every tied club before the common-games step applies.
WILDCARD_MIN_COMMON = 4


@dataclass(frozen=True, eq=False)
class Records:
    """What the tie-breakers compare, for ``n`` simulated seasons of ``T`` teams.

    Arrays are team-major, seasons last ((T, n), (T, T, n)): gathering whole rows is what the tallies and
    the tie-breakers do most. Points are doubled (win 2, tie 1, loss 0) so that every record is an
    integer; percentages are float64 ratios of those integers.
    """

    points: NDArray[np.int16]  # (T, n) doubled points in all games
    games: NDArray[np.int64]  # (T,) games each team plays
    win_pct: NDArray[np.float64]  # (T, n)
    division_pct: NDArray[np.float64]  # (T, n)
    conference_pct: NDArray[np.float64]  # (T, n)
    wins: NDArray[np.int8]  # (T, T, n) outright wins of team i over team j
    schedule: NDArray[np.float64]  # (T, n) strength of schedule
    versus: NDArray[np.int8]  # (T, T, n) doubled points of team i in its games against team j
    meetings: NDArray[np.int64]  # (T, T) games between i and j
    division: NDArray[np.intp]  # (T,) division number of each team
    conference: NDArray[np.intp]  # (T,) conference number of each team
    coin: NDArray[np.int64]  # (T, n) distinct within a season: the coin flip's order

    @property
    def n(self) -> int:
        return int(self.points.shape[1])


def _ratio(num: NDArray, den: NDArray) -> NDArray[np.float64]:
    """``num / den`` as float64, 0 where ``den`` is 0 (a team with no such games)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64))
    return np.divide(num, den, out=np.zeros(num.shape), where=den > 0)


def _versus(home: NDArray[np.intp], away: NDArray[np.intp], points: NDArray[np.int8], n_teams: int
            ) -> tuple[NDArray[np.int8], NDArray[np.int8]]:
    """(T, T, n) doubled points and outright wins of i against j, from the home points (G, n).

    A pair's k-th meeting is added in the k-th pass, so that the cells written in one pass are distinct.
    """
    flat = np.zeros((n_teams * n_teams, points.shape[1]), dtype=np.int8)
    wins = np.zeros_like(flat)
    pair = np.minimum(home, away) * n_teams + np.maximum(home, away)
    order = np.argsort(pair, kind="stable")
    occurrence = np.empty(len(pair), dtype=np.intp)
    occurrence[order] = np.arange(len(pair)) - np.searchsorted(pair[order], pair[order], side="left")
    for k in range(int(occurrence.max(initial=-1)) + 1):
        games = np.flatnonzero(occurrence == k)
        h, a = home[games], away[games]
        pts = points[games]
        flat[h * n_teams + a] += pts
        flat[a * n_teams + h] += 2 - pts
        wins[h * n_teams + a] += pts == 2
        wins[a * n_teams + h] += pts == 0
    return flat.reshape(n_teams, n_teams, -1), wins.reshape(n_teams, n_teams, -1)


def _incidence(teams: NDArray[np.intp], n_teams: int, weight: NDArray | None = None) -> NDArray[np.float32]:
    """(T, G) matrix with ``weight`` (default 1) where team ``teams[g]`` plays game ``g``."""
    out = np.zeros((n_teams, len(teams)), dtype=np.float32)
    out[teams, np.arange(len(teams))] = 1.0 if weight is None else weight
    return out


def records(home: NDArray[np.intp], away: NDArray[np.intp], home_points: NDArray[np.int8],
            division: NDArray[np.intp], conference: NDArray[np.intp], coin: NDArray[np.int64]) -> Records:
    """Records of ``n`` seasons from the doubled home points of each game, ``home_points`` (G, n).

    ``home``/``away`` are team numbers per game; ``division``/``conference`` numbers per team; ``coin``
    (T, n) distinct integers per season decide what no other step does. Tallies are float32 products of
    incidence matrices with the points: exact, as every sum is a small integer.
    """
    home = np.asarray(home, dtype=np.intp)
    away = np.asarray(away, dtype=np.intp)
    division = np.asarray(division, dtype=np.intp)
    conference = np.asarray(conference, dtype=np.intp)
    n_teams = len(division)
    hp = np.asarray(home_points, dtype=np.int8)
    home_f = hp.astype(np.float32)
    kinds = [np.ones(len(home), dtype=np.float32), (division[home] == division[away]).astype(np.float32),
             (conference[home] == conference[away]).astype(np.float32)]  # all, division, conference games
    # Home gets hp, away 2 - hp: (H - A) @ hp + 2 * A @ 1, for the three kinds of game in one product.
    signed = np.concatenate([_incidence(home, n_teams, k) - _incidence(away, n_teams, k) for k in kinds])
    away_games = np.concatenate([_incidence(away, n_teams, k).sum(1) for k in kinds])
    tallies = np.rint(signed @ home_f + 2.0 * away_games[:, None]).astype(np.int64)
    points, division_points, conference_points = np.split(tallies, 3)
    games, division_games, conference_games = np.split(np.abs(signed).sum(1).astype(np.int64), 3)
    meetings = np.zeros((n_teams, n_teams), dtype=np.int64)
    np.add.at(meetings, (home, away), 1)
    meetings += meetings.T
    versus, wins = _versus(home, away, hp, n_teams)
    return Records(
        points=points.astype(np.int16),
        games=games,
        win_pct=_ratio(points, 2 * games[:, None]),
        division_pct=_ratio(division_points, 2 * division_games[:, None]),
        conference_pct=_ratio(conference_points, 2 * conference_games[:, None]),
        wins=wins,
        schedule=_ratio(meetings.astype(np.float64) @ points, (meetings @ (2 * games))[:, None]),
        versus=versus,
        meetings=meetings,
        division=division,
        conference=conference,
        coin=np.asarray(coin, dtype=np.int64),
    )


# --- tie-break steps -------------------------------------------------------------------------------
# Each step gets the rows' seasons (m,), team numbers per slot (m, K), the tied slots (m, K) and the
# division places (n, T) or None, and returns a value per slot (higher is better) and whether the step
# applies to each row; the tied slots with the best value survive.
Step = Callable[[Records, NDArray, NDArray, NDArray, "NDArray | None"], tuple[NDArray, NDArray]]


def _among(rec: Records, sims: NDArray, slots: NDArray, tied: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Points and games of each tied slot against each other tied slot (m, K, K), and the pair mask."""
    n_teams = len(rec.division)
    pair = slots[:, :, None] * n_teams + slots[:, None, :]
    sub = rec.versus.reshape(-1).take(pair * rec.n + sims[:, None, None])
    meet = rec.meetings.reshape(-1).take(pair)
    both = tied[:, :, None] & tied[:, None, :]
    return np.where(both, sub, 0), np.where(both, meet, 0), both


def _head_to_head_values(pts: NDArray, meet: NDArray, tied: NDArray) -> tuple[NDArray, NDArray]:
    games = meet.sum(2)
    return _ratio(pts.sum(2), 2 * games), np.all(~tied | (games > 0), axis=1)


def _head_to_head(rec, sims, slots, tied, ranks):
    """Win percentage in the games among the tied clubs; applies when every tied club played one of them."""
    pts, meet, _ = _among(rec, sims, slots, tied)
    return _head_to_head_values(pts, meet, tied)


def _sweep_values(pts: NDArray, meet: NDArray, both: NDArray) -> NDArray[np.float64]:
    """+1 for a club that beat each other tied club, -1 for one that lost to each, else 0."""
    others = both & ~np.eye(both.shape[1], dtype=bool)[None]
    played_all = np.all(~others | (meet > 0), axis=2)
    won_all = np.all(~others | (pts == 2 * meet), axis=2) & played_all
    lost_all = np.all(~others | (pts == 0), axis=2) & played_all
    return won_all.astype(np.float64) - lost_all


def _head_to_head_or_sweep(rec, sims, slots, tied, ranks):
    """Wild cards: plain head-to-head for two clubs (if they met), only a sweep for three or more."""
    pts, meet, both = _among(rec, sims, slots, tied)
    pair = tied.sum(1) == 2
    value = np.zeros(tied.shape)
    applies = np.ones(len(sims), dtype=bool)
    if pair.any():
        value[pair], applies[pair] = _head_to_head_values(pts[pair], meet[pair], tied[pair])
    if not pair.all():
        value[~pair] = _sweep_values(pts[~pair], meet[~pair], both[~pair])
    return value, applies


def _common(minimum: int) -> Step:
    def common_games(rec, sims, slots, tied, ranks):
        """Win percentage against the opponents every tied club played (each game counted)."""
        meet = rec.meetings[slots]  # (m, K, T)
        common = np.all((meet > 0) | ~tied[:, :, None], axis=1)[:, None, :]  # (m, 1, T)
        games = np.where(common, meet, 0).sum(2)
        pts = np.where(common, rec.versus[slots, :, sims[:, None]], 0).sum(2)
        applicable = np.all(~tied | (games >= minimum), axis=1)
        return _ratio(pts, 2 * games), applicable
    return common_games


def _victory(rec, sims, slots, tied, ranks):
    """Strength of victory: combined record of the teams beaten (outright wins only, each win counted)."""
    beaten = rec.wins[slots, :, sims[:, None]].astype(np.int64)  # (m, K, T)
    points = rec.points[:, sims].T[:, None, :]  # (m, 1, T)
    return _ratio((beaten * points).sum(2), beaten @ (2 * rec.games)), np.ones(len(sims), dtype=bool)


def _column(name: str) -> Step:
    def step(rec, sims, slots, tied, ranks):
        return getattr(rec, name)[slots, sims[:, None]], np.ones(len(sims), dtype=bool)
    step.__name__ = name
    return step


def _best_in_division(rec, sims, slots, tied, ranks):
    """Sets aside every tied club with a better-placed tied club of its own division."""
    div = rec.division[slots]
    rivals = (div[:, :, None] == div[:, None, :]) & tied[:, :, None] & tied[:, None, :]
    rivals &= ~np.eye(slots.shape[1], dtype=bool)[None]
    applies = rivals.any(axis=(1, 2))
    value = np.zeros(tied.shape)
    if applies.any():
        place = ranks[sims[applies, None], slots[applies]]
        better = rivals[applies] & (place[:, None, :] < place[:, :, None])
        value[applies] = -better.sum(2)
    return value, applies


#: The steps below in words, for tables and the README (same order as the step tuples).
DIVISION_TIEBREAKERS: tuple[str, ...] = ("head-to-head", "division record", "common games", "conference record",
                                         "strength of victory", "strength of schedule", "coin flip")
WILDCARD_TIEBREAKERS: tuple[str, ...] = ("best club of each division only", "head-to-head (3+ clubs: sweep only)",
                                         "conference record", "common games (at least 4)", "strength of victory",
                                         "strength of schedule", "coin flip")
DIVISION_STEPS: tuple[Step, ...] = (_head_to_head, _column("division_pct"), _common(1), _column("conference_pct"),
                                    _victory, _column("schedule"), _column("coin"))
WILDCARD_STEPS: tuple[Step, ...] = (_best_in_division, _head_to_head_or_sweep, _column("conference_pct"),
                                    _common(WILDCARD_MIN_COMMON), _victory, _column("schedule"),
                                    _column("coin"))


def _break(rec: Records, sims: NDArray, slots: NDArray, tied: NDArray, steps: tuple[Step, ...],
           ranks: NDArray | None) -> NDArray[np.intp]:
    """Slot of the club that wins each row's tie: steps in order, back to step 1 whenever a club drops out."""
    tied = tied.copy()
    step = np.zeros(len(sims), dtype=np.intp)
    open_rows = np.flatnonzero(tied.sum(1) > 1)
    while open_rows.size:
        for s, rule in enumerate(steps):
            rows = open_rows[step[open_rows] == s]
            if rows.size == 0:
                continue
            group = tied[rows]
            value, applies = rule(rec, sims[rows], slots[rows], group, ranks)
            value = np.where(group, value, -np.inf)
            best = group & ((value == value.max(1, keepdims=True)) | ~applies[:, None])
            shrunk = best.sum(1) < group.sum(1)
            tied[rows] = best
            step[rows] = np.where(shrunk, 0, s + 1)  # fewer clubs: step 1 of their (two- or three-club) format
        open_rows = open_rows[tied[open_rows].sum(1) > 1]
        if np.any(step[open_rows] >= len(steps)):
            raise RuntimeError("a tie survived the coin flip: coin values must differ within a season")
    return tied.argmax(1)


def _place(rec: Records, sims: NDArray, slots: NDArray, valid: NDArray, needed: NDArray,
           steps: tuple[Step, ...], ranks: NDArray | None) -> NDArray[np.intp]:
    """(m, K) place of each valid slot within its row (0 = best), by win percentage, then tie-breakers.

    Clubs are sorted by win percentage; each run of equal percentages that reaches a place below the row's
    ``needed`` is settled by picking its best club with ``steps``, then the best of the rest, and so on (the
    NFL's "one club advances, the others start again"). Places from ``needed`` on keep the sorted order.
    Ties are batched by size (pairs, triples, larger ones padded), with only their own clubs as slots.
    """
    width = slots.shape[1]
    pct = np.where(valid, rec.win_pct[slots, sims[:, None]], -np.inf)
    order = np.argsort(-pct, axis=1, kind="stable")
    ranked = np.take_along_axis(pct, order, axis=1)
    place = np.empty_like(order)
    np.put_along_axis(place, order, np.broadcast_to(np.arange(width), order.shape), axis=1)
    position = np.arange(width)
    # Only rows with a run of equal percentages starting before ``needed`` need tie-breakers.
    same = (ranked[:, 1:] == ranked[:, :-1]) & np.isfinite(ranked[:, 1:]) & (position[:-1] < needed[:, None] )
    tie_rows = np.flatnonzero(same.any(1))
    ranked_t, needed_t = ranked[tie_rows], needed[tie_rows]
    new = np.ones(ranked_t.shape, dtype=bool)
    new[:, 1:] = ranked_t[:, 1:] != ranked_t[:, :-1]
    # Length of the run starting at each position that starts one: next start minus this position.
    starts_at = np.where(new, position, width)
    next_start = np.minimum.accumulate(starts_at[:, ::-1], axis=1)[:, ::-1]
    next_start = np.concatenate([next_start[:, 1:], np.full((len(tie_rows), 1), width)], axis=1)
    length = next_start - position
    starts = new & (length > 1) & np.isfinite(ranked_t) & (position < needed_t[:, None])
    row_t, first = np.nonzero(starts)
    row, size = tie_rows[row_t], length[row_t, first]
    for lo, hi in ((2, 2), (3, 3), (4, 4), (5, 6), (7, width)):
        pick = np.flatnonzero((size >= lo) & (size <= hi))
        if pick.size == 0:
            continue
        r, f, k = row[pick], first[pick], size[pick]
        kmax = int(k.max())
        offsets = np.minimum(f[:, None] + np.arange(kmax), width - 1)
        group_slots = order[r[:, None], offsets]  # slot numbers of the run's clubs
        left = np.arange(kmax)[None, :] < k[:, None]
        for j in range(kmax - 1):
            active = np.flatnonzero((j < k - 1) & (f + j < needed[r]))
            if active.size == 0:
                break
            w = _break(rec, sims[r[active]], slots[r[active, None], group_slots[active]], left[active], steps, ranks)
            place[r[active], group_slots[active, w]] = f[active] + j
            left[active, w] = False
        # Clubs not picked (the last one, or those past ``needed``) take the run's next places in slot order.
        after = f + k - left.sum(1)
        rank = np.cumsum(left, axis=1) - 1
        rr, cc = np.nonzero(left)
        place[r[rr], group_slots[rr, cc]] = after[rr] + rank[rr, cc]
    return place


def _groups(labels: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Members (groups, K) of each label value, padded with team 0 and a False mask."""
    values = np.unique(labels)
    size = max(int((labels == v).sum()) for v in values)
    members = np.zeros((len(values), size), dtype=np.intp)
    valid = np.zeros((len(values), size), dtype=bool)
    for g, v in enumerate(values):
        teams = np.flatnonzero(labels == v)
        members[g, : len(teams)] = teams
        valid[g, : len(teams)] = True
    return members, valid


def _rows(rec: Records, labels: NDArray[np.intp]) -> tuple[NDArray, NDArray, NDArray]:
    """One row per (season, group): the season, the group's team numbers and which slots are real."""
    members, valid = _groups(labels)
    sims = np.repeat(np.arange(rec.n), len(members))
    return sims, np.tile(members, (rec.n, 1)), np.tile(valid, (rec.n, 1))


def _scatter(rec: Records, sims: NDArray, slots: NDArray, valid: NDArray, values: NDArray) -> NDArray[np.int8]:
    """(n, T) from per-slot values of (season, group) rows."""
    n_teams = len(rec.division)
    out = np.zeros(rec.n * n_teams, dtype=np.int8)
    out[(sims[:, None] * n_teams + slots)[valid]] = values[valid]
    return out.reshape(rec.n, n_teams)


def rank_divisions(rec: Records) -> NDArray[np.int8]:
    """(n, T) place of every team in its division, 0 = division winner, by the division tie-breakers."""
    sims, slots, valid = _rows(rec, rec.division)
    needed = np.full(len(sims), slots.shape[1])
    return _scatter(rec, sims, slots, valid, _place(rec, sims, slots, valid, needed, DIVISION_STEPS, None))


def seed_conferences(rec: Records, division_rank: NDArray[np.int8], seeds: int) -> NDArray[np.int8]:
    """(n, T) playoff seed of every team (1..seeds, 0 = out): division winners first, then wild cards.

    Division winners are ordered among themselves and wild cards chosen with the wild-card tie-breakers
    (the NFL's rule for home-field priority among division winners).
    """
    sims, slots, valid = _rows(rec, rec.conference)
    winner = valid & (division_rank[sims[:, None], slots] == 0)
    n_winners = winner.sum(1)
    if np.any(n_winners > seeds):
        raise ValueError(f"{seeds} playoff seeds cannot hold {int(n_winners.max())} division winners")
    seed = np.zeros(slots.shape, dtype=np.int8)
    top = _place(rec, sims, slots, winner, n_winners, WILDCARD_STEPS, division_rank)
    seed[winner] = (top + 1)[winner]
    others = valid & ~winner
    wild = _place(rec, sims, slots, others, seeds - n_winners, WILDCARD_STEPS, division_rank)
    chosen = others & (wild < (seeds - n_winners)[:, None])
    seed[chosen] = (wild + 1 + n_winners[:, None])[chosen]
    return _scatter(rec, sims, slots, valid, seed)
