"""The football feature library: one set of point-in-time feature definitions for training and serving.

Every function takes the canonical match frame (:mod:`formguide.football.schema`), which may mix
competitions, seasons and unplayed fixtures (NaN goals), and returns columns aligned with its
index. Outcomes are used only from days strictly before the match day (see
:mod:`formguide.core.features.engine`); a team's "played matches" are rows with both goals known.

Families (``football_feature_set`` builds them):

* ``elo``: pre-match Elo of both teams and their difference including home advantage (season
  rules: :mod:`formguide.football.ratings`).
* ``form``: per team, mean points, goals for/against and shots on target for/against over its last
  ``w`` played matches (home and away, all competitions of the frame), for each window ``w``.
* ``rest``: days since each team's previous played match.
* ``h2h``: the last ``n`` meetings of the two teams at either venue: count, home team's points and
  goal difference per game.
* ``table``: season-to-date league position (points, then goal difference, then goals scored; tied
  teams share the better position) and points per game, from matches on earlier days. The season's
  fixture list defines who is in the table; a team that has not played yet gets NaN.
* ``market``: 1X2 probabilities implied by opening and closing prices with the margin removed, and
  the margin itself; NaN where a price is missing (closing prices do not exist before the close).
* ``promoted``: 1 if the team did not play in the competition's previous season, 0 if it did, NaN
  when the frame does not hold that previous season.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from formguide.core.features.engine import (
    FeatureDefinition,
    FeatureSet,
    asof_join,
    day_numbers,
    event_days,
    rolling_before,
    trailing_window,
)
from formguide.core.markets import METHODS, remove_overround
from formguide.football.ratings import _elo_arrays, _start_season, elo_ratings, elo_timeline, previous_season
from formguide.football.schema import OUTCOMES_1X2, RESULT_CODE, RESULT_COLUMNS, STAT_COLUMNS

__all__ = [
    "FORM_STATS",
    "OUTCOME_COLUMNS",
    "elo_features",
    "football_feature_set",
    "form_features",
    "h2h_features",
    "latest_team_state",
    "market_features",
    "promoted_features",
    "rest_features",
    "table_features",
]

#: Columns the engine blanks for events at or after ``as_of``: everything learnt by playing the match.
OUTCOME_COLUMNS: tuple[str, ...] = tuple(RESULT_COLUMNS + [RESULT_CODE] + STAT_COLUMNS)
#: Per-team statistics averaged by the form features (points, goals and shots on target for/against).
FORM_STATS: tuple[str, ...] = ("ppg", "gf", "ga", "sotf", "sota")

_KEYS = ("competition", "season", "kickoff", "home_team", "away_team")
_GOALS = ("home_goals", "away_goals")
_SOT = ("home_shots_on_target", "away_shots_on_target")


# --------------------------------------------------------------------------------------------------
# Shared building blocks
# --------------------------------------------------------------------------------------------------


def _played(frame: pd.DataFrame) -> np.ndarray:
    return (frame["home_goals"].notna() & frame["away_goals"].notna()).to_numpy()


def _team_matches(frame: pd.DataFrame) -> pd.DataFrame:
    """Long table of played matches, two rows per match (home side first): one team's view of it."""
    played = _played(frame)
    sub = frame.loc[played]
    hg = sub["home_goals"].to_numpy(dtype=np.float64)
    ag = sub["away_goals"].to_numpy(dtype=np.float64)
    hsot = sub["home_shots_on_target"].to_numpy(dtype=np.float64)
    asot = sub["away_shots_on_target"].to_numpy(dtype=np.float64)
    hpts = np.where(hg > ag, 3.0, np.where(hg == ag, 1.0, 0.0))
    apts = np.where(ag > hg, 3.0, np.where(hg == ag, 1.0, 0.0))
    return pd.DataFrame(
        {
            "team": np.r_[sub["home_team"].to_numpy(dtype=object), sub["away_team"].to_numpy(dtype=object)],
            "kickoff": np.r_[sub["kickoff"].to_numpy(), sub["kickoff"].to_numpy()],
            "ppg": np.r_[hpts, apts],
            "gf": np.r_[hg, ag],
            "ga": np.r_[ag, hg],
            "sotf": np.r_[hsot, asot],
            "sota": np.r_[asot, hsot],
            "day": np.r_[day_numbers(sub["kickoff"]), day_numbers(sub["kickoff"])].astype(np.float64),
        }
    )


