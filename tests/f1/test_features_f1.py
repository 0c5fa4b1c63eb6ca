"""F1 features: point-in-time (leakage and parity), the two moments, and hand-checked values."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formguide.core.features.engine import parity_check
from formguide.f1.features import (
    F1_OUTCOME_COLUMNS,
    GRID_COLUMNS,
    championship_features,
    driver_form_features,
    f1_feature_set,
    grid_features,
    rating_features,
    teammate_features,
)
from formguide.f1.schema import ENTRY_FRAME_COLUMNS

DATA_DIR = Path(os.environ.get("FORMGUIDE_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
POINTS = np.array([25, 18, 15, 12, 10, 8, 6, 4, 2, 1], dtype=float)


def make_frame(seasons: int = 3, races: int = 8, drivers: int = 10, seed: int = 0, unrun: int = 0) -> pd.DataFrame:
    """A small league: 2 drivers per team, strengths fixed, Plackett-Luce finishing orders, some DNFs."""
    rng = np.random.default_rng(seed)
    strength = np.linspace(2.0, -2.0, drivers) + rng.normal(0, 0.3, drivers)
    rows = []
    race_id = 100
    n_total = seasons * races
    for s in range(seasons):
        for r in range(races):
            k = s * races + r
            date = pd.Timestamp("2020-03-01 14:00") + pd.Timedelta(weeks=k)
            quali = strength + rng.normal(0, 0.8, drivers)
            grid_order = np.argsort(-quali)
            grid = np.empty(drivers)
            grid[grid_order] = np.arange(1, drivers + 1)
            if k % 5 == 3:
                grid[grid_order[-1]] = 0.0  # pit-lane start
            finish_key = strength + rng.gumbel(size=drivers)
            dnf = rng.random(drivers) < 0.1
            finish_key[dnf] -= 100
            order = np.argsort(-finish_key)
            pos = np.empty(drivers)
            pos[order] = np.arange(1, drivers + 1)
            pts = np.where(pos <= 10, POINTS[np.minimum(pos, 10).astype(int) - 1], 0.0)
            pts[dnf] = 0.0
            sprint = r % 4 == 2
            wet = float(rng.random() < 0.25) if s > 0 else np.nan
            sc = float(rng.random() < 0.4)
            for d in range(drivers):
                rows.append({
                    "race_id": race_id, "season": 2020 + s, "round": r + 1, "race_name": f"GP {r + 1}",
                    "circuit": f"c{r % 4}", "circuit_type": "street" if r % 4 == 0 else "permanent", "date": date,
                    "has_sprint": sprint, "driver": f"d{d}", "driver_code": f"D{d:02d}", "constructor": f"t{d // 2}",
                    "grid": grid[d], "quali_position": float(np.argsort(grid_order)[d] + 1),
                    "quali_best_ms": 90000.0 * (1 + 0.003 * (np.argsort(grid_order)[d])),
                    "quali_q2_ms": 90200.0 * (1 + 0.002 * d) if np.argsort(grid_order)[d] < 6 else np.nan,
                    "quali_q3_ms": 90000.0 * (1 + 0.003 * (np.argsort(grid_order)[d]))
                    if np.argsort(grid_order)[d] < 3 else np.nan,
                    "sprint_position": float(pos[d]) if sprint else np.nan,
                    "sprint_points": float(max(0, 9 - pos[d])) if sprint else np.nan,
                    "position": pos[d], "classified": not dnf[d], "points": pts[d],
                    "status": "Engine" if dnf[d] else "Finished", "dnf": float(dnf[d]),
                    "mechanical_dnf": float(dnf[d]), "laps": 30.0 if dnf[d] else 57.0, "wet": wet,
                    "safety_car": sc, "safety_car_laps": 4.0 * sc,
                })
            race_id += 1
            if k >= n_total - unrun:
                for row in rows[-drivers:]:
                    for c in F1_OUTCOME_COLUMNS:
                        row[c] = None if c == "status" else np.nan
    frame = pd.DataFrame(rows)[ENTRY_FRAME_COLUMNS]
    return frame.sort_values(["date", "race_id", "grid"], kind="stable").reset_index(drop=True)


def _race_rows(frame: pd.DataFrame, k: int) -> np.ndarray:
    race = frame["race_id"].drop_duplicates().to_numpy()[k]
    return (frame["race_id"] == race).to_numpy()


def _scramble_outcomes(frame: pd.DataFrame, rows: np.ndarray, seed: int = 1) -> pd.DataFrame:
    """Different (but valid) results, conditions and sprints for the given rows; grids changed as well."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for race in out.loc[rows, "race_id"].unique():
        m = (out["race_id"] == race).to_numpy()
        n = int(m.sum())
        perm = rng.permutation(n) + 1.0
        out.loc[m, "position"] = perm
        out.loc[m, "points"] = np.where(perm <= 10, POINTS[np.minimum(perm, 10).astype(int) - 1], 0.0)
        out.loc[m, "dnf"] = (perm > n - 2).astype(float)
        out.loc[m, "mechanical_dnf"] = (perm > n - 1).astype(float)
        out.loc[m, "classified"] = perm <= n - 2
        out.loc[m, "status"] = np.where(perm > n - 2, "Gearbox", "Finished")
        out.loc[m, "laps"] = rng.integers(1, 70, n).astype(float)
        out.loc[m, "wet"] = 1.0 - np.nan_to_num(out.loc[m, "wet"].to_numpy(dtype=float))
        out.loc[m, "safety_car"] = 1.0 - out.loc[m, "safety_car"].to_numpy(dtype=float)
        out.loc[m, "safety_car_laps"] = 9.0
        out.loc[m, "sprint_points"] = rng.integers(0, 9, n).astype(float)
    return out


