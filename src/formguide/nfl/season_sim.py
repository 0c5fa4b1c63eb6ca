"""Monte Carlo of the rest of an NFL regular season: win totals, division titles, playoff berths and seeds.

A model gives P(home win) and P(tie) for every game still to play; games already played keep their result.
Each simulated season draws every open game, tallies the standings (a tie is half a win) and ranks them
with the NFL's tie-breakers (:mod:`formguide.nfl.tiebreak`): division winners, their order (seeds 1-4),
and the wild cards (seeds 5-6 until 2019, 5-7 from 2020; three wild cards in 1999-2001, when a conference
had three divisions). All seasons of a block are drawn and ranked together as arrays; the only Python
loops run over tie-break steps and playoff places, never over seasons or games.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from formguide.nfl.teams import FRANCHISES, UnknownTeamError, division, franchise_codes
from formguide.nfl.tiebreak import rank_divisions, records, seed_conferences

__all__ = ["AWAY_WIN", "HOME_WIN", "TIE", "UNPLAYED", "League", "NFLSchedule", "NFLSeasonSimulation",
           "ScheduleError", "simulate_season"]

#: ``NFLSchedule.result`` codes: the home team's doubled points (win 2, tie 1, loss 0), -1 = still to play.
HOME_WIN, TIE, AWAY_WIN, UNPLAYED = 2, 1, 0, -1
# Seasons drawn and ranked per block: bounds memory (the head-to-head table is n x 32 x 32 bytes). It fixes
# how the seeded stream is consumed, so it is a constant.
_BLOCK = 20_000


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


class ScheduleError(ValueError):
    """A schedule that cannot be simulated; the message names the row and column."""


@dataclass(frozen=True)
class League:
    """Teams, their divisions and conferences, and the playoff format of one season."""

    teams: tuple[str, ...]
    divisions: tuple[str, ...]  # per team
    conferences: tuple[str, ...]  # per team
    seeds: int  # playoff teams per conference
    byes: int  # seeds that skip the wild-card round

    def __post_init__(self) -> None:
        if not len(self.teams) == len(self.divisions) == len(self.conferences):
            raise ValueError("teams, divisions and conferences must have one entry per team")
        if len(set(self.teams)) != len(self.teams):
            raise ValueError("team codes must be unique")
        for d in set(self.divisions):
            confs = {c for c, dd in zip(self.conferences, self.divisions, strict=True) if dd == d}
            if len(confs) != 1:
                raise ValueError(f"division {d!r} spans conferences {sorted(confs)}")
        if not 0 <= self.byes <= self.seeds:
            raise ValueError(f"byes must lie in 0..{self.seeds}, got {self.byes}")

    @classmethod
    def nfl(cls, season: int) -> League:
        """The NFL of ``season``: 12 playoff teams until 2019 (two byes a conference), 14 from 2020 (one)."""
        if season < 1999:
            raise ValueError(f"NFL seasons start at 1999 in formguide, got {season}")
        teams, divisions = [], []
        for team in FRANCHISES:
            try:
                divisions.append(division(team, season))
            except UnknownTeamError:  # Houston before 2002
                continue
            teams.append(team)
        seeds = 7 if season >= 2020 else 6
        return cls(tuple(teams), tuple(divisions), tuple(d.split()[0] for d in divisions), seeds,
                   1 if seeds == 7 else 2)


@dataclass(frozen=True, eq=False)
class NFLSchedule:
    """A season's regular-season games: results of those played, P(home win) and P(tie) of the rest.

    ``result`` holds :data:`HOME_WIN`, :data:`TIE`, :data:`AWAY_WIN` or :data:`UNPLAYED`; ``p_home`` and
    ``p_tie`` are read for unplayed games only (NaN allowed elsewhere). Team codes are mapped to franchise
    codes. ``game_ids`` name games in error messages. ``league`` defaults to :meth:`League.nfl` of ``season``.
    """

    season: int
    home: NDArray[np.object_]
    away: NDArray[np.object_]
    result: NDArray[np.int8]
    p_home: NDArray[np.float64]
    p_tie: NDArray[np.float64]
    league: League | None = None
    game_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        nfl = self.league is None  # NFL codes of any season's spelling are mapped to franchises
        league = League.nfl(self.season) if nfl else self.league
        object.__setattr__(self, "league", league)
        n = len(self.home)
        for name in ("away", "result", "p_home", "p_tie"):
            if len(getattr(self, name)) != n:
                raise ScheduleError(f"schedule column {name} has {len(getattr(self, name))} rows, home has {n}")
        if self.game_ids is not None and len(self.game_ids) != n:
            raise ScheduleError(f"schedule has {len(self.game_ids)} game ids for {n} games")
        for name in ("home", "away"):
            object.__setattr__(self, name, self._codes(name, league, nfl))
        result = np.asarray(self.result)
        bad = ~np.isin(result, (HOME_WIN, TIE, AWAY_WIN, UNPLAYED))
        if bad.any():
            self._fail(int(np.argmax(bad)), "result", f"{result[np.argmax(bad)].item()!r} is not 2, 1, 0 or -1")
        object.__setattr__(self, "result", result.astype(np.int8))
        same = self.home == self.away
        if same.any():
            self._fail(int(np.argmax(same)), "away_team", f"{self.home[np.argmax(same)]} cannot play itself")
        p_home, p_tie = (np.asarray(getattr(self, c), dtype=np.float64) for c in ("p_home", "p_tie"))
        open_ = self.result == UNPLAYED
        for name, p in (("p_home", p_home), ("p_tie", p_tie)):
            bad = open_ & ~((p >= 0) & (p <= 1))  # NaN fails too
            if bad.any():
                self._fail(int(np.argmax(bad)), name, f"{float(p[np.argmax(bad)])!r} is not a probability (game to play)")
        bad = open_ & (p_home + p_tie > 1 + 1e-9)
        if bad.any():
            i = int(np.argmax(bad))
            self._fail(i, "p_tie", f"p_home {p_home[i]:.6g} + p_tie {p_tie[i]:.6g} exceeds 1")
        object.__setattr__(self, "p_home", p_home)
        object.__setattr__(self, "p_tie", p_tie)

    def _codes(self, column: str, league: League, nfl: bool) -> NDArray[np.object_]:
        raw = np.asarray(getattr(self, column), dtype=object)
        if not nfl:  # a league of its own: codes as given
            codes = raw.astype(str)
        else:
            try:
                codes = franchise_codes(raw)
            except UnknownTeamError as exc:
                bad = next(i for i, c in enumerate(raw) if _unknown(c))
                self._fail(bad, f"{column}_team", str(exc))
        known = np.isin(codes, league.teams)
        if not known.all():
            i = int(np.argmax(~known))
            self._fail(i, f"{column}_team", f"{raw[i]!r} is not a team of the {self.season} season")
        return np.asarray(codes, dtype=object)

    def _fail(self, row: int, column: str, why: str) -> None:
        game = f" ({self.game_ids[row]})" if self.game_ids is not None else ""
        raise ScheduleError(f"schedule row {row}{game}, column {column}: {why}")

    @property
    def played(self) -> NDArray[np.bool_]:
        return self.result != UNPLAYED

    @classmethod
    def from_frame(cls, games: pd.DataFrame, season: int, *, as_of: date | str | None = None,
                   source: str = "games") -> NFLSchedule:
        """The regular season ``season`` of a games table (nflverse ``games.csv`` columns).

        Reads ``home_team``, ``away_team``, ``home_score``, ``away_score`` and, where present, ``season``,
        ``game_type`` (REG rows kept), ``gameday``, ``game_id``, ``p_home`` and ``p_tie``. A game counts as
        played when both scores are present and, with ``as_of``, it was played before that day; every
        other game needs ``p_home`` and ``p_tie``. Errors name ``source``, the row and the column.
        """
        missing = [c for c in ("home_team", "away_team", "home_score", "away_score") if c not in games.columns]
        if missing:
            raise ScheduleError(f"{source}: missing column {missing[0]}")
        rows = games.reset_index(drop=True)
        keep = np.ones(len(rows), dtype=bool)
        if "season" in rows.columns:
            keep &= pd.to_numeric(rows["season"], errors="coerce").to_numpy() == season
        if "game_type" in rows.columns:
            keep &= rows["game_type"].astype(str).str.upper().to_numpy() == "REG"
        sub = rows[keep]
        scores = {}
        for col in ("home_score", "away_score"):
            value = pd.to_numeric(sub[col], errors="coerce")
            bad = value.isna() & sub[col].notna() & (sub[col].astype(str).str.strip() != "")
            if bad.any():
                raise ScheduleError(f"{source} row {int(bad.idxmax())}, column {col}: {sub[col][bad].iloc[0]!r} "
                                    "is not a number")
            scores[col] = value.to_numpy(dtype=np.float64)
        played = ~np.isnan(scores["home_score"]) & ~np.isnan(scores["away_score"])
        if as_of is not None:
            if "gameday" not in sub.columns:
                raise ScheduleError(f"{source}: as_of needs a gameday column")
            day = pd.to_datetime(sub["gameday"], errors="coerce")
            if day.isna().any():
                raise ScheduleError(f"{source} row {int(day.isna().idxmax())}, column gameday: not a date")
            played &= (day < pd.Timestamp(as_of)).to_numpy()
        diff = scores["home_score"] - scores["away_score"]
        result = np.where(~played, UNPLAYED, np.where(diff > 0, HOME_WIN, np.where(diff < 0, AWAY_WIN, TIE)))
        probs = {}
        for col in ("p_home", "p_tie"):
            if col in sub.columns:
                probs[col] = pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=np.float64)
            elif not played.all():
                first = int(sub.index[np.argmax(~played)])
                raise ScheduleError(f"{source} row {first}, column {col}: missing for a game still to play")
            else:
                probs[col] = np.full(len(sub), np.nan)
        ids = tuple(f"{source} row {i}" if "game_id" not in sub.columns else str(g)
                    for i, g in zip(sub.index, sub.get("game_id", sub.index), strict=True))
        return cls(season, sub["home_team"].to_numpy(dtype=object), sub["away_team"].to_numpy(dtype=object),
                   result.astype(np.int8), probs["p_home"], probs["p_tie"], game_ids=ids)


def _unknown(code: object) -> bool:
    try:
        franchise_codes([code])
    except UnknownTeamError:
        return True
    return False


@dataclass(frozen=True, eq=False)  # a generated __eq__ would compare arrays ambiguously
class NFLSeasonSimulation:
    """Probabilities from :func:`simulate_season`; arrays are indexed by ``teams``.

    ``win_probs[i, k]`` is P(team i ends with k/2 wins), ties counting half (k = 0 .. 2 x its games);
    ``seed_probs[i, s]`` is P(seed s + 1); ``seed_draws`` (n, T) holds every simulated season's seeds
    (0 = no playoffs) for joint questions.
    """

    season: int
    teams: tuple[str, ...]
    divisions: tuple[str, ...]
    conferences: tuple[str, ...]
    games: NDArray[np.int64]
    current_wins: NDArray[np.float64]
    games_played: NDArray[np.int64]
    win_probs: NDArray[np.float64]
    expected_wins: NDArray[np.float64]
    p_division: NDArray[np.float64]
    p_playoffs: NDArray[np.float64]
    p_first_seed: NDArray[np.float64]
    p_bye: NDArray[np.float64]
    seed_probs: NDArray[np.float64]
    seed_draws: NDArray[np.int8]
    n_simulations: int
    byes: int
    seed: int | None

    def to_frame(self) -> pd.DataFrame:
        """One row per team, grouped by conference and division, best expected wins first."""
        frame = pd.DataFrame({
            "team": self.teams, "conference": self.conferences, "division": self.divisions,
            "games": self.games, "played": self.games_played, "wins_now": self.current_wins,
            "expected_wins": self.expected_wins, "division_title": self.p_division,
            "playoffs": self.p_playoffs, "first_seed": self.p_first_seed, "bye": self.p_bye,
        })
        return frame.sort_values(["conference", "division", "expected_wins", "team"],
                                 ascending=[True, True, False, True], kind="stable").reset_index(drop=True)

    def seed_frame(self, conference: str) -> pd.DataFrame:
        """P(each seed) and P(no playoffs) for the teams of ``conference``, most likely 1 seed first."""
        rows = [i for i, c in enumerate(self.conferences) if c == conference]
        if not rows:
            raise ValueError(f"no conference {conference!r}; the season has {sorted(set(self.conferences))}")
        frame = pd.DataFrame(self.seed_probs[rows], columns=[f"seed_{s + 1}" for s in range(self.seed_probs.shape[1])])
        frame.insert(0, "team", [self.teams[i] for i in rows])
        frame["out"] = 1.0 - self.p_playoffs[rows]
        return frame.sort_values(["seed_1", "out", "team"], ascending=[False, True, True],
                                 kind="stable").reset_index(drop=True)

    def win_frame(self) -> pd.DataFrame:
        """The win-total distribution: one row per team, one column per total (ties as half a win)."""
        cols = [f"{k / 2:g}" for k in range(self.win_probs.shape[1])]
        frame = pd.DataFrame(self.win_probs, columns=cols)
        frame.insert(0, "team", self.teams)
        return frame


def simulate_season(schedule: NFLSchedule, n: int = 20_000, seed: int | None = 0) -> NFLSeasonSimulation:
    """Simulate the open games ``n`` times (numpy Generator seeded by ``seed``) and rank every season.

    An open game is a home win when ``u < p_home``, a tie when ``p_home <= u < p_home + p_tie``, else an
    away win, with ``u`` uniform; the tie-breakers' coin flips are a random order of the teams per season.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    league = schedule.league
    index = {t: i for i, t in enumerate(league.teams)}
    home = np.array([index[t] for t in schedule.home], dtype=np.intp)
    away = np.array([index[t] for t in schedule.away], dtype=np.intp)
    n_teams = len(league.teams)
    games = np.bincount(home, minlength=n_teams) + np.bincount(away, minlength=n_teams)
    n_bins = 2 * int(games.max(initial=0)) + 1
    # The tallies are a few small matrix products; BLAS threads only add hand-offs (worse on a busy machine).
    with _threadpools().limit(limits=1, user_api="blas"):
        points, ranks, seed_draws = _draw(schedule, home, away, n, np.random.default_rng(seed))
    win_probs = np.stack([np.bincount(points[:, t], minlength=n_bins) for t in range(n_teams)]) / n
    seed_probs = np.stack([(seed_draws == s).mean(0) for s in range(1, league.seeds + 1)], axis=1)
    played = schedule.played
    fixed = schedule.result[played].astype(np.float64)
    now = np.bincount(home[played], weights=fixed, minlength=n_teams) + \
        np.bincount(away[played], weights=2 - fixed, minlength=n_teams)
    return NFLSeasonSimulation(
        season=schedule.season, teams=league.teams, divisions=league.divisions, conferences=league.conferences,
        games=games, current_wins=now / 2,
        games_played=np.bincount(home[played], minlength=n_teams) + np.bincount(away[played], minlength=n_teams),
        win_probs=win_probs, expected_wins=win_probs @ (np.arange(n_bins) / 2), p_division=(ranks == 0).mean(0),
        p_playoffs=seed_probs.sum(1), p_first_seed=seed_probs[:, 0], p_bye=seed_probs[:, : league.byes].sum(1),
        seed_probs=seed_probs, seed_draws=seed_draws, n_simulations=n, byes=league.byes, seed=seed,
    )


