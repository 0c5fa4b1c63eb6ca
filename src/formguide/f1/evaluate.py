"""Walk-forward evaluation of F1 field models, race by race, next to the grid, pole and leader baselines.

Every number reported here comes from predictions made before the race: each model (and baseline) is
fitted only on races run on days strictly before the predicted race's day (refitted every
``refit_every`` races), and the model's temperature only on out-of-sample utilities of earlier races
(nested walk-forward). Features come from one ``FeatureSet.build`` over the whole frame, which is
point-in-time by construction.

Metrics (from :mod:`formguide.core.field`), on the same races for every forecast:

* ``win_log_loss``: mean over races of ``-log p(actual winner)``;
* ``top1_accuracy``: share of races the favourite won;
* ``expected_top1_accuracy``: the mean win probability of the favourites, i.e. the top-1 accuracy the
  forecasts expect of themselves (realised minus expected shows over-confidence or luck);
* ``podium_brier``: mean over entries of ``(p_podium - podium)^2``;
* ``win_ece``: expected calibration error of every entry's win probability (10 equal-width bins).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formguide.core.days import day_numbers
from formguide.core.errors import DataValidationError
from formguide.core.field import expected_top1_accuracy, podium_brier, top1_accuracy, win_ece, win_log_loss
from formguide.f1.features import f1_feature_set
from formguide.f1.models import BASELINE_TYPES, field_probabilities, make_model, race_walk_forward

__all__ = [
    "BASELINE_NAMES",
    "CARD_ALIASES",
    "BacktestRun",
    "backtest",
    "card_scores",
    "evaluate_forecasts",
    "field_metrics",
    "reliability_plot",
    "run_backtest",
    "walk_forward_baseline",
    "walk_forward_model",
]

BASELINE_NAMES: tuple[str, ...] = tuple(BASELINE_TYPES)
#: Core metric names (model cards, training-run columns) -> the F1 metric they stand for.
CARD_ALIASES: dict[str, str] = {"n": "races", "log_loss": "win_log_loss", "accuracy": "top1_accuracy",
                                "brier": "podium_brier", "ece": "win_ece"}
Progress = Callable[[int, int], None]


def field_metrics(p_win: np.ndarray, p_podium: np.ndarray, position: np.ndarray, race: np.ndarray) -> dict[str, Any]:
    """Headline field metrics over the given entries (every entry of every race scored)."""
    return {
        "races": int(pd.unique(np.asarray(race)).size),
        "entries": int(len(position)),
        "win_log_loss": win_log_loss(p_win, position, race),
        "top1_accuracy": top1_accuracy(p_win, position, race),
        "expected_top1_accuracy": expected_top1_accuracy(p_win, position, race),
        "podium_brier": podium_brier(p_podium, position),
        "win_ece": win_ece(p_win, position),
    }


def card_scores(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """F1 metrics plus the core names model cards and run records read (``log_loss`` = win log loss...)."""
    if metrics is None:
        return None
    return {**metrics, **{core: metrics.get(f1) for core, f1 in CARD_ALIASES.items()}}


def _day(value: Any) -> int | None:
    if value is None:
        return None
    return int(day_numbers(pd.Series([pd.Timestamp(value)]))[0])


def walk_forward_model(frame: pd.DataFrame, X: pd.DataFrame, model_type: str, params: dict[str, Any] | None = None,
                       *, start_day: int | None, end_day: int | None, refit_every: int = 1,
                       progress: Progress | None = None) -> np.ndarray:
    """Out-of-sample calibrated utilities of a field model (NaN outside the window)."""
    model = make_model(model_type, **(params or {}))
    if not hasattr(model, "walk_forward_utilities"):
        raise ValueError(f"{model_type!r} is a baseline; use walk_forward_baseline")
    return model.walk_forward_utilities(frame, X, start_day=start_day, end_day=end_day, refit_every=refit_every,
                                        progress=progress)


def walk_forward_baseline(frame: pd.DataFrame, X: pd.DataFrame, name: str, *, start_day: int | None,
                          end_day: int | None, refit_every: int = 1) -> np.ndarray:
    """Out-of-sample utilities (log win probabilities) of a baseline, refitted on earlier races."""
    frame = frame.reset_index(drop=True)
    X = X.reset_index(drop=True)

    def fit(idx: np.ndarray):
        return make_model(name).fit(frame.iloc[idx], X.iloc[idx])

    return race_walk_forward(frame, fit=fit, predict=lambda m, idx: m.utilities(frame.iloc[idx], X.iloc[idx]),
                             start_day=start_day, end_day=end_day, refit_every=refit_every, min_train_races=1)


def evaluate_forecasts(frame: pd.DataFrame, utilities: dict[str, np.ndarray], *, n_sims: int = 10000,
                       seed: int = 0) -> tuple[dict[str, dict[str, Any]], pd.DataFrame, np.ndarray]:
    """Metrics of every forecast on the races all of them predicted (and that have been run).

    Returns the metrics per forecast name, the per-entry probabilities of each forecast on those races
    (columns ``<name>_p_win``, ``<name>_p_podium``) and the boolean row mask of the scored entries.
    """
    race = frame["race_id"].to_numpy()
    pos = frame["position"].to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(pos)
    for u in utilities.values():
        ok &= ~np.isnan(u)
    # a race counts only when every entry of it has a forecast and a result, with exactly one winner
    whole = pd.Series(ok).groupby(race, sort=False).transform("all").to_numpy()
    one_winner = pd.Series(pos == 1).groupby(race, sort=False).transform("sum").to_numpy() == 1
    mask = whole & one_winner
    if not mask.any():
        raise DataValidationError("no race in the window has both a result and an out-of-sample forecast")
    probs = pd.DataFrame(index=frame.index[mask])
    metrics: dict[str, dict[str, Any]] = {}
    for name, u in utilities.items():
        fp = field_probabilities(u[mask], race[mask], n_sims=n_sims, seed=seed)
        probs[f"{name}_p_win"] = fp["p_win"].to_numpy()
        probs[f"{name}_p_podium"] = fp["p_podium"].to_numpy()
        metrics[name] = field_metrics(fp["p_win"].to_numpy(), fp["p_podium"].to_numpy(), pos[mask], race[mask])
    return metrics, probs, mask


@dataclass
class BacktestRun:
    """A backtest's JSON report plus the per-entry forecasts behind it (rows ``mask`` of ``frame``)."""

    report: dict[str, Any]
    probs: pd.DataFrame
    mask: np.ndarray
    frame: pd.DataFrame

    def reliability_plot(self, path: Path | str, title: str) -> Path:
        pos = self.frame.loc[self.mask, "position"].to_numpy(dtype=np.float64)
        return reliability_plot(self.probs["model_p_win"].to_numpy(), self.probs["model_p_podium"].to_numpy(),
                                pos, path, title=title)