# ---------------------------------------------------------------------------------------------- moments


def test_moments_differ_only_by_grid_information():
    pre, post = f1_feature_set("pre-quali"), f1_feature_set("post-quali")
    assert not set(GRID_COLUMNS) & set(pre.columns)
    assert set(GRID_COLUMNS) <= set(post.columns)
    assert {"grid_log_x_street", "grid_log_x_sc"} <= set(post.columns) - set(pre.columns)
    assert set(pre.columns) < set(post.columns)
    assert pre.version != post.version
    assert set(pre.outcome_columns) == set(F1_OUTCOME_COLUMNS)
    with pytest.raises(ValueError, match="moment"):
        f1_feature_set("post-race")


def test_pre_quali_features_ignore_the_grid_of_the_race():
    frame = make_frame()
    fs = f1_feature_set("pre-quali")
    k = _race_rows(frame, 15)
    changed = frame.copy()
    changed.loc[k, "grid"] = np.nan
    changed.loc[k, ["quali_position", "quali_best_ms", "quali_q2_ms", "quali_q3_ms"]] = np.nan
    pd.testing.assert_frame_equal(fs.build(frame)[k], fs.build(changed)[k])
    post = f1_feature_set("post-quali")
    assert post.build(changed)[k]["grid"].isna().all()


# ---------------------------------------------------------------------------------------------- leakage


@pytest.mark.parametrize("moment", ["pre-quali", "post-quali"])
def test_results_on_or_after_race_day_do_not_change_its_features(moment):
    frame = make_frame()
    fs = f1_feature_set(moment)
    target = _race_rows(frame, 13)
    day = frame.loc[target, "date"].iloc[0].normalize()
    later = (frame["date"] >= day).to_numpy()
    full = fs.build(frame)
    scrambled = _scramble_outcomes(frame, later)
    # grids of later races are pre-race information of *those* races: scramble them too
    future = later & ~target
    scrambled.loc[future, "grid"] = scrambled.loc[future, "grid"].to_numpy()[::-1]
    assert not scrambled.loc[later, "position"].equals(frame.loc[later, "position"])
    pd.testing.assert_frame_equal(full[target], fs.build(scrambled)[target])


@pytest.mark.parametrize("moment", ["pre-quali", "post-quali"])
def test_an_earlier_result_changes_the_features(moment):
    """The leakage test above can fail: the features do react to results before the race day."""
    frame = make_frame()
    fs = f1_feature_set(moment)
    target = _race_rows(frame, 13)
    earlier = _race_rows(frame, 12)
    changed = _scramble_outcomes(frame, earlier, seed=5)
    before, after = fs.build(frame)[target], fs.build(changed)[target]
    differs = [c for c in fs.columns if not np.allclose(before[c].to_numpy(dtype=float),
                                                        after[c].to_numpy(dtype=float), equal_nan=True)]
    assert {"drv_form3_pos", "team_form3_pos", "champ_points", "drv_rating"} <= set(differs)


