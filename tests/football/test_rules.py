"""Competition rules: the table covers every division and season in the data, its relegation and promotion
places agree with who played where the next season, tie-breakers rank hand-made tables in the league's order,
the Scottish split keeps teams in their half, deductions count, and every place class gets its column."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formguide.football.predict import parse_deduction, resolve_deductions
from formguide.football.rules import (
    ENGLAND,
    RULES,
    SCOTLAND,
    SPAIN,
    CompetitionRules,
    PlaceClass,
    Split,
    SplitGroup,
    describe_tiebreak,
    rules_for,
    season_start,
)
from formguide.football.simulate import simulate_season, split_candidates


def _season(football_dir: Path, division: str, season: str) -> pd.DataFrame:
    df = pd.read_csv(football_dir / f"{division}_{season}.csv", encoding="utf-8-sig",
                     usecols=["Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG"]).dropna(subset=["HomeTeam"])
    out = pd.DataFrame({"home_team": df["HomeTeam"].astype(str), "away_team": df["AwayTeam"].astype(str),
                        "home_goals": df["FTHG"].astype(float), "away_goals": df["FTAG"].astype(float),
                        "kickoff": pd.to_datetime(df["Date"], dayfirst=True, format="mixed")})
    return out.sort_values("kickoff", kind="stable").reset_index(drop=True)


def _stored(football_dir: Path) -> dict[tuple[str, str], Path]:
    return {tuple(p.stem.split("_")): p for p in sorted(football_dir.glob("*_*.csv"))}


def _final_order(played: pd.DataFrame, rules: CompetitionRules | None, adjustments=None, seed: int = 0) -> list[str]:
    """The final table of a complete season, best first (one simulation of no fixtures)."""
    sim = simulate_season(played, played.iloc[:0][["home_team", "away_team"]], np.zeros((0, 1, 1)), n=1,
                          seed=seed, rules=rules, adjustments=adjustments, **_zones(played))
    return [sim.teams[i] for i in np.argmax(sim.position_probs, axis=0)]


def _zones(played: pd.DataFrame) -> dict[str, int]:
    t = len(set(played["home_team"]) | set(played["away_team"]))
    return {"top_n": min(4, t), "relegation_n": min(3, t)}


def _certain(scores) -> np.ndarray:
    out = np.zeros((len(scores), 6, 6))
    for i, (h, a) in enumerate(scores):
        out[i, h, a] = 1.0
    return out


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["home_team", "away_team", "home_goals", "away_goals"])


def _tiny(tiebreak, teams: int = 4) -> CompetitionRules:
    return CompetitionRules("XX", "test league", "2324", "2324", teams,
                            (PlaceClass("title", 1, 1), PlaceClass("relegation", teams, teams)), tuple(tiebreak))


# ----------------------------------------------------------------------------------------- lookups
def test_every_division_and_season_in_the_data_has_rules(football_dir):
    stored = _stored(football_dir)
    assert len({d for d, _ in stored}) == 19
    for (division, season), path in stored.items():
        rules = rules_for(division, season)
        assert rules is not None, path.name
        assert rules.assumed_for is None, path.name  # covered by a row, not extrapolated
        played = _season(football_dir, division, season)
        assert rules.teams == len(set(played["home_team"]) | set(played["away_team"])), path.name
        assert rules.place("relegation") is not None or rules.place("relegation_playoff") is not None, path.name
        assert rules.sources, path.name


def test_lookups_by_season_any_case_and_beyond_the_table():
    assert rules_for("e0", "2324") is rules_for("E0", "2324")
    e0 = rules_for("E0", "2324")
    assert e0.tiebreak == ENGLAND and e0.tiebreak[:2] == ("goal_difference", "goals_for")
    assert [(p.key, p.first, p.last) for p in e0.places] == [
        ("title", 1, 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7, 7), ("relegation", 18, 20)]
    assert rules_for("E0", "2425").place("cl").last == 5  # England's European Performance Spot
    assert rules_for("E0", "0708").place("uefa") is not None and rules_for("E0", "0708").place("el") is None
    assert rules_for("SP1", "2324").tiebreak[0] == "h2h_points" == rules_for("I1", "2324").tiebreak[0]
    assert rules_for("I1", "2324").deciders == (1, 17) and rules_for("I1", "2122").deciders == ()
    assert rules_for("F1", "2223").teams == 20 and rules_for("F1", "2324").teams == 18
    spl = rules_for("SC0", "2223")
    assert spl.split.after_rounds == 33 and [g.size for g in spl.split.groups] == [6, 6]
    later = rules_for("E0", "2627")
    assert later.assumed_for == "2627" and later.places == rules_for("E0", "2425").places
    assert rules_for("E0", "9900") is None and rules_for("XX", "2324") is None
    assert describe_tiebreak(SPAIN).startswith("points, head-to-head points")
    assert describe_tiebreak(()).endswith("a fair coin")
    assert season_start("9900") == 1999 and season_start("0506") == 2005
    with pytest.raises(ValueError, match="YYZZ"):
        season_start("23/24")


def test_rows_of_a_league_cover_seasons_without_overlap_and_reject_bad_rows():
    by_league: dict[str, list[CompetitionRules]] = {}
    for r in RULES:
        by_league.setdefault(r.league, []).append(r)
    for league, rows in by_league.items():
        starts = sorted((season_start(r.first_season), season_start(r.last_season)) for r in rows)
        for (_, a_end), (b_start, _) in zip(starts, starts[1:], strict=False):
            assert b_start == a_end + 1, league  # contiguous: no season falls between two rows
    with pytest.raises(ValueError, match="beyond 4 teams"):
        CompetitionRules("XX", "x", "2324", "2324", 4, (PlaceClass("relegation", 4, 5),), ())
    with pytest.raises(ValueError, match="unknown tie-breaker"):
        CompetitionRules("XX", "x", "2324", "2324", 4, (), ("fair_play",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="do not add up"):
        CompetitionRules("XX", "x", "2324", "2324", 4, (), (), split=Split(3, (SplitGroup(2, 1),)))
    with pytest.raises(ValueError, match="unknown place class"):
        PlaceClass("conference", 1, 2)


# Decisions off the pitch, so the table alone does not say who went down (README: simulation rules).
DEDUCTIONS = {("E1", "2021"): {"Sheffield Weds": -6}, ("E1", "2122"): {"Derby": -21, "Reading": -6},
              ("E1", "2223"): {"Reading": -6}, ("E0", "2324"): {"Everton": -8, "Nott'm Forest": -4}}
OFF_PITCH = {("F2", "2223"): {"Sochaux", "Annecy"},  # Sochaux demoted by the DNCG, Annecy reprieved
             ("F2", "2324"): {"Bordeaux", "Troyes"},  # Bordeaux gave up professional status, Troyes reprieved
             ("I1", "0506"): {"Juventus", "Messina"},  # Calciopoli
             ("SP1", "1415"): {"Elche", "Eibar"}}  # Elche relegated for unpaid debts, Eibar reprieved


def test_relegation_and_promotion_places_match_who_played_where_next_season(football_dir):
    stored = _stored(football_dir)
    teams = {key: None for key in stored}
    checked = 0
    for division, season in stored:
        nxt = f"{season[2:]}{(int(season[2:]) + 1) % 100:02d}"
        if (division, nxt) not in stored:
            continue
        played = _season(football_dir, division, season)
        order = _final_order(played, rules_for(division, season), DEDUCTIONS.get((division, season)))
        if teams.get((division, nxt)) is None:
            nxt_played = _season(football_dir, division, nxt)
            teams[(division, nxt)] = set(nxt_played["home_team"]) | set(nxt_played["away_team"])
        stays = teams[(division, nxt)] - OFF_PITCH.get((division, season), set())
        rules = rules_for(division, season)
        for place in rules.places:
            if place.key in ("relegation", "promotion"):
                moved = [t for t in order[place.first - 1:place.last] if t not in OFF_PITCH.get((division, season), ())]
                assert not set(moved) & stays, (division, season, place.key, set(moved) & stays)
                checked += len(moved)
        unsafe = [p.first for p in rules.places if p.key in ("relegation", "relegation_playoff")]
        up = [p.last for p in rules.places if p.key in ("promotion", "promotion_playoff")]
        safe = [t for t in order[max(up, default=0):min(unsafe, default=len(order) + 1) - 1]
                if t not in OFF_PITCH.get((division, season), ())]
        assert set(safe) <= stays, (division, season, set(safe) - stays)
    assert checked > 300


def test_a_deduction_changes_who_goes_down():
    """A deduction counts before ranking: it moves a team from safety into the relegation place."""
    played = _frame([("A", "B", 1, 0), ("B", "C", 1, 0), ("C", "A", 0, 0), ("A", "C", 2, 0)])
    rules = _tiny(ENGLAND, teams=3)
    assert _final_order(played, rules)[-1] == "C"
    assert _final_order(played, rules, {"B": -4})[-1] == "B"


# ------------------------------------------------------------------------------------ tie-breakers
# A and B level on 4 points; B has the better goal difference, A beat B. C and D never met.
LEVEL = _frame([("A", "B", 1, 0), ("B", "C", 4, 0), ("A", "C", 0, 0), ("B", "D", 0, 0)])


@pytest.mark.parametrize(("tiebreak", "expected"), [
    (ENGLAND, ["B", "A", "D", "C"]),  # goal difference before head-to-head
    (SPAIN, ["A", "B", "D", "C"]),  # head-to-head first (Spain, Italy, Portugal, Turkey, Greece)
    (SCOTLAND, ["B", "A", "D", "C"]),
])
def test_tie_break_order_on_a_hand_made_table(tiebreak, expected):
    for seed in range(20):  # no coin involved: the same order whatever the seed
        assert _final_order(LEVEL, _tiny(tiebreak), seed=seed) == expected


def test_goals_scored_after_goal_difference():
    # X and Y: 4 points, goal difference +1; X scored 3, Y 1. Z and W: 0 points, -1; Z scored 2, W 0.
    played = _frame([("X", "Z", 3, 2), ("Y", "W", 1, 0), ("X", "Y", 0, 0)])
    assert _final_order(played, _tiny(ENGLAND)) == ["X", "Y", "Z", "W"]
    # goal difference first: X (4 points, +2, 2 scored) above Y (4 points, +1, 4 scored); W (-1) above Z (-2)
    played = _frame([("X", "Z", 2, 0), ("Y", "W", 4, 3), ("X", "Y", 0, 0)])
    assert _final_order(played, _tiny(ENGLAND)) == ["X", "Y", "W", "Z"]


def test_head_to_head_after_goals_where_the_league_uses_it():
    # X and Y level on points (3), goal difference (0) and goals (1); X beat Y.
    played = _frame([("X", "Y", 1, 0), ("W", "X", 1, 0), ("Y", "Z", 1, 0)])
    orders = {tuple(_final_order(played, _tiny(ENGLAND), seed=s)) for s in range(40)}
    assert orders == {("W", "X", "Y", "Z")}
    coin = {tuple(_final_order(played, _tiny(SCOTLAND), seed=s)) for s in range(40)}  # no h2h in Scotland
    assert coin == {("W", "X", "Y", "Z"), ("W", "Y", "X", "Z")}


def test_head_to_head_is_a_mini_table_of_the_teams_level_only():
    # A, B, C level on 3 points; head-to-head among the three: A beat B, B beat C, C beat A (all 1-0) -> level,
    # then goal difference: C's win over D was 5-0. D (0 points) is not part of the mini-table.
    played = _frame([("A", "B", 1, 0), ("B", "C", 1, 0), ("C", "A", 1, 0), ("C", "D", 5, 0), ("D", "A", 0, 0),
                     ("B", "D", 0, 0)])
    pts = {"A": 4, "B": 4, "C": 6}  # precondition checked below through the simulation itself
    sim = simulate_season(played, played.iloc[:0][["home_team", "away_team"]], np.zeros((0, 1, 1)), n=1,
                          rules=_tiny(SPAIN), top_n=1, relegation_n=1)
    assert dict(zip(sim.teams, sim.current_points.tolist(), strict=True)) == {**pts, "D": 2}
    # A and B level on 4: their own match (A won) decides. Counting C's matches too would leave them level on
    # points, goal difference and goals, and the order would be a coin.
    assert {tuple(_final_order(played, _tiny(SPAIN), seed=s)) for s in range(40)} == {("C", "A", "B", "D")}


# ----------------------------------------------------------------------------------- the SPL split
SPL_TEAMS = [f"T{i:02d}" for i in range(12)]


def _spl_before_split(rng: np.random.Generator, rounds: int) -> pd.DataFrame:
    """``rounds`` meetings of every pair (alternating grounds), random results, in time order."""
    rows, day = [], pd.Timestamp("2023-08-01")
    for k in range(rounds):
        for i, h in enumerate(SPL_TEAMS):
            for a in SPL_TEAMS[i + 1:]:
                home, away = (h, a) if k % 2 == 0 else (a, h)
                rows.append((home, away, int(rng.integers(0, 4)), int(rng.integers(0, 3)), day))
                day += pd.Timedelta(hours=6)
    return pd.DataFrame(rows, columns=["home_team", "away_team", "home_goals", "away_goals", "kickoff"])


def test_spl_split_each_half_plays_only_within_itself():
    rules = rules_for("SC0", "2324")
    played = _spl_before_split(np.random.default_rng(3), 3)  # 33 rounds played, the split is decided
    at_split = _final_order(played, replace(rules, split=None))
    pairs = split_candidates(SPL_TEAMS)
    # every remaining match a 0-0 draw: each team adds exactly 5 points (one match against each of its half)
    draws = _certain([(0, 0)] * len(pairs))
    sim = simulate_season(played, pairs.iloc[:0], np.zeros((0, 1, 1)), n=50, seed=0, rules=rules,
                          split_fixtures=pairs, split_probs=draws)
    before = dict(zip(sim.teams, _final_points(played, rules), strict=True))
    after = dict(zip(sim.teams, sim.expected_points, strict=True))
    assert all(after[t] == before[t] + 5 for t in SPL_TEAMS)
    top = set(at_split[:6])
    assert {t for t, p in zip(sim.teams, sim.split_groups[:, 0], strict=True) if p == 1.0} == top


def _final_points(played: pd.DataFrame, rules) -> np.ndarray:
    sim = simulate_season(played, played.iloc[:0][["home_team", "away_team"]], np.zeros((0, 1, 1)), n=1,
                          rules=replace(rules, split=None))
    return sim.current_points


def test_spl_split_a_bottom_six_team_cannot_finish_above_seventh():
    rules = rules_for("SC0", "2324")
    played = _spl_before_split(np.random.default_rng(5), 3)
    at_split = _final_order(played, replace(rules, split=None))
    sixth, seventh = at_split[5], at_split[6]
    pairs = split_candidates(SPL_TEAMS)
    # after the split the 7th wins every match 5-0 and the 6th loses every match 0-5; everything else 0-0
    scores = [(5, 0) if h == seventh else (0, 5) if a == seventh else (0, 5) if h == sixth else
              (5, 0) if a == sixth else (0, 0) for h, a in zip(pairs["home_team"], pairs["away_team"], strict=True)]
    sim = simulate_season(played, pairs.iloc[:0], np.zeros((0, 1, 1)), n=20, seed=1, rules=rules,
                          split_fixtures=pairs, split_probs=_certain(scores))
    final = _final_order_of(sim)
    points = dict(zip(sim.teams, sim.expected_points, strict=True))
    assert points[seventh] > points[sixth]  # more points than the 6th ...
    assert final.index(seventh) == 6 and set(final[:6]) == set(at_split[:6])  # ... and still 7th


def test_spl_simulated_from_before_the_split_keeps_teams_in_their_half():
    rules = rules_for("SC0", "2324")
    played = _spl_before_split(np.random.default_rng(7), 2)  # 22 rounds played
    rest = _spl_before_split(np.random.default_rng(8), 3).iloc[len(played):]
    fixtures = rest[["home_team", "away_team", "kickoff"]]
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(36), size=len(fixtures)).reshape(-1, 6, 6)
    pairs = split_candidates(SPL_TEAMS)
    sim = simulate_season(played, fixtures, probs, n=4000, seed=2, rules=rules, split_fixtures=pairs,
                          split_probs=rng.dirichlet(np.ones(36), size=len(pairs)).reshape(-1, 6, 6))
    top_half = sim.position_probs[:, :6].sum(axis=1)
    np.testing.assert_allclose(top_half, sim.split_groups[:, 0], atol=1e-12)  # finish top six <=> split top
    assert 0 < sim.split_groups[:, 0].min() and sim.split_groups[:, 0].max() < 1  # the split was uncertain
    np.testing.assert_allclose(sim.split_groups.sum(axis=0), [6, 6])
    with pytest.raises(ValueError, match="split_fixtures"):
        simulate_season(played, fixtures, probs, n=10, rules=rules)


def _final_order_of(sim) -> list[str]:
    return [sim.teams[i] for i in np.argmax(sim.position_probs, axis=0)]


def test_real_spl_seasons_are_ranked_within_their_halves(football_dir):
    """The top six of the ranked final table are the six who played each other after the split."""
    from formguide.football.split import meeting_numbers

    for season in ("2021", "2122", "2223", "2324", "2425"):
        played = _season(football_dir, "SC0", season)
        order = _final_order(played, rules_for("SC0", season))
        index = pd.Index(sorted(set(played["home_team"])))
        h, a = index.get_indexer(played["home_team"]), index.get_indexer(played["away_team"])
        post = played[meeting_numbers(h, a, len(index)) > 3]
        assert len(post) == 30, season
        champion_half = {order[0]} | set(post.loc[post["home_team"] == order[0], "away_team"]) | set(
            post.loc[post["away_team"] == order[0], "home_team"])
        assert set(order[:6]) == champion_half, season


# ------------------------------------------------------------------------------------ deductions
def test_everton_2023_24_ends_on_40_points(football_dir):
    played = _season(football_dir, "E0", "2324")
    none = simulate_season(played, played.iloc[:0][["home_team", "away_team"]], np.zeros((0, 1, 1)), n=1,
                           rules=rules_for("E0", "2324"))
    on_results = dict(zip(none.teams, none.current_points.tolist(), strict=True))
    assert on_results["Everton"] == 48 and on_results["Nott'm Forest"] == 36
    sim = simulate_season(played, played.iloc[:0][["home_team", "away_team"]], np.zeros((0, 1, 1)), n=10,
                          rules=rules_for("E0", "2324"), adjustments={"Everton": -8, "Nott'm Forest": -4})
    points = dict(zip(sim.teams, sim.current_points.tolist(), strict=True))
    assert points["Everton"] == 40 and points["Nott'm Forest"] == 32
    order = _final_order_of(sim)
    assert order.index("Everton") == 14 and order.index("Nott'm Forest") == 16  # 15th and 17th, as it ended
    assert order[17:] == ["Luton", "Burnley", "Sheffield United"]


def test_deduction_values_are_parsed_and_resolved_with_clear_errors():
    assert parse_deduction("Nott'm Forest=4") == ("Nott'm Forest", 4)
    assert parse_deduction(" Everton = -2 ") == ("Everton", -2)  # negative: points awarded
    assert resolve_deductions(["everton=6", "Everton=2"], ["Everton", "Luton"], "E0") == {"Everton": 8}
    for bad, message in [("Everton", "is not TEAM=POINTS"), ("=8", "is not TEAM=POINTS"),
                         ("Everton=8.5", "whole number"), ("Everton=", "whole number")]:
        with pytest.raises(ValueError, match=message):
            parse_deduction(bad)
    with pytest.raises(Exception, match="did you mean Everton"):
        resolve_deductions(["Evrton=8"], ["Everton", "Luton"], "E0 2023/24")


# ------------------------------------------------------------------------------ place-class output
def _round_robin_probs(teams: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    names = [f"T{i:02d}" for i in range(teams)]
    fixtures = pd.DataFrame([(h, a) for h in names for a in names if h != a], columns=["home_team", "away_team"])
    probs = np.random.default_rng(seed).dirichlet(np.ones(25), size=len(fixtures)).reshape(-1, 5, 5)
    return fixtures, probs


@pytest.mark.parametrize(("league", "season"), [("E0", "2223"), ("E0", "2425"), ("I1", "2324"), ("D1", "2324"),
                                                ("F1", "2324"), ("E1", "2324"), ("E3", "2324"), ("I2", "2324")])
def test_every_place_class_has_a_column_that_sums_to_its_places(league, season):
    rules = rules_for(league, season)
    fixtures, probs = _round_robin_probs(rules.teams, 0)
    sim = simulate_season(None, fixtures, probs, n=300, seed=0, rules=rules)
    frame = sim.to_frame()
    for place in rules.places:
        assert frame[place.key].sum() == pytest.approx(place.last - place.first + 1), place.key
        pos = frame[[f"pos_{k}" for k in range(place.first, place.last + 1)]].sum(axis=1)
        np.testing.assert_allclose(frame[place.key], pos)
    data = sim.to_dict()
    assert set(data["teams"][0]["places"]) == {p.key for p in rules.places}
    assert data["rules"]["tiebreak"] == ["points", *rules.tiebreak] and data["rules"]["league"] == league
    releg = rules.place("relegation")
    assert sim.n_relegation == releg.last - releg.first + 1