def backtest(frame: pd.DataFrame, *, moment: str = "post-quali", model_type: str = "plackett-luce",
             params: dict[str, Any] | None = None, date_from: Any = None, date_to: Any = None,
             refit_every: int = 1, baselines: Sequence[str] = BASELINE_NAMES, n_sims: int = 10000, seed: int = 0,
             X: pd.DataFrame | None = None, by_season: bool = True, plots_dir: Path | str | None = None,
             progress: Progress | None = None) -> dict[str, Any]:
    """Walk-forward backtest of one model over ``[date_from, date_to]``; returns the report as plain JSON data.

    Shape (like football's): ``model`` (type, params, refit_every and metrics), ``baselines`` (name ->
    metrics), ``market`` (None: the F1 data holds no odds), ``window`` (from, to, races, entries), plus
    ``by_season`` and ``seconds``. ``X`` may pass already built features of ``moment``. Without
    ``date_from`` the window starts at the 101st race run.
    """
    return run_backtest(frame, moment=moment, model_type=model_type, params=params, date_from=date_from,
                        date_to=date_to, refit_every=refit_every, baselines=baselines, n_sims=n_sims, seed=seed,
                        X=X, by_season=by_season, plots_dir=plots_dir, progress=progress).report


def run_backtest(frame: pd.DataFrame, *, moment: str = "post-quali", model_type: str = "plackett-luce",
                 params: dict[str, Any] | None = None, date_from: Any = None, date_to: Any = None,
                 refit_every: int = 1, baselines: Sequence[str] = BASELINE_NAMES, n_sims: int = 10000,
                 seed: int = 0, X: pd.DataFrame | None = None, by_season: bool = True,
                 plots_dir: Path | str | None = None, progress: Progress | None = None) -> BacktestRun:
    """:func:`backtest`, keeping the per-entry forecasts (for plots and model cards)."""
    if frame.empty:
        raise DataValidationError("the F1 entry frame is empty; run `formguide ingest f1` first")
    frame = frame.reset_index(drop=True)
    if X is None:
        X = f1_feature_set(moment).build(frame)
    else:
        X = X.reset_index(drop=True)
    run_days = day_numbers(frame.loc[frame["position"].notna(), "date"])
    if run_days.size == 0:
        raise DataValidationError("no race with a result in the F1 entry frame")
    start_day = _day(date_from) if date_from is not None else int(np.unique(run_days)[min(100, np.unique(run_days).size - 1)])
    end_day = (_day(date_to) + 1) if date_to is not None else int(run_days.max()) + 1
    t0 = time.perf_counter()
    utilities = {"model": walk_forward_model(frame, X, model_type, params, start_day=start_day, end_day=end_day,
                                             refit_every=refit_every, progress=progress)}
    for name in baselines:
        utilities[name] = walk_forward_baseline(frame, X, name, start_day=start_day, end_day=end_day)
    metrics, probs, mask = evaluate_forecasts(frame, utilities, n_sims=n_sims, seed=seed)
    elapsed = time.perf_counter() - t0
    dates = frame.loc[mask, "date"]
    result: dict[str, Any] = {
        "sport": "f1",
        "moment": moment,
        "model": {"type": model_type, "params": params or {}, "refit_every": refit_every, **metrics["model"]},
        "baselines": {name: metrics[name] for name in baselines},
        "market": None,
        "window": {"from": dates.min().isoformat(), "to": dates.max().isoformat(),
                   "races": metrics["model"]["races"], "entries": metrics["model"]["entries"]},
        "seconds": round(elapsed, 2),
    }
    if moment == "pre-quali":
        result["notes"] = ["the grid and pole baselines use the starting grid, which a pre-qualifying forecast "
                           "does not have: they are a post-qualifying reference"]
    if by_season:
        result["by_season"] = _by_season(frame[mask], probs, list(utilities))
    run = BacktestRun(result, probs, mask, frame)
    if plots_dir is not None:
        result["reliability_png"] = str(run.reliability_plot(
            Path(plots_dir) / f"reliability-f1-{moment}-{model_type}.png",
            title=f"F1 {moment} {model_type}: walk-forward reliability"))
    return run


def _by_season(frame: pd.DataFrame, probs: pd.DataFrame, names: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    season = frame["season"].to_numpy()
    pos = frame["position"].to_numpy(dtype=np.float64)
    race = frame["race_id"].to_numpy()
    for s in np.unique(season):
        m = season == s
        out[str(int(s))] = {
            name: field_metrics(probs[f"{name}_p_win"].to_numpy()[m], probs[f"{name}_p_podium"].to_numpy()[m],
                                pos[m], race[m])
            for name in names
        }
    return out


def reliability_plot(p_win: np.ndarray, p_podium: np.ndarray, position: np.ndarray, path: Path | str,
                     title: str = "F1 reliability") -> Path:
    """Reliability diagram of the three-way split win / podium but no win / off the podium."""
    from formguide.core.plots import reliability_diagram

    probs = np.column_stack([p_win, np.clip(p_podium - p_win, 0.0, 1.0), np.clip(1.0 - p_podium, 0.0, 1.0)])
    probs = probs / probs.sum(axis=1, keepdims=True)
    outcome = np.where(position == 1, 0, np.where(position <= 3, 1, 2))
    return reliability_diagram(probs, outcome, ["win", "podium, no win", "off podium"], path, title=title)
