"""Elo ratings of football teams, computed point-in-time over the canonical match frame.

World Football Elo style: expected score ``1 / (1 + 10**(-(R_home + HA - R_away) / 400))``, update
``K * G * (W - We)`` where ``G`` grows with the goal difference (1, 1.5, then ``(11 + gd) / 8``).

Point in time: ratings move only at the end of each calendar day, so every match of day ``D`` is
rated with what was known after day ``D - 1`` (see :mod:`formguide.core.features.engine`). Fixtures
(NaN goals) get a pre-match rating but do not update anything.

Seasons: at the start of the first day of each competition-season, teams that were not in the
competition's previous season (promoted or relegated into it) replace those that left: they start at
``promoted_initial`` or, by default, at the mean end-of-season rating of the departed teams; arrivals
already rated elsewhere in the frame are shifted together so that their mean lands there (their
differences are kept). Divisions never meet on the pitch, so without this re-anchoring every
promoted champion would carry its lower-division rating up and the top division's level would drift
upwards season after season. Then every team of the season's fixture list is pulled
``season_regression`` of the way towards the mean rating of those teams (the league mean is kept).
All teams of a competition's first season in the frame start at ``initial``, even those rated
elsewhere in the frame (that rating is on another division's scale, or years old). Ratings are per
team name and carry across the competitions of the frame through these season-start rules.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from formguide.core.days import day_numbers
from formguide.core.errors import DataValidationError

__all__ = ["elo_ratings", "elo_timeline", "previous_season"]

_REQUIRED = ("competition", "season", "kickoff", "home_team", "away_team", "home_goals", "away_goals")


def previous_season(season: str) -> str | None:
    """Code of the season before a football-data season code: ``"2425" -> "2324"``, ``"0001" -> "9900"``."""
    text = str(season)
    if len(text) != 4 or not text.isdigit():
        return None
    return f"{(int(text[:2]) - 1) % 100:02d}{(int(text[2:]) - 1) % 100:02d}"


def _check_frame(frame: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataValidationError(f"match frame lacks column(s) {missing} needed for Elo ratings")


def _start_season(
    r: list[float],
    end: dict[int, dict[int, float]],
    squad: list[int],
    prev_cs: int | None,
    arrived: list[int],
    departed: list[int],
    season_regression: float,
    initial: float,
    promoted_initial: float | None,
) -> None:
    """Ratings at the start of a competition-season (in place): arrivals, then regression to the mean.

    Arrivals replace the departed teams: they start at ``promoted_initial`` or at the departed teams'
    mean rating at the end of the previous season; arrivals rated elsewhere in the frame move together
    (keeping their differences) so their mean lands there. This keeps each league's level from
    drifting when teams move between divisions that never meet on the pitch.
    """
    if prev_cs is None:
        for t in squad:  # a competition new to the frame starts from scratch, on its own scale
            r[t] = initial
    else:
        if promoted_initial is not None:
            start = promoted_initial
        else:
            known = [end[prev_cs][t] for t in departed if t in end[prev_cs]]
            start = math.fsum(known) / len(known) if known else initial
        rated = [t for t in arrived if r[t] == r[t]]
        if rated:
            shift = start - math.fsum(r[t] for t in rated) / len(rated)
            for t in rated:
                r[t] += shift
        for t in squad:
            if r[t] != r[t]:
                r[t] = start
    if season_regression > 0.0:
        target = math.fsum(r[t] for t in squad) / len(squad)
        for t in squad:
            r[t] += season_regression * (target - r[t])


def _elo_arrays(
    frame: pd.DataFrame,
    k: float,
    home_advantage: float,
    goal_diff_multiplier: bool,
    season_regression: float,
    initial: float,
    promoted_initial: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pre-match ratings and the home team's rating change per row, in frame order.

    Returns ``(home_pre, away_pre, home_delta, home_code, away_code, day)``; team codes index
    ``pd.factorize`` of home then away names.
    """
    _check_frame(frame)
    if not 0.0 <= season_regression <= 1.0:
        raise ValueError(f"season_regression must be in [0, 1], got {season_regression}")
    n = len(frame)
    day = day_numbers(frame["kickoff"])
    names = pd.concat([frame["home_team"], frame["away_team"]], ignore_index=True)
    codes, teams = pd.factorize(names)
    if (codes < 0).any():
        pos = int(np.flatnonzero(codes < 0)[0]) % n
        col = "home_team" if int(np.flatnonzero(codes < 0)[0]) < n else "away_team"
        raise DataValidationError(f"missing team name at row {pos}, column {col}")
    home_code, away_code = codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    hg = frame["home_goals"].to_numpy(dtype=np.float64)
    ag = frame["away_goals"].to_numpy(dtype=np.float64)
    played = ~(np.isnan(hg) | np.isnan(ag))
    gd = np.where(played, hg - ag, 0.0)
    w = np.where(gd > 0, 1.0, np.where(gd < 0, 0.0, 0.5))
    agd = np.abs(gd)
    if goal_diff_multiplier:
        g = np.where(agd <= 1, 1.0, np.where(agd == 2, 1.5, (11.0 + agd) / 8.0))
    else:
        g = np.ones(n)
    kg = k * g

    # Competition-season bookkeeping (a few hundred groups, not rows).
    cs = frame.groupby(["competition", "season"], sort=False, dropna=False).ngroup().to_numpy()
    order = np.argsort(day, kind="stable")
    cs_sorted = cs[order]
    uniq_cs, first_pos = np.unique(cs_sorted, return_index=True)
    keys = frame[["competition", "season"]].astype(object).to_numpy()
    cs_key = {
        int(c): (keys[order[p], 0], str(keys[order[p], 1])) for c, p in zip(uniq_cs, first_pos, strict=True)
    }
    key_cs = {v: c for c, v in cs_key.items()}
    members = (
        pd.DataFrame({"cs": np.r_[cs, cs], "team": np.r_[home_code, away_code]})
        .drop_duplicates()
        .groupby("cs")["team"]
        .apply(lambda s: sorted(s.tolist()))
        .to_dict()
    )
    # Season starts are handled at the start of a day, in (day, competition, season) order, so
    # that nothing depends on the order of rows within a day.
    starts = []
    for c, p in zip(uniq_cs.tolist(), first_pos.tolist(), strict=True):
        comp, season = cs_key[c]
        prev = previous_season(season)
        prev_cs = key_cs.get((comp, prev)) if prev is not None else None
        arrived: list[int] = []
        departed: list[int] = []
        if prev_cs is not None:
            current, before = set(members[c]), set(members[prev_cs])
            arrived = [t for t in members[c] if t not in before]
            departed = [t for t in members[prev_cs] if t not in current]
        starts.append((int(day[order[p]]), str(comp), season, members[c], prev_cs, arrived, departed))
    starts.sort(key=lambda s: s[:3])

    # The sequential part: a tight loop over plain Python lists.
    hs = home_code[order].tolist()
    as_ = away_code[order].tolist()
    cs_s = cs_sorted.tolist()
    ds = day[order].tolist()
    pl = played[order].tolist()
    kgs = kg[order].tolist()
    ws = w[order].tolist()
    r = [math.nan] * len(teams)
    end: dict[int, dict[int, float]] = {int(c): {} for c in uniq_cs}  # rating after last match in a season
    pre_h = [0.0] * n
    pre_a = [0.0] * n
    dl = [0.0] * n
    pending: list[tuple[int, float, int]] = []
    cur_day = None
    si = 0
    ha = float(home_advantage)
    for i in range(n):
        d = ds[i]
        if d != cur_day:
            for t, x, c in pending:
                r[t] += x
                end[c][t] = r[t]
            pending = []
            cur_day = d
            while si < len(starts) and starts[si][0] == d:
                _, _, _, squad, prev_cs, arrived, departed = starts[si]
                _start_season(r, end, squad, prev_cs, arrived, departed, season_regression, initial,
                              promoted_initial)
                si += 1
        h = hs[i]
        a = as_[i]
        rh = r[h]
        ra = r[a]
        pre_h[i] = rh
        pre_a[i] = ra
        if pl[i]:
            x = kgs[i] * (ws[i] - 1.0 / (1.0 + 10.0 ** ((ra - rh - ha) / 400.0)))
            dl[i] = x
            pending.append((h, x, cs_s[i]))
            pending.append((a, -x, cs_s[i]))

    home_pre = np.empty(n)
    away_pre = np.empty(n)
    delta = np.empty(n)
    home_pre[order] = pre_h
    away_pre[order] = pre_a
    delta[order] = dl
    return home_pre, away_pre, delta, home_code, away_code, day


