"""Monte Carlo simulation of the rest of a league season.

A goal model (e.g. Dixon-Coles) gives one score-probability matrix per remaining fixture. Each
simulated season draws every fixture's score from its matrix, adds the points, goal difference and
goals scored to what has already been played, and ranks the table by points, then goal difference,
then goals scored, then a random draw (standing in for the head-to-head and play-off rules that
differ by league). Counting where each team finishes over many seasons gives position, title,
top-n and relegation probabilities.

Scores are drawn by inverse CDF over the flattened matrix, with uniforms ``u = bits / 2**32`` from
32 random bits. To avoid a binary search per draw, each fixture gets a guide table over ``2**12``
equal buckets of [0, 1): a bucket that holds no CDF step maps straight to its score, and only the
~1 % of draws landing in a bucket with a step fall back to ``searchsorted``. The result is identical
to ``searchsorted(cdf, u, side="right")`` (bucket edges ``b / 2**12`` are exact in floating point)
and several times faster. Each team's points, goals for and goals against are packed into one
integer per score cell so that a single sum over its fixtures tallies all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = ["SeasonSimulation", "simulate_season"]

# Matrices whose total mass is within this of 1 are accepted and renormalised: a model evaluated on
# a truncated score grid (0..G goals) loses a sliver of mass to scores above G.
SUM_TOL = 1e-3
# Guide-table buckets per fixture; a power of two so that ``u * _GUIDE`` and ``b / _GUIDE`` are exact.
_GUIDE_BITS = 12
_GUIDE = 1 << _GUIDE_BITS
# Simulations processed per block: bounds memory (about 25 bytes per fixture and simulation) and
# keeps the working set small. It fixes how the seeded stream is consumed, so it is a constant.
_BLOCK = 8192


@dataclass(frozen=True, eq=False)  # a generated __eq__ would compare arrays ambiguously
class SeasonSimulation:
    """Final-table probabilities from :func:`simulate_season`.

    Arrays are indexed by ``teams`` (sorted by name); ``position_probs[i, p]`` is the probability
    that team ``i`` finishes in position ``p + 1``.
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

    def to_frame(self) -> pd.DataFrame:
        """One row per team, best expected points first; ``pos_1 .. pos_T`` hold position probabilities."""
        n_teams = len(self.teams)
        frame = pd.DataFrame(
            {
                "team": self.teams,
                "current_points": self.current_points,
                "expected_points": self.expected_points,
                "expected_position": self.expected_position,
                "title": self.title,
                "top_n": self.top_n,
                "relegation": self.relegation,
            }
        )
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


def _guide_tables(cdf: NDArray[np.float64]) -> NDArray[np.integer]:
    """Per fixture and bucket ``[b, b+1) / _GUIDE``: the sampled cell if the bucket holds no CDF step, else -1.

    ``count(cdf <= b/L)`` and ``count(cdf < (b+1)/L)`` bound ``searchsorted(cdf, u, "right")`` for every
    ``u`` in the bucket; equal bounds mean the answer does not depend on where in the bucket ``u`` is.
    """
    m, k = cdf.shape
    scaled = cdf * _GUIDE  # exact: power-of-two scale
    offsets = (np.arange(m) * (_GUIDE + 1))[:, None]
    size = m * (_GUIDE + 1)
    # cdf_j <= b/L  <=>  ceil(cdf_j L) <= b ;  cdf_j < b/L  <=>  floor(cdf_j L) < b
    ceil_counts = np.bincount((np.ceil(scaled).astype(np.int64) + offsets).ravel(), minlength=size)
    floor_counts = np.bincount((np.floor(scaled).astype(np.int64) + offsets).ravel(), minlength=size)
    at_or_below = np.cumsum(ceil_counts.reshape(m, _GUIDE + 1), axis=1)[:, :-1]
    below_next = np.cumsum(floor_counts.reshape(m, _GUIDE + 1), axis=1)[:, :-1]
    dtype = np.int16 if k < np.iinfo(np.int16).max else np.int32
    return np.where(at_or_below == below_next, at_or_below, -1).astype(dtype)


