"""Leagues that split (Scotland, Greece, Belgium): before and after the split, the groups, the fixtures after it.

A match belongs to the rounds before the split when it is one of the first ``after_rounds / (teams - 1)``
meetings of its pair in time order (three in the Scottish Premiership's 33 rounds). The split is *decided*
once no match before it is left to play: its groups then come from the table as it stands and the store's
fixtures after the split are played as they are. While it is not decided, each simulation splits its own
table, and the fixtures after the split are generated per simulation (the store's, if any, were made for
the real split and are left out): each pair of a group meets ``meetings`` more times; a pair meeting twice
plays once at each ground; a pair meeting once plays at the ground of the team that hosted fewer of their
earlier meetings (the SPFL's principle; it matches 129 of the 150 real post-split fixtures of 2020/21-2024/25,
the rest moved to even out home games); where both hosted as many (Greece: one each), a balanced round robin
by position at the split in which the top half of the group hosts one match more (:func:`balanced_host`;
it gives Greece's real home counts, not its drawn pairings).
A match after the split between teams of different groups (Belgium's play-off for the last European place)
is not a league match and is left out of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from formguide.football.rules import Split

__all__ = ["SplitPlan", "active_candidates", "balanced_host", "groups_from_order", "meeting_numbers", "plan_split",
           "split_candidates"]


def meeting_numbers(home: NDArray[np.intp], away: NDArray[np.intp], t: int) -> NDArray[np.int64]:
    """For matches in time order: 1 for a pair's first meeting, 2 for its second, ..."""
    pair = np.minimum(home, away).astype(np.int64) * t + np.maximum(home, away)
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]])
    lengths = np.diff(np.r_[starts, len(pair)])
    numbers = np.empty(len(pair), dtype=np.int64)
    numbers[order] = np.arange(len(pair)) - np.repeat(starts, lengths) + 1
    return numbers


@dataclass(frozen=True)
class SplitPlan:
    """How one season's split is simulated (arrays over the played rows and the fixture rows)."""

    split: Split
    pre_played: NDArray[np.bool_]
    pre_fixtures: NDArray[np.bool_]
    decided: bool
    keep_fixtures: NDArray[np.bool_]
    generate: bool
    hosts: NDArray[np.int64]
    notes: tuple[str, ...]

    @property
    def edges(self) -> NDArray[np.int64]:
        return np.cumsum([0] + [g.size for g in self.split.groups])

    @property
    def meetings(self) -> NDArray[np.int64]:
        return np.array([g.meetings for g in self.split.groups], dtype=np.int64)

    @property
    def halved(self) -> NDArray[np.bool_]:
        return np.array([g.halve_points for g in self.split.groups], dtype=bool)


def plan_split(split: Split, t: int, played: tuple[NDArray[np.intp], NDArray[np.intp]],
               fixtures: tuple[NDArray[np.intp], NDArray[np.intp]]) -> SplitPlan:
    """Which matches come before the split, whether it is decided, and whether fixtures after it are generated.

    ``played`` and ``fixtures`` are (home, away) team indices, each in time order (played before fixtures).
    """
    per_pair = split.after_rounds // (t - 1)
    home = np.concatenate([played[0], fixtures[0]])
    away = np.concatenate([played[1], fixtures[1]])
    pre = meeting_numbers(home, away, t) <= per_pair
    n_played = len(played[0])
    pre_played, pre_fixtures = pre[:n_played], pre[n_played:]
    decided = not pre_fixtures.any()
    hosts = np.zeros((t, t), dtype=np.int64)
    np.add.at(hosts, (home[pre], away[pre]), 1)
    notes: list[str] = []
    if decided:
        generate = bool(pre_played.all() and pre_fixtures.all())  # nothing after the split in the store
        keep = np.ones(len(pre_fixtures), dtype=bool)
        if generate:
            notes.append("the fixtures after the split are not in the store: generated from the groups as they "
                         "stand")
    else:
        if not pre_played.all():
            raise ValueError(f"{int((~pre_played).sum())} match(es) after the split (a pair's meeting number "
                             f"{per_pair + 1}+) were played before the first {split.after_rounds} rounds were "
                             "complete; cannot tell the split")
        generate, keep = True, pre_fixtures.copy()
        if (~pre_fixtures).any():
            notes.append(f"{int((~pre_fixtures).sum())} fixtures after the split in the store are left out: they "
                         "were made for the real split, and each simulation splits its own table")
    return SplitPlan(split=split, pre_played=pre_played, pre_fixtures=pre_fixtures, decided=decided,
                     keep_fixtures=keep, generate=generate, hosts=hosts, notes=tuple(notes))


def groups_from_order(order: NDArray[np.intp], edges: NDArray[np.int64]) -> tuple[NDArray[np.int64],
                                                                                  NDArray[np.int64]]:
    """Each team's group and position (0-based) per simulation ``(n, t)``, from a table order ``(n, t)``."""
    n, t = order.shape
    pos = np.empty_like(order, dtype=np.int64)
    np.put_along_axis(pos, order, np.broadcast_to(np.arange(t, dtype=np.int64), (n, t)), axis=1)
    return np.searchsorted(edges[1:], pos, side="right").astype(np.int64), pos


def balanced_host(i: NDArray[np.int64], j: NDArray[np.int64], size: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Whether the team ``i``-th in its group hosts the ``j``-th in a single round robin of ``size`` teams.

    A cyclic round robin: with an odd size everyone hosts ``(size - 1) / 2``; with an even size the first
    ``size - 1`` form one and the last-placed team hosts the bottom half, so the top half hosts one more
    (Greece's play-out: 7th-10th host four of their seven matches, 11th-14th three).
    """
    odd = size % 2 == 1
    m = np.where(odd, size, size - 1)
    cyclic = ((j - i) % m >= 1) & ((j - i) % m <= (m - 1) // 2)
    last = size - 1
    even = np.where(i == last, j >= size // 2, np.where(j == last, i < size // 2, cyclic))
    return np.where(odd, cyclic, even)


def active_candidates(home: NDArray[np.intp], away: NDArray[np.intp], group: NDArray[np.int64],
                      pos: NDArray[np.int64], hosts: NDArray[np.int64], meetings: NDArray[np.int64],
                      edges: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``(C, n)``: whether candidate fixture ``home[c]`` v ``away[c]`` is played after the split in each simulation."""
    gh, ga = group[:, home].T, group[:, away].T
    same = gh == ga
    twice = meetings[gh] == 2
    hosted_h, hosted_a = hosts[home, away][:, None], hosts[away, home][:, None]
    start, size = edges[gh], edges[gh + 1] - edges[gh]
    by_balance = balanced_host(pos[:, home].T - start, pos[:, away].T - start, size)
    hosts_once = np.where(hosted_h == hosted_a, by_balance, hosted_h < hosted_a)
    return same & (twice | hosts_once)


def split_candidates(teams: list[str]) -> pd.DataFrame:
    """Every ordered pair of ``teams`` as ``home_team``/``away_team``: the fixtures a split may generate."""
    idx = np.arange(len(teams))
    h, a = np.meshgrid(idx, idx, indexing="ij")
    keep = h != a
    names = np.asarray(teams, dtype=object)
    return pd.DataFrame({"home_team": names[h[keep]], "away_team": names[a[keep]]})
