"""Walk-forward evaluation: train on the past, predict the next period, move on.

Everything reported by formguide comes out of :func:`walk_forward`: a model is fitted only on events
whose day is strictly before the first day of the period it predicts, so no reported number has
seen its own future. Stacked models (base -> stacker -> calibrator) use it once per stage, each stage
training only on the out-of-sample output of the stage before it (nested walk-forward).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

PERIODS = ("day", "week", "month", "season")


def day_numbers(kickoff: pd.Series | pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Whole days since the epoch (int64): the time unit of point-in-time rules."""
    values = pd.to_datetime(pd.Series(kickoff)).to_numpy(dtype="datetime64[D]")
    return values.astype(np.int64)


def period_ids(days: np.ndarray, period: str, seasons: np.ndarray | None = None) -> np.ndarray:
    """Integer id of the calendar period of each day (weeks start on Monday)."""
    if period == "day":
        return days.copy()
    if period == "week":
        return (days + 3) // 7  # 1970-01-01 was a Thursday
    if period == "month":
        d = days.astype("datetime64[D]")
        years = d.astype("datetime64[Y]").astype(np.int64)
        months = d.astype("datetime64[M]").astype(np.int64) - years * 12
        return years * 12 + months
    if period == "season":
        if seasons is None:
            raise ValueError("period='season' needs the season of each event")
        _, codes = np.unique(np.asarray(seasons).astype(str), return_inverse=True)
        return codes.astype(np.int64)
    raise ValueError(f"unknown period {period!r}; choose one of {', '.join(PERIODS)}")


def walk_forward(
    days: np.ndarray,
    trainable: np.ndarray,
    *,
    fit: Callable[[np.ndarray], Any],
    predict: Callable[[Any, np.ndarray], np.ndarray],
    n_outputs: int,
    start_day: int | None = None,
    end_day: int | None = None,
    period: str = "week",
    refit: str = "week",
    min_train: int = 1,
    seasons: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Out-of-sample predictions for every row whose day lies in ``[start_day, end_day)``.

    ``days`` must be sorted ascending. ``trainable`` marks rows with a known outcome. For each period
    the model is (re)fitted on trainable rows with ``days < first day of the period`` whenever the
    ``refit`` period changes, then predicts the period's rows. Rows outside the range, or before
    ``min_train`` trainable rows exist, stay NaN. ``refit="day"`` predicts day by day (a model then sees
    every result of the days before, midweek rounds included).
    """
    if refit == "day":
        period = "day"
    days = np.asarray(days, dtype=np.int64)
    if days.size and np.any(np.diff(days) < 0):
        raise ValueError("walk_forward needs rows sorted by time")
    trainable = np.asarray(trainable, dtype=bool)
    out = np.full((days.size, n_outputs), np.nan)
    lo = days.min() if start_day is None and days.size else start_day
    hi = days.max() + 1 if end_day is None and days.size else end_day
    in_range = np.flatnonzero((days >= lo) & (days < hi))
    if in_range.size == 0:
        return out
    pid = period_ids(days, period, seasons)
    rid = period_ids(days, refit, seasons)
    cum_trainable = np.concatenate([[0], np.cumsum(trainable)])
    # Boundaries of consecutive runs of the same period id inside the range.
    sub = pid[in_range]
    cuts = np.flatnonzero(np.diff(sub)) + 1
    blocks = np.split(in_range, cuts)
    model = None
    last_refit_id = None
    for i, block in enumerate(blocks):
        first = block[0]
        cutoff = np.searchsorted(days, days[first], side="left")  # rows strictly before that day
        if cum_trainable[cutoff] < min_train:
            continue
        if model is None or rid[first] != last_refit_id:
            train_idx = np.flatnonzero(trainable[:cutoff])
            model = fit(train_idx)
            last_refit_id = rid[first]
        out[block] = predict(model, block)
        if progress is not None:
            progress(i + 1, len(blocks))
    return out


def base_rates(outcome: np.ndarray, n_classes: int, prior: float = 1.0) -> np.ndarray:
    """Class frequencies with a small additive prior: the naive baseline every model must beat."""
    counts = np.bincount(outcome[outcome >= 0], minlength=n_classes).astype(float) + prior
    return counts / counts.sum()


def fingerprint_frame(frame: pd.DataFrame, columns: list[str]) -> str:
    """Stable sha256 over the given columns: changes whenever any value the model could see changes."""
    import hashlib

    hashed = pd.util.hash_pandas_object(frame[columns].reset_index(drop=True), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()
