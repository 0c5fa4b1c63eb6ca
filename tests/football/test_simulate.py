"""Season simulation: exact tables from certain scores, probability invariants, sampler exactness."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.football.sampling import guide_tables as _guide_tables
from formguide.football.sampling import sample_cells as _sample_cells
from formguide.football.sampling import sampler as _sampler
from formguide.football.simulate import SeasonSimulation, simulate_season
from formguide.football.standings import rank

G = 4
SMALL = {"top_n": 1, "relegation_n": 1}  # the defaults (4, 3) need at least 4 teams


def certain(scores: list[tuple[int, int]], g: int = G) -> np.ndarray:
    """Score matrices putting probability 1 on the given (home, away) score of each fixture."""
    out = np.zeros((len(scores), g + 1, g + 1))
    for i, (h, a) in enumerate(scores):
        out[i, h, a] = 1.0
    return out


def frame(rows: list[tuple], with_goals: bool = True) -> pd.DataFrame:
    cols = (
        ["home_team", "away_team", "home_goals", "away_goals"] if with_goals else ["home_team", "away_team"]
    )
    return pd.DataFrame(rows, columns=cols)


def round_robin(teams: list[str]) -> pd.DataFrame:
    return frame([(h, a) for h in teams for a in teams if h != a], with_goals=False)


def poisson_matrices(lam: np.ndarray, mu: np.ndarray, g: int = 8) -> np.ndarray:
    from scipy.stats import poisson

    k = np.arange(g + 1)
    m = poisson.pmf(k[None, :, None], lam[:, None, None]) * poisson.pmf(k[None, None, :], mu[:, None, None])
    return m / m.sum(axis=(1, 2), keepdims=True)


# ---------------------------------------------------------------- exact tables


def test_certain_scores_give_the_exact_final_table():
    played = frame([("A", "B", 2, 0), ("C", "D", 1, 1)])
    fixtures = frame([("B", "C", 0, 0), ("D", "A", 0, 0), ("A", "C", 0, 0), ("B", "D", 0, 0)])[
        ["home_team", "away_team"]
    ]
    # B 0-3 C, D 1-1 A, A 0-0 C, B 2-2 D
    sim = simulate_season(played, fixtures, certain([(0, 3), (1, 1), (0, 0), (2, 2)]), n=500, seed=3)
    # A: W D D = 5 pts, gd +2 ; C: D W D = 5 pts, gd +3 ; D: D D D = 3 ; B: L L D = 1
    assert sim.teams == ["A", "B", "C", "D"]
    np.testing.assert_array_equal(sim.current_points, [3, 0, 1, 1])
    np.testing.assert_array_equal(sim.expected_points, [5, 1, 5, 3])
    expected_positions = {"C": 1, "A": 2, "D": 3, "B": 4}
    for team, pos in expected_positions.items():
        i = sim.teams.index(team)
        row = np.zeros(4)
        row[pos - 1] = 1.0
        np.testing.assert_array_equal(sim.position_probs[i], row)
        assert sim.expected_position[i] == pos
    np.testing.assert_array_equal(sim.title, [0, 0, 1, 0])
    assert list(sim.to_frame()["team"]) == ["C", "A", "D", "B"]


def test_table_order_is_points_then_goal_difference_then_goals_scored():
    # All on 3 points after one win and one loss each; gd and goals decide.
    played = frame(
        [
            ("A", "B", 5, 0),  # A +5
            ("B", "C", 1, 0),  # B +1
            ("C", "A", 4, 3),  # C +1
        ]
    )
    # A: gf 8 ga 4 (+4) ; B: gf 1 ga 5 (-4) ; C: gf 4 ga 4 (0)
    sim = simulate_season(played, frame([], with_goals=False), np.zeros((0, 3, 3)), n=200, seed=0, **SMALL)
    assert list(sim.to_frame()["team"]) == ["A", "C", "B"]
    np.testing.assert_array_equal(sim.position_probs, np.eye(3)[[0, 2, 1]])

    # Same points and goal difference: more goals scored ranks higher.
    played = frame([("A", "B", 3, 3), ("C", "D", 1, 1)])
    sim = simulate_season(played, frame([], with_goals=False), np.zeros((0, 3, 3)), n=200, seed=0, **SMALL)
    a, b, c, d = (sim.teams.index(x) for x in "ABCD")
    assert sim.position_probs[a, :2].sum() == 1.0 and sim.position_probs[b, :2].sum() == 1.0
    assert sim.position_probs[c, 2:].sum() == 1.0 and sim.position_probs[d, 2:].sum() == 1.0


def test_exact_ties_are_split_at_random():
    played = frame([("A", "B", 1, 1)])
    sim = simulate_season(played, frame([], with_goals=False), np.zeros((0, 1, 1)), n=4000, seed=11, **SMALL)
    assert 0.45 < sim.title[0] < 0.55
    np.testing.assert_allclose(sim.title.sum(), 1.0)
    np.testing.assert_allclose(sim.expected_position, [1.5, 1.5], atol=0.05)


def test_no_fixtures_left_is_the_final_table():
    played = frame([("A", "B", 2, 1), ("B", "C", 0, 0), ("C", "A", 1, 0), ("B", "A", 3, 0)])
    # A: W L L = 3 pts ; B: L D W = 4 pts, gd +2 ; C: D W = 4 pts, gd +1
    sim = simulate_season(played, frame([], with_goals=False), np.empty((0, 5, 5)), n=100, seed=1, **SMALL)
    assert list(sim.to_frame()["team"]) == ["B", "C", "A"]
    np.testing.assert_array_equal(sim.current_points, sim.expected_points)
    np.testing.assert_array_equal(sim.position_probs.max(axis=1), [1.0, 1.0, 1.0])


def test_team_only_in_fixtures_is_included():
    played = frame([("A", "B", 1, 0)])
    fixtures = frame([("Newcomer", "A"), ("B", "Newcomer")], with_goals=False)
    sim = simulate_season(played, fixtures, certain([(2, 0), (0, 1)]), n=50, seed=0, **SMALL)
    i = sim.teams.index("Newcomer")
    assert sim.current_points[i] == 0
    assert sim.expected_points[i] == 6
    assert sim.title[i] == 1.0


def test_rectangular_score_grid():
    probs = np.zeros((1, 3, 6))
    probs[0, 0, 5] = 1.0  # 0-5 away win
    sim = simulate_season(None, frame([("H", "A")], with_goals=False), probs, n=10, seed=0, **SMALL)
    assert sim.teams == ["A", "H"]
    np.testing.assert_array_equal(sim.expected_points, [3, 0])


def test_custom_points_and_zone_sizes():
    teams = list("ABCDEF")
    fixtures = round_robin(teams)
    scores = [
        (1, 0) if teams.index(h) < teams.index(a) else (0, 0) for h, a in fixtures.itertuples(index=False)
    ]
    sim = simulate_season(
        None, fixtures, certain(scores), n=20, seed=0, points=(2, 1, 0), top_n=2, relegation_n=1
    )
    # Earlier letters win at home against later ones; every other game is drawn: team i gets 15 - 2i.
    np.testing.assert_array_equal(sim.expected_points, [15, 13, 11, 9, 7, 5])
    np.testing.assert_array_equal(sim.top_n, [1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(sim.relegation, [0, 0, 0, 0, 0, 1])
    assert sim.n_top == 2 and sim.n_relegation == 1 and sim.points == (2, 1, 0)


def test_point_adjustments_count_in_the_table():
    played = frame([("A", "B", 1, 0), ("B", "C", 1, 0), ("C", "A", 0, 0)])
    # A 4, B 3, C 1; deducting 2 from A puts B top.
    sim = simulate_season(
        played, frame([], with_goals=False), np.zeros((0, 1, 1)), n=50, seed=0, adjustments={"A": -2}, **SMALL
    )
    np.testing.assert_array_equal(sim.current_points, [2, 3, 1])
    assert list(sim.to_frame()["team"]) == ["B", "A", "C"]
    with pytest.raises(ValueError, match="adjustments name 'Z', who is neither in played nor in fixtures"):
        simulate_season(
            played, frame([], with_goals=False), np.zeros((0, 1, 1)), adjustments={"Z": -1}, **SMALL
        )


# ---------------------------------------------------------------- randomness


def test_seeded_runs_are_reproducible_and_seeds_matter():
    teams = ["A", "B", "C", "D", "E"]
    fixtures = round_robin(teams)
    m = len(fixtures)
    probs = poisson_matrices(np.linspace(0.8, 2.0, m), np.linspace(1.6, 0.7, m))
    a = simulate_season(None, fixtures, probs, n=3000, seed=42)
    b = simulate_season(None, fixtures, probs, n=3000, seed=42)
    c = simulate_season(None, fixtures, probs, n=3000, seed=43)
    np.testing.assert_array_equal(a.position_probs, b.position_probs)
    np.testing.assert_array_equal(a.expected_points, b.expected_points)
    assert not np.array_equal(a.position_probs, c.position_probs)


def test_expected_points_match_the_analytic_expectation():
    teams = [f"T{i}" for i in range(6)]
    fixtures = round_robin(teams)
    m = len(fixtures)
    rng = np.random.default_rng(5)
    probs = poisson_matrices(rng.uniform(0.6, 2.4, m), rng.uniform(0.5, 1.8, m))
    n = 20000
    sim = simulate_season(None, fixtures, probs, n=n, seed=9, top_n=2, relegation_n=2)
    h = np.arange(probs.shape[1])[:, None]
    a = np.arange(probs.shape[2])[None, :]
    p_home = (probs * (h > a)).sum(axis=(1, 2))
    p_draw = (probs * (h == a)).sum(axis=(1, 2))
    p_away = 1 - p_home - p_draw
    exp_pts = dict.fromkeys(teams, 0.0)
    var_pts = dict.fromkeys(teams, 0.0)
    for i, (home, away) in enumerate(fixtures.itertuples(index=False)):
        for team, pw, pd_ in ((home, p_home[i], p_draw[i]), (away, p_away[i], p_draw[i])):
            mean = 3 * pw + pd_
            exp_pts[team] += mean
            var_pts[team] += 9 * pw + pd_ - mean**2
    for j, team in enumerate(sim.teams):
        se = np.sqrt(var_pts[team] / n)
        assert abs(sim.expected_points[j] - exp_pts[team]) < 5 * se, team


def test_sampler_is_exactly_inverse_cdf_searchsorted():
    rng = np.random.default_rng(0)
    m, g = 40, 6
    probs = rng.dirichlet(np.full((g + 1) ** 2, 0.3), size=m).reshape(m, g + 1, g + 1)
    probs[:5] = certain([(0, 0), (6, 6), (3, 1), (0, 6), (2, 2)], g)  # degenerate rows: steps at 0 and 1
    probs[5, :, :] = 0.0
    probs[5, 1, 1], probs[5, 1, 2] = 0.5, 0.5  # steps exactly on bucket edges
    cdf, guide = _sampler(probs)
    bits = rng.integers(0, 2**32, size=(m, 5000), dtype=np.uint32)
    bits[:, :4] = [0, 2**31, 2**32 - 1, 2**20]  # edge uniforms 0, 0.5, max, one bucket
    cells = _sample_cells(bits, cdf, guide)
    u = bits * 2.0**-32
    expected = np.stack([np.searchsorted(cdf[i], u[i], side="right") for i in range(m)])
    np.testing.assert_array_equal(cells, expected)
    flat = probs.reshape(m, -1)
    assert (flat[np.arange(m)[:, None], cells] > 0).all(), "sampled a score with probability 0"
    assert (guide >= 0).mean() > 0.9  # the fast path does most of the work


def test_sampled_score_frequencies_follow_the_matrix():
    probs = np.array([[[0.1, 0.2], [0.3, 0.4]]])
    cdf, guide = _sampler(probs)
    bits = np.random.default_rng(1).integers(0, 2**32, size=(1, 200_000), dtype=np.uint32)
    freq = np.bincount(_sample_cells(bits, cdf, guide).ravel(), minlength=4) / 200_000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.005)


def test_guide_table_marks_buckets_with_a_step():
    cdf = np.array([[0.25, 0.25 + 1e-9, 1.0]])
    guide = _guide_tables(cdf)
    L = guide.shape[1]
    assert guide[0, 0] == 0 and guide[0, L // 4 - 1] == 0
    assert guide[0, L // 4] == -1  # holds the step at 0.25 + 1e-9
    assert guide[0, L // 4 + 1] == 2 and guide[0, -1] == 2


def _rank(pts, gd, gf, rng):
    return rank(pts, {"goal_difference": gd, "goals_for": gf}, ("goal_difference", "goals_for"), rng)


def test_rank_packed_key_and_lexsort_fallback_agree():
    rng = np.random.default_rng(3)
    pts = rng.integers(0, 6, size=(200, 5))
    gd = rng.integers(-3, 4, size=(200, 5))
    gf = rng.integers(0, 3, size=(200, 5))
    order = _rank(pts, gd, gf, np.random.default_rng(7))
    big = 2**40  # too wide to pack in one int64: the key is compressed to dense ranks on the way
    order_big = _rank(pts * big, gd * big, gf * big, np.random.default_rng(7))
    np.testing.assert_array_equal(order, order_big)
    key = np.take_along_axis(pts * 10_000 + (gd + 50) * 100 + gf, order, axis=1)
    assert (np.diff(key, axis=1) <= 0).all()


# ---------------------------------------------------------------- invariants


@st.composite
def leagues(draw):
    n_teams = draw(st.integers(2, 6))
    teams = [f"T{i}" for i in range(n_teams)]
    pairs = [(h, a) for h in teams for a in teams if h != a]
    n_played = draw(st.integers(0, len(pairs)))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    played = frame([(*pairs[i], int(rng.integers(0, 4)), int(rng.integers(0, 4))) for i in order[:n_played]])
    fixtures = frame([pairs[i] for i in order[n_played:]], with_goals=False)
    g = draw(st.integers(1, 5))
    alpha = draw(st.sampled_from([0.05, 0.5, 2.0]))
    probs = rng.dirichlet(np.full((g + 1) ** 2, alpha), size=len(fixtures)).reshape(-1, g + 1, g + 1)
    top = draw(st.integers(0, n_teams))
    rel = draw(st.integers(0, n_teams))
    return played, fixtures, probs, top, rel, seed


@settings(max_examples=40, deadline=None)
@given(leagues(), st.integers(1, 300))
def test_probability_invariants(league, n):
    played, fixtures, probs, top, rel, seed = league
    sim = simulate_season(played, fixtures, probs, n=n, seed=seed, top_n=top, relegation_n=rel)
    t = len(sim.teams)
    assert sim.position_probs.shape == (t, t)
    np.testing.assert_allclose(sim.position_probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(sim.position_probs.sum(axis=0), 1.0)
    np.testing.assert_allclose(sim.title.sum(), 1.0)
    np.testing.assert_allclose(sim.top_n.sum(), top)
    np.testing.assert_allclose(sim.relegation.sum(), rel)
    np.testing.assert_allclose(sim.expected_position.sum(), t * (t + 1) / 2)
    np.testing.assert_allclose(sim.position_probs * n, np.round(sim.position_probs * n), atol=1e-9)
    remaining = fixtures["home_team"].value_counts().add(fixtures["away_team"].value_counts(), fill_value=0)
    for i, team in enumerate(sim.teams):
        left = int(remaining.get(team, 0))
        assert sim.current_points[i] <= sim.expected_points[i] <= sim.current_points[i] + 3 * left


# ---------------------------------------------------------------- outputs


def test_to_frame_and_to_dict():
    teams = ["A", "B", "C", "D"]
    fixtures = round_robin(teams)
    m = len(fixtures)
    lam = np.where(fixtures["home_team"] == "A", 2.5, 1.2)
    sim = simulate_season(None, fixtures, poisson_matrices(lam, np.full(m, 1.0)), n=2000, seed=2, top_n=1)
    assert isinstance(sim, SeasonSimulation)
    df = sim.to_frame()
    assert list(df.columns[:7]) == [
        "team",
        "current_points",
        "expected_points",
        "expected_position",
        "title",
        "top_n",
        "relegation",
    ]
    assert [c for c in df.columns if c.startswith("pos_")] == ["pos_1", "pos_2", "pos_3", "pos_4"]
    assert df["expected_points"].is_monotonic_decreasing
    assert df["team"].iloc[0] == "A"
    assert df.attrs["n_simulations"] == 2000
    d = json.loads(json.dumps(sim.to_dict()))
    assert d["n_simulations"] == 2000 and d["seed"] == 2 and d["n_top"] == 1
    assert [r["team"] for r in d["teams"]] == list(df["team"])
    assert d["teams"][0]["positions"] == pytest.approx(
        df.loc[0, ["pos_1", "pos_2", "pos_3", "pos_4"]].tolist()
    )
    assert sum(r["title"] for r in d["teams"]) == pytest.approx(1.0)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score_probs": np.full((2, 3, 3), 1 / 9)}, r"shape \(n_fixtures, G\+1, G\+1\) = \(1, G\+1, G\+1\)"),
        ({"score_probs": np.full((1, 9), 1 / 9)}, "got \\(1, 9\\)"),
        (
            {"score_probs": np.full((1, 3, 3), 0.1)},
            r"score_probs\[0\] \(A v B, fixtures row 0\) sums to 0.900000",
        ),
        ({"score_probs": np.array([[[1.5, -0.5], [0, 0]]])}, "negative or non-finite"),
        ({"n": 0}, "n \\(number of simulations\\) must be positive, got 0"),
        ({"top_n": 5}, "top_n must be between 0 and the number of teams \\(3\\)"),
        ({"relegation_n": -1}, "relegation_n must be between 0"),
        ({"points": (3, 1.5, 0)}, "points must be three non-negative integers"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, message):
    args = {
        "played": frame([("A", "C", 1, 0)]),
        "fixtures": frame([("A", "B")], with_goals=False),
        "score_probs": certain([(1, 1)]),
        **SMALL,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        simulate_season(**args)


def test_bad_frames_raise_clear_errors():
    fixtures = frame([("A", "B")], with_goals=False)
    probs = certain([(1, 1)])
    unplayed = frame([("A", "C", 1, 0), ("C", "A", np.nan, np.nan)])
    with pytest.raises(
        ValueError,
        match=r"played row 1 \(C v A\), column home_goals: nan is not a non-negative whole number of goals; unplayed matches belong in `fixtures`",
    ):
        simulate_season(unplayed, fixtures, probs, **SMALL)
    with pytest.raises(ValueError, match=r"played row 0 .*column away_goals: -1"):
        simulate_season(frame([("A", "C", 1, -1)]), fixtures, probs, **SMALL)
    with pytest.raises(ValueError, match=r"played row 0 .*column home_goals: 1.5"):
        simulate_season(frame([("A", "C", 1.5, 0)]), fixtures, probs, **SMALL)
    with pytest.raises(ValueError, match=r"played is missing column\(s\) \['away_goals'\]"):
        simulate_season(frame([("A", "C", 1, 0)]).drop(columns="away_goals"), fixtures, probs, **SMALL)
    with pytest.raises(ValueError, match=r"fixtures row 0: 'A' cannot play itself"):
        simulate_season(None, frame([("A", "A")], with_goals=False), probs)
    with pytest.raises(ValueError, match=r"fixtures row 0, column away_team: missing team name"):
        simulate_season(None, frame([("A", None)], with_goals=False), probs)
    with pytest.raises(ValueError, match="no teams"):
        simulate_season(None, frame([], with_goals=False), np.zeros((0, 1, 1)))


def test_slightly_truncated_matrices_are_renormalised():
    probs = certain([(1, 0)]) * (1 - 5e-4)
    sim = simulate_season(None, frame([("A", "B")], with_goals=False), probs, n=10, seed=0, **SMALL)
    np.testing.assert_array_equal(sim.expected_points, [3, 0])
