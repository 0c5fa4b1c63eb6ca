"""NFL features: point in time (leakage, same-day games, parity), hand-checked Elo and QB values, the frame."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formguide.core.errors import DataValidationError
from formguide.core.features.engine import parity_check
from formguide.nfl.features import FEATURE_PARAMS, elo_table, nfl_feature_set
from formguide.nfl.features.efficiency import efficiency_states, game_metrics
from formguide.nfl.features.elo import elo_ratings
from formguide.nfl.features.market import MARKET_COLUMNS, MARKET_INPUTS
from formguide.nfl.features.qb import pass_value, qb_values
from formguide.nfl.frame import INJURY_FIELDS, OUTCOME_COLUMNS, STAT_COLUMNS, build_frame

DATA_DIR = Path(os.environ.get("FORMGUIDE_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
TEAMS = ("BUF", "MIA", "NE", "NYJ", "STL", "SF", "SEA", "ARI")
PASSING = ("attempts", "completions", "passing_yards", "passing_tds", "passing_interceptions", "sacks_suffered")
STATS = PASSING + ("passing_epa", "rushing_epa", "carries", "passing_cpoe", "off_success_rate")


def _code(team: str, season: int) -> str:
    """Source spelling of the season (games.csv and injuries say STL until 2015)."""
    return "STL" if team == "STL" and season <= 2015 else ("LA" if team == "STL" else team)


def make_games(seasons=(2015, 2016, 2017), weeks: int = 7, seed: int = 0, unplayed: int = 2) -> pd.DataFrame:
    """A small league: 8 teams, 4 games a week (one on Thursday), a playoff week, the last games unplayed."""
    rng = np.random.default_rng(seed)
    strength = dict(zip(TEAMS, rng.normal(0, 6, len(TEAMS)), strict=True))
    rows = []
    for season in seasons:
        start = pd.Timestamp(f"{season}-09-13 13:00")
        for week in range(1, weeks + 2):
            order = rng.permutation(len(TEAMS))
            pairs = [(TEAMS[order[2 * i]], TEAMS[order[2 * i + 1]]) for i in range(4)]
            playoff = week == weeks + 1
            if playoff:
                pairs = pairs[:2]
            for g, (home, away) in enumerate(pairs):
                kickoff = start + pd.Timedelta(weeks=week - 1) - (pd.Timedelta(days=3) if g == 0 else pd.Timedelta(0))
                hs = max(0, round(22 + strength[home] - strength[away] + 2.5 + rng.normal(0, 10)))
                as_ = max(0, round(22 + rng.normal(0, 10)))
                qb_home = f"{home}-QB2" if (home == "NE" and season == seasons[1] and week >= 3) else f"{home}-QB1"
                qb_away = f"{away}-QB2" if (away == "NE" and season == seasons[1] and week >= 3) else f"{away}-QB1"
                rows.append({
                    "game_id": f"{season}_{week:02d}_{away}_{home}", "season": str(season), "competition": "NFL",
                    "week": week, "game_type": "WC" if playoff else "REG", "playoff": playoff, "kickoff": kickoff,
                    "home_team": _code(home, season), "away_team": _code(away, season),
                    "home_score": float(hs), "away_score": float(as_), "neutral": playoff and g == 1,
                    "home_rest": 7.0 if g else 4.0, "away_rest": 14.0 if g == 2 else 7.0, "div_game": g == 3,
                    "overtime": 0.0, "roof": "dome" if home == "ARI" else "outdoors",
                    "surface": "grass" if home in ("BUF", "SF") else "fieldturf",
                    "temp": np.nan if home == "ARI" else 60.0 + g, "wind": np.nan if home == "ARI" else 5.0 + g,
                    "home_qb_id": qb_home, "away_qb_id": qb_away, "home_qb_name": qb_home, "away_qb_name": qb_away,
                    "home_coach": "x", "away_coach": "y", "spread_line": float(rng.integers(-10, 10)) + 0.5,
                    "total_line": 44.5, "home_moneyline": -150.0, "away_moneyline": 130.0,
                    "home_spread_odds": -110.0, "away_spread_odds": -110.0, "over_odds": -110.0,
                    "under_odds": -110.0,
                })
    games = pd.DataFrame(rows).sort_values("kickoff", kind="stable").reset_index(drop=True)
    if unplayed:
        games.loc[games.index[-unplayed:], ["home_score", "away_score", "overtime"]] = np.nan
    return games


def make_stats(games: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Team lines of every played game, in nflfastR's codes (LA for the Rams in every season)."""
    rng = np.random.default_rng(seed)
    played = games[games["home_score"].notna()]
    rows = []
    for _, g in played.iterrows():
        for team, opp in ((g["home_team"], g["away_team"]), (g["away_team"], g["home_team"])):
            att = float(rng.integers(25, 45))
            rows.append({
                "season": int(g["season"]), "week": int(g["week"]), "team": "LA" if team == "STL" else team,
                "opponent": opp, "season_type": "REG", "attempts": att,
                "completions": float(rng.integers(15, int(att))), "passing_yards": float(rng.integers(150, 380)),
                "passing_tds": float(rng.integers(0, 4)), "passing_interceptions": float(rng.integers(0, 3)),
                "sacks_suffered": float(rng.integers(0, 5)), "passing_epa": rng.normal(2, 8),
                "rushing_epa": rng.normal(-1, 4), "carries": float(rng.integers(15, 35)),
                "passing_cpoe": rng.normal(0, 5), "off_success_rate": rng.uniform(0.35, 0.5),
            })
    return pd.DataFrame(rows)


