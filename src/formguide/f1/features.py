"""The F1 feature library: point-in-time features of every (race, driver) entry, for training and serving.

Every function takes the canonical entry frame (:mod:`formguide.f1.schema`), which may mix seasons and
races not run yet (NaN ``position``), and returns columns aligned with its index. Outcomes (finishing
order, points, retirements, race conditions) are used only from races on days strictly before the race
day (see :mod:`formguide.core.features.engine`); grid and qualifying of the race itself are pre-race
information and are used by the post-qualifying set only.

Families (``f1_feature_set`` builds them):

* ``grid`` (post-quali only): starting slot (pit lane = back of the grid), its log, pole flag, qualifying
  position, the gap of the driver's best qualifying lap to pole in percent and the same for the team's
  faster car.
* ``driver_form``: per driver over the last ``w`` races run: mean finish, points, DNF rate, win rate,
  mean grid slot and mean qualifying gap to pole.
* ``team_form``: per constructor over its last ``w`` races: mean finish of its cars, points, DNF rate and
  its best car's qualifying gap.
* ``teammate``: share of teammates beaten over the driver's last ``n`` races.
* ``championship``: driver and constructor points, position and gap to the leader in the season's
  standings before the race (race and sprint points of earlier rounds), and final positions of the
  previous season.
* ``circuit``: the driver's and the team's mean finish in earlier races at this circuit, street circuit
  flag, and the share of earlier races there with a safety car.
* ``reliability``: the constructor's mechanical-DNF rate over its last entries.
* ``wet``: the driver's mean finish in earlier wet races minus that in earlier dry ones (lap data, 2018+).
* ``experience``: number of earlier race entries of the driver (log scale).
* ``rating``: online Plackett-Luce ratings of driver and constructor (one gradient step per race).
* ``race_rating``: the same ratings on top of a grid term, i.e. race pace beyond the starting slot.
* ``interactions`` (post-quali only): grid slot times street circuit and times safety-car rate, so a linear
  ranking model can learn that the grid matters more in Monaco than at a track with frequent safety cars.

Race-level quantities (street circuit, safety-car rate) add the same utility to every driver of a race and
so cancel in a Plackett-Luce model on their own; they matter through the interactions and in tree models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from formguide.core.features.engine import (
    FeatureDefinition,
    FeatureSet,
    asof_join,
    day_numbers,
    rolling_before,
)
from formguide.f1.schema import CONDITION_COLUMNS, OUTCOME_COLUMNS

__all__ = [
    "F1_OUTCOME_COLUMNS",
    "GRID_COLUMNS",
    "MOMENTS",
    "championship_features",
    "circuit_features",
    "driver_form_features",
    "experience_features",
    "f1_feature_set",
    "grid_features",
    "interaction_features",
    "race_rating_features",
    "rating_features",
    "reliability_features",
    "team_form_features",
    "teammate_features",
    "wet_features",
]

#: Columns the engine blanks for races at or after ``as_of``: everything learnt by running the race.
F1_OUTCOME_COLUMNS: tuple[str, ...] = tuple(OUTCOME_COLUMNS + CONDITION_COLUMNS)
#: The two prediction moments: before qualifying (no grid) and after it.
MOMENTS: tuple[str, ...] = ("pre-quali", "post-quali")
#: Columns of the ``grid`` family (the ones a pre-qualifying prediction cannot have).
GRID_COLUMNS: tuple[str, ...] = ("grid", "grid_log", "pole", "quali_position", "quali_gap_pct", "quali_rival_gap_pct",
                                 "team_quali_gap_pct", "quali_q2_gap_pct", "quali_q3_gap_pct")

_QUALI_GAP_CAP = 10.0  # percent; slower laps (wet sessions, traffic, 107 % cases) say little more


# --------------------------------------------------------------------------------------------------
# Shared building blocks
# --------------------------------------------------------------------------------------------------


def _run(frame: pd.DataFrame) -> np.ndarray:
    """Entries of races that have been run (finishing order known)."""
    return frame["position"].notna().to_numpy()


def _grid_slot(frame: pd.DataFrame) -> np.ndarray:
    """Starting slot: pit-lane starts (0) go behind the last grid slot; NaN where unknown."""
    grid = frame["grid"].to_numpy(dtype=np.float64, na_value=np.nan)
    codes = pd.factorize(frame["race_id"])[0]
    known = ~np.isnan(grid)
    field = np.bincount(codes, weights=known.astype(np.float64), minlength=codes.max(initial=-1) + 1)
    return np.where(grid > 0, grid, np.where(grid == 0, field[codes], np.nan))


def _quali_gap(frame: pd.DataFrame, rival: bool = False, column: str = "quali_best_ms") -> np.ndarray:
    """Best qualifying lap's gap to the race's fastest qualifying lap, in percent (capped).

    ``column`` picks the lap: the best of the session (default) or one part's (``quali_q2_ms``: the Q2 lap
    against the fastest Q2 lap; NaN for drivers who did not run in it).

    With ``rival`` the reference is the fastest *other* driver: the same for everyone but the
    pole-sitter, whose (negative) value is then the pole margin -- a pole by half a second and one by a
    hundredth say different things about the car.
    """
    ms = pd.Series(frame[column].to_numpy(dtype=np.float64, na_value=np.nan), index=frame.index)
    race = frame["race_id"].to_numpy()
    g = ms.groupby(race)
    pole = g.transform("min").to_numpy()
    ref = pole
    if rival:
        second = ms.where(g.rank(method="first") == 2).groupby(race).transform("max").to_numpy()
        ref = np.where(ms.to_numpy() == pole, second, pole)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = 100.0 * (ms.to_numpy() / ref - 1.0)
    return np.minimum(gap, _QUALI_GAP_CAP)


def _race_scale(frame: pd.DataFrame) -> np.ndarray:
    """Points of the race's top scorer: the unit that makes points comparable across scoring systems
    (a win paid 8-10 points before 2003, 10 until 2009, 25 since). NaN where no one scored."""
    pts = frame["points"].to_numpy(dtype=np.float64, na_value=np.nan)
    top = pd.Series(pts, index=frame.index).groupby(frame["race_id"].to_numpy()).transform("max").to_numpy()
    return np.where(top > 0, top, np.nan)


def _entry_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-entry quantities the history-based families average (NaN where a race has not been run).

    ``pts`` is in units of the race's top score (a win = 1), so form means the same in every era.
    """
    pos = frame["position"].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(
        {
            "driver": frame["driver"].to_numpy(dtype=object),
            "constructor": frame["constructor"].to_numpy(dtype=object),
            "circuit": frame["circuit"].to_numpy(dtype=object),
            "race_id": frame["race_id"].to_numpy(),
            "date": frame["date"].to_numpy(),
            "pos": pos,
            "pts": frame["points"].to_numpy(dtype=np.float64, na_value=np.nan) / _race_scale(frame),
            "dnf": frame["dnf"].to_numpy(dtype=np.float64, na_value=np.nan),
            "mech": frame["mechanical_dnf"].to_numpy(dtype=np.float64, na_value=np.nan),
            "win": np.where(np.isnan(pos), np.nan, (pos == 1).astype(np.float64)),
            "grid": _grid_slot(frame),
            "qgap": _quali_gap(frame, rival=True),
            "wet": frame["wet"].to_numpy(dtype=np.float64, na_value=np.nan),
        },
        index=frame.index,
    )