def _sides(frame: pd.DataFrame) -> pd.DataFrame:
    """Two "events" per match, one per team (home rows first), for team-keyed joins."""
    kick = frame["kickoff"].to_numpy()
    teams = np.r_[frame["home_team"].to_numpy(dtype=object), frame["away_team"].to_numpy(dtype=object)]
    return pd.DataFrame({"team": teams, "kickoff": np.r_[kick, kick]})


def _form_state(events: pd.DataFrame, history: pd.DataFrame, windows: Sequence[int]) -> dict[str, np.ndarray]:
    """``form{w}_{stat}`` for each team-event from that team's last ``w`` matches before the day."""
    out: dict[str, np.ndarray] = {}
    for w in windows:
        state = rolling_before(events, history, "team", "kickoff", list(FORM_STATS), int(w), how="mean")
        for stat in FORM_STATS:
            out[f"form{w}_{stat}"] = state[stat].to_numpy(dtype=np.float64)
    return out


def _split(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    return values[:n], values[n:]


# --------------------------------------------------------------------------------------------------
# Feature functions: pure, frame -> DataFrame aligned with frame.index
# --------------------------------------------------------------------------------------------------


def elo_features(frame: pd.DataFrame, **elo_params: Any) -> pd.DataFrame:
    """Pre-match Elo of both teams and ``elo_diff = home_elo + home_advantage - away_elo``."""
    params = _elo_params(elo_params)
    ratings = elo_ratings(frame, **params)
    ha = float(params["home_advantage"])
    ratings["elo_diff"] = ratings["home_elo"] + ha - ratings["away_elo"]
    return ratings


def form_features(frame: pd.DataFrame, windows: Sequence[int] = (5, 10)) -> pd.DataFrame:
    """Each team's mean points, goals and shots on target over its last ``w`` played matches."""
    n = len(frame)
    state = _form_state(_sides(frame), _team_matches(frame), windows)
    out: dict[str, np.ndarray] = {}
    for w in windows:
        for stat in FORM_STATS:
            home, away = _split(state[f"form{w}_{stat}"], n)
            out[f"home_form{w}_{stat}"] = home
            out[f"away_form{w}_{stat}"] = away
    cols = [f"{side}_form{w}_{stat}" for w in windows for side in ("home", "away") for stat in FORM_STATS]
    return pd.DataFrame(out, index=frame.index)[cols]


def rest_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Days since each team's previous played match (NaN for a team's first match in the frame)."""
    n = len(frame)
    history = _team_matches(frame)
    events = _sides(frame)
    last = asof_join(events, history, "team", "kickoff", columns=["day"])["day"].to_numpy(dtype=np.float64)
    event_day = np.r_[day_numbers(frame["kickoff"]), day_numbers(frame["kickoff"])].astype(np.float64)
    home, away = _split(event_day - last, n)
    return pd.DataFrame({"home_rest_days": home, "away_rest_days": away}, index=frame.index)


def h2h_features(frame: pd.DataFrame, matches: int = 6) -> pd.DataFrame:
    """The two teams' last ``matches`` meetings at either venue, from the home team's side."""
    n = len(frame)
    codes, _ = pd.factorize(pd.concat([frame["home_team"], frame["away_team"]], ignore_index=True))
    hc, ac = codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    first, second = np.minimum(hc, ac), np.maximum(hc, ac)
    pair = first * (int(codes.max(initial=0)) + 1) + second
    home_first = hc == first
    hg = frame["home_goals"].to_numpy(dtype=np.float64)
    ag = frame["away_goals"].to_numpy(dtype=np.float64)
    hpts = np.where(hg > ag, 3.0, np.where(hg == ag, 1.0, 0.0))
    apts = np.where(ag > hg, 3.0, np.where(hg == ag, 1.0, 0.0))
    played = _played(frame)
    history = pd.DataFrame(
        {
            "pair": pair,
            "kickoff": frame["kickoff"].to_numpy(),
            "pts_first": np.where(home_first, hpts, apts),
            "pts_second": np.where(home_first, apts, hpts),
            "gd_first": np.where(home_first, hg - ag, ag - hg),
        }
    ).loc[played]
    events = pd.DataFrame({"pair": pair, "kickoff": frame["kickoff"].to_numpy()})
    state = rolling_before(
        events, history, "pair", "kickoff", ["pts_first", "pts_second", "gd_first"], int(matches),
        how="sum", count_column="n",
    )
    count = np.nan_to_num(state["n"].to_numpy(dtype=np.float64), nan=0.0)
    pts = np.where(home_first, state["pts_first"].to_numpy(), state["pts_second"].to_numpy())
    gd = np.where(home_first, state["gd_first"].to_numpy(), -state["gd_first"].to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        ppg = np.where(count > 0, pts / count, np.nan)
        gdpg = np.where(count > 0, gd / count, np.nan)
    return pd.DataFrame({"h2h_n": count, "h2h_home_ppg": ppg, "h2h_home_gd": gdpg}, index=frame.index)


def _season_tables(frame: pd.DataFrame) -> dict[str, Any]:
    """League tables of every competition-season after each of its match days.

    One ``days x teams`` cumulative matrix per competition-season; the rank compares every pair of
    teams on the same day. Returns per-row lookups into those matrices plus the matrices themselves.
    """
    n = len(frame)
    cs = frame.groupby(["competition", "season"], sort=False, dropna=False).ngroup().to_numpy()
    day = day_numbers(frame["kickoff"])
    codes, teams = pd.factorize(pd.concat([frame["home_team"], frame["away_team"]], ignore_index=True))
    hc, ac = codes[:n], codes[n:]
    hg = frame["home_goals"].to_numpy(dtype=np.float64)
    ag = frame["away_goals"].to_numpy(dtype=np.float64)
    played = ~(np.isnan(hg) | np.isnan(ag))
    hpts = np.where(hg > ag, 3, np.where(hg == ag, 1, 0))
    apts = np.where(ag > hg, 3, np.where(hg == ag, 1, 0))
    hgi = np.where(played, hg, 0).astype(np.int64)
    agi = np.where(played, ag, 0).astype(np.int64)

    # Per row: each side's table at the end of the season's previous match day (NaN before its first).
    stats = ("points", "played", "position")
    before = {f"{side}_{stat}": np.full(n, np.nan) for side in ("home", "away") for stat in stats}
    row_local = np.zeros((2, n), dtype=np.int64)  # each side's team index within its season
    seasons: dict[int, dict[str, np.ndarray]] = {}
    order = np.argsort(cs, kind="stable")
    bounds = np.flatnonzero(np.r_[True, cs[order][1:] != cs[order][:-1], True]) if n else np.zeros(1, int)
    for b0, b1 in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order[b0:b1]
        days, d_idx = np.unique(day[idx], return_inverse=True)
        squad, t_idx = np.unique(np.r_[hc[idx], ac[idx]], return_inverse=True)
        m = len(idx)
        h_loc, a_loc = t_idx[:m], t_idx[m:]
        shape = (len(days), len(squad))
        pts = np.zeros(shape, dtype=np.int64)
        gd = np.zeros(shape, dtype=np.int64)
        gf = np.zeros(shape, dtype=np.int64)
        pl = np.zeros(shape, dtype=np.int64)
        ok = played[idx]
        d_ok, h_ok, a_ok = d_idx[ok], h_loc[ok], a_loc[ok]
        hg_ok, ag_ok = hgi[idx][ok], agi[idx][ok]
        np.add.at(pts, (d_ok, h_ok), hpts[idx][ok])
        np.add.at(pts, (d_ok, a_ok), apts[idx][ok])
        np.add.at(gd, (d_ok, h_ok), hg_ok - ag_ok)
        np.add.at(gd, (d_ok, a_ok), ag_ok - hg_ok)
        np.add.at(gf, (d_ok, h_ok), hg_ok)
        np.add.at(gf, (d_ok, a_ok), ag_ok)
        np.add.at(pl, (d_ok, h_ok), 1)
        np.add.at(pl, (d_ok, a_ok), 1)
        pts, gd, gf, pl = (np.cumsum(x, axis=0) for x in (pts, gd, gf, pl))
        key = (pts * 1_000_000_000) + (gd + 10_000) * 10_000 + gf
        position = 1 + (key[:, None, :] > key[:, :, None]).sum(axis=2)
        seasons[int(cs[idx[0]])] = {
            "days": days, "teams": squad, "points": pts, "gd": gd, "gf": gf, "played": pl,
            "position": position,
        }
        prev_day = d_idx - 1
        has = prev_day >= 0
        rows, d = idx[has], prev_day[has]
        for side, loc in (("home", h_loc), ("away", a_loc)):
            t = loc[has]
            before[f"{side}_points"][rows] = pts[d, t]
            before[f"{side}_played"][rows] = pl[d, t]
            before[f"{side}_position"][rows] = position[d, t]
        row_local[0, idx] = h_loc
        row_local[1, idx] = a_loc
    return {"cs": cs, "row_local": row_local, "before": before, "seasons": seasons}


def table_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Both teams' league position and points per game from their season's earlier match days."""
    before = _season_tables(frame)["before"]
    out = {}
    for side in ("home", "away"):
        played = before[f"{side}_played"]
        has = played > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{side}_position"] = np.where(has, before[f"{side}_position"], np.nan)
            out[f"{side}_table_ppg"] = np.where(has, before[f"{side}_points"] / played, np.nan)
    cols = ["home_position", "away_position", "home_table_ppg", "away_table_ppg"]
    return pd.DataFrame(out, index=frame.index)[cols]


