"""Monte Carlo simulation of the rest of a league season, ranked by the competition's own rules.

A goal model (e.g. Dixon-Coles) gives one score-probability matrix per remaining fixture. Each simulated
season draws every fixture's score from its matrix (``sampling``: exact inverse CDF with guide tables),
adds points, goals for and against to what has been played (and to any points deduction), and ranks the
table (``standings``): points, then the league's tie-breakers from ``rules`` (goal difference and goals in
England; head-to-head first in Spain and Italy; ...), then a fair coin. Without rules the order is points,
goal difference, goals scored, coin. A league that splits (``split``: Scotland after 33 rounds) is ranked
at the split in every simulation, each group plays its own fixtures after it, and positions stay within
the groups. Counting where each team finishes gives position, expected points and the probability of
every place class of the competition (title, European places, promotion, play-offs, relegation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.football.rules import CompetitionRules, PlaceClass
from formguide.football.split import (
    SplitPlan,
    active_candidates,
    groups_from_order,
    plan_split,
    split_candidates,
)
from formguide.football.standings import rank, settle_play_offs
from formguide.football.tally import Draws, match_source, played_part, table

__all__ = ["SeasonSimulation", "simulate_season", "split_candidates"]

# Matrices whose total mass is within this of 1 are accepted and renormalised: a model evaluated on
# a truncated score grid (0..G goals) loses a sliver of mass to scores above G.
SUM_TOL = 1e-3
# Simulations processed per block: bounds memory (about 25 bytes per fixture and simulation) and
# keeps the working set small. It fixes how the seeded stream is consumed, so it is a constant.
_BLOCK = 8192
_LEGACY = ("goal_difference", "goals_for")


@dataclass(frozen=True, eq=False)  # a generated __eq__ would compare arrays ambiguously
class SeasonSimulation:
    """Final-table probabilities from :func:`simulate_season`.

    Arrays are indexed by ``teams`` (sorted by name); ``position_probs[i, p]`` is the probability
    that team ``i`` finishes in position ``p + 1``. ``places[key]`` is the probability of each place
    class of ``rules`` (empty without rules); ``top_n`` and ``relegation`` are the top ``n_top`` and
    bottom ``n_relegation`` places (with rules: the rules' relegation class).
    """

    teams: list[str]
    position_probs: NDArray[np.float64]
    title: NDArray[np.float64]
    top_n: NDArray[np.float64]
    relegation: NDArray[np.float64]
    expected_points: NDArray[np.float64]
    expected_position: NDArray[np.float64]
    current_points: NDArray[np.int64]
    n_top: int
    n_relegation: int
    n_simulations: int
    points: tuple[int, int, int] = (3, 1, 0)
    seed: int | None = None
    places: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    rules: CompetitionRules | None = None
    notes: tuple[str, ...] = ()
    #: A league that splits: ``split_groups[i, g]`` is the probability that team ``i`` is in group ``g`` after it.
    split_groups: NDArray[np.float64] | None = None

    @property
    def place_classes(self) -> tuple[PlaceClass, ...]:
        return self.rules.places if self.rules is not None else ()

    def to_frame(self) -> pd.DataFrame:
        """One row per team, best expected points first; a column per place class, ``pos_1 .. pos_T`` positions."""
        n_teams = len(self.teams)
        columns = {
            "team": self.teams,
            "current_points": self.current_points,
            "expected_points": self.expected_points,
            "expected_position": self.expected_position,
            "title": self.title,
            "top_n": self.top_n,
            "relegation": self.relegation,
        }
        columns.update({k: v for k, v in self.places.items() if k not in columns})
        if self.split_groups is not None:
            columns["split_top"] = self.split_groups[:, 0]  # in the top group after the split
        frame = pd.DataFrame(columns)
        positions = pd.DataFrame(self.position_probs, columns=[f"pos_{p}" for p in range(1, n_teams + 1)])
        frame = pd.concat([frame, positions], axis=1)
        frame = frame.sort_values(
            ["expected_points", "expected_position", "team"], ascending=[False, True, True], kind="stable"
        ).reset_index(drop=True)
        frame.attrs.update(n_top=self.n_top, n_relegation=self.n_relegation, n_simulations=self.n_simulations)
        return frame

    def to_dict(self) -> dict:
        """JSON-ready summary (plain Python types), teams ordered as in :meth:`to_frame`."""
        frame = self.to_frame()
        pos_cols = [c for c in frame.columns if c.startswith("pos_")]
        teams = [
            {
                "team": str(row.team),
                "current_points": int(row.current_points),
                "expected_points": float(row.expected_points),
                "expected_position": float(row.expected_position),
                "title": float(row.title),
                "top_n": float(row.top_n),
                "relegation": float(row.relegation),
                "places": {k: float(frame.loc[i, k]) for k in self.places},
                **({"split_top": float(frame.loc[i, "split_top"])} if self.split_groups is not None else {}),
                "positions": [float(v) for v in frame.loc[i, pos_cols]],
            }
            for i, row in enumerate(frame.itertuples(index=False))
        ]
        return {
            "n_simulations": self.n_simulations,
            "seed": self.seed,
            "n_top": self.n_top,
            "n_relegation": self.n_relegation,
            "points": list(self.points),
            "rules": None if self.rules is None else self.rules.summary(),
            "notes": list(self.notes),
            "teams": teams,
        }


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; it has {list(frame.columns)}")


def _team_names(frame: pd.DataFrame, name: str) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    home = frame["home_team"].to_numpy(dtype=object, na_value=None)
    away = frame["away_team"].to_numpy(dtype=object, na_value=None)
    for col, values in (("home_team", home), ("away_team", away)):
        bad = np.array([not isinstance(v, str) or not v for v in values], dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} row {frame.index[i]!r}, column {col}: missing team name ({values[i]!r})"
            )
    same = home == away
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise ValueError(f"{name} row {frame.index[i]!r}: {home[i]!r} cannot play itself")
    return home, away


def _played_goals(played: pd.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    goals = []
    for col in ("home_goals", "away_goals"):
        g = pd.to_numeric(played[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(g) | (g < 0) | (g != np.round(g))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raw = played[col].iloc[i]
            raw = raw.item() if isinstance(raw, np.generic) else raw
            hint = "; unplayed matches belong in `fixtures`" if pd.isna(raw) else ""
            raise ValueError(
                f"played row {played.index[i]!r} ({played['home_team'].iloc[i]} v {played['away_team'].iloc[i]}),"
                f" column {col}: {raw!r} is not a non-negative whole number of goals{hint}"
            )
        goals.append(g.astype(np.int64))
    return goals[0], goals[1]


def _check_score_probs(score_probs: ArrayLike, fixtures: pd.DataFrame, home, away) -> NDArray[np.float64]:
    m = len(fixtures)
    p = np.asarray(score_probs, dtype=np.float64)
    if m == 0 and p.size == 0:
        return np.zeros((0, 1, 1))
    if p.ndim != 3 or p.shape[0] != m:
        raise ValueError(
            f"score_probs must have shape (n_fixtures, G+1, G+1) = ({m}, G+1, G+1) to match fixtures,"
            f" got {p.shape}"
        )
    flat = p.reshape(m, -1)
    bad = ~np.isfinite(flat).all(axis=1) | (flat < 0).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"score_probs[{i}] ({home[i]} v {away[i]}, fixtures row {fixtures.index[i]!r}) has negative or"
            " non-finite entries"
        )
    totals = flat.sum(axis=1)
    bad = np.abs(totals - 1.0) > SUM_TOL
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"score_probs[{i}] ({home[i]} v {away[i]}, fixtures row {fixtures.index[i]!r}) sums to"
            f" {totals[i]:.6f}, not 1 (tolerance {SUM_TOL}); {int(bad.sum())} matrices in total are off"
        )
    return p / totals[:, None, None]


@dataclass
class _Season:
    """Everything a block of simulations needs, checked and indexed once."""

    t: int
    points: tuple[int, int, int]
    criteria: tuple[str, ...]
    played: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]]
    adjust: NDArray[np.int64]
    fixtures: Draws
    plan: SplitPlan | None = None
    after_criteria: tuple[str, ...] = ()
    candidates: Draws | None = None
    group: NDArray[np.int64] | None = None  # a decided split: each team's group and position at the split
    pos: NDArray[np.int64] | None = None
    base_points: NDArray[np.int64] | None = None  # a decided split: points carried (halved) + played after it
    base_gf: NDArray[np.int64] | None = None
    base_ga: NDArray[np.int64] | None = None
    rounded: NDArray[np.bool_] | None = None
    deciders: tuple[int, ...] = ()

    def played_mask(self, mask: NDArray[np.bool_]) -> tuple:
        h, a, hg, ag = self.played
        return h[mask], a[mask], hg[mask], ag[mask]

    def block(self, rng: np.random.Generator, b: int) -> tuple[NDArray[np.intp], NDArray[np.int64],
                                                               NDArray[np.int64] | None]:
        """Team in each position, final points and (a split) each team's group, ``(b, t)`` each, of ``b`` seasons."""
        if self.plan is None:
            order, pts, group = self._plain(rng, b)
        elif self.plan.decided:
            order, pts, group = self._after_split(rng, b)
        else:
            order, pts, group = self._through_split(rng, b)
        return settle_play_offs(order, pts, self.deciders, rng), pts, group

    def _stats(self, gf, ga, **extra) -> dict[str, NDArray]:
        return {"goal_difference": gf - ga, "goals_for": gf, **extra}

    def _plain(self, rng, b):
        cells = self.fixtures.draw(rng, b)
        pts, gf, ga = self.fixtures.tally(cells)
        cur_pts, cur_gf, cur_ga = table(*self.played, self.t, self.points)
        pts, gf, ga = pts + cur_pts + self.adjust, gf + cur_gf, ga + cur_ga
        source = match_source([played_part(*self.played, b), self.fixtures.part(cells)])
        return rank(pts, self._stats(gf, ga), self.criteria, rng, source, scheme=self.points), pts, None

    def _after_split(self, rng, b):
        cells = self.fixtures.draw(rng, b)
        pts, gf, ga = self.fixtures.tally(cells)
        pts, gf, ga = pts + self.base_points, gf + self.base_gf, ga + self.base_ga
        source = match_source([played_part(*self.played, b), self.fixtures.part(cells)])
        stats = self._stats(gf, ga, split_rank=np.broadcast_to(-self.pos, pts.shape),
                            not_rounded=np.broadcast_to(~self.rounded, pts.shape).astype(np.int64))
        leading = np.broadcast_to(-self.group, pts.shape)
        order = rank(pts, stats, self.after_criteria, rng, source, leading=leading, scheme=self.points)
        return order, pts, np.broadcast_to(self.group, pts.shape)

    def _through_split(self, rng, b):
        plan, cand = self.plan, self.candidates
        assert plan is not None and cand is not None
        pre_played = self.played  # an undecided split has played nothing after it
        cells = self.fixtures.draw(rng, b)
        p1, gf1, ga1 = self.fixtures.tally(cells)
        cur_pts, cur_gf, cur_ga = table(*pre_played, self.t, self.points)
        p1, gf1, ga1 = p1 + cur_pts + self.adjust, gf1 + cur_gf, ga1 + cur_ga
        parts = [played_part(*pre_played, b), self.fixtures.part(cells)]
        order = rank(p1, self._stats(gf1, ga1), self.criteria, rng, match_source(parts), scheme=self.points)
        group, pos = groups_from_order(order, plan.edges)
        halve = plan.halved[group]
        carried = np.where(halve, (p1 + 1) // 2, p1)
        rounded = halve & (p1 % 2 == 1)
        active = active_candidates(cand.home, cand.away, group, pos, plan.hosts, plan.meetings, plan.edges)
        cells2 = cand.draw(rng, b)
        p2, gf2, ga2 = cand.tally(cells2, active)
        pts, gf, ga = carried + p2, gf1 + gf2, ga1 + ga2
        stats = self._stats(gf, ga, split_rank=-pos, not_rounded=(~rounded).astype(np.int64))
        source = match_source(parts + [cand.part(cells2, active)])
        return rank(pts, stats, self.after_criteria, rng, source, leading=-group, scheme=self.points), pts, group


def _time_order(frame: pd.DataFrame) -> NDArray[np.intp]:
    """Row order by kick-off when the frame has one (stable), else as given."""
    if "kickoff" not in frame.columns or frame.empty:
        return np.arange(len(frame))
    return np.argsort(pd.to_datetime(frame["kickoff"]).to_numpy(), kind="stable")


def _candidate_draws(split_fixtures: pd.DataFrame | None, split_probs: ArrayLike | None, index: pd.Index,
                     points: tuple[int, int, int]) -> Draws:
    """Every ordered pair's score matrix for fixtures a split generates; all pairs are required."""
    if split_fixtures is None or split_probs is None:
        raise ValueError("this split needs fixtures generated after it: pass split_fixtures (every ordered pair "
                         "of teams, see split_candidates) and split_probs")
    _require_columns(split_fixtures, ["home_team", "away_team"], "split_fixtures")
    home, away = _team_names(split_fixtures, "split_fixtures")
    probs = _check_score_probs(split_probs, split_fixtures, home, away)
    h, a = index.get_indexer(home), index.get_indexer(away)
    t = len(index)
    if (h < 0).any() or (a < 0).any():
        i = int(np.flatnonzero((h < 0) | (a < 0))[0])
        raise ValueError(f"split_fixtures row {split_fixtures.index[i]!r}: {home[i]} v {away[i]} is not a pair of "
                         "the season's teams")
    code = h * t + a
    uniq, first = np.unique(code, return_index=True)
    if len(uniq) != t * (t - 1):
        have = set(uniq.tolist())
        missing = next(f"{index[i]} v {index[j]}" for i in range(t) for j in range(t)
                       if i != j and i * t + j not in have)
        raise ValueError(f"split_fixtures lacks {t * (t - 1) - len(uniq)} ordered pair(s), e.g. {missing}")
    return Draws(h[first], a[first], probs[first], t, points)


def _stack(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Score matrices of two sets in one array, the smaller grid padded with zero probability."""
    rows, cols = max(a.shape[1], b.shape[1]), max(a.shape[2], b.shape[2])
    out = np.zeros((len(a) + len(b), rows, cols))
    out[: len(a), : a.shape[1], : a.shape[2]] = a
    out[len(a):, : b.shape[1], : b.shape[2]] = b
    return out


def _decide_split(season: _Season, plan: SplitPlan, rng: np.random.Generator, fixtures: tuple,
                  cand: Draws | None) -> list[str]:
    """A decided split: groups from the table at the split, matches across groups left out, fixtures fixed."""
    t, notes = season.t, []
    h, a, hg, ag = season.played
    pre = plan.pre_played
    p1, gf1, ga1 = table(h[pre], a[pre], hg[pre], ag[pre], t, season.points)
    p1 = p1 + season.adjust
    stats = {"goal_difference": (gf1 - ga1)[None], "goals_for": gf1[None]}
    parts = [played_part(h[pre], a[pre], hg[pre], ag[pre], 1)]
    order = rank(p1[None], stats, season.criteria, rng, match_source(parts), scheme=season.points)
    group, pos = (x[0] for x in groups_from_order(order, plan.edges))
    halve = plan.halved[group]
    # matches after the split between groups are not league matches (e.g. Belgium's European play-off)
    keep = pre | (group[h] == group[a])
    f_home, f_away, f_probs = fixtures
    f_keep = group[f_home] == group[f_away]
    dropped = int((~keep).sum() + (~f_keep).sum())
    if dropped:
        notes.append(f"{dropped} match(es) after the split between teams of different groups are not league "
                     "matches and are left out")
    post = keep & ~pre
    p2, gf2, ga2 = table(h[post], a[post], hg[post], ag[post], t, season.points)
    f_home, f_away, f_probs = f_home[f_keep], f_away[f_keep], f_probs[f_keep]
    if cand is not None:  # generated from the groups as they stand: the same in every simulation
        on = active_candidates(cand.home, cand.away, group[None], pos[None], plan.hosts, plan.meetings, plan.edges)[:, 0]
        f_home, f_away = np.r_[f_home, cand.home[on]], np.r_[f_away, cand.away[on]]
        f_probs = _stack(f_probs, cand.probs[on])
    season.played = (h[keep], a[keep], hg[keep], ag[keep])
    season.fixtures = Draws(f_home, f_away, f_probs, t, season.points)
    season.group, season.pos = group, pos
    season.rounded = halve & (p1 % 2 == 1)
    season.base_points = np.where(halve, (p1 + 1) // 2, p1) + p2
    season.base_gf, season.base_ga = gf1 + gf2, ga1 + ga2
    return notes


def simulate_season(
    played: pd.DataFrame | None,
    fixtures: pd.DataFrame,
    score_probs: ArrayLike,
    n: int = 20000,
    seed: int | np.random.Generator | None = None,
    top_n: int = 4,
    relegation_n: int = 3,
    points: tuple[int, int, int] = (3, 1, 0),
    adjustments: Mapping[str, int] | None = None,
    rules: CompetitionRules | None = None,
    split_fixtures: pd.DataFrame | None = None,
    split_probs: ArrayLike | None = None,
) -> SeasonSimulation:
    """Simulate the remaining ``fixtures`` ``n`` times and tally where every team finishes.

    ``played`` holds finished matches (``home_team``, ``away_team``, ``home_goals``, ``away_goals``;
    ``None`` or empty when simulating from scratch). ``fixtures`` holds the ``m`` matches still to
    play, in the order of ``score_probs`` with shape ``(m, G+1, G+1)``, home goals on axis 1.
    ``points`` is (win, draw, loss). ``adjustments`` adds points to (or, negative, deducts them from)
    a team's total, e.g. ``{"Everton": -8}``; it is part of ``current_points``. Teams are everyone
    named in either frame. When no fixtures are left the table is final.

    ``rules`` (``rules.rules_for``) gives the tie-breakers, the place classes reported in ``places``
    and a split; without it the order is points, goal difference, goals scored, then a coin. Matches
    are taken in ``kickoff`` order when the frames have that column. A split whose groups are not
    known yet (or whose later fixtures are not in ``fixtures``) generates the fixtures after it: then
    ``split_fixtures``/``split_probs`` must give a score matrix for every ordered pair of teams
    (``split_candidates(teams)``).
    """
    n = int(n)
    if n <= 0:
        raise ValueError(f"n (number of simulations) must be positive, got {n}")
    if len(points) != 3 or any(int(p) != p or p < 0 for p in points):
        raise ValueError(f"points must be three non-negative integers (win, draw, loss), got {points!r}")
    scheme = tuple(int(p) for p in points)
    if rules is not None:
        scheme = tuple(rules.points)

    if played is None:
        played = pd.DataFrame(columns=["home_team", "away_team", "home_goals", "away_goals"])
    _require_columns(played, ["home_team", "away_team", "home_goals", "away_goals"], "played")
    _require_columns(fixtures, ["home_team", "away_team"], "fixtures")
    p_home, p_away = _team_names(played, "played")
    f_home, f_away = _team_names(fixtures, "fixtures")
    hg_played, ag_played = _played_goals(played)
    probs = _check_score_probs(score_probs, fixtures, f_home, f_away)

    teams = sorted(set(p_home) | set(p_away) | set(f_home) | set(f_away))
    t = len(teams)
    if t == 0:
        raise ValueError("no teams: played and fixtures are both empty")
    if rules is not None and rules.teams != t:
        raise ValueError(f"the rules of {rules.league} {rules.seasons} are for {rules.teams} teams; played and "
                         f"fixtures name {t}")
    if not 0 <= top_n <= t:
        raise ValueError(f"top_n must be between 0 and the number of teams ({t}), got {top_n}")
    if not 0 <= relegation_n <= t:
        raise ValueError(f"relegation_n must be between 0 and the number of teams ({t}), got {relegation_n}")
    index = pd.Index(teams)
    adjust = _adjustments(adjustments, index)

    po, fo = _time_order(played), _time_order(fixtures)
    played_arr = (index.get_indexer(p_home)[po], index.get_indexer(p_away)[po], hg_played[po], ag_played[po])
    fh, fa, probs = index.get_indexer(f_home)[fo], index.get_indexer(f_away)[fo], probs[fo]
    rng = np.random.default_rng(seed)
    criteria = tuple(rules.tiebreak) if rules is not None else _LEGACY
    season = _Season(t=t, points=scheme, criteria=criteria, played=played_arr, adjust=adjust,
                     fixtures=Draws(fh, fa, probs, t, scheme) if rules is None or rules.split is None else None,
                     deciders=tuple(rules.deciders) if rules is not None else ())
    notes: list[str] = []
    if rules is not None and rules.split is not None:
        plan = plan_split(rules.split, t, played_arr[:2], (fh, fa))
        notes += plan.notes
        cand = _candidate_draws(split_fixtures, split_probs, index, scheme) if plan.generate else None
        season.plan, season.after_criteria, season.candidates = plan, tuple(rules.split_tiebreak), cand
        if plan.decided:
            notes += _decide_split(season, plan, rng, (fh, fa, probs), cand)
        else:
            keep = plan.keep_fixtures
            season.fixtures = Draws(fh[keep], fa[keep], probs[keep], t, scheme)

    n_groups = len(rules.split.groups) if rules is not None and rules.split is not None else 0
    counts, pts_sum, group_counts = _run(season, rng, n, n_groups)
    sim = _result(season, teams, counts, pts_sum, n, top_n, relegation_n, rules, seed, tuple(notes))
    return replace(sim, split_groups=group_counts / n) if group_counts.size else sim


def _adjustments(adjustments: Mapping[str, int] | None, index: pd.Index) -> NDArray[np.int64]:
    """Points added to (negative: deducted from) each team's total, checked against the season's teams."""
    adjust = np.zeros(len(index), dtype=np.int64)
    for team, delta in (adjustments or {}).items():
        if team not in index:
            raise ValueError(f"adjustments name {team!r}, who is neither in played nor in fixtures")
        if int(delta) != delta:
            raise ValueError(f"adjustments[{team!r}] must be a whole number of points, got {delta!r}")
        adjust[index.get_loc(team)] += int(delta)
    return adjust


def _run(season: _Season, rng: np.random.Generator, n: int, n_groups: int
         ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Finishing counts ``(team, position)``, summed final points and (a split) group counts over ``n`` seasons,
    in blocks of ``_BLOCK`` so memory stays bounded."""
    t = season.t
    counts = np.zeros((t, t), dtype=np.int64)
    pts_sum = np.zeros(t)
    group_counts = np.zeros((t, n_groups), dtype=np.int64)
    for start in range(0, n, _BLOCK):
        order, pts, group = season.block(rng, min(_BLOCK, n - start))
        counts += np.bincount((order * t + np.arange(t)).ravel(), minlength=t * t).reshape(t, t)
        pts_sum += pts.sum(axis=0)
        if group is not None:
            flat = (np.arange(t) * n_groups + group).ravel()
            group_counts += np.bincount(flat, minlength=t * n_groups).reshape(t, n_groups)
    return counts, pts_sum, group_counts


def _current_points(season: _Season) -> NDArray[np.int64]:
    if season.base_points is not None:
        return season.base_points.copy()
    return table(*season.played, season.t, season.points)[0] + season.adjust


def _result(season: _Season, teams: list[str], counts: NDArray[np.int64], pts_sum: NDArray[np.float64], n: int,
            top_n: int, relegation_n: int, rules: CompetitionRules | None, seed, notes: tuple[str, ...]
            ) -> SeasonSimulation:
    t = len(teams)
    position_probs = counts / n
    places = {p.key: position_probs[:, p.first - 1:p.last].sum(axis=1) for p in (rules.places if rules else ())}
    relegation = position_probs[:, t - relegation_n:].sum(axis=1)
    if rules is not None:  # the rules' own relegation class (not always the bottom places: T1 2022/23)
        releg = rules.place("relegation")
        relegation_n = 0 if releg is None else releg.last - releg.first + 1
        relegation = places.get("relegation", np.zeros(t))
    return SeasonSimulation(
        teams=list(teams),
        position_probs=position_probs,
        title=position_probs[:, 0].copy(),
        top_n=position_probs[:, :top_n].sum(axis=1),
        relegation=relegation,
        expected_points=pts_sum / n,
        expected_position=position_probs @ np.arange(1, t + 1),
        current_points=_current_points(season),
        n_top=int(top_n),
        n_relegation=int(relegation_n),
        n_simulations=n,
        points=season.points,
        seed=int(seed) if isinstance(seed, int | np.integer) else None,
        places=places,
        rules=rules,
        notes=notes,
    )
