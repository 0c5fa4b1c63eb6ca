"""Football features: hand-computed values, no leakage, training/serving parity, versions, real data."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formguide.core.features.engine import parity_check
from formguide.core.markets import remove_overround
from formguide.football.features import (
    OUTCOME_COLUMNS,
    football_feature_set,
    latest_team_state,
)
from formguide.football.ratings import elo_ratings, elo_timeline, previous_season
from formguide.football.schema import MATCH_COLUMNS, OUTCOMES_1X2, OUTCOMES_OU, STAT_COLUMNS

ODDS_COLUMNS = [f"odds_{k}_{o}" for k in ("open", "close", "best") for o in (*OUTCOMES_1X2, *OUTCOMES_OU)]


def _result(hg: float, ag: float) -> str | None:
    if math.isnan(hg) or math.isnan(ag):
        return None
    return "H" if hg > ag else ("A" if hg < ag else "D")


def make_frame(rows: list[tuple]) -> pd.DataFrame:
    """Canonical frame from rows (competition, season, kickoff, home, away, hg, ag[, home sot, away sot])."""
    records = []
    for r in rows:
        comp, season, kickoff, home, away, hg, ag = r[:7]
        hsot, asot = r[7:9] if len(r) > 7 else (np.nan, np.nan)
        rec = {c: np.nan for c in MATCH_COLUMNS + ODDS_COLUMNS}
        rec.update(
            competition=comp, season=season, kickoff=pd.Timestamp(kickoff), home_team=home, away_team=away,
            home_goals=float(hg), away_goals=float(ag), result=_result(float(hg), float(ag)),
            home_shots_on_target=float(hsot), away_shots_on_target=float(asot), referee=None,
        )
        records.append(rec)
    frame = pd.DataFrame.from_records(records, columns=MATCH_COLUMNS + ODDS_COLUMNS)
    return frame.sort_values("kickoff", kind="stable").reset_index(drop=True)


def _round_robin(teams: list[str]) -> list[list[tuple[str, str]]]:
    """Double round robin by the circle method: every team plays every round."""
    n, arr, rounds = len(teams), list(teams), []
    for r in range(n - 1):
        pairs = [(arr[i], arr[n - 1 - i]) for i in range(n // 2)]
        rounds.append([(b, a) for a, b in pairs] if r % 2 else pairs)
        arr = [arr[0], arr[-1], *arr[1:-1]]
    return rounds + [[(b, a) for a, b in rnd] for rnd in rounds]


@lru_cache(maxsize=1)
def synthetic_frame() -> pd.DataFrame:
    """Two seasons of league L1 (F down, G up), one season of L2 (F plays there), unplayed fixtures at
    the end, opening odds everywhere, closing odds on part of the rows, shots on target sometimes missing."""
    rng = np.random.default_rng(7)
    strength = {t: s for t, s in zip("ABCDEFGHIJ", np.linspace(0.5, -0.5, 10), strict=True)}
    leagues = [
        ("L1", "2223", list("ABCDEF"), "2022-08-06"),
        ("L1", "2324", list("ABCDEG"), "2023-08-05"),
        ("L2", "2324", list("FHIJ"), "2023-08-06"),
    ]
    rows = []
    for comp, season, teams, start in leagues:
        for r, rnd in enumerate(_round_robin(teams)):
            for j, (h, a) in enumerate(rnd):
                kickoff = pd.Timestamp(start) + pd.Timedelta(days=7 * r + (j == 2), hours=15)
                hg = rng.poisson(np.exp(0.25 + strength[h] - strength[a]))
                ag = rng.poisson(np.exp(strength[a] - strength[h]))
                hsot = hg + rng.poisson(3) if rng.random() > 0.1 else np.nan
                asot = ag + rng.poisson(2) if rng.random() > 0.1 else np.nan
                rows.append((comp, season, kickoff, h, a, hg, ag, hsot, asot))
    frame = make_frame(rows)
    # The last two rounds of L1 2324 are still to be played.
    future = (frame["competition"] == "L1") & (frame["season"] == "2324") & (frame["kickoff"] >= "2023-09-30")
    assert future.sum() == 6
    for col in OUTCOME_COLUMNS:
        frame[col] = frame[col].where(~future)
    n = len(frame)
    p = rng.dirichlet([4, 3, 3], size=n)
    for j, o in enumerate(OUTCOMES_1X2):
        frame[f"odds_open_{o}"] = 1.0 / (p[:, j] * 1.06)
        close = 1.0 / (np.clip(p[:, j] + rng.normal(0, 0.01, n), 0.05, 0.9) * 1.03)
        frame[f"odds_close_{o}"] = np.where(np.arange(n) % 3 == 0, np.nan, close)
    return frame


FS = football_feature_set()


@lru_cache(maxsize=1)
def synthetic_features() -> pd.DataFrame:
    return FS.build(synthetic_frame())


def _assert_rows_equal(a: pd.Series, b: pd.Series) -> None:
    for col in a.index:
        x, y = a[col], b[col]
        assert (pd.isna(x) and pd.isna(y)) or x == y, f"{col}: {x!r} != {y!r}"


# --------------------------------------------------------------------------------------------------
# Hand-computed examples
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return make_frame(
        [
            ("T1", "2223", "2023-04-01", "B", "A", 1, 0),
            ("T1", "2324", "2023-08-05", "A", "B", 2, 0, 4, 1),  # 1
            ("T1", "2324", "2023-08-05", "C", "D", 1, 1, 3, 3),  # 2
            ("T1", "2324", "2023-08-12", "B", "C", 3, 1, np.nan, 2),  # 3
            ("T1", "2324", "2023-08-13", "D", "A", 0, 2, 0, 5),  # 4
            ("T1", "2324", "2023-08-19", "B", "D", 3, 3, 5, 3),  # 5
            ("T1", "2324", "2023-08-20", "A", "C", 1, 1, 2, 2),  # 6
            ("T1", "2324", "2023-08-26 12:30", "B", "A", np.nan, np.nan),  # 7, a fixture
            ("T1", "2324", "2023-08-26 15:00", "C", "D", 0, 0, 1, 1),  # 8, same day
        ]
    )


def test_form_by_hand(tiny: pd.DataFrame) -> None:
    fs = football_feature_set(form_windows=(2, 5))
    x = fs.build(tiny)
    row = x.loc[7]  # B v A: B's matches: 2223 W 1-0, L 0-2, W 3-1, D 3-3; A's: L 0-1, W 2-0, W 2-0, D 1-1
    assert row["home_form5_ppg"] == pytest.approx(7 / 4)
    assert row["home_form5_gf"] == pytest.approx(7 / 4)
    assert row["home_form5_ga"] == pytest.approx(6 / 4)
    assert row["home_form5_sotf"] == pytest.approx((1 + 5) / 2)  # missing shots skipped, not zero
    assert row["home_form5_sota"] == pytest.approx((4 + 2 + 3) / 3)
    assert row["away_form5_ppg"] == pytest.approx(7 / 4)
    assert row["away_form5_gf"] == pytest.approx(5 / 4)
    assert row["away_form5_ga"] == pytest.approx(2 / 4)
    assert row["home_form2_ppg"] == pytest.approx(2.0)
    assert row["home_form2_gf"] == pytest.approx(3.0)
    assert row["away_form2_gf"] == pytest.approx(1.5)
    assert row["away_form2_ga"] == pytest.approx(0.5)
    assert np.isnan(x.loc[0, "home_form5_ppg"])  # first match in the frame: no history


def test_rest_days_by_hand(tiny: pd.DataFrame) -> None:
    x = FS.build(tiny)
    assert x.loc[7, "home_rest_days"] == 7  # B last played Aug 19
    assert x.loc[7, "away_rest_days"] == 6  # A last played Aug 20
    assert x.loc[6, "home_rest_days"] == 7 and x.loc[6, "away_rest_days"] == 8
    assert x.loc[1, "home_rest_days"] == (pd.Timestamp("2023-08-05") - pd.Timestamp("2023-04-01")).days
    assert np.isnan(x.loc[2, "home_rest_days"])  # C never played before


def test_h2h_by_hand(tiny: pd.DataFrame) -> None:
    x = FS.build(tiny)
    # B v A: meetings B 1-0 A (2223) and A 2-0 B, from B's side 3 + 0 points and +1 - 2 goals
    assert x.loc[7, "h2h_n"] == 2
    assert x.loc[7, "h2h_home_ppg"] == pytest.approx(1.5)
    assert x.loc[7, "h2h_home_gd"] == pytest.approx(-0.5)
    one = football_feature_set(h2h_matches=1).build(tiny)
    assert one.loc[7, "h2h_n"] == 1
    assert one.loc[7, "h2h_home_ppg"] == 0.0 and one.loc[7, "h2h_home_gd"] == -2.0
    assert x.loc[2, "h2h_n"] == 0 and np.isnan(x.loc[2, "h2h_home_ppg"])


def test_table_by_hand(tiny: pd.DataFrame) -> None:
    x = FS.build(tiny)
    # first day of the season: no table yet
    assert x.loc[[1, 2], ["home_position", "away_position", "home_table_ppg"]].isna().all().all()
    # after Aug 5: A 3 pts; C and D 1 pt, 0 gd, 1 gf (share 2nd); B 0 pts
    assert x.loc[3, "home_position"] == 4 and x.loc[3, "away_position"] == 2
    assert x.loc[3, "home_table_ppg"] == 0.0 and x.loc[3, "away_table_ppg"] == 1.0
    # after Aug 12: A and B 3 pts, A ahead on goal difference; D ahead of C on goal difference
    assert x.loc[4, "home_position"] == 3 and x.loc[4, "away_position"] == 1
    # after Aug 20: A 7, B 4, then C and D 2 pts with -2 gd: D ahead on goals scored (4 v 3)
    assert x.loc[7, "home_position"] == 2 and x.loc[7, "away_position"] == 1
    assert x.loc[7, "home_table_ppg"] == pytest.approx(4 / 3)
    assert x.loc[7, "away_table_ppg"] == pytest.approx(7 / 3)
    assert x.loc[8, "home_position"] == 4 and x.loc[8, "away_position"] == 3


def test_promoted_by_hand(tiny: pd.DataFrame) -> None:
    x = FS.build(tiny)
    assert np.isnan(x.loc[0, "home_promoted"])  # 2122 not in the frame
    assert x.loc[7, "home_promoted"] == 0 and x.loc[7, "away_promoted"] == 0
    assert x.loc[8, "home_promoted"] == 1 and x.loc[8, "away_promoted"] == 1
    assert previous_season("2425") == "2324" and previous_season("0001") == "9900"
    assert previous_season("2024") == "1923" and previous_season("spring") is None


def test_market_by_hand(tiny: pd.DataFrame) -> None:
    frame = tiny.copy()
    frame.loc[1, ["odds_open_H", "odds_open_D", "odds_open_A"]] = [2.0, 3.5, 4.0]
    frame.loc[1, ["odds_close_H", "odds_close_D", "odds_close_A"]] = [1.9, 3.6, 4.4]
    frame.loc[2, ["odds_open_H", "odds_open_D", "odds_open_A"]] = [2.0, np.nan, 4.0]
    x = football_feature_set(overround_method="shin").build(frame)
    book = 1 / 2.0 + 1 / 3.5 + 1 / 4.0
    assert x.loc[1, "mkt_open_overround"] == pytest.approx(book - 1)
    expected = remove_overround(np.array([[2.0, 3.5, 4.0]]), "shin")[0]
    np.testing.assert_allclose(x.loc[1, ["mkt_open_H", "mkt_open_D", "mkt_open_A"]].to_numpy(float), expected)
    assert x.loc[1, ["mkt_close_H", "mkt_close_D", "mkt_close_A"]].sum() == pytest.approx(1.0)
    mult = FS.build(frame)
    assert mult.loc[1, "mkt_open_H"] == pytest.approx(0.5 / book)
    assert mult.loc[1, "mkt_open_H"] != pytest.approx(x.loc[1, "mkt_open_H"], abs=1e-6)
    # an incomplete set of prices gives no probabilities; no closing prices -> NaN (before the close)
    assert x.loc[2, ["mkt_open_H", "mkt_open_overround", "mkt_close_H"]].isna().all()


def test_elo_by_hand() -> None:
    frame = make_frame(
        [
            ("X", "2324", "2023-08-05", "A", "B", 3, 0),
            ("X", "2324", "2023-08-05", "C", "A", 0, 0),  # same day as A's first match
            ("X", "2324", "2023-08-12", "B", "A", np.nan, np.nan),
        ]
    )
    elo = elo_ratings(frame, k=20, home_advantage=65)
    we = 1 / (1 + 10 ** (-65 / 400))
    # C v A on the same day does not see A's win; the later fixture sees both results
    assert elo.loc[1, "away_elo"] == 1500.0
    win = 20 * (11 + 3) / 8 * (1 - we)
    draw = 20 * (0.5 - we)  # A away in a draw gains what C loses
    assert elo.loc[2, "away_elo"] == pytest.approx(1500 + win - draw)
    assert elo.loc[2, "home_elo"] == pytest.approx(1500 - win)
    flat = elo_ratings(frame, goal_diff_multiplier=False)
    assert flat.loc[2, "home_elo"] == pytest.approx(1500 - 20 * (1 - we))
    x = FS.build(frame)
    assert x.loc[2, "elo_diff"] == pytest.approx(x.loc[2, "home_elo"] + 65 - x.loc[2, "away_elo"])
    timeline = elo_timeline(frame)
    assert timeline.set_index("team").loc["A", "elo"] == pytest.approx(1500 + win - draw)


def test_elo_promoted_team_replaces_departed_and_seasons_regress() -> None:
    frame = make_frame(
        [
            ("X", "2223", "2022-08-06", "A", "B", 2, 0),
            ("X", "2223", "2022-08-13", "C", "A", 0, 1),
            ("X", "2324", "2023-08-05", "A", "D", np.nan, np.nan),  # C went down, D came up
            ("Y", "2324", "2023-08-05", "C", "E", np.nan, np.nan),  # Y's first season in the frame
            ("X", "2324", "2023-08-06", "B", "A", np.nan, np.nan),
        ]
    )
    end = elo_timeline(frame, season_regression=0.0).groupby("team")["elo"].last()
    no_reg = elo_ratings(frame, season_regression=0.0)
    assert no_reg.loc[2, "away_elo"] == pytest.approx(end["C"])  # D starts where C ended
    assert no_reg.loc[2, "home_elo"] == pytest.approx(end["A"])  # A carries on
    # a competition new to the frame starts from scratch, even for a team rated elsewhere
    assert no_reg.loc[3, "away_elo"] == 1500.0 and no_reg.loc[3, "home_elo"] == 1500.0
    fixed = elo_ratings(frame, season_regression=0.0, promoted_initial=1400.0)
    assert fixed.loc[2, "away_elo"] == 1400.0
    reg = elo_ratings(frame, season_regression=0.5)
    squad = reg.loc[2, ["home_elo", "away_elo"]].tolist() + [reg.loc[4, "home_elo"]]
    # regression keeps the league mean and halves each distance to it
    before = [end["A"], end["C"], end["B"]]
    assert np.mean(squad) == pytest.approx(np.mean(before))
    assert squad[0] - np.mean(before) == pytest.approx((before[0] - np.mean(before)) / 2)


def test_elo_teams_swapping_divisions_take_over_the_level_they_replace() -> None:
    rows = [
        ("X", "2223", "2022-08-06", "A", "B", 3, 0), ("X", "2223", "2022-08-13", "B", "A", 0, 2),
        ("Z", "2223", "2022-08-06", "C", "D", 4, 0), ("Z", "2223", "2022-08-13", "D", "C", 1, 1),
        # B goes down to Z, C comes up to X; Z starts a day before X
        ("Z", "2324", "2023-08-04", "B", "D", np.nan, np.nan),
        ("X", "2324", "2023-08-05", "A", "C", np.nan, np.nan),
    ]
    frame = make_frame(rows)
    end = elo_timeline(frame, season_regression=0.0).groupby("team")["elo"].last()
    elo = elo_ratings(frame, season_regression=0.0)
    assert end["C"] > 1500 > end["B"]  # C won its league, B lost its
    assert elo.loc[4, "home_elo"] == pytest.approx(end["C"])  # B replaces C in Z
    assert elo.loc[5, "away_elo"] == pytest.approx(end["B"])  # C replaces B in X (B's end-of-X rating)
    assert elo.loc[4, "away_elo"] == pytest.approx(end["D"])
    assert elo.loc[5, "home_elo"] == pytest.approx(end["A"])


# --------------------------------------------------------------------------------------------------
# Leakage and parity
# --------------------------------------------------------------------------------------------------


def _day(frame: pd.DataFrame, i: int) -> pd.Timestamp:
    return frame.at[i, "kickoff"].normalize()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_results_from_the_event_day_on_never_change_its_features(data) -> None:
    frame = synthetic_frame()
    full = synthetic_features()
    i = data.draw(st.sampled_from(list(frame.index)), label="event")
    later = frame.index[frame["kickoff"].dt.normalize() >= _day(frame, i)]
    j = data.draw(st.sampled_from(list(later)), label="perturbed row")
    mode = data.draw(st.sampled_from(["change", "delete", "drop"]), label="mode")
    perturbed = frame.copy()
    if mode == "drop" and j != i:
        perturbed = perturbed.drop(index=j)
    elif mode == "delete" or mode == "drop":
        for col in OUTCOME_COLUMNS:
            perturbed[col] = perturbed[col].where(perturbed.index != j)
    else:
        hg, ag = data.draw(st.integers(0, 7)), data.draw(st.integers(0, 7))
        perturbed.loc[j, ["home_goals", "away_goals"]] = [float(hg), float(ag)]
        perturbed.loc[j, "result"] = _result(hg, ag)
        perturbed.loc[j, STAT_COLUMNS] = data.draw(st.integers(0, 30))
    _assert_rows_equal(full.loc[i], FS.build(perturbed).loc[i])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_earlier_result_of_a_team_changes_its_features(data) -> None:
    frame = synthetic_frame()
    full = synthetic_features()
    played = frame["home_goals"].notna()
    days = frame["kickoff"].dt.normalize()

    def earlier(i: int) -> pd.Index:
        team = frame.at[i, "home_team"]
        involved = (frame["home_team"] == team) | (frame["away_team"] == team)
        return frame.index[played & (days < days[i]) & involved]

    def last_match(i: int) -> int | None:
        mine = earlier(i)
        return int(mine[-1]) if len(mine) else None

    # A team's first match of a season may start from a league-level rating (arrivals take the average of
    # the sides that left), so Elo sensitivity is asserted only where the previous match is in-season.
    candidates = [i for i in frame.index if last_match(i) is not None
                  and frame.at[last_match(i), "season"] == frame.at[i, "season"]]
    i = data.draw(st.sampled_from(candidates), label="event")
    extra = data.draw(st.integers(1, 4), label="extra goals")
    j = last_match(i)
    side = "home" if frame.at[j, "home_team"] == frame.at[i, "home_team"] else "away"
    perturbed = frame.copy()
    perturbed.loc[j, f"{side}_goals"] += extra
    after = FS.build(perturbed).loc[i]
    n_before = len(earlier(i))
    assert after["home_form5_gf"] - full.at[i, "home_form5_gf"] == pytest.approx(extra / min(n_before, 5))
    assert after["home_elo"] != full.at[i, "home_elo"]


def test_parity_between_training_and_serving() -> None:
    frame = synthetic_frame()
    full = synthetic_features()
    has_close = frame["odds_close_H"].notna()
    fixtures = frame["home_goals"].isna()
    season_starts = frame.groupby(["competition", "season"]).head(1).index
    picks = set(frame.index[has_close][[0, 10, -1]]) | set(frame.index[fixtures][[0, -1]])
    picks |= set(season_starts) | {len(frame) // 2}
    assert any(has_close[list(picks)])
    for i in sorted(picks):
        result = parity_check(FS, frame, i, training=full)
        assert result.ok, (i, result.mismatches)
    # serving before the close has no closing prices and says so with NaN, not with stale numbers
    assert full.loc[has_close, "mkt_close_H"].notna().all()
    assert full.loc[~has_close, "mkt_close_H"].isna().all()


def test_as_of_build_hides_later_results() -> None:
    frame = synthetic_frame()
    full = synthetic_features()
    cut = pd.Timestamp("2023-09-01")
    served = FS.build(frame, as_of=cut)
    later = frame["kickoff"] >= pd.Timestamp("2023-09-02")
    earlier = frame["kickoff"] < cut
    pd.testing.assert_frame_equal(full.loc[earlier], served.loc[earlier])
    # for later events the form stops at the cut: it differs from the full build somewhere
    assert not full.loc[later, "home_form5_ppg"].equals(served.loc[later, "home_form5_ppg"])
    assert (served.loc[later, "home_rest_days"] > full.loc[later, "home_rest_days"]).any()


def test_latest_team_state_matches_next_match_features() -> None:
    frame = synthetic_frame()
    full = synthetic_features()
    fixture = frame.index[frame["home_goals"].isna()][0]
    day = _day(frame, fixture)
    state = latest_team_state(frame, day)
    home = frame.at[fixture, "home_team"]
    for col in ("ppg", "gf", "ga", "sotf", "sota"):
        for w in (5, 10):
            assert state.at[home, f"form{w}_{col}"] == pytest.approx(full.at[fixture, f"home_form{w}_{col}"],
                                                                   nan_ok=True)
    assert state.at[home, "position"] == full.at[fixture, "home_position"]
    assert state.at[home, "table_ppg"] == pytest.approx(full.at[fixture, "home_table_ppg"])
    assert state.at[home, "rest_days"] == full.at[fixture, "home_rest_days"]
    # within a season the latest rating is the pre-match rating of the next match
    assert state.at[home, "elo"] == pytest.approx(full.at[fixture, "home_elo"])
    assert set(state["competition"]) == {"L1", "L2"}
    assert state.at["F", "competition"] == "L2"


# --------------------------------------------------------------------------------------------------
# Versions and arguments
# --------------------------------------------------------------------------------------------------


def test_version_changes_with_params() -> None:
    base = football_feature_set().version
    assert base.startswith("football-core@")
    assert football_feature_set().version == base
    assert football_feature_set(elo_params={"k": 20.0}).version == base  # explicit default is the default
    assert football_feature_set(h2h_matches=5).version != base
    assert football_feature_set(overround_method="power").version != base
    assert football_feature_set(form_windows=(5, 8)).version != base
    assert football_feature_set(elo_params={"k": 25}).version != base
    assert "home_form8_ppg" in football_feature_set(form_windows=(5, 8)).columns


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="overround method"):
        football_feature_set(overround_method="magic")
    with pytest.raises(ValueError, match="form_windows"):
        football_feature_set(form_windows=(0,))
    with pytest.raises(ValueError, match="unknown Elo parameter"):
        football_feature_set(elo_params={"kk": 1})


def test_unsorted_frame_gives_the_same_features() -> None:
    frame = synthetic_frame()
    shuffled = frame.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(FS.build(shuffled).loc[frame.index], synthetic_features())


# --------------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------------


def _load_real(paths: list[Path]) -> pd.DataFrame:
    from formguide.football.parse import attach_wide_odds, parse_file

    parts = []
    for path in paths:
        parsed = parse_file(path)
        parts.append(attach_wide_odds(parsed.matches, parsed.odds))
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values("kickoff", kind="stable").reset_index(drop=True)


def test_real_premier_league_season(football_dir: Path) -> None:
    files = [football_dir / "E0_2223.csv", football_dir / "E0_2324.csv"]
    for f in files:
        if not f.is_file():
            pytest.skip(f"{f} not found")
    frame = _load_real(files)
    assert len(frame) == 760
    x = FS.build(frame)
    assert list(x.columns) == FS.columns and x.index.equals(frame.index)
    season = frame["season"] == "2324"
    # Elo: the champions end the season above the median rating and at the top of the table
    end = latest_team_state(frame, frame.loc[season, "kickoff"].max() + pd.Timedelta(days=1))
    end = end[end["season"] == "2324"]
    assert len(end) == 20
    assert end.at["Man City", "position"] == 1 and end.at["Man City", "points"] == 91
    assert end.at["Man City", "elo"] > end["elo"].median()
    assert end["elo"].idxmax() in {"Man City", "Arsenal", "Liverpool"}
    assert end["elo"].mean() == pytest.approx(1500, abs=30)
    # promoted: Burnley, Sheffield United and Luton are new in 2324
    new = set(frame.loc[season & (x["home_promoted"] == 1), "home_team"])
    assert new == {"Burnley", "Sheffield United", "Luton"}
    assert x.loc[~season, "home_promoted"].isna().all()
    # market probabilities are proper distributions with a positive margin
    probs = x.loc[season, ["mkt_open_H", "mkt_open_D", "mkt_open_A"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (x.loc[season, "mkt_open_overround"] > 0).all()
    assert x.loc[season, "mkt_close_H"].notna().mean() > 0.95
    # the home Elo edge agrees with the market's home probability
    corr = np.corrcoef(x.loc[season, "elo_diff"], x.loc[season, "mkt_close_H"].fillna(x["mkt_open_H"]))[0, 1]
    assert corr > 0.6
    # form and table are complete after the first weeks of the season
    late = season & (frame["kickoff"] > "2023-09-15")
    assert x.loc[late, ["home_form5_ppg", "home_position", "home_rest_days", "h2h_n"]].notna().all().all()
    for i in frame.index[season & frame["odds_close_H"].notna()][[0, 200, -1]]:
        assert parity_check(FS, frame, i, training=x)