def elo_ratings(
    frame: pd.DataFrame,
    k: float = 20.0,
    home_advantage: float = 65.0,
    goal_diff_multiplier: bool = True,
    season_regression: float = 1 / 3,
    initial: float = 1500.0,
    promoted_initial: float | None = None,
) -> pd.DataFrame:
    """Pre-match Elo of both teams for every row (fixtures included), aligned with ``frame``.

    ``home_advantage`` enters the expected score only; the returned ratings exclude it.
    """
    home_pre, away_pre, *_ = _elo_arrays(
        frame, k, home_advantage, goal_diff_multiplier, season_regression, initial, promoted_initial
    )
    return pd.DataFrame({"home_elo": home_pre, "away_elo": away_pre}, index=frame.index)


def elo_timeline(
    frame: pd.DataFrame,
    k: float = 20.0,
    home_advantage: float = 65.0,
    goal_diff_multiplier: bool = True,
    season_regression: float = 1 / 3,
    initial: float = 1500.0,
    promoted_initial: float | None = None,
) -> pd.DataFrame:
    """Each team's rating at the end of every day it played: columns ``team``, ``kickoff`` (day), ``elo``.

    Feed it to :func:`formguide.core.features.engine.asof_join` for "the latest rating before day D".
    The season-start regression is applied when a season's first match is rated, so it is not yet in
    a rating read between seasons.
    """
    home_pre, away_pre, delta, home_code, away_code, day = _elo_arrays(
        frame, k, home_advantage, goal_diff_multiplier, season_regression, initial, promoted_initial
    )
    hg = frame["home_goals"].to_numpy(dtype=np.float64)
    ag = frame["away_goals"].to_numpy(dtype=np.float64)
    played = ~(np.isnan(hg) | np.isnan(ag))
    long = pd.DataFrame(
        {
            "team": np.r_[home_code[played], away_code[played]],
            "day": np.r_[day[played], day[played]],
            "pre": np.r_[home_pre[played], away_pre[played]],
            "delta": np.r_[delta[played], -delta[played]],
        }
    )
    agg = long.groupby(["team", "day"], sort=True).agg(pre=("pre", "first"), delta=("delta", "sum"))
    agg = agg.reset_index()
    teams = pd.factorize(pd.concat([frame["home_team"], frame["away_team"]], ignore_index=True))[1]
    out = pd.DataFrame(
        {
            "team": np.asarray(teams, dtype=object)[agg["team"].to_numpy()],
            "kickoff": pd.to_datetime(agg["day"].to_numpy(), unit="D"),
            "elo": agg["pre"].to_numpy() + agg["delta"].to_numpy(),
        }
    )
    return out.sort_values(["kickoff", "team"], kind="stable").reset_index(drop=True)
