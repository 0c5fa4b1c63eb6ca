"""NFL season Monte Carlo and tie-breakers: hand-made leagues for each step, real seasons for the whole.

Hand-made cases use small leagues (three-team divisions) with every game played, so the standings are
exact; each case first checks that the clubs really are level on every earlier step, then that the step
under test decides. Real seasons: with every 1999-2024 regular-season game played, the simulation must
give probability 1 to the real division winners, playoff teams and 1 seeds, and seeds consistent with
the real playoff bracket (games.csv's WC/DIV/CON games).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formguide.nfl.season_sim import (
    AWAY_WIN,
    HOME_WIN,
    TIE,
    UNPLAYED,
    League,
    NFLSchedule,
    ScheduleError,
    simulate_season,
)
from formguide.nfl.teams import conference, franchise_codes
from formguide.nfl.tiebreak import rank_divisions, records, seed_conferences

DATA_DIR = Path(os.environ.get("FORMGUIDE_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
GAMES_CSV = DATA_DIR / "nfl_games" / "games.csv"

W, T, L = "W", "T", "L"  # result of a game for its first-named team


@pytest.fixture(scope="module")
def games() -> pd.DataFrame:
    if not GAMES_CSV.is_file():
        pytest.skip(f"real NFL games not found at {GAMES_CSV} (set FORMGUIDE_DATA)")
    return pd.read_csv(GAMES_CSV)


# --- hand-made leagues ---------------------------------------------------------------------------

def make_league(divisions: dict[str, tuple[str, ...]], seeds: int, byes: int = 1) -> League:
    """Divisions named "<conference> <name>"; every conference gets ``seeds`` playoff places."""
    teams, divs = [], []
    for name, members in divisions.items():
        teams += members
        divs += [name] * len(members)
    return League(tuple(teams), tuple(divs), tuple(d.split()[0] for d in divs), seeds, byes)


#: Conference X: divisions XA, XB (2 division winners + 1 wild card); conference Y: one division.
TWO_DIVISIONS = make_league({"X A": ("a1", "a2", "a3"), "X B": ("b1", "b2", "b3"),
                             "Y C": ("c1", "c2", "c3", "c4", "c5", "c6", "c7")}, seeds=3)
#: Conference X with three divisions (3 winners + 1 wild card), for wild-card ties of three clubs.
THREE_DIVISIONS = make_league({"X A": ("a1", "a2", "a3"), "X B": ("b1", "b2", "b3"), "X D": ("d1", "d2", "d3"),
                               "Y C": ("c1", "c2", "c3", "c4", "c5", "c6", "c7")}, seeds=4)


def schedule(league: League, played: list[tuple[str, str, str]], open_games=(), season: int = 2024) -> NFLSchedule:
    """Games (team, opponent, result for team: W/T/L) with team at home; ``open_games`` (home, away, p_home, p_tie)."""
    code = {W: HOME_WIN, T: TIE, L: AWAY_WIN}
    rows = [(h, a, code[r], np.nan, np.nan) for h, a, r in played]
    rows += [(h, a, UNPLAYED, p, q) for h, a, p, q in open_games]
    home, away, result, p_home, p_tie = (np.array(c) for c in zip(*rows, strict=True))
    return NFLSchedule(season, home.astype(object), away.astype(object), result.astype(np.int8),
                       p_home.astype(float), p_tie.astype(float), league=league)


def standings(sched: NFLSchedule, n: int = 1, seed: int = 0):
    """Records, division places and seeds of the (fully played) schedule, by team code."""
    league = sched.league
    index = {t: i for i, t in enumerate(league.teams)}
    home = np.array([index[t] for t in sched.home])
    away = np.array([index[t] for t in sched.away])
    labels = [np.unique(np.array(x), return_inverse=True)[1] for x in (league.divisions, league.conferences)]
    rng = np.random.default_rng(seed)
    coin = rng.permuted(np.repeat(np.arange(len(index))[:, None], n, axis=1), axis=0)
    rec = records(home, away, np.repeat(sched.result[:, None], n, axis=1), labels[0], labels[1], coin)
    places = rank_divisions(rec)
    seeds = seed_conferences(rec, places, league.seeds)
    return rec, index, places, seeds


def level(rec, index, teams, field: str) -> bool:
    values = getattr(rec, field)[[index[t] for t in teams], 0]
    return bool(np.all(values == values[0]))


def division_winner(sched: NFLSchedule) -> str:
    sim = simulate_season(sched, n=1)
    winners = [t for t, p in zip(sim.teams, sim.p_division, strict=True) if p == 1 and t.startswith("a")]
    assert len(winners) == 1
    return winners[0]


def seed_of(sched: NFLSchedule, team: str) -> int:
    sim = simulate_season(sched, n=1)
    return int(sim.seed_draws[0, sim.teams.index(team)])


# --- division tie-breakers (two clubs) -----------------------------------------------------------

def test_division_head_to_head() -> None:
    sched = schedule(TWO_DIVISIONS, [("a1", "a2", W), ("a2", "a3", W), ("c1", "a1", W)])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a1", "a2"], "win_pct")
    assert division_winner(sched) == "a1"


def test_division_record_after_split() -> None:
    sched = schedule(TWO_DIVISIONS, [("a1", "a2", W), ("a2", "a1", W), ("a1", "a3", W), ("a2", "b1", W)])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a1", "a2"], "win_pct")
    assert rec.division_pct[ix["a1"], 0] > rec.division_pct[ix["a2"], 0]
    assert division_winner(sched) == "a1"


def test_common_games_before_conference_record() -> None:
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "a2", W), ("a2", "a1", W), ("a1", "a3", W), ("a2", "a3", W),
        ("a1", "c1", W), ("a1", "c2", W), ("a1", "b1", L),  # a1: 3-0 against the common a3, c1, c2
        ("a2", "c1", W), ("a2", "c2", L), ("a2", "c3", W),  # a2: 2-1 against them
    ])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a1", "a2"], "win_pct") and level(rec, ix, ["a1", "a2"], "division_pct")
    assert rec.conference_pct[ix["a2"], 0] > rec.conference_pct[ix["a1"], 0]  # would pick a2
    assert division_winner(sched) == "a1"


def test_conference_record() -> None:
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "a2", W), ("a2", "a1", W), ("a1", "a3", W), ("a2", "a3", W),
        ("a1", "c1", W), ("a1", "b1", L),  # a1: conference 2-2
        ("a2", "b2", W), ("a2", "c2", L),  # a2: conference 3-1
    ])
    rec, ix, _, _ = standings(sched)
    for field in ("win_pct", "division_pct"):
        assert level(rec, ix, ["a1", "a2"], field)
    assert division_winner(sched) == "a2"


def test_strength_of_victory() -> None:
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "a2", W), ("a2", "a1", W),
        ("a1", "c1", W), ("a1", "c2", L), ("c1", "b1", W), ("c1", "b2", W),  # a1 beat c1 (2-1)
        ("a2", "c3", W), ("a2", "c4", L),  # a2 beat c3 (0-1)
    ])
    rec, ix, _, _ = standings(sched)
    for field in ("win_pct", "division_pct", "conference_pct"):
        assert level(rec, ix, ["a1", "a2"], field)
    assert division_winner(sched) == "a1"


def test_strength_of_schedule() -> None:
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "a2", W), ("a2", "a1", W),
        ("a1", "c2", W), ("a1", "c1", L), ("c1", "b1", W),  # a1 lost to c1 (2-0)
        ("a2", "c4", W), ("a2", "c3", L), ("c3", "b2", L),  # a2 lost to c3 (1-1)
    ])
    rec, ix, _, _ = standings(sched)
    for field in ("win_pct", "division_pct", "conference_pct"):
        assert level(rec, ix, ["a1", "a2"], field)
    assert rec.schedule[ix["a1"], 0] > rec.schedule[ix["a2"], 0]
    assert division_winner(sched) == "a1"


def test_coin_flip_is_fair_and_seeded() -> None:
    sched = schedule(TWO_DIVISIONS, [("a1", "a2", W), ("a2", "a1", W)])
    sim = simulate_season(sched, n=4000, seed=11)
    p = dict(zip(sim.teams, sim.p_division, strict=True))
    assert p["a1"] + p["a2"] == pytest.approx(1.0)
    assert 0.46 < p["a1"] < 0.54  # 4000 fair flips: sd 0.008
    again = simulate_season(sched, n=4000, seed=11)
    assert np.array_equal(again.seed_draws, sim.seed_draws)
    other = simulate_season(sched, n=4000, seed=12)
    assert not np.array_equal(other.seed_draws, sim.seed_draws)


# --- division tie-breakers (three clubs) ---------------------------------------------------------

def test_three_club_head_to_head_then_two_club_restart() -> None:
    # a1 2-0 against the other two, a2 1-1, a3 0-2; all three 2-2 overall.
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "a2", W), ("a1", "a3", W), ("a1", "c1", L), ("a1", "c2", L),
        ("a2", "a3", W), ("a2", "c3", W), ("a2", "c4", L),
        ("a3", "c5", W), ("a3", "c6", W),
    ])
    rec, ix, places, _ = standings(sched)
    assert level(rec, ix, ["a1", "a2", "a3"], "win_pct")
    assert [int(places[0, ix[t]]) for t in ("a1", "a2", "a3")] == [0, 1, 2]


def test_three_club_tie_restarts_when_a_club_drops_out() -> None:
    # A cycle (a1 > a2 > a3 > a1) levels head-to-head and division record; a3 loses the common game
    # (c1) and drops out; a1 and a2 start again at head-to-head (a1 beat a2). Carrying on to the
    # conference record instead would pick a2.
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "a2", W), ("a2", "a3", W), ("a3", "a1", W),
        ("a1", "c1", W), ("a1", "c2", W),
        ("a2", "c1", W), ("a2", "b1", W),
        ("a3", "c1", L), ("a3", "c3", W), ("a3", "c4", W), ("a3", "c5", W), ("a3", "c6", W), ("a3", "c7", W),
    ])
    rec, ix, _, _ = standings(sched)
    trio = ["a1", "a2", "a3"]
    assert level(rec, ix, trio, "win_pct") and level(rec, ix, trio, "division_pct")
    assert rec.conference_pct[ix["a2"], 0] > rec.conference_pct[ix["a1"], 0]
    assert division_winner(sched) == "a1"


# --- wild cards and seeding ----------------------------------------------------------------------

def _wildcard_base() -> list[tuple[str, str, str]]:
    """a1 and b1 win their divisions clearly (3-0); a2 and b2 then compete for the one wild card."""
    return [("a1", "c5", W), ("a1", "c6", W), ("a1", "c7", W), ("b1", "c5", W), ("b1", "c6", W), ("b1", "c7", W)]


def strength_of_victory(played: list[tuple[str, str, str]], team: str) -> float:
    """Combined win percentage (ties half) of the teams ``team`` beat, each win counted: a plain loop."""
    points: dict[str, float] = {}
    games: dict[str, int] = {}
    beaten: list[str] = []
    for h, a, r in played:
        score = {W: 1.0, T: 0.5, L: 0.0}[r]
        points[h] = points.get(h, 0.0) + score
        points[a] = points.get(a, 0.0) + 1.0 - score
        games[h], games[a] = games.get(h, 0) + 1, games.get(a, 0) + 1
        if (h == team and r == W) or (a == team and r == L):
            beaten.append(a if h == team else h)
    return sum(points[t] for t in beaten) / sum(games[t] for t in beaten)


def test_wildcard_head_to_head_for_two_clubs_that_met() -> None:
    sched = schedule(TWO_DIVISIONS, _wildcard_base() + [
        ("a2", "b2", W), ("a2", "a3", L), ("a2", "c1", W), ("a2", "c2", L),  # 2-2, conference 1-1, beat b2
        ("b2", "b3", W), ("b2", "b3", W), ("b2", "c1", L),  # 2-2, conference 2-1
        ("c3", "a3", W), ("c3", "a3", W),  # a3 1-2
    ])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a2", "b2"], "win_pct")
    assert rec.conference_pct[ix["b2"], 0] > rec.conference_pct[ix["a2"], 0]  # the next step would pick b2
    assert seed_of(sched, "a2") == 3 and seed_of(sched, "b2") == 0


def test_wildcard_conference_record_when_they_did_not_meet() -> None:
    sched = schedule(TWO_DIVISIONS, _wildcard_base() + [
        ("a2", "b3", W), ("a2", "c1", L),  # 1-1, conference 1-0
        ("b2", "a3", L), ("b2", "c2", W),  # 1-1, conference 0-1
        ("c3", "a3", W), ("c4", "a3", W),  # a3 1-2: out of the race
    ])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a2", "b2"], "win_pct")
    assert rec.win_pct[ix["a3"], 0] < rec.win_pct[ix["a2"], 0]
    assert seed_of(sched, "a2") == 3 and seed_of(sched, "b2") == 0


def test_wildcard_common_games_need_four() -> None:
    # a2 and b2 never met, both 4-2 with conference 1-0. Common opponents c1..c3 (three games): a2 3-0,
    # b2 1-2, not enough to count, so strength of victory decides: b2 beat the stronger c5 and c6.
    base = [("a1", "c7", W)] * 3 + [("b1", "c7", W)] * 3 + [("c5", "c4", W)] * 3 + [("c6", "c4", W)] * 3 + [
        ("a2", "a3", W), ("a2", "c1", W), ("a2", "c2", W), ("a2", "c3", W), ("a2", "c4", L), ("a2", "c7", L),
        ("b2", "b3", W), ("b2", "c1", W), ("b2", "c2", L), ("b2", "c3", L), ("b2", "c5", W), ("b2", "c6", W),
    ]
    sched = schedule(TWO_DIVISIONS, base)
    rec, ix, _, _ = standings(sched)
    for field in ("win_pct", "conference_pct"):
        assert level(rec, ix, ["a2", "b2"], field)
    assert strength_of_victory(base, "b2") > strength_of_victory(base, "a2")
    assert seed_of(sched, "b2") == 3 and seed_of(sched, "a2") == 0
    # A fourth and fifth common opponent (b2 lost to c4, a2 to c5) make common games count: a2 3-2, b2 2-3.
    more = base + [("b2", "c4", L), ("a2", "c5", L)]
    sched = schedule(TWO_DIVISIONS, more)
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a2", "b2"], "win_pct") and level(rec, ix, ["a2", "b2"], "conference_pct")
    assert strength_of_victory(more, "b2") > strength_of_victory(more, "a2")
    assert seed_of(sched, "a2") == 3 and seed_of(sched, "b2") == 0


def _three_division_base() -> list[tuple[str, str, str]]:
    """a1, b1, d1 win their divisions clearly (4-0): the second places compete for the wild card."""
    return [(t, c, W) for t in ("a1", "b1", "d1") for c in ("c4", "c5", "c6", "c7")]


def test_wildcard_sweep_of_three_clubs() -> None:
    # a2 beat both b2 and d2 but has the worst conference record; the sweep wins it.
    sched = schedule(THREE_DIVISIONS, _three_division_base() + [
        ("a2", "b2", W), ("a2", "d2", W), ("a2", "a3", L), ("a2", "b3", L), ("a2", "d3", L), ("a2", "c1", W),
        ("b2", "a3", W), ("b2", "d3", W), ("b2", "b3", W), ("b2", "c1", L), ("b2", "c2", L),
        ("d2", "a3", W), ("d2", "b3", W), ("d2", "d3", W), ("d2", "c1", L), ("d2", "c2", L),
    ])
    rec, ix, _, _ = standings(sched)
    trio = ["a2", "b2", "d2"]
    assert level(rec, ix, trio, "win_pct")
    assert rec.conference_pct[ix["a2"], 0] < rec.conference_pct[ix["b2"], 0] == rec.conference_pct[ix["d2"], 0]
    assert seed_of(sched, "a2") == 4


def test_wildcard_three_clubs_ignore_head_to_head_without_a_sweep() -> None:
    # a2 has the best record among the three (2-1: beat b2, split with d2) but swept nobody, and nobody
    # lost to each of the others (b2 beat d2): the conference record decides, d2's. Plain head-to-head
    # percentage would pick a2.
    sched = schedule(THREE_DIVISIONS, _three_division_base() + [
        ("a2", "b2", W), ("a2", "d2", W), ("d2", "a2", W), ("b2", "d2", W),
        ("a2", "c1", W), ("a2", "a3", L), ("a2", "c3", L),  # 3-3, conference 2-2
        ("d2", "a3", W), ("d2", "b3", W), ("d2", "c1", L),  # 3-3, conference 3-2
        ("b2", "c2", W), ("b2", "c3", L),  # 2-2, conference 1-1
        ("c5", "a3", W), ("c5", "a3", W),  # a3 1-3
    ])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a2", "b2", "d2"], "win_pct")
    assert rec.conference_pct[ix["d2"], 0] > rec.conference_pct[ix["a2"], 0] == rec.conference_pct[ix["b2"], 0]
    assert seed_of(sched, "d2") == 4 and seed_of(sched, "a2") == 0


def test_wildcard_without_sweep_goes_to_conference_record() -> None:
    # a2 beat b2 but never met d2: no sweep; d2 has the best conference record.
    sched = schedule(THREE_DIVISIONS, _three_division_base() + [
        ("a2", "b2", W), ("a2", "a3", L), ("a2", "c1", L), ("a2", "c2", W),  # 2-2, conference 1-1
        ("b2", "c1", W), ("b2", "c2", W), ("b2", "c3", L),  # 2-2, conference 0-1
        ("d2", "b3", W), ("d2", "c2", L),  # 1-1, conference 1-0
        ("c5", "a3", W), ("c6", "a3", W),  # a3 1-2
    ])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a2", "b2", "d2"], "win_pct")
    assert rec.conference_pct[ix["a2"], 0] > rec.conference_pct[ix["b2"], 0]  # a plain h2h pair would pick a2
    assert seed_of(sched, "d2") == 4


def test_wildcard_club_that_lost_to_each_drops_out() -> None:
    # d2 lost to a2 and b2 (who never met) but has the best conference record; it drops out, then a2 and
    # b2 (did not meet) go to the conference record: a2.
    third_places = [(c, t, W) for t in ("a3", "b3", "d3") for c in ("c5", "c6")]
    sched = schedule(THREE_DIVISIONS, _three_division_base() + third_places + [
        ("a2", "d2", W), ("a2", "a3", L), ("a2", "c1", W), ("a2", "c2", W), ("a2", "c3", L), ("a2", "c4", L),
        ("b2", "d2", W), ("b2", "b3", L), ("b2", "d3", L), ("b2", "c2", W), ("b2", "c3", W), ("b2", "c1", L),
        ("d2", "a3", W), ("d2", "b3", W), ("d2", "d3", W), ("d2", "c1", L),
    ])
    rec, ix, _, _ = standings(sched)
    trio = ["a2", "b2", "d2"]
    assert level(rec, ix, trio, "win_pct")
    assert rec.conference_pct[ix["d2"], 0] > rec.conference_pct[ix["a2"], 0] > rec.conference_pct[ix["b2"], 0]
    assert seed_of(sched, "a2") == 4 and seed_of(sched, "d2") == 0


def test_wildcard_keeps_only_the_best_club_of_each_division() -> None:
    # a2 and a3 tie in their division (a2 won the meeting: second place); b2 ties with both. a3 has the
    # best conference record but is set aside behind a2; b2 then beats a2 on conference record.
    sched = schedule(TWO_DIVISIONS, _wildcard_base() + [
        ("a2", "a3", W), ("a2", "b3", L), ("a2", "c1", L), ("a2", "c2", W),  # 2-2, conference 1-1
        ("a3", "b3", W), ("a3", "b3", W), ("a3", "c2", L),  # 2-2, conference 2-1
        ("b2", "b3", W), ("b2", "b3", W), ("b2", "b3", W), ("b2", "b3", L), ("b2", "b3", L),
        ("b2", "c4", L),  # 3-3, conference 3-2
    ])
    rec, ix, places, _ = standings(sched)
    trio = ["a2", "a3", "b2"]
    assert level(rec, ix, trio, "win_pct")
    conf = {t: rec.conference_pct[ix[t], 0] for t in trio}
    assert conf["a3"] > conf["b2"] > conf["a2"]
    assert places[0, ix["a2"]] == 1 and places[0, ix["a3"]] == 2
    assert seed_of(sched, "b2") == 3 and seed_of(sched, "a3") == 0


def test_division_winners_are_seeded_by_wildcard_rules() -> None:
    # a1 and b1 both 3-1; a1 beat b1 head-to-head: seed 1, although b1 has the better conference record.
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "b1", W), ("a1", "a2", L), ("a1", "c1", W), ("a1", "c2", W),  # conference 1-1
        ("b1", "b2", W), ("b1", "b3", W), ("b1", "a3", W),  # conference 3-1
        ("c3", "a2", W), ("c4", "a2", W),  # a2 1-2
    ])
    rec, ix, _, _ = standings(sched)
    assert level(rec, ix, ["a1", "b1"], "win_pct")
    assert rec.conference_pct[ix["b1"], 0] > rec.conference_pct[ix["a1"], 0]
    assert seed_of(sched, "a1") == 1 and seed_of(sched, "b1") == 2


# --- ties, probabilities, formats ----------------------------------------------------------------

def test_a_tie_counts_half_a_win() -> None:
    # a1 1-0-1 (0.75) and a2 3-1 (0.75) are level on win percentage; a1 won the meeting... they never met:
    sched = schedule(TWO_DIVISIONS, [
        ("a1", "c1", W), ("a1", "c2", T),
        ("a2", "c3", W), ("a2", "c4", W), ("a2", "c5", W), ("a2", "c6", L),
    ])
    rec, ix, _, _ = standings(sched)
    assert rec.win_pct[ix["a1"], 0] == rec.win_pct[ix["a2"], 0] == 0.75
    sim = simulate_season(sched, n=10)
    i = sim.teams.index("a1")
    assert sim.current_wins[i] == 1.5 and sim.expected_wins[i] == 1.5
    assert sim.win_probs[i, 3] == 1.0  # column k holds k/2 wins
    assert sim.current_wins[sim.teams.index("c2")] == 0.5


def test_open_games_follow_their_probabilities() -> None:
    sched = schedule(TWO_DIVISIONS, [], open_games=[("a1", "a2", 0.7, 0.1), ("b1", "b2", 0.0, 1.0)])
    sim = simulate_season(sched, n=20000, seed=3)
    i, j = sim.teams.index("a1"), sim.teams.index("a2")
    assert sim.win_probs[i, 2] == pytest.approx(0.7, abs=0.01)  # a1 won
    assert sim.win_probs[i, 1] == pytest.approx(0.1, abs=0.006)  # tie
    assert sim.win_probs[j, 2] == pytest.approx(0.2, abs=0.01)
    b1 = sim.teams.index("b1")
    assert sim.win_probs[b1, 1] == 1.0  # certain tie: half a win
    assert sim.expected_wins[i] + sim.expected_wins[j] == pytest.approx(1.0)


def test_nfl_playoff_formats() -> None:
    old, new, early = League.nfl(2019), League.nfl(2020), League.nfl(2001)
    assert (old.seeds, old.byes, len(old.teams)) == (6, 2, 32)
    assert (new.seeds, new.byes) == (7, 1)
    assert len(early.teams) == 31 and len(set(early.divisions)) == 6 and "HOU" not in early.teams


# --- schedule validation -------------------------------------------------------------------------

def _frame(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame({
        "game_id": ["g1", "g2"], "season": [2024, 2024], "game_type": ["REG", "REG"],
        "gameday": ["2024-09-08", "2024-09-15"], "home_team": ["KC", "BUF"], "away_team": ["BAL", "MIA"],
        "home_score": [27, np.nan], "away_score": [20, np.nan], "p_home": [np.nan, 0.6], "p_tie": [np.nan, 0.003],
    })
    for k, v in overrides.items():
        frame[k] = v
    return frame


def test_from_frame_reads_played_and_open_games() -> None:
    sched = NFLSchedule.from_frame(_frame(), 2024)
    assert list(sched.result) == [HOME_WIN, UNPLAYED]
    assert sched.p_home[1] == 0.6
    later = NFLSchedule.from_frame(_frame(p_home=[0.55, 0.6], p_tie=[0.0, 0.0]), 2024, as_of="2024-09-08")
    assert list(later.result) == [UNPLAYED, UNPLAYED]  # played on the day itself: not yet known
    old = NFLSchedule.from_frame(_frame(home_team=["SD", "OAK"], season=[2016, 2016]), 2016)
    assert list(old.home) == ["LAC", "LV"]  # franchise codes


@pytest.mark.parametrize(("overrides", "message"), [
    ({"home_team": ["KC", "XXX"]}, "row 1 (g2), column home_team: unknown NFL team code 'XXX'"),
    ({"away_team": ["BAL", "BUF"]}, "row 1 (g2), column away_team: BUF cannot play itself"),
    ({"p_home": [np.nan, 1.2]}, "row 1 (g2), column p_home: 1.2 is not a probability"),
    ({"p_home": [np.nan, np.nan]}, "row 1 (g2), column p_home: nan is not a probability"),
    ({"p_tie": [np.nan, 0.5]}, "row 1 (g2), column p_tie: p_home 0.6 + p_tie 0.5 exceeds 1"),
    ({"home_score": ["27", "x"]}, "games row 1, column home_score: 'x' is not a number"),
])
def test_bad_schedules_name_row_and_column(overrides, message) -> None:
    with pytest.raises(ScheduleError, match=_escape(message)):
        NFLSchedule.from_frame(_frame(**overrides), 2024)


def test_open_games_need_probabilities() -> None:
    with pytest.raises(ScheduleError, match=r"games row 1, column p_home: missing for a game still to play"):
        NFLSchedule.from_frame(_frame().drop(columns=["p_home", "p_tie"]), 2024)


def test_houston_did_not_play_in_2001() -> None:
    with pytest.raises(ScheduleError, match="column home_team: 'HOU' is not a team of the 2001 season"):
        NFLSchedule.from_frame(_frame(home_team=["HOU", "BUF"], season=[2001, 2001]), 2001)


def _escape(text: str) -> str:
    import re

    return re.escape(text)


# --- real seasons --------------------------------------------------------------------------------

def _playoffs(games: pd.DataFrame, season: int) -> pd.DataFrame:
    po = games[(games["season"] == season) & games["game_type"].isin(["WC", "DIV", "CON"])].copy()
    po["home"] = franchise_codes(po["home_team"])
    po["away"] = franchise_codes(po["away_team"])
    return po


@pytest.mark.parametrize("season", [2023, 2024])
def test_real_season_with_every_game_played(games, season) -> None:
    sim = simulate_season(NFLSchedule.from_frame(games, season), n=200, seed=5)
    po = _playoffs(games, season)
    wild_card = po[po["game_type"] == "WC"]
    in_wc = set(wild_card["home"]) | set(wild_card["away"])
    byes = set(po.loc[po["game_type"] == "DIV", "home"]) - in_wc  # 14-team format: the 1 seeds
    field = in_wc | byes
    winners = set(wild_card["home"]) | byes  # seeds 2-4 host the wild-card round
    p = sim.to_frame().set_index("team")
    assert len(field) == 14 and len(byes) == 2
    assert set(p.index[p["playoffs"] == 1.0]) == field
    assert set(p.index[p["playoffs"] > 0]) == field
    assert set(p.index[p["division_title"] == 1.0]) == winners
    assert set(p.index[p["first_seed"] == 1.0]) == byes
    assert np.allclose(p["division_title"].groupby(p["division"]).sum(), 1.0)


@pytest.mark.parametrize("season", range(1999, 2025))
def test_real_seeds_match_the_real_bracket(games, season) -> None:
    """Every real playoff game was hosted by the better seed; wild-card pairs are 2-7, 3-6, 4-5 (sum 9);
    the 1 seed hosted the lowest seed left in the divisional round."""
    sim = simulate_season(NFLSchedule.from_frame(games, season), n=16, seed=1)
    assert np.all(sim.seed_draws == sim.seed_draws[0])  # every game played: no coin flip left
    seed = dict(zip(sim.teams, sim.seed_draws[0].tolist(), strict=True))
    po = _playoffs(games, season)
    assert {t for t, s in seed.items() if s > 0} == set(po["home"]) | set(po["away"])
    for row in po.itertuples():
        assert 0 < seed[row.home] < seed[row.away], (row.game_type, row.away, row.home)
        if row.game_type == "WC":
            assert seed[row.home] + seed[row.away] == 9, (row.away, row.home)
    divisional = po[po["game_type"] == "DIV"]
    for conf in ("AFC", "NFC"):
        rows = divisional[[conference(t, season) == conf for t in divisional["home"]]]
        top = rows[[seed[t] == 1 for t in rows["home"]]]
        assert len(top) == 1 and seed[top["away"].iloc[0]] == max(seed[t] for t in rows["away"])


# --- invariants ----------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_seeding_invariants(games, data) -> None:
    sched = NFLSchedule.from_frame(games, 2024)
    n_games = len(sched.home)
    p_home = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n_games, max_size=n_games)))
    p_tie = np.minimum(data.draw(st.sampled_from([0.0, 0.003, 0.2])), 1.0 - p_home)
    played = np.array(data.draw(st.lists(st.booleans(), min_size=n_games, max_size=n_games)))
    result = np.where(played, sched.result, UNPLAYED).astype(np.int8)
    open_sched = NFLSchedule(2024, sched.home, sched.away, result, p_home, p_tie)
    sim = simulate_season(open_sched, n=60, seed=data.draw(st.integers(0, 2**32 - 1)))
    seeds = sim.seed_draws
    conf = np.array(sim.conferences)
    for c in ("AFC", "NFC"):
        cs = seeds[:, conf == c]
        assert np.all(np.sort(cs, axis=1)[:, -7:] == np.arange(1, 8))  # seeds 1..7 once each
        assert np.all((cs > 0).sum(1) == 7)
    assert np.allclose(sim.win_probs.sum(1), 1.0)
    assert np.allclose(sim.p_division[conf == "AFC"].sum(), 4.0)
    assert np.all(sim.p_first_seed <= sim.p_division + 1e-12)
    assert np.all(sim.p_division <= sim.p_playoffs + 1e-12)