def _sample_cells(
    bits: NDArray[np.uint32], cdf: NDArray[np.float64], guide: NDArray[np.integer]
) -> NDArray[np.integer]:
    """Inverse-CDF draw of a flattened score cell for each (fixture, simulation) of random ``bits``.

    The uniform is ``u = bits / 2**32``, so its guide bucket is just the top ``log2(_GUIDE)`` bits.
    """
    m, b = bits.shape
    bucket = bits >> np.uint32(32 - _GUIDE_BITS)
    bucket += (np.arange(m, dtype=np.uint32) * np.uint32(_GUIDE))[:, None]
    cells = np.take(guide, bucket)
    flat = np.flatnonzero(cells < 0)  # row-major, so grouped by fixture
    if flat.size:
        rows = flat // b
        u = bits.ravel()[flat] * 2.0**-32
        bounds = np.searchsorted(rows, np.arange(m + 1))
        found = np.empty(flat.size, dtype=cells.dtype)
        for i in np.flatnonzero(np.diff(bounds)):
            lo, hi = bounds[i], bounds[i + 1]
            found[lo:hi] = np.searchsorted(cdf[i], u[lo:hi], side="right")
        cells.ravel()[flat] = found
    return cells


def _rank(
    pts: NDArray[np.int64], gd: NDArray[np.int64], gf: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.intp]:
    """Team index in each finishing position, per simulation: points, goal difference, goals, coin toss."""
    n, t = pts.shape
    tie = rng.permuted(np.broadcast_to(np.arange(t, dtype=np.int64), (n, t)), axis=1)
    fields = [pts - pts.min(), gd - gd.min(), gf - gf.min()]
    spans = [int(f.max()) + 1 for f in fields] + [t]
    if float(np.prod(np.array(spans, dtype=np.float64))) < 2.0**62:
        key = fields[0]
        for f, span in zip(fields[1:] + [tie], spans[1:], strict=True):
            key = key * span + f
        return np.argsort(-key, axis=1)
    # Astronomical totals: lexsort keys last-to-first, negated for descending order.
    order = np.lexsort((-tie, -fields[2], -fields[1], -fields[0]), axis=1)
    return order


def _result_points(gf: NDArray, ga: NDArray, points: tuple[int, int, int]) -> NDArray[np.int64]:
    win, draw, loss = points
    return np.where(gf > ga, win, np.where(gf == ga, draw, loss)).astype(np.int64)