def market_features(frame: pd.DataFrame, method: str = "multiplicative") -> pd.DataFrame:
    """De-margined 1X2 probabilities and overround from opening and closing prices."""
    out: dict[str, np.ndarray] = {}
    for kind in ("open", "close"):
        cols = [f"odds_{kind}_{o}" for o in OUTCOMES_1X2]
        odds = frame[cols].to_numpy(dtype=np.float64)
        ok = np.isfinite(odds).all(axis=1) & (odds > 1.0).all(axis=1)
        probs = np.full(odds.shape, np.nan)
        margin = np.full(len(frame), np.nan)
        if ok.any():
            probs[ok] = remove_overround(odds[ok], method)
            margin[ok] = (1.0 / odds[ok]).sum(axis=1) - 1.0
        for j, o in enumerate(OUTCOMES_1X2):
            out[f"mkt_{kind}_{o}"] = probs[:, j]
        out[f"mkt_{kind}_overround"] = margin
    return pd.DataFrame(out, index=frame.index)


def promoted_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Whether each team is new to the competition this season (NaN without the previous season)."""
    comp = frame["competition"].astype(object).to_numpy()
    season = frame["season"].astype(str).to_numpy(dtype=object)
    prev_map = {s: previous_season(s) for s in pd.unique(season)}
    prev = np.array([prev_map[s] for s in season], dtype=object)  # one lookup per row, via a small dict
    seen = pd.MultiIndex.from_arrays(
        [np.r_[comp, comp], np.r_[season, season],
         np.r_[frame["home_team"].to_numpy(dtype=object), frame["away_team"].to_numpy(dtype=object)]]
    ).unique()
    comp_seasons = pd.MultiIndex.from_arrays([seen.get_level_values(0), seen.get_level_values(1)]).unique()
    has_prev = pd.MultiIndex.from_arrays([comp, prev]).isin(comp_seasons)
    out = {}
    for side in ("home", "away"):
        team = frame[f"{side}_team"].to_numpy(dtype=object)
        was_there = pd.MultiIndex.from_arrays([comp, prev, team]).isin(seen)
        out[f"{side}_promoted"] = np.where(has_prev, np.where(was_there, 0.0, 1.0), np.nan)
    return pd.DataFrame(out, index=frame.index)


# --------------------------------------------------------------------------------------------------
# The feature set
# --------------------------------------------------------------------------------------------------

_ELO_DEFAULTS = {
    name: p.default for name, p in inspect.signature(elo_ratings).parameters.items() if name != "frame"
}
_PAIR_HELPERS = (rolling_before, trailing_window, asof_join, day_numbers, event_days)


def _elo_params(elo_params: Mapping[str, Any] | None) -> dict[str, Any]:
    params = dict(_ELO_DEFAULTS)
    unknown = sorted(set(elo_params or {}) - set(params))
    if unknown:
        raise ValueError(f"unknown Elo parameter(s) {unknown}; known: {sorted(params)}")
    params.update(elo_params or {})
    return params


def football_feature_set(
    overround_method: str = "multiplicative",
    form_windows: Sequence[int] = (5, 10),
    h2h_matches: int = 6,
    elo_params: Mapping[str, Any] | None = None,
) -> FeatureSet:
    """The standard football feature set (``football-core@<version>``) over the canonical frame."""
    if overround_method not in METHODS:
        raise ValueError(f"unknown overround method {overround_method!r}; choose one of {METHODS}")
    windows = tuple(int(w) for w in form_windows)
    if not windows or any(w < 1 for w in windows) or len(set(windows)) != len(windows):
        raise ValueError(f"form_windows must be distinct positive integers, got {form_windows!r}")
    if int(h2h_matches) < 1:
        raise ValueError(f"h2h_matches must be >= 1, got {h2h_matches!r}")
    base = _KEYS + _GOALS
    defs = [
        FeatureDefinition(
            "elo", elo_features, ("home_elo", "away_elo", "elo_diff"), params=_elo_params(elo_params),
            dependencies=(elo_ratings, _elo_arrays, _start_season, day_numbers), requires=base,
        ),
        FeatureDefinition(
            "form", form_features,
            tuple(f"{s}_form{w}_{stat}" for w in windows for s in ("home", "away") for stat in FORM_STATS),
            params={"windows": list(windows)},
            dependencies=(_team_matches, _sides, _form_state, *_PAIR_HELPERS), requires=base + _SOT,
        ),
        FeatureDefinition(
            "rest", rest_features, ("home_rest_days", "away_rest_days"),
            dependencies=(_team_matches, _sides, *_PAIR_HELPERS), requires=base + _SOT,
        ),
        FeatureDefinition(
            "h2h", h2h_features, ("h2h_n", "h2h_home_ppg", "h2h_home_gd"),
            params={"matches": int(h2h_matches)}, dependencies=_PAIR_HELPERS, requires=base,
        ),
        FeatureDefinition(
            "table", table_features, ("home_position", "away_position", "home_table_ppg", "away_table_ppg"),
            dependencies=(_season_tables, day_numbers), requires=base,
        ),
        FeatureDefinition(
            "market", market_features,
            tuple(f"mkt_{kind}_{c}" for kind in ("open", "close") for c in (*OUTCOMES_1X2, "overround")),
            params={"method": overround_method}, dependencies=(remove_overround,),
            requires=tuple(f"odds_{kind}_{o}" for kind in ("open", "close") for o in OUTCOMES_1X2),
        ),
        FeatureDefinition(
            "promoted", promoted_features, ("home_promoted", "away_promoted"),
            dependencies=(previous_season,), requires=("competition", "season", "home_team", "away_team"),
        ),
    ]
    return FeatureSet("football-core", defs, outcome_columns=OUTCOME_COLUMNS, time_column="kickoff")


# --------------------------------------------------------------------------------------------------
# Online lookup
# --------------------------------------------------------------------------------------------------


def latest_team_state(
    frame: pd.DataFrame,
    as_of: Any,
    form_windows: Sequence[int] = (5, 10),
    elo_params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Each team's state going into a match on ``as_of``'s day: one row per team that has played.

    Uses the same helpers as the feature set, so a team's ``form*`` values equal the features of its
    next match on that day. ``elo`` is the rating after its last match (the season-start adjustments
    of :mod:`formguide.football.ratings` happen only when the next season starts); ``competition``,
    ``season``, ``position``, ``points``, ``played`` and ``table_ppg`` describe the table of the
    competition-season of its last match, as it stood at the end of the previous day.
    """
    day = event_days(pd.Series([pd.Timestamp(as_of)])).iloc[0]
    day_no = int(day_numbers(pd.Series([day]))[0])
    history = _team_matches(frame)
    history = history[history["day"] < day_no]
    teams = sorted(pd.unique(history["team"]).tolist())
    cols = ["competition", "season", "last_played", "rest_days", "elo", "position", "points", "played",
            "table_ppg"] + [f"form{w}_{s}" for w in form_windows for s in FORM_STATS]
    if not teams:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="team"))
    events = pd.DataFrame({"team": teams, "kickoff": [day] * len(teams)})
    out = pd.DataFrame(index=pd.Index(teams, name="team"))

    last = asof_join(events, history, "team", "kickoff", columns=["day"])["day"].to_numpy()
    out["last_played"] = pd.to_datetime(last, unit="D")
    out["rest_days"] = day_no - last
    ratings = elo_timeline(frame, **_elo_params(elo_params))
    out["elo"] = asof_join(events, ratings, "team", "kickoff", columns=["elo"])["elo"].to_numpy()

    # The table of the competition-season of each team's last played match before the day.
    played = _played(frame) & (day_numbers(frame["kickoff"]) < day_no)
    tables = _season_tables(frame)
    both = np.r_[played, played]
    sub = pd.DataFrame(
        {
            "team": _sides(frame)["team"].to_numpy(),
            "kickoff": np.r_[frame["kickoff"].to_numpy(), frame["kickoff"].to_numpy()],
            "cs": np.r_[tables["cs"], tables["cs"]],
            "local": tables["row_local"].ravel(),
            "competition": frame["competition"].astype(str).tolist() * 2,
            "season": frame["season"].astype(str).tolist() * 2,
        }
    ).loc[both]
    latest = asof_join(events, sub, "team", "kickoff", columns=["cs", "local", "competition", "season"])
    out["competition"] = latest["competition"].to_numpy()
    out["season"] = latest["season"].to_numpy()
    table = {name: np.full(len(teams), np.nan) for name in ("position", "points", "played")}
    cs_of = latest["cs"].to_numpy(dtype=np.int64)
    local = latest["local"].to_numpy(dtype=np.int64)
    for c in np.unique(cs_of):
        tab = tables["seasons"][int(c)]
        rows = np.flatnonzero(cs_of == c)
        d = int(np.searchsorted(tab["days"], day_no, side="left")) - 1
        for name in table:
            table[name][rows] = tab[name][d, local[rows]]
    for name, values in table.items():
        out[name] = values
    out["table_ppg"] = table["points"] / table["played"]
    form = _form_state(events, history, form_windows)
    for name, values in form.items():
        out[name] = values
    return out[cols]