def _draw(schedule: NFLSchedule, home: NDArray[np.intp], away: NDArray[np.intp], n: int,
          rng: np.random.Generator) -> tuple[NDArray[np.int16], NDArray[np.int8], NDArray[np.int8]]:
    """(n, T) doubled points, division places and seeds of ``n`` seasons, drawn and ranked block by block."""
    league = schedule.league
    n_teams = len(league.teams)
    divisions, conferences = _labels(league.divisions), _labels(league.conferences)
    open_games = np.flatnonzero(~schedule.played)
    p_home = schedule.p_home[open_games][:, None]
    p_home_or_tie = np.minimum(schedule.p_home[open_games] + schedule.p_tie[open_games], 1.0)[:, None]
    fixed = np.where(schedule.played, schedule.result, 0).astype(np.int8)
    points = np.zeros((n, n_teams), dtype=np.int16)
    ranks = np.zeros((n, n_teams), dtype=np.int8)
    seeds = np.zeros((n, n_teams), dtype=np.int8)
    for start in range(0, n, _BLOCK):
        block = slice(start, min(start + _BLOCK, n))
        b = block.stop - start
        u = rng.random((len(open_games), b))
        home_points = np.repeat(fixed[:, None], b, axis=1)
        home_points[open_games] = (u < p_home).astype(np.int8) + (u < p_home_or_tie)
        coin = rng.permuted(np.repeat(np.arange(n_teams)[:, None], b, axis=1), axis=0)
        rec = records(home, away, home_points, divisions, conferences, coin)
        ranks[block] = rank_divisions(rec)
        seeds[block] = seed_conferences(rec, ranks[block], league.seeds)
        points[block] = rec.points.T
    return points, ranks, seeds


def _labels(names: tuple[str, ...]) -> NDArray[np.intp]:
    return np.unique(np.asarray(names), return_inverse=True)[1].astype(np.intp)