def _table_so_far(
    home: NDArray[np.intp], away: NDArray[np.intp], hg: NDArray, ag: NDArray, t: int, points
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Points, goals for and goals against per team from the matches already played."""

    def total(h_val: NDArray, a_val: NDArray) -> NDArray[np.int64]:
        return (np.bincount(home, h_val, t) + np.bincount(away, a_val, t)).astype(np.int64)

    return (
        total(_result_points(hg, ag, points), _result_points(ag, hg, points)),
        total(hg, ag),
        total(ag, hg),
    )


def _cell_codes(
    rows: int, cols: int, max_fixtures: int, points: tuple[int, int, int]
) -> tuple[NDArray[np.integer], NDArray[np.integer], int]:
    """Per flattened score cell, one packed integer per side: ``(points * B + goals for) * B + goals against``.

    Summing codes over a team's fixtures sums all three fields at once, exactly, because no field
    can reach ``B``; ``divmod`` by ``B`` unpacks them.
    """
    base = 1 << (max(rows, cols) * max_fixtures + 1).bit_length()
    if (max(points) * max_fixtures + 1) * base * base >= 2**62:
        raise ValueError(
            f"score grid {rows}x{cols} with {max_fixtures} fixtures per team is too large to tally"
        )
    hg, ag = np.divmod(np.arange(rows * cols, dtype=np.int64), cols)
    code_home = (_result_points(hg, ag, points) * base + hg) * base + ag
    code_away = (_result_points(ag, hg, points) * base + ag) * base + hg
    # int32 halves the memory traffic of the per-draw gathers whenever every team total fits.
    dtype = np.int32 if (max(points) * max_fixtures + 1) * base * base < 2**31 else np.int64
    return code_home.astype(dtype), code_away.astype(dtype), base


def _sampler(probs: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.integer]]:
    """Flattened CDF per fixture (exactly 1 from the last possible score on) and its guide table."""
    m = probs.shape[0]
    k = probs.shape[1] * probs.shape[2]
    flat = probs.reshape(m, k)
    cdf = np.minimum(np.cumsum(flat, axis=1), 1.0)
    if m == 0:
        return cdf, np.zeros((0, _GUIDE), dtype=np.int16)
    last = k - 1 - np.argmax(flat[:, ::-1] > 0, axis=1)
    cdf[np.arange(k) >= last[:, None]] = 1.0
    return cdf, _guide_tables(cdf)


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
) -> SeasonSimulation:
    """Simulate the remaining ``fixtures`` ``n`` times and tally where every team finishes.

    ``played`` holds finished matches (``home_team``, ``away_team``, ``home_goals``, ``away_goals``;
    ``None`` or empty when simulating from scratch). ``fixtures`` holds the ``m`` matches still to
    play, in the order of ``score_probs`` with shape ``(m, G+1, G+1)``, home goals on axis 1.
    ``points`` is (win, draw, loss). ``adjustments`` adds points to (or, negative, deducts them from)
    a team's total, e.g. ``{"Everton": -8}``; it is part of ``current_points``. Teams are everyone
    named in either frame. When no fixtures are left the table is final, and only exact ties on
    points, goal difference and goals scored are split at random.
    """
    n = int(n)
    if n <= 0:
        raise ValueError(f"n (number of simulations) must be positive, got {n}")
    if len(points) != 3 or any(int(p) != p or p < 0 for p in points):
        raise ValueError(f"points must be three non-negative integers (win, draw, loss), got {points!r}")
    win, draw, loss = (int(p) for p in points)

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
    if not 0 <= top_n <= t:
        raise ValueError(f"top_n must be between 0 and the number of teams ({t}), got {top_n}")
    if not 0 <= relegation_n <= t:
        raise ValueError(f"relegation_n must be between 0 and the number of teams ({t}), got {relegation_n}")
    index = pd.Index(teams)

    cur_pts, cur_gf, cur_ga = _table_so_far(
        index.get_indexer(p_home), index.get_indexer(p_away), hg_played, ag_played, t, (win, draw, loss)
    )
    for team, delta in (adjustments or {}).items():
        if team not in index:
            raise ValueError(f"adjustments name {team!r}, who is neither in played nor in fixtures")
        if int(delta) != delta:
            raise ValueError(f"adjustments[{team!r}] must be a whole number of points, got {delta!r}")
        cur_pts[index.get_loc(team)] += int(delta)
    # Sort fixtures by home team so each team's home rows are one contiguous slice.
    fh, fa = index.get_indexer(f_home), index.get_indexer(f_away)
    by_home = np.argsort(fh, kind="stable")
    fh, fa, probs = fh[by_home], fa[by_home], probs[by_home]
    by_away = np.argsort(fa, kind="stable")
    home_bounds = np.searchsorted(fh, np.arange(t + 1))
    away_bounds = np.searchsorted(fa[by_away], np.arange(t + 1))

    m, rows, cols = probs.shape
    fixtures_per_team = np.bincount(fh, minlength=t) + np.bincount(fa, minlength=t)
    code_home, code_away, base = _cell_codes(
        rows, cols, int(fixtures_per_team.max(initial=0)), (win, draw, loss)
    )
    cdf, guide = _sampler(probs)

    rng = np.random.default_rng(seed)
    counts = np.zeros((t, t), dtype=np.int64)
    pts_sum = np.zeros(t)
    for start in range(0, n, _BLOCK):
        b = min(_BLOCK, n - start)
        packed = np.zeros((t, b), dtype=code_home.dtype)
        if m:
            cells = _sample_cells(rng.integers(0, 2**32, size=(m, b), dtype=np.uint32), cdf, guide)
            home_codes = np.take(code_home, cells)
            away_codes = np.take(code_away, cells[by_away])
            for team in range(t):
                packed[team] += home_codes[home_bounds[team] : home_bounds[team + 1]].sum(
                    axis=0, dtype=packed.dtype
                )
                packed[team] += away_codes[away_bounds[team] : away_bounds[team + 1]].sum(
                    axis=0, dtype=packed.dtype
                )
        rest, ga = np.divmod(packed.T.astype(np.int64), base)
        pts, gf = np.divmod(rest, base)
        pts += cur_pts
        gf += cur_gf
        ga += cur_ga
        order = _rank(pts, gf - ga, gf, rng)
        counts += np.bincount((order * t + np.arange(t)).ravel(), minlength=t * t).reshape(t, t)
        pts_sum += pts.sum(axis=0)

    position_probs = counts / n
    positions = np.arange(1, t + 1)
    return SeasonSimulation(
        teams=list(teams),
        position_probs=position_probs,
        title=position_probs[:, 0].copy(),
        top_n=position_probs[:, :top_n].sum(axis=1),
        relegation=position_probs[:, t - relegation_n :].sum(axis=1),
        expected_points=pts_sum / n,
        expected_position=position_probs @ positions,
        current_points=cur_pts,
        n_top=int(top_n),
        n_relegation=int(relegation_n),
        n_simulations=n,
        points=(win, draw, loss),
        seed=int(seed) if isinstance(seed, int | np.integer) else None,
    )