def test_races_on_the_same_day_do_not_see_each_other():
    frame = make_frame()
    a, b = _race_rows(frame, 10), _race_rows(frame, 11)
    frame.loc[b, "date"] = frame.loc[a, "date"].iloc[0]
    frame = frame.sort_values(["date", "race_id", "grid"], kind="stable").reset_index(drop=True)
    a, b = _race_rows(frame, 10), _race_rows(frame, 11)
    fs = f1_feature_set("post-quali")
    pd.testing.assert_frame_equal(fs.build(frame)[b], fs.build(_scramble_outcomes(frame, a))[b])


# ---------------------------------------------------------------------------------------------- parity


@pytest.mark.parametrize("moment", ["pre-quali", "post-quali"])
def test_served_rows_equal_training_rows(moment):
    frame = make_frame(unrun=3)
    fs = f1_feature_set(moment)
    full = fs.build(frame)
    for k in (0, 9, 16, 22):  # first race, mid-season, a season opener, a race not run yet
        rows = _race_rows(frame, k)
        day = frame.loc[rows, "date"].iloc[0].normalize()
        pd.testing.assert_frame_equal(fs.build(frame, as_of=day)[rows], full[rows])
    result = parity_check(fs, frame, frame.index[_race_rows(frame, 9)][0], training=full)
    assert result.ok, result.mismatches


# ---------------------------------------------------------------------------------------------- values


def test_grid_features_pit_lane_log_pole_and_quali_gap():
    frame = make_frame()
    k = _race_rows(frame, 3)  # k % 5 == 3: one pit-lane start
    g = grid_features(frame)[k]
    grid = frame.loc[k, "grid"].to_numpy()
    assert (grid == 0).sum() == 1
    slot = g["grid"].to_numpy()
    assert slot[grid == 0][0] == k.sum()  # back of the grid = field size
    np.testing.assert_allclose(g["grid_log"], np.log(slot))
    assert g["pole"].sum() == 1 and g.loc[g["grid"] == 1, "pole"].iloc[0] == 1
    ms = frame.loc[k, "quali_best_ms"].to_numpy()
    np.testing.assert_allclose(g["quali_gap_pct"], 100 * (ms / ms.min() - 1))
    rival = g["quali_rival_gap_pct"].to_numpy()
    pole_row = ms == ms.min()
    assert rival[pole_row][0] == pytest.approx(100 * (ms.min() / np.sort(ms)[1] - 1))  # pole margin, < 0
    assert rival[pole_row][0] < 0
    np.testing.assert_allclose(rival[~pole_row], g["quali_gap_pct"].to_numpy()[~pole_row])
    team_best = frame.loc[k].assign(gap=rival).groupby("constructor")["gap"].transform("min")
    np.testing.assert_allclose(g["team_quali_gap_pct"], team_best)
    # Q2 / Q3 gaps: each part's lap against that part's fastest lap; NaN for drivers who did not run in it
    for part in ("q2", "q3"):
        lap = frame.loc[k, f"quali_{part}_ms"].to_numpy()
        ran = ~np.isnan(lap)
        assert 0 < ran.sum() < ran.size
        np.testing.assert_allclose(g[f"quali_{part}_gap_pct"].to_numpy()[ran], 100 * (lap[ran] / lap[ran].min() - 1))
        assert np.isnan(g[f"quali_{part}_gap_pct"].to_numpy()[~ran]).all()


def test_driver_form_is_mean_of_last_races_before():
    frame = make_frame()
    form = driver_form_features(frame, windows=(3,))
    k = 14
    race_ids = frame["race_id"].drop_duplicates().to_numpy()
    row = frame.index[(frame["race_id"] == race_ids[k]) & (frame["driver"] == "d4")][0]
    prev = frame[frame["race_id"].isin(race_ids[k - 3:k]) & (frame["driver"] == "d4")]
    assert form.at[row, "drv_form3_pos"] == pytest.approx(prev["position"].mean())
    assert form.at[row, "drv_form3_dnf"] == pytest.approx(prev["dnf"].mean())
    assert form.at[row, "drv_form3_win"] == pytest.approx((prev["position"] == 1).mean())
    first = frame.index[frame["race_id"] == race_ids[0]]
    assert form.loc[first].isna().all().all()