def _events(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "driver": frame["driver"].to_numpy(dtype=object),
            "constructor": frame["constructor"].to_numpy(dtype=object),
            "circuit": frame["circuit"].to_numpy(dtype=object),
            "season": frame["season"].to_numpy(),
            "date": frame["date"].to_numpy(),
        },
        index=frame.index,
    )


def _team_races(entries: pd.DataFrame) -> pd.DataFrame:
    """One row per (race, constructor) of races run: mean finish, points, DNF rate, best qualifying gap."""
    run = entries[entries["pos"].notna()]
    g = run.groupby(["race_id", "constructor"], sort=False)
    out = g.agg(date=("date", "first"), pos=("pos", "mean"), pts=("pts", "sum"), dnf=("dnf", "mean"),
                qgap=("qgap", "min"))
    return out.reset_index()


# --------------------------------------------------------------------------------------------------
# Feature functions: pure, frame -> DataFrame aligned with frame.index
# --------------------------------------------------------------------------------------------------


def grid_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Starting slot, its log, pole flag, qualifying position, gap to pole, the team's best car's gap to
    pole (the car's pace this weekend) and the gaps within Q2 and Q3 -- pre-race information of the race.

    The best lap alone hides how the pace held across the parts: a pole from one lucky Q3 lap and one
    backed by the fastest Q2 (run, until 2021, on the tyres the top ten start the race on) differ. Chosen
    on 2006-2013 (win log loss 1.431 -> 1.403; Q1 added nothing) before it was run on 2014-2024.
    """
    slot = _grid_slot(frame)
    gap = _quali_gap(frame)
    rival_gap = _quali_gap(frame, rival=True)
    team_gap = pd.Series(rival_gap, index=frame.index).groupby(
        [frame["race_id"].to_numpy(), frame["constructor"].to_numpy(dtype=object)]).transform("min").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        log_slot = np.log(slot)
    pole = np.where(np.isnan(slot), np.nan, (slot == 1).astype(np.float64))
    return pd.DataFrame(
        {
            "grid": slot,
            "grid_log": log_slot,
            "pole": pole,
            "quali_position": frame["quali_position"].to_numpy(dtype=np.float64, na_value=np.nan),
            "quali_gap_pct": gap,
            "quali_rival_gap_pct": rival_gap,
            "team_quali_gap_pct": team_gap,
            "quali_q2_gap_pct": _quali_gap(frame, column="quali_q2_ms"),
            "quali_q3_gap_pct": _quali_gap(frame, column="quali_q3_ms"),
        },
        index=frame.index,
    )[list(GRID_COLUMNS)]


_DRIVER_STATS = ("pos", "pts", "dnf", "win", "grid", "qgap")
_TEAM_STATS = ("pos", "pts", "dnf", "qgap")


def driver_form_features(frame: pd.DataFrame, windows: Sequence[int] = (3, 5)) -> pd.DataFrame:
    """Driver's mean finish, points, DNF and win rate, grid slot and qualifying gap over the last ``w`` races."""
    entries = _entry_outcomes(frame)
    history = entries[_run(frame)]
    events = _events(frame)
    out: dict[str, np.ndarray] = {}
    for w in windows:
        state = rolling_before(events, history, "driver", "date", list(_DRIVER_STATS), int(w))
        for stat in _DRIVER_STATS:
            out[f"drv_form{w}_{stat}"] = state[stat].to_numpy(dtype=np.float64)
    return pd.DataFrame(out, index=frame.index)


def team_form_features(frame: pd.DataFrame, windows: Sequence[int] = (3, 5)) -> pd.DataFrame:
    """Constructor's mean finish, points, DNF rate and best qualifying gap over its last ``w`` races."""
    history = _team_races(_entry_outcomes(frame))
    events = _events(frame)
    out: dict[str, np.ndarray] = {}
    for w in windows:
        state = rolling_before(events, history, "constructor", "date", list(_TEAM_STATS), int(w))
        for stat in _TEAM_STATS:
            out[f"team_form{w}_{stat}"] = state[stat].to_numpy(dtype=np.float64)
    return pd.DataFrame(out, index=frame.index)


def teammate_features(frame: pd.DataFrame, races: int = 10) -> pd.DataFrame:
    """Share of teammates the driver finished ahead of, over their last ``races`` races with a teammate."""
    entries = _entry_outcomes(frame)
    history = entries[entries["pos"].notna()].copy()
    g = history.groupby(["race_id", "constructor"], sort=False)["pos"]
    cars = g.transform("size").to_numpy(dtype=np.float64)
    rank = g.rank(method="min").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        history["beaten"] = np.where(cars > 1, (cars - rank) / (cars - 1), np.nan)
    history = history[history["beaten"].notna()]
    state = rolling_before(_events(frame), history, "driver", "date", ["beaten"], int(races))
    return pd.DataFrame({"tm_h2h": state["beaten"].to_numpy(dtype=np.float64)}, index=frame.index)


def _standings_grid(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Standings after every race of each season for every driver/constructor entered in that season.

    Points of a race not run yet count as 0, so its standings equal those before it. Ranks are
    "min" ranks of cumulative points (ties share the better position): competitors entered only later
    in the season sit at 0 points and do not move anyone's position.
    """
    pts = frame["points"].to_numpy(dtype=np.float64, na_value=np.nan)
    sprint = frame["sprint_points"].to_numpy(dtype=np.float64, na_value=np.nan)
    scale = _race_scale(frame)
    with np.errstate(invalid="ignore"):
        gained = np.nan_to_num((np.nan_to_num(pts) + np.nan_to_num(sprint)) / scale)
    contrib = pd.DataFrame({"race_id": frame["race_id"].to_numpy(), key: frame[key].to_numpy(dtype=object),
                            "gained": gained})
    contrib = contrib.groupby(["race_id", key], sort=False, as_index=False)["gained"].sum()
    races = frame[["race_id", "season", "date"]].drop_duplicates("race_id")
    members = pd.DataFrame({"season": frame["season"].to_numpy(), key: frame[key].to_numpy(dtype=object)})
    members = members.drop_duplicates()
    grid = members.merge(races, on="season", how="inner")
    grid = grid.merge(contrib, on=["race_id", key], how="left")
    grid["gained"] = grid["gained"].fillna(0.0)
    grid = grid.sort_values([key, "season", "date", "race_id"], kind="stable").reset_index(drop=True)
    grid["cum"] = grid.groupby([key, "season"], sort=False)["gained"].cumsum()
    grid["rank"] = grid.groupby("race_id", sort=False)["cum"].rank(method="min", ascending=False)
    grid["leader"] = grid.groupby("race_id", sort=False)["cum"].transform("max")
    return grid


def championship_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Season standings before the race (driver and constructor) and last season's final positions.

    Points (race and sprint) are counted in units of each race's top score (see ``_race_scale``), so
    ``champ_points`` and the gap to the leader ``champ_gap`` read as "race wins' worth" in every era;
    positions rank the same totals. At a season's first race nobody has points yet: points and gap are 0
    and the positions NaN.
    """
    events = _events(frame)
    out: dict[str, np.ndarray] = {}
    for key, prefix in (("driver", "champ"), ("constructor", "team_champ")):
        grid = _standings_grid(frame, key)
        state = asof_join(events, grid, ["season", key], "date", columns=["cum", "rank", "leader"])
        started = state["leader"].notna().to_numpy()
        cum = state["cum"].to_numpy(dtype=np.float64)
        leader = state["leader"].to_numpy(dtype=np.float64)
        if key == "driver":
            out["champ_points"] = np.where(started, cum, 0.0)
            out["champ_gap"] = np.where(started, leader - cum, 0.0)
        out[f"{prefix}_position"] = np.where(started, state["rank"].to_numpy(dtype=np.float64), np.nan)
        # final standings of each season, looked up by the next season
        last = grid.sort_values(["season", "date", "race_id"], kind="stable").groupby(
            ["season", key], sort=False).tail(1)
        final = pd.DataFrame({"season": last["season"].to_numpy() + 1, key: last[key].to_numpy(dtype=object),
                              "rank": last["rank"].to_numpy(dtype=np.float64)})
        prev = events[["season", key]].merge(final, on=["season", key], how="left")
        out[f"{prefix}_prev_season"] = prev["rank"].to_numpy(dtype=np.float64)
    cols = ["champ_points", "champ_gap", "champ_position", "team_champ_position", "champ_prev_season",
            "team_champ_prev_season"]
    return pd.DataFrame(out, index=frame.index)[cols]


def circuit_features(frame: pd.DataFrame, driver_races: int = 5, team_entries: int = 10,
                     sc_races: int = 10) -> pd.DataFrame:
    """Driver's and team's mean finish at this circuit before, street flag, safety-car rate there before."""
    entries = _entry_outcomes(frame)
    run = _run(frame)
    history = entries[run]
    events = _events(frame)
    drv = rolling_before(events, history, ["driver", "circuit"], "date", ["pos"], int(driver_races))
    team = rolling_before(events, history, ["constructor", "circuit"], "date", ["pos"], int(team_entries))
    race_rows = pd.DataFrame({"race_id": frame["race_id"].to_numpy(), "circuit": events["circuit"].to_numpy(),
                              "date": events["date"].to_numpy(),
                              "sc": frame["safety_car"].to_numpy(dtype=np.float64, na_value=np.nan),
                              "run": run})
    races = race_rows.groupby("race_id", sort=False).agg(circuit=("circuit", "first"), date=("date", "first"),
                                                         sc=("sc", "max"), run=("run", "max")).reset_index()
    sc_history = races[races["run"] & races["sc"].notna()]
    sc = rolling_before(events, sc_history, "circuit", "date", ["sc"], int(sc_races))
    ctype = frame["circuit_type"]
    street = np.where(ctype.isna().to_numpy(), np.nan, (ctype == "street").to_numpy(dtype=np.float64,
                                                                                      na_value=0.0))
    return pd.DataFrame(
        {
            "drv_circuit_pos": drv["pos"].to_numpy(dtype=np.float64),
            "team_circuit_pos": team["pos"].to_numpy(dtype=np.float64),
            "circuit_street": street,
            "circuit_sc_rate": sc["sc"].to_numpy(dtype=np.float64),
        },
        index=frame.index,
    )


def reliability_features(frame: pd.DataFrame, entries: int = 20) -> pd.DataFrame:
    """Constructor's mechanical-DNF rate over its last ``entries`` car entries (retirements of unknown cause
    are skipped, not counted as reliable finishes)."""
    hist = _entry_outcomes(frame)
    hist = hist[_run(frame)]
    state = rolling_before(_events(frame), hist, "constructor", "date", ["mech"], int(entries))
    return pd.DataFrame({"team_mech_dnf": state["mech"].to_numpy(dtype=np.float64)}, index=frame.index)


def wet_features(frame: pd.DataFrame, wet_races: int = 10, dry_races: int = 20) -> pd.DataFrame:
    """Driver's mean finish in earlier wet races minus in earlier dry races (negative: better in the wet).

    NaN until the driver has both kinds of race with a known ``wet`` flag (lap data exists from 2018).
    """
    hist = _entry_outcomes(frame)
    hist = hist[_run(frame)]
    events = _events(frame)
    wet = rolling_before(events, hist[hist["wet"] == 1.0], "driver", "date", ["pos"], int(wet_races))
    dry = rolling_before(events, hist[hist["wet"] == 0.0], "driver", "date", ["pos"], int(dry_races))
    delta = wet["pos"].to_numpy(dtype=np.float64) - dry["pos"].to_numpy(dtype=np.float64)
    return pd.DataFrame({"wet_delta": delta}, index=frame.index)


def experience_features(frame: pd.DataFrame) -> pd.DataFrame:
    """log(1 + number of the driver's race entries on earlier days)."""
    hist = _entry_outcomes(frame)[_run(frame)]
    hist = hist.sort_values(["date", "race_id"], kind="stable")
    timeline = pd.DataFrame({"driver": hist["driver"].to_numpy(), "date": hist["date"].to_numpy(),
                             "starts": hist.groupby("driver", sort=False).cumcount().to_numpy() + 1.0})
    state = asof_join(_events(frame), timeline, "driver", "date", columns=["starts"])
    starts = np.nan_to_num(state["starts"].to_numpy(dtype=np.float64), nan=0.0)
    return pd.DataFrame({"drv_starts_log": np.log1p(starts)}, index=frame.index)


def _pl_gradient(u: np.ndarray, position: np.ndarray, top_k: int) -> np.ndarray:
    """Gradient of one race's Plackett-Luce log-likelihood (first ``top_k`` places) in the utilities."""
    order = np.argsort(position, kind="stable")
    us = u[order]
    e = np.exp(us - us.max())
    denom = np.cumsum(e[::-1])[::-1]
    stages = max(0, min(int(top_k), u.size - 1))
    stage = np.arange(u.size) < stages
    inv = np.where(stage, 1.0 / denom, 0.0)
    grad = np.empty(u.size)
    grad[order] = stage - e * np.cumsum(inv)
    return grad


def _online_ratings(frame: pd.DataFrame, lr_driver: float, lr_team: float, carry_driver: float, carry_team: float,
                    top_k: int, grid_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Driver and constructor ratings of each entry read before its race day (see ``rating_features``)."""
    n = len(frame)
    d_codes, _ = pd.factorize(frame["driver"])
    t_codes, _ = pd.factorize(frame["constructor"])
    days = day_numbers(frame["date"])
    season = frame["season"].to_numpy()
    pos = frame["position"].to_numpy(dtype=np.float64, na_value=np.nan)
    offset = np.zeros(n)
    if grid_weight:
        slot = _grid_slot(frame)
        field = pd.Series(np.ones(n)).groupby(frame["race_id"].to_numpy()).transform("size").to_numpy()
        offset = -grid_weight * np.log(np.where(np.isnan(slot), field, slot))
    race_codes, _ = pd.factorize(frame["race_id"])
    order = np.lexsort((race_codes, days))
    # contiguous blocks of rows per race, in time order
    r_sorted = race_codes[order]
    race_starts = np.flatnonzero(np.r_[True, r_sorted[1:] != r_sorted[:-1]])
    race_rows = np.split(order, race_starts[1:]) if n else []
    race_day = days[order][race_starts] if n else np.zeros(0, dtype=np.int64)
    rd = np.zeros(d_codes.max(initial=-1) + 1)
    rt = np.zeros(t_codes.max(initial=-1) + 1)
    pre_d = np.full(n, np.nan)
    pre_t = np.full(n, np.nan)
    last_season = None
    i = 0
    while i < len(race_rows):
        j = i
        while j < len(race_rows) and race_day[j] == race_day[i]:
            j += 1
        first_season = season[race_rows[i][0]]
        if last_season is not None and first_season != last_season:
            rd *= carry_driver
            rt *= carry_team
        last_season = first_season
        delta_d = np.zeros_like(rd)
        delta_t = np.zeros_like(rt)
        for rows in race_rows[i:j]:
            dc, tc = d_codes[rows], t_codes[rows]
            pre_d[rows] = rd[dc]
            pre_t[rows] = rt[tc]
            p = pos[rows]
            if rows.size > 1 and not np.isnan(p).any():
                g = _pl_gradient(rd[dc] + rt[tc] + offset[rows], p, top_k)
                np.add.at(delta_d, dc, lr_driver * g)
                np.add.at(delta_t, tc, lr_team * g)
        rd += delta_d
        rt += delta_t
        i = j
    return pre_d, pre_t


def rating_features(frame: pd.DataFrame, lr_driver: float = 0.05, lr_team: float = 0.05, carry_driver: float = 0.9,
                    carry_team: float = 0.8, top_k: int = 10) -> pd.DataFrame:
    """Online Plackett-Luce ratings of driver and constructor before the race (log-strength scale).

    After each day's races every entrant's utility ``driver + constructor`` takes one gradient step of
    that race's Plackett-Luce log-likelihood (top ``top_k`` places): the driver rating moves by
    ``lr_driver`` times it, the constructor by ``lr_team`` times its cars' sum. At a new season ratings
    shrink toward 0 by ``carry_*`` (cars change more over a winter than drivers). Ratings read before a
    day's races never include that day's results. One pass over race days (about 1,100), numpy inside.
    """
    d, t = _online_ratings(frame, lr_driver, lr_team, carry_driver, carry_team, top_k, 0.0)
    return pd.DataFrame({"drv_rating": d, "team_rating": t}, index=frame.index)


def race_rating_features(frame: pd.DataFrame, grid_weight: float = 1.0, lr_driver: float = 0.05,
                         lr_team: float = 0.05, carry_driver: float = 0.9, carry_team: float = 0.8,
                         top_k: int = 10) -> pd.DataFrame:
    """Race-pace ratings: the online ratings of ``rating_features`` fitted on top of a grid term.

    Each race's utilities are ``driver + constructor - grid_weight * log(grid slot)``, so the ratings only
    absorb what the results say beyond the starting order: a car that races better than it qualifies
    (and wins from second) rates high here even when it rarely takes pole. Past grids are pre-race
    information of past races, so the feature suits both moments.
    """
    d, t = _online_ratings(frame, lr_driver, lr_team, carry_driver, carry_team, top_k, grid_weight)
    return pd.DataFrame({"drv_race_rating": d, "team_race_rating": t}, index=frame.index)


def interaction_features(frame: pd.DataFrame, sc_races: int = 10) -> pd.DataFrame:
    """log grid slot x street circuit, and x the circuit's earlier safety-car rate."""
    with np.errstate(invalid="ignore", divide="ignore"):
        log_slot = np.log(_grid_slot(frame))
    circ = circuit_features(frame, sc_races=sc_races)
    return pd.DataFrame(
        {
            "grid_log_x_street": log_slot * circ["circuit_street"].to_numpy(dtype=np.float64),
            "grid_log_x_sc": log_slot * circ["circuit_sc_rate"].to_numpy(dtype=np.float64),
        },
        index=frame.index,
    )


# --------------------------------------------------------------------------------------------------
# The feature set
# --------------------------------------------------------------------------------------------------


def _check_moment(moment: str) -> str:
    if moment not in MOMENTS:
        raise ValueError(f"unknown prediction moment {moment!r}; choose one of {', '.join(MOMENTS)}")
    return moment


def f1_feature_set(moment: str = "post-quali", form_windows: Sequence[int] = (3, 5), teammate_races: int = 10,
                   mech_entries: int = 20) -> FeatureSet:
    """The F1 feature set for a prediction moment: ``"pre-quali"`` (no grid) or ``"post-quali"``.

    Outcome columns (schema outcomes and race conditions) of races at or after ``as_of`` are blanked by
    ``build(frame, as_of)``, so serving a race on its morning gives exactly its training row.
    """
    _check_moment(moment)
    windows = tuple(int(w) for w in form_windows)
    base = ("race_id", "date", "driver", "constructor", "position")
    hist = base + ("points", "dnf", "mechanical_dnf", "grid", "quali_best_ms", "wet")
    definitions: list[FeatureDefinition] = []
    if moment == "post-quali":
        definitions.append(FeatureDefinition("grid", grid_features, GRID_COLUMNS,
                                             dependencies=(_grid_slot, _quali_gap),
                                             requires=("race_id", "constructor", "grid", "quali_position",
                                                       "quali_best_ms", "quali_q2_ms", "quali_q3_ms")))
    drv_cols = tuple(f"drv_form{w}_{s}" for w in windows for s in _DRIVER_STATS)
    team_cols = tuple(f"team_form{w}_{s}" for w in windows for s in _TEAM_STATS)
    shared = (_entry_outcomes, _events, _run, _grid_slot, _quali_gap, _race_scale)
    definitions += [
        FeatureDefinition("driver_form", driver_form_features, drv_cols, params={"windows": list(windows)},
                          dependencies=shared, requires=hist),
        FeatureDefinition("team_form", team_form_features, team_cols, params={"windows": list(windows)},
                          dependencies=shared + (_team_races,), requires=hist),
        FeatureDefinition("teammate", teammate_features, ("tm_h2h",), params={"races": int(teammate_races)},
                          dependencies=shared, requires=hist),
        FeatureDefinition("championship", championship_features,
                          ("champ_points", "champ_gap", "champ_position", "team_champ_position",
                           "champ_prev_season", "team_champ_prev_season"),
                          dependencies=(_events, _standings_grid, _race_scale),
                          requires=("race_id", "season", "date", "driver", "constructor", "points",
                                    "sprint_points")),
        FeatureDefinition("circuit", circuit_features,
                          ("drv_circuit_pos", "team_circuit_pos", "circuit_street", "circuit_sc_rate"),
                          dependencies=shared, requires=hist + ("circuit", "circuit_type", "safety_car")),
        FeatureDefinition("reliability", reliability_features, ("team_mech_dnf",),
                          params={"entries": int(mech_entries)}, dependencies=shared, requires=hist),
        FeatureDefinition("wet", wet_features, ("wet_delta",), dependencies=shared, requires=hist),
        FeatureDefinition("experience", experience_features, ("drv_starts_log",), dependencies=shared,
                          requires=hist),
        FeatureDefinition("rating", rating_features, ("drv_rating", "team_rating"),
                          dependencies=(_pl_gradient, _online_ratings, _grid_slot),
                          requires=("race_id", "date", "season", "driver", "constructor", "position")),
        FeatureDefinition("race_rating", race_rating_features, ("drv_race_rating", "team_race_rating"),
                          dependencies=(_pl_gradient, _online_ratings, _grid_slot),
                          requires=("race_id", "date", "season", "driver", "constructor", "position", "grid")),
    ]
    if moment == "post-quali":
        definitions.append(FeatureDefinition("interactions", interaction_features,
                                             ("grid_log_x_street", "grid_log_x_sc"),
                                             dependencies=(circuit_features,) + shared,
                                             requires=hist + ("circuit", "circuit_type", "safety_car")))
    return FeatureSet(f"f1-{moment}", definitions, outcome_columns=F1_OUTCOME_COLUMNS, time_column="date")