def make_injuries(games: pd.DataFrame) -> pd.DataFrame:
    """Reports from the second season on: each team's QB1 listed Out in week 2, a WR Doubtful every week."""
    rows = []
    for _, g in games[games["season"] != games["season"].iloc[0]].iterrows():
        for team in (g["home_team"], g["away_team"]):
            base = "STL" if team in ("STL", "LA") else team
            rows.append({"season": int(g["season"]), "week": int(g["week"]), "game_type": g["game_type"],
                         "team": team, "gsis_id": f"{base}-WR", "position": "WR", "full_name": "w",
                         "report_status": "Doubtful", "practice_status": None, "date_modified": None})
            if g["week"] == 2:
                rows.append({"season": int(g["season"]), "week": 2, "game_type": "REG", "team": team,
                             "gsis_id": f"{base}-QB1", "position": "QB", "full_name": "q",
                             "report_status": "Out", "practice_status": None, "date_modified": None})
    return pd.DataFrame(rows)


def make_frame(**kw) -> pd.DataFrame:
    games = make_games(**kw)
    return build_frame(games, make_stats(games), make_injuries(games))


def _scramble(frame: pd.DataFrame, rows: np.ndarray, seed: int = 3) -> pd.DataFrame:
    """Different outcomes for the given games: scores, overtime and every team statistic."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    k = int(rows.sum())
    played = out.loc[rows, "home_score"].notna().to_numpy()
    out.loc[rows, "home_score"] = np.where(played, rng.integers(0, 50, k), np.nan)
    out.loc[rows, "away_score"] = np.where(played, rng.integers(0, 50, k), np.nan)
    out.loc[rows, "overtime"] = np.where(played, 1.0, np.nan)
    for col in OUTCOME_COLUMNS:
        if "_st_" in col:
            out.loc[rows, col] = np.where(played, rng.uniform(0.1, 60, k), np.nan)
    return out


def _game(frame: pd.DataFrame, season: str, week: int, k: int = 0) -> int:
    rows = frame.index[(frame["season"] == season) & (frame["week"] == week)]
    return int(rows[k])


# ---------------------------------------------------------------------------------------------- the frame


def test_frame_joins_stats_and_injuries_by_franchise():
    games = make_games()
    frame = build_frame(games, make_stats(games), make_injuries(games))
    assert set(frame["home_team"]) | set(frame["away_team"]) == {*TEAMS[:4], "LA", "SF", "SEA", "ARI"}
    rams_2015 = frame[(frame["season"] == "2015") & (frame["home_team"] == "LA") & frame["home_score"].notna()]
    assert len(rams_2015) and rams_2015["home_st_attempts"].notna().all()  # STL in games, LA in the stats
    assert frame.loc[frame["home_score"].isna(), "home_st_attempts"].isna().all()
    first = frame["season"] == "2015"
    assert frame.loc[first, "home_inj_out_total"].isna().all()  # no report that season
    later = frame.loc[~first]
    assert (later["home_inj_out_wr"] == 1).all() and (later["home_inj_out_total"] >= 1).all()
    week2 = later[later["week"] == 2]
    assert (week2["home_inj_out_qb"] == 1).all()
    # the previous starter is QB1 everywhere except NE after its change: week 2 flags him
    ne = (week2["home_team"] != "NE") | (week2["season"] != "2016")
    assert (week2.loc[ne, "home_inj_prev_qb_out"] == 1).all()
    assert (later.loc[later["week"] == 4, "home_inj_prev_qb_out"] == 0).all()
    assert list(frame.columns[: len(games.columns)]) == list(games.columns)


def test_frame_columns_do_not_depend_on_the_sources():
    games = make_games()
    bare = build_frame(games)
    full = build_frame(games, make_stats(games), make_injuries(games))
    assert list(bare.columns) == list(full.columns)
    assert {f"home_st_{s}" for s in STAT_COLUMNS} <= set(bare.columns)
    assert {f"away_inj_{f}" for f in INJURY_FIELDS} <= set(bare.columns)
    assert set(OUTCOME_COLUMNS) == {"home_score", "away_score", "overtime"} | {c for c in bare if "_st_" in c}


def test_frame_combines_the_stats_and_epa_rows_of_one_game():
    games = make_games()
    stats = make_stats(games)
    epa = stats[["season", "week", "team"]].assign(off_epa_per_play=0.1, def_epa_per_play=-0.2)
    frame = build_frame(games, pd.concat([stats, epa], ignore_index=True))
    played = frame["home_score"].notna()
    assert (frame.loc[played, "home_st_off_epa_per_play"] == 0.1).all()
    assert frame.loc[played, "home_st_attempts"].notna().all()
    clash = pd.concat([stats, stats.iloc[[5]].assign(attempts=99.0)], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"row \d+, column attempts"):
        build_frame(games, clash)


def test_frame_names_row_and_column_of_an_unknown_team():
    games = make_games()
    games.loc[4, "away_team"] = "XYZ"
    with pytest.raises(DataValidationError, match="games frame, row 4, column away_team.*'XYZ'"):
        build_frame(games)
    stats = make_stats(make_games())
    stats.loc[7, "team"] = "ABC"
    with pytest.raises(DataValidationError, match="team stats frame, row 7, column team"):
        build_frame(make_games(), stats)


# ---------------------------------------------------------------------------------------------- leakage


def test_outcomes_on_or_after_the_day_do_not_change_its_features():
    frame = make_frame()
    fs = nfl_feature_set()
    target = _game(frame, "2016", 5, 2)
    day = frame.at[target, "kickoff"].normalize()
    later = (frame["kickoff"] >= day).to_numpy()
    scrambled = _scramble(frame, later)
    # pre-game facts of later games are not known either: change their starters, reports and lines
    future = later & (frame["kickoff"].dt.normalize() > day).to_numpy()
    scrambled.loc[future, "home_qb_id"] = "SOMEONE-ELSE"
    scrambled.loc[future, [c for c in frame if "_inj_" in c]] = 7.0
    scrambled.loc[future, "spread_line"] = -30.0
    assert not scrambled.loc[later, "home_score"].equals(frame.loc[later, "home_score"])
    full, changed = fs.build(frame), fs.build(scrambled)
    pd.testing.assert_series_equal(full.loc[target], changed.loc[target])


def test_an_earlier_result_changes_the_features():
    frame = make_frame()
    fs = nfl_feature_set()
    target = _game(frame, "2016", 5, 2)
    team = frame.at[target, "home_team"]
    earlier = frame.index[(frame["kickoff"] < frame.at[target, "kickoff"].normalize())
                          & ((frame["home_team"] == team) | (frame["away_team"] == team))
                          & (frame["season"] == "2016")][-1]
    rows = (frame.index == earlier)
    before, after = fs.build(frame).loc[target], fs.build(_scramble(frame, rows, seed=11)).loc[target]
    differs = {c for c in fs.columns if not math.isclose(before[c], after[c], rel_tol=0, abs_tol=1e-12)
               and not (np.isnan(before[c]) and np.isnan(after[c]))}
    assert {"elo_home", "elo_diff", "elo_prob", "qbelo_home", "elo_prob_qb", "qb_adj_home", "home_pd_pg",
            "home_pd_last5", "home_off_epa", "home_off_cpoe", "net_epa_diff"} <= differs


def test_games_on_the_same_day_do_not_see_each_other():
    frame = make_frame()
    a, b = _game(frame, "2016", 4, 1), _game(frame, "2016", 4, 2)
    assert frame.at[a, "kickoff"].normalize() == frame.at[b, "kickoff"].normalize()
    fs = nfl_feature_set()
    rows = frame.index == a
    pd.testing.assert_series_equal(fs.build(frame).loc[b], fs.build(_scramble(frame, rows)).loc[b])


def test_served_rows_equal_training_rows():
    frame = make_frame()
    fs = nfl_feature_set()
    full = fs.build(frame)
    for idx in (0, _game(frame, "2016", 1), _game(frame, "2016", 6, 3), _game(frame, "2017", 8, 0),
                frame.index[-1]):  # first game, a season opener, mid-season, playoffs, not played yet
        result = parity_check(fs, frame, idx, training=full)
        assert result.ok, (idx, result.mismatches)


# ---------------------------------------------------------------------------------------------- Elo


def _toy(rows: list[tuple]) -> pd.DataFrame:
    cols = ["season", "kickoff", "home_team", "away_team", "home_score", "away_score", "neutral", "playoff"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["kickoff"] = pd.to_datetime(frame["kickoff"])
    return frame


def test_elo_update_by_hand_on_three_games():
    frame = _toy([
        ("2010", "2010-09-12", "NE", "NYJ", 31.0, 10.0, False, False),
        ("2010", "2010-09-19", "NYJ", "MIA", 17.0, 17.0, False, False),
        ("2010", "2010-09-26", "NE", "MIA", 20.0, 23.0, True, False),
    ])
    out = elo_ratings(frame)
    # game 1: 1505 v 1505 at home: expected 1/(1+10^(-65/400)); NE won by 21
    p1 = 1 / (1 + 10 ** (-65 / 400))
    s1 = 20 * math.log(22) * 2.2 / (65 * 0.001 + 2.2) * (1 - p1)
    assert out.at[0, "elo_prob"] == pytest.approx(p1)
    assert out.at[0, "post_home"] == pytest.approx(1505 + s1)
    # game 2: NYJ (1505 - s1) v MIA 1505, a tie: multiplier ln(2) * 2.2
    d2 = (1505 - s1) - 1505 + 65
    p2 = 1 / (1 + 10 ** (-d2 / 400))
    s2 = 20 * math.log(2) * 2.2 * (0.5 - p2)
    assert out.at[1, "elo_home"] == pytest.approx(1505 - s1)
    assert out.at[1, "post_away"] == pytest.approx(1505 - s2)
    # game 3: neutral site (no HFA), MIA won by 3: the winner's diff goes into the damping term
    d3 = (1505 + s1) - (1505 - s2)
    p3 = 1 / (1 + 10 ** (-d3 / 400))
    s3 = 20 * math.log(4) * 2.2 / (-d3 * 0.001 + 2.2) * (0 - p3)
    assert out.at[2, "elo_diff"] == pytest.approx(d3)
    assert out.at[2, "post_home"] == pytest.approx(1505 + s1 + s3)
    assert out.at[2, "post_away"] == pytest.approx(1505 - s2 - s3)


def test_season_regression_playoff_factor_and_expansion_team():
    frame = _toy([
        ("2001", "2002-01-10", "NE", "NYJ", 40.0, 0.0, False, True),
        ("2002", "2002-09-08", "NE", "HOU", 20.0, 10.0, False, False),
    ])
    out = elo_ratings(frame)
    assert out.at[0, "elo_diff"] == pytest.approx(65 * 1.2)
    end = out.at[0, "post_home"]
    assert out.at[1, "elo_home"] == pytest.approx(1505 / 3 + end * 2 / 3)
    assert out.at[1, "elo_away"] == 1300.0  # a franchise new after the frame's first season


def test_a_relocated_franchise_keeps_its_rating():
    games = make_games()
    frame = build_frame(games)
    assert "STL" in set(games["home_team"]) | set(games["away_team"])
    feats = nfl_feature_set(include_market=False).build(frame)
    elo = elo_ratings(frame)
    la = (frame["home_team"] == "LA") | (frame["away_team"] == "LA")
    last_2015 = frame.index[la & (frame["season"] == "2015") & frame["home_score"].notna()][-1]
    first_2016 = frame.index[la & (frame["season"] == "2016")][0]
    end = elo.at[last_2015, "post_home" if frame.at[last_2015, "home_team"] == "LA" else "post_away"]
    side = "elo_home" if frame.at[first_2016, "home_team"] == "LA" else "elo_away"
    assert feats.at[first_2016, side] == pytest.approx(1505 / 3 + end * 2 / 3)
    assert end != pytest.approx(1505.0)


# ---------------------------------------------------------------------------------------------- QB


def test_a_new_starter_moves_the_adjustment():
    frame = make_frame()
    fs = nfl_feature_set(include_market=False)
    feats = fs.build(frame)
    values = qb_values(frame)
    ne_home = (frame["home_team"] == "NE") & (frame["season"] == "2016")
    change = frame.index[ne_home & (frame["week"] >= 3)][0]
    # the debut: his prior (8.2) against the team's rolling value
    expected = 3.3 * (8.2 - values.at[change, "home_team_value"])
    assert feats.at[change, "qb_adj_home"] == pytest.approx(expected)
    assert feats.at[change, "qb_adj_home"] < -20
    assert feats.at[change, "qb_change_home"] == 1.0 or frame.at[change, "week"] > 3
    # the same game with the usual starter: a small adjustment only
    same = frame.copy()
    same.loc[frame["home_team"].eq("NE") | frame["away_team"].eq("NE"), ["home_qb_id", "away_qb_id"]] = (
        same.loc[frame["home_team"].eq("NE") | frame["away_team"].eq("NE"), ["home_qb_id", "away_qb_id"]]
        .replace("NE-QB2", "NE-QB1"))
    assert abs(fs.build(same).at[change, "qb_adj_home"]) < abs(feats.at[change, "qb_adj_home"])
    assert feats.at[change, "elo_diff_qb"] != pytest.approx(feats.at[change, "elo_diff"])


def test_qb_value_is_538s_passing_formula_and_updates_by_alpha():
    frame = make_frame()
    v = pass_value(frame, "home")
    i = int(np.flatnonzero(~np.isnan(v))[0])
    r = frame.iloc[i]
    by_hand = (-2.2 * r["home_st_attempts"] + 3.7 * r["home_st_completions"] + r["home_st_passing_yards"] / 5
               + 11.3 * r["home_st_passing_tds"] - 14.1 * r["home_st_passing_interceptions"]
               - 8 * r["home_st_sacks_suffered"])
    assert v[i] == pytest.approx(by_hand)
    values = qb_values(frame)
    pre = values.at[frame.index[i], "home_qb_value"]
    assert values.at[frame.index[i], "home_qb_post"] == pytest.approx(pre + 0.1 * (by_hand - pre))


# ---------------------------------------------------------------------------------------------- the other families


def test_form_values_by_hand():
    frame = make_frame(unplayed=0)
    feats = nfl_feature_set(include_market=False).build(frame)
    target = _game(frame, "2016", 5, 1)
    team = frame.at[target, "home_team"]
    past = frame[(frame["season"] == "2016") & (frame["kickoff"] < frame.at[target, "kickoff"].normalize())
                 & ((frame["home_team"] == team) | (frame["away_team"] == team))]
    home = past["home_team"] == team
    margin = np.where(home, past["home_score"] - past["away_score"], past["away_score"] - past["home_score"])
    wins = np.where(margin > 0, 1.0, np.where(margin < 0, 0.0, 0.5))
    assert feats.at[target, "home_win_pct"] == pytest.approx(wins.mean())
    assert feats.at[target, "home_pd_pg"] == pytest.approx(margin.mean())
    signs = np.sign(margin)[::-1]
    run = 0 if signs[0] == 0 else int(np.argmax(signs != signs[0])) if (signs != signs[0]).any() else len(signs)
    assert feats.at[target, "home_streak"] == signs[0] * run


def test_efficiency_matches_a_plain_loop():
    frame = make_frame()
    pre, post = efficiency_states(frame, decay=0.9, prior_games=3.0, carry=0.5)
    values = game_metrics(frame)
    long = pd.DataFrame({"team": np.r_[frame["home_team"], frame["away_team"]],
                         "season": np.r_[frame["season"], frame["season"]],
                         "kickoff": np.r_[frame["kickoff"], frame["kickoff"]], "x": values["off_epa"]})
    seasons = sorted(long["season"].unique())
    final: dict[str, float] = {}
    league = math.nan
    for s in seasons:
        new_final: dict[str, float] = {}
        for team, g in long[long["season"] == s].sort_values("kickoff", kind="stable").groupby("team"):
            prior = league + 0.5 * (final.get(team, league) - league) if not math.isnan(league) else math.nan
            num, den = (3.0 * prior, 3.0) if not math.isnan(prior) else (0.0, 0.0)
            for i in g.index:
                expected = num / den if den > 0 else math.nan
                assert pre.at[i, "off_epa"] == pytest.approx(expected, nan_ok=True)
                x = g.at[i, "x"]
                num, den = num * 0.9, den * 0.9
                if not math.isnan(x):
                    num, den = num + x, den + 1.0
                assert post.at[i, "off_epa"] == pytest.approx(num / den if den > 0 else math.nan, nan_ok=True)
            new_final[team] = num / den
        league = float(long.loc[long["season"] == s, "x"].mean())
        final = new_final


def test_schedule_weather_injury_and_h2h_values():
    frame = make_frame()
    feats = nfl_feature_set().build(frame)
    thursday = frame.index[frame["home_rest"] == 4.0][0]
    assert feats.at[thursday, "home_short_week"] == 1.0 and feats.at[thursday, "rest_diff"] == -3.0
    bye = frame.index[frame["away_rest"] == 14.0][0]
    assert feats.at[bye, "away_bye"] == 1.0
    dome = frame.index[frame["home_team"] == "ARI"][0]
    assert feats.at[dome, "indoors"] == 1.0 and np.isnan(feats.at[dome, "temp_f"])
    week2 = frame.index[(frame["season"] == "2017") & (frame["week"] == 2)][0]
    assert feats.at[week2, "home_inj_points"] == pytest.approx(1.40 + 4.80)  # QB1 out (WR weighs 0)
    assert np.isnan(feats.at[0, "home_inj_points"])
    home, away = frame.at[50, "home_team"], frame.at[50, "away_team"]
    pair = {home, away}
    meet = frame[[{h, a} == pair for h, a in zip(frame["home_team"], frame["away_team"], strict=True)]]
    prior = meet[(meet["kickoff"].dt.normalize() < frame.at[50, "kickoff"].normalize())
                 & meet["home_score"].notna()].tail(5)
    view = np.where(prior["home_team"] == home, 1, -1) * (prior["home_score"] - prior["away_score"])
    assert feats.at[50, "h2h_n"] == len(prior)
    assert feats.at[50, "h2h_margin"] == pytest.approx(view.mean() if len(prior) else np.nan, nan_ok=True)


def test_without_market_no_column_reads_a_price_or_line():
    with_m, without = nfl_feature_set(), nfl_feature_set(include_market=False)
    assert set(MARKET_COLUMNS) <= set(with_m.columns)
    assert not set(MARKET_COLUMNS) & set(without.columns)
    assert not any(set(d.requires) & set(MARKET_INPUTS) for d in without.definitions)
    frame = make_frame()
    priced = without.build(frame)
    no_prices = frame.drop(columns=list(MARKET_INPUTS))
    pd.testing.assert_frame_equal(priced, without.build(no_prices))
    assert with_m.version != without.version


def test_market_probabilities():
    frame = make_frame()
    feats = nfl_feature_set().build(frame)
    dec_h, dec_a = 1 + 100 / 150, 1 + 130 / 100
    assert feats["ml_prob_home"].iloc[0] == pytest.approx((1 / dec_h) / (1 / dec_h + 1 / dec_a))
    from scipy.stats import norm
    assert feats["spread_prob_home"].iloc[3] == pytest.approx(norm.cdf(frame["spread_line"].iloc[3] / 13.35))


def test_parameters_reach_their_families_and_unknown_ones_are_refused():
    assert FEATURE_PARAMS["k"] == ("elo", "qb")
    fs = nfl_feature_set(k=30.0)
    assert fs.definitions[0].params == {"k": 30.0} and fs.version != nfl_feature_set().version
    with pytest.raises(ValueError, match="unknown NFL feature parameter"):
        nfl_feature_set(kay=3)


def test_elo_table_equals_the_next_games_features():
    frame = make_frame()
    as_of = frame.at[_game(frame, "2017", 3), "kickoff"].normalize()
    table = elo_table(frame, as_of).set_index("team")
    feats = nfl_feature_set().build(frame, as_of=as_of)
    nxt = frame.index[frame["kickoff"] >= as_of]
    for team in table.index:
        i = next(j for j in nxt if team in (frame.at[j, "home_team"], frame.at[j, "away_team"]))
        side = "home" if frame.at[i, "home_team"] == team else "away"
        assert table.at[team, "elo"] == pytest.approx(feats.at[i, f"elo_{side}"])
        assert table.at[team, "qbelo"] == pytest.approx(feats.at[i, f"qbelo_{side}"])
        assert table.at[team, "qb_adj"] == pytest.approx(feats.at[i, f"qb_adj_{side}"])
        assert table.at[team, "off_epa"] == pytest.approx(feats.at[i, f"{side}_off_epa"], nan_ok=True)
    assert table["elo"].is_monotonic_decreasing


# ---------------------------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_frame():
    games_csv = DATA_DIR / "nfl_games" / "games.csv"
    if not games_csv.is_file():
        pytest.skip(f"real NFL data not found at {DATA_DIR} (set FORMGUIDE_DATA)")
    from formguide.nfl.games import parse_games
    from formguide.nfl.injuries import parse_injuries
    from formguide.nfl.stats import parse_team_stats

    stats = pd.concat([parse_team_stats(DATA_DIR / "nfl_team_stats" / "team_stats_week.csv").frame,
                       parse_team_stats(DATA_DIR / "nfl_team_stats" / "team_week_epa_2013_2024.csv").frame],
                      ignore_index=True)
    return build_frame(parse_games(games_csv).frame, stats,
                       parse_injuries(DATA_DIR / "nfl_injuries" / "injuries.csv").frame)


@pytest.mark.slow
def test_full_build_is_fast_and_parity_holds_on_real_data(real_frame):
    fs = nfl_feature_set()
    fs.build(real_frame.head(300))
    start = time.perf_counter()
    full = fs.build(real_frame)
    elapsed = time.perf_counter() - start
    assert elapsed < 6.0, f"full 1999-2024 build took {elapsed:.2f} s"
    assert full.shape == (len(real_frame), len(fs.columns))
    idx = real_frame.index[(real_frame["season"] == "2016") & (real_frame["week"] == 1)][0]
    result = parity_check(fs, real_frame, idx, training=full)
    assert result.ok, result.mismatches


@pytest.mark.slow
def test_defaults_are_what_the_early_seasons_give(real_frame):
    from formguide.nfl.features.injuries import INJURY_WEIGHTS, choose_injury_weights
    from formguide.nfl.features.market import SPREAD_SIGMA, spread_sigma
    from formguide.nfl.features.qb import QB_DEFAULTS, qb_priors

    initial, debut = qb_priors(real_frame, last_season=2008)
    assert (round(initial, 1), round(debut, 1)) == (QB_DEFAULTS["initial_value"], QB_DEFAULTS["debut_value"])
    assert round(spread_sigma(real_frame, last_season=2008) * 20) / 20 == SPREAD_SIGMA
    weights = choose_injury_weights(real_frame, last_season=2012)
    assert {k: round(v * 20) / 20 for k, v in weights.items()} == pytest.approx(INJURY_WEIGHTS)