def test_championship_standings_before_the_race():
    frame = make_frame()
    champ = championship_features(frame)
    race_ids = frame["race_id"].drop_duplicates().to_numpy()
    season_start = frame["race_id"] == race_ids[8]  # second season's opener
    assert (champ.loc[season_start, "champ_points"] == 0).all()
    assert champ.loc[season_start, "champ_position"].isna().all()
    assert champ.loc[season_start, "champ_prev_season"].notna().all()
    # after 4 races of season 2: totals in "winner units" (race points / race top score + sprint likewise)
    k = 12
    prior = frame[frame["race_id"].isin(race_ids[8:k])].copy()
    top = prior.groupby("race_id")["points"].transform("max")
    prior["units"] = (prior["points"] + prior["sprint_points"].fillna(0)) / top
    totals = prior.groupby("driver")["units"].sum()
    rows = frame[frame["race_id"] == race_ids[k]]
    got = champ.loc[rows.index, "champ_points"].set_axis(rows["driver"])
    pd.testing.assert_series_equal(got.sort_index(), totals.sort_index(), check_names=False)
    leader = totals.idxmax()
    assert champ.loc[rows.index[rows["driver"] == leader][0], "champ_position"] == 1
    gap = champ.loc[rows.index, "champ_gap"].set_axis(rows["driver"])
    np.testing.assert_allclose(gap.sort_index(), (totals.max() - totals).sort_index())


def test_teammate_head_to_head_share():
    frame = make_frame()
    h2h = teammate_features(frame, races=4)
    race_ids = frame["race_id"].drop_duplicates().to_numpy()
    k = 9
    prev = frame[frame["race_id"].isin(race_ids[k - 4:k]) & frame["constructor"].eq("t1")]
    wide = prev.pivot(index="race_id", columns="driver", values="position")
    expected = float((wide["d2"] < wide["d3"]).mean())
    row = frame.index[(frame["race_id"] == race_ids[k]) & (frame["driver"] == "d2")][0]
    assert h2h.at[row, "tm_h2h"] == pytest.approx(expected)


def test_ratings_start_at_zero_and_reward_winners():
    frame = make_frame(seasons=2)
    r = rating_features(frame)
    first = frame["race_id"] == frame["race_id"].iloc[0]
    assert (r.loc[first] == 0).all().all()
    last = frame["race_id"] == frame["race_id"].iloc[-1]
    wins = frame[frame["position"] == 1].groupby("driver").size()
    best = wins.idxmax()
    worst = frame.groupby("driver")["position"].mean().idxmax()
    ratings = r.loc[last, "drv_rating"].set_axis(frame.loc[last, "driver"])
    assert ratings[best] > 0 > ratings[worst]


def test_build_rejects_missing_columns():
    frame = make_frame().drop(columns=["sprint_points"])
    with pytest.raises(Exception, match="sprint_points"):
        f1_feature_set("pre-quali").build(frame)


# ---------------------------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def ergast_entries() -> pd.DataFrame:
    folder = DATA_DIR / "f1_ergast"
    if not folder.is_dir():
        pytest.skip(f"real F1 data not found at {folder} (set FORMGUIDE_DATA)")
    from formguide.f1.ergast import load_ergast_entries

    return load_ergast_entries(folder)


def test_real_data_features_are_fast_and_sensible(ergast_entries):
    fs = f1_feature_set("post-quali")
    t0 = time.perf_counter()
    X = fs.build(ergast_entries)
    assert time.perf_counter() - t0 < 10
    assert X.index.equals(ergast_entries.index)
    abu = ((ergast_entries["season"] == 2024) & (ergast_entries["round"] == 24)).to_numpy()
    standings = X.loc[abu, "champ_position"].set_axis(ergast_entries.loc[abu, "driver"])
    assert standings["max_verstappen"] == 1 and standings["norris"] == 2
    # every post-2014 entry with a grid slot has its grid features
    recent = (ergast_entries["season"] >= 2014).to_numpy() & ergast_entries["grid"].notna().to_numpy()
    assert X.loc[recent, "grid_log"].notna().all()
