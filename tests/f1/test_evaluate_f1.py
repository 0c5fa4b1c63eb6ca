"""F1 through the core: walk-forward evaluation, training/registration and race predictions on synthetic seasons."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from formguide.core import registry
from formguide.core.backtest import backtest
from formguide.core.days import day_numbers
from formguide.core.errors import FormguideError, ModelNotFoundError
from formguide.core.fieldsport import field_metrics
from formguide.core.serving import serve
from formguide.core.store.db import open_store, session_scope
from formguide.core.training import TrainPlan, train
from formguide.core.walkforward import Cadence
from formguide.f1.models import race_walk_forward
from formguide.f1.schema import CONDITION_COLUMNS, ENTRY_FRAME_COLUMNS, OUTCOME_COLUMNS
from formguide.f1.sport import F1BacktestOptions, F1PredictOptions, F1Sport, find_race

SPORT = F1Sport()


def _train(engine, frame, tmp_path, moment="post-quali", refit_every=7, **kwargs):
    plan = TrainPlan("WC", f"f1-{moment}", "plackett-luce", feature_options={"moment": moment},
                     cadence=Cadence(groups=refit_every))
    return train(engine, SPORT, plan, artifacts_dir=tmp_path / "artifacts", frame=frame, **kwargs)


def predict_race(engine, race, moment, *, frame, n_sims=2000):
    options = F1PredictOptions(moment=moment, race=race, simulations=n_sims)
    as_of, target = SPORT.prediction_window(frame, None, 1, options)
    served = serve(engine, SPORT, "WC", f"f1-{moment}", as_of, feature_options={"moment": moment}, frame=frame)
    (event,) = SPORT.predictions(served, target, options).events
    return event, served

POINTS = np.array([25, 18, 15, 12, 10, 8, 6, 4, 2, 1], dtype=float)


def league(seasons: int = 5, races: int = 14, drivers: int = 12, seed: int = 0, grid_noise: float = 3.0
           ) -> pd.DataFrame:
    """Seasons of races between drivers of fixed strength; the grid is a noisy view of that strength, so
    recent form carries information the grid alone does not."""
    rng = np.random.default_rng(seed)
    strength = np.linspace(2.5, -2.5, drivers)
    rows = []
    for s in range(seasons):
        for r in range(races):
            k = s * races + r
            date = pd.Timestamp(f"{2015 + s}-03-01 14:00") + pd.Timedelta(weeks=2 * r)
            grid = np.empty(drivers)
            grid[np.argsort(-(strength + rng.normal(0, grid_noise, drivers)))] = np.arange(1, drivers + 1)
            pos = np.empty(drivers)
            pos[np.argsort(-(strength + rng.gumbel(size=drivers)))] = np.arange(1, drivers + 1)
            for d in range(drivers):
                p = pos[d]
                rows.append({
                    "race_id": 500 + k, "season": 2015 + s, "round": r + 1, "race_name": f"GP {r + 1}",
                    "circuit": f"c{r}", "circuit_type": "permanent", "date": date, "has_sprint": False,
                    "driver": f"d{d}", "driver_code": f"D{d:02d}", "constructor": f"t{d // 2}", "grid": grid[d],
                    "quali_position": grid[d], "quali_best_ms": 80000.0 + 100 * grid[d],
                    "quali_q2_ms": 80100.0 + 100 * grid[d], "quali_q3_ms": 80000.0 + 100 * grid[d] if grid[d] <= 3 else np.nan,
                    "sprint_position": np.nan,
                    "sprint_points": np.nan, "position": p, "classified": True,
                    "points": POINTS[int(p) - 1] if p <= 10 else 0.0, "status": "Finished", "dnf": 0.0,
                    "mechanical_dnf": 0.0, "laps": 50.0, "wet": 0.0, "safety_car": 0.0, "safety_car_laps": 0.0,
                })
    frame = pd.DataFrame(rows)[ENTRY_FRAME_COLUMNS]
    return frame.sort_values(["date", "race_id", "grid"], kind="stable").reset_index(drop=True)


def _unrun(frame: pd.DataFrame, rows: np.ndarray, keep_grid: bool) -> pd.DataFrame:
    out = frame.copy()
    cols = OUTCOME_COLUMNS + CONDITION_COLUMNS + ([] if keep_grid else ["grid", "quali_position", "quali_best_ms",
                                                                  "quali_q2_ms", "quali_q3_ms"])
    for c in cols:
        out[c] = out[c].where(~rows)  # as the feature engine hides outcomes (bool columns become object)
    return out


# ---------------------------------------------------------------------------------------------- metrics


def test_field_metrics_by_hand():
    race = np.array([1, 1, 1, 2, 2])
    position = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    p_win = np.array([0.5, 0.3, 0.2, 0.6, 0.4])
    p_podium = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    m = field_metrics(p_win, p_podium, position, race)
    assert m["races"] == 2 and m["entries"] == 5
    assert m["win_log_loss"] == pytest.approx(-(np.log(0.5) + np.log(0.4)) / 2)
    assert m["top1_accuracy"] == pytest.approx(0.5)
    assert m["expected_top1_accuracy"] == pytest.approx((0.5 + 0.6) / 2)
    assert m["podium_brier"] == pytest.approx(0.0)


# ---------------------------------------------------------------------------------------------- walk-forward


def test_race_walk_forward_fits_only_on_earlier_days():
    frame = league(seasons=2, races=6, drivers=4)
    days = day_numbers(frame["date"])
    seen: list[tuple[int, int]] = []

    def fit(idx: np.ndarray) -> int:
        seen.append((len(seen), int(days[idx].max()) if idx.size else -1))
        return int(days[idx].max()) if idx.size else -1

    def predict(last_train_day: int, idx: np.ndarray) -> np.ndarray:
        assert last_train_day < days[idx].min()  # trained strictly before the race day
        return np.full(idx.size, float(last_train_day))

    out = race_walk_forward(frame, fit=fit, predict=predict, start_day=int(days[8]), refit_every=3)
    predicted_races = frame.loc[~np.isnan(out), "race_id"].nunique()
    assert predicted_races == 10  # races 3..12 (rows start at the 3rd race)
    assert len(seen) == 4  # refits every 3 races: 10 races -> 4 fits
    assert np.isnan(out[days < days[8]]).all()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return league()


def test_backtest_json_shape_and_model_beats_grid_only(frame):
    options = F1BacktestOptions(moment="post-quali")
    report = backtest(None, SPORT, "WC", model_type="plackett-luce", feature_options=SPORT.feature_options(options),
                      options=options, date_from=pd.Timestamp("2017-01-01"), cadence=Cadence(groups=5), frame=frame)
    from formguide.core.jsonio import dumps

    again = json.loads(dumps(report))  # plain JSON data
    assert set(again) >= {"model", "baselines", "market", "window", "by_season", "seconds", "reliability"}
    assert again["market"] is None and again["moment"] == "post-quali" and "betting" not in again
    assert set(again["baselines"]) == {"grid", "pole", "leader"}
    assert again["window"]["races"] == again["model"]["races"] == 3 * 14
    assert again["model"]["type"] == "plackett-luce" and again["model"]["refit"] == "every 5 groups"
    # podium and points probabilities come with their reliability tables (every entry in some bin)
    for kind in ("podium", "points"):
        assert sum(b["n"] for b in again["reliability"][kind]) == again["window"]["entries"]
    model, grid = again["model"], again["baselines"]["grid"]
    # strength is known here and the grid is a noisy view of it: form must add skill over the grid
    assert model["win_log_loss"] < grid["win_log_loss"] - 0.1
    assert model["top1_accuracy"] >= grid["top1_accuracy"]
    assert model["podium_brier"] < grid["podium_brier"]
    assert 0 <= model["win_ece"] < 0.05
    # the favourites' mean win probability sits above a uniform pick of the 12 drivers, below certainty, and the
    # sharper model expects more of itself than the grid-only baseline
    assert 1 / 12 < grid["expected_top1_accuracy"] < model["expected_top1_accuracy"] < 1
    assert set(again["by_season"]) == {"2017", "2018", "2019"}


# ---------------------------------------------------------------------------------------------- train + predict


@pytest.fixture
def engine(tmp_path):
    eng = open_store(f"sqlite:///{tmp_path / 'f1.sqlite'}")
    yield eng
    eng.dispose()


def test_train_registers_promotes_and_skips_unchanged_data(engine, frame, tmp_path):
    first = _train(engine, frame, tmp_path, moment="pre-quali")
    assert first.status == "registered" and first.promoted
    folder = tmp_path / "artifacts" / "models" / "f1-pre-quali-v1"
    card = (folder / "MODEL_CARD.md").read_text()
    assert "win_log_loss" in card and "Feature importance" in card and "Reading the F1 scores" in card
    assert (folder / "reliability.png").stat().st_size > 0
    ev = first.metrics["evaluation"]
    assert "log_loss" not in ev["model"] and ev["model"]["win_log_loss"] > 0  # F1's own metric names
    assert first.metrics["promotion"]["metric"] == "win_log_loss"
    again = _train(engine, frame, tmp_path, moment="pre-quali")
    assert again.status == "skipped"
    forced = _train(engine, frame, tmp_path, moment="pre-quali", force=True)
    # same configuration, same score: the refreshed fit replaces the champion
    assert forced.promoted and forced.version == 2
    with session_scope(engine) as s:
        champ = registry.champion(s, "f1-pre-quali")
        assert champ.version == 2
        params = registry.verified_parameters(champ)
    assert F1Sport().model_from_dict(params).temperature_ > 0


def test_post_quali_prediction_without_qualifying_is_refused_and_pre_quali_works(engine, frame, tmp_path):
    last = (frame["race_id"] == frame["race_id"].iloc[-1]).to_numpy()
    upcoming = _unrun(frame, last, keep_grid=False)
    with pytest.raises(FormguideError, match="no qualifying result"):
        predict_race(engine, "2019-14", "post-quali", frame=upcoming)
    with pytest.raises(ModelNotFoundError, match="formguide train"):
        predict_race(engine, "2019-14", "pre-quali", frame=upcoming)
    _train(engine, upcoming, tmp_path, moment="pre-quali")
    result, served = predict_race(engine, "2019-14", "pre-quali", frame=upcoming)
    entries = result["entries"]
    assert len(entries) == 12 and served.refitted is None
    assert sum(e["p_win"] for e in entries) == pytest.approx(1.0)
    assert all(e["start"] is None and e["actual_position"] is None for e in entries)
    assert all(e["p_win"] <= e["p_podium"] <= e["p_points"] + 1e-12 for e in entries)
    # the strongest driver of the league is the favourite
    assert entries[0]["entry"] == "d0"


def test_predicting_a_past_race_refits_on_what_was_known(engine, frame, tmp_path):
    _train(engine, frame, tmp_path)
    result, served = predict_race(engine, "2018-03", "post-quali", frame=frame, n_sims=1000)
    assert served.refitted and "on or after" in served.refitted
    assert {e["actual_position"] for e in result["entries"]} == set(range(1, 13))


def test_find_race_errors_are_clear(frame):
    assert find_race(frame, "2016-2").sum() == 12
    with pytest.raises(FormguideError, match="season-round"):
        find_race(frame, "Monaco")
    with pytest.raises(FormguideError, match="no F1 season 1999"):
        find_race(frame, "1999-1")
    with pytest.raises(FormguideError, match="rounds 1-14"):
        find_race(frame, "2016-30")
