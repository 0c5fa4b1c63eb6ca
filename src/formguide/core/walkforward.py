"""The walk-forward engine: train on the past, predict the next event group, move on.

Every number formguide reports comes out of :func:`walk_forward`. Events are taken in *groups* (a week of
football matches, a Formula 1 race, an NFL week); the model that predicts a group was fitted only on rows
whose day is strictly before the group's first day, so no reported number has seen its own future. How
often the model is refitted is a :class:`Cadence`: every calendar day, week or month, or every ``n`` groups.
Stacked models (base -> stacker -> calibrator) run it once per stage, each stage training only on the
out-of-sample output of the stage before it (nested walk-forward).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from formguide.core import deadline
from formguide.core.days import CALENDAR_PERIODS, period_ids

__all__ = ["Cadence", "walk_forward"]

_CALENDAR_WORDS = {"daily": "day", "weekly": "week", "monthly": "month", "day": "day", "week": "week",
                   "month": "month"}


@dataclass(frozen=True)
class Cadence:
    """When a walk-forward refits: at each new calendar ``period`` (day/week/month) or every ``groups`` groups.

    Exactly one of the two is set. ``Cadence.parse`` reads the command-line spelling: ``daily``, ``weekly``,
    ``monthly`` (or ``day``/``week``/``month``), or a whole number of event groups (``1`` = before every race).
    """

    period: str | None = None
    groups: int | None = None

    def __post_init__(self) -> None:
        if (self.period is None) == (self.groups is None):
            raise ValueError("a cadence is a calendar period or a number of groups, exactly one of them")
        if self.period is not None and self.period not in CALENDAR_PERIODS:
            raise ValueError(f"unknown refit period {self.period!r}; choose one of {', '.join(CALENDAR_PERIODS)}")
        if self.groups is not None and (isinstance(self.groups, bool) or int(self.groups) != self.groups
                                        or self.groups < 1):
            raise ValueError(f"a refit every N groups needs a whole N >= 1, got {self.groups!r}")

    @classmethod
    def parse(cls, text: str | int | Cadence) -> Cadence:
        if isinstance(text, Cadence):
            return text
        value = str(text).strip().lower()
        if value in _CALENDAR_WORDS:
            return cls(period=_CALENDAR_WORDS[value])
        if re.fullmatch(r"\d+", value) and int(value) >= 1:
            return cls(groups=int(value))
        raise ValueError(f"refit must be daily, weekly, monthly or a whole number of event groups (1, 5, ...), "
                         f"got {text!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> Cadence:
        if isinstance(data, str):  # stores written before cadences were objects held the period name
            return cls.parse(data)
        return cls(period=data.get("period"), groups=data.get("groups"))

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "groups": self.groups}

    def __str__(self) -> str:
        if self.period is not None:
            return {"day": "daily", "week": "weekly", "month": "monthly"}[self.period]
        return f"every {self.groups} group{'s' if self.groups != 1 else ''}"


def _blocks_by_group(groups: np.ndarray, days: np.ndarray, lo: int, hi: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Row indices of each group whose first day lies in ``[lo, hi)``, ordered by (first day, first row)."""
    codes, _ = pd.factorize(pd.Series(groups), sort=False)
    if (codes < 0).any():
        raise ValueError("walk_forward: group ids must not be missing")
    n = int(codes.max()) + 1 if codes.size else 0
    first_day = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_day, codes, days)
    first_row = np.full(n, days.size)
    np.minimum.at(first_row, codes, np.arange(days.size))
    order = np.lexsort((first_row, first_day))
    chosen = order[(first_day[order] >= lo) & (first_day[order] < hi)]
    rows_of = pd.Series(np.arange(days.size)).groupby(codes, sort=False).indices
    return [np.asarray(rows_of[g]) for g in chosen], first_day[chosen]


def _blocks_by_period(days: np.ndarray, period: str, lo: int, hi: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Consecutive runs of in-range rows (sorted by day) sharing a calendar period id."""
    if days.size and np.any(np.diff(days) < 0):
        raise ValueError("walk_forward needs rows sorted by time when it groups them by calendar period")
    in_range = np.flatnonzero((days >= lo) & (days < hi))
    if in_range.size == 0:
        return [], np.zeros(0, dtype=np.int64)
    pid = period_ids(days[in_range], period)
    blocks = np.split(in_range, np.flatnonzero(np.diff(pid)) + 1)
    return blocks, np.array([days[b[0]] for b in blocks], dtype=np.int64)


def walk_forward(
    days: np.ndarray,
    trainable: np.ndarray,
    *,
    fit: Callable[[np.ndarray], Any],
    predict: Callable[[Any, np.ndarray], np.ndarray],
    n_outputs: int,
    start_day: int | None = None,
    end_day: int | None = None,
    groups: np.ndarray | None = None,
    group_period: str = "week",
    cadence: Cadence | str = "weekly",
    min_train: int = 1,
    min_train_groups: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Out-of-sample predictions ``(n, n_outputs)`` for every row whose group starts in ``[start_day, end_day)``.

    Groups are the rows sharing a value of ``groups`` (e.g. a race id), or, without ``groups``, the in-range
    rows of one calendar ``group_period`` (rows must then be sorted by day; a daily cadence predicts day by
    day). ``trainable`` marks rows with a known outcome. Before predicting a group, the model is (re)fitted
    with ``fit(rows)`` on the trainable rows whose day is strictly before the group's first day when the
    ``cadence`` says so (a new calendar period, or ``cadence.groups`` groups predicted since the last fit);
    ``predict(model, rows)`` then gives the group's rows. Groups with fewer than ``min_train`` trainable rows
    before them (or, with ``min_train_groups``, fewer whole trainable groups) stay NaN, as do rows outside
    the range. ``progress(i, n)`` is called after each predicted group.
    """
    cadence = Cadence.parse(cadence)
    days = np.asarray(days, dtype=np.int64)
    trainable = np.asarray(trainable, dtype=bool)
    out = np.full((days.size, n_outputs), np.nan)
    if days.size == 0:
        return out
    lo = int(days.min()) if start_day is None else int(start_day)
    hi = int(days.max()) + 1 if end_day is None else int(end_day)
    if groups is None:
        period = "day" if cadence.period == "day" else group_period
        blocks, block_days = _blocks_by_period(days, period, lo, hi)
        group_of = None
    else:
        blocks, block_days = _blocks_by_group(np.asarray(groups), days, lo, hi)
        group_of = np.asarray(groups)
    if not blocks:
        return out
    history = _history_counter(days, trainable, group_of if min_train_groups else None)
    refit_ids = period_ids(block_days, cadence.period) if cadence.period is not None else None
    model, last_refit, since = None, None, 0
    for i, (block, day) in enumerate(zip(blocks, block_days, strict=True)):
        if history(day) < min_train:
            continue
        due = model is None or (since >= cadence.groups if refit_ids is None else refit_ids[i] != last_refit)
        if due:
            deadline.check("the walk-forward")
            model = fit(np.flatnonzero(trainable & (days < day)))
            last_refit = None if refit_ids is None else refit_ids[i]
            since = 0
        out[block] = predict(model, block)
        since += 1
        if progress is not None:
            progress(i + 1, len(blocks))
    return out


def _history_counter(days: np.ndarray, trainable: np.ndarray, groups: np.ndarray | None
                     ) -> Callable[[int], int]:
    """``count(day)``: trainable rows (or whole trainable groups, when ``groups`` is given) before ``day``."""
    if groups is None:
        known = np.sort(days[trainable])
    else:
        frame = pd.DataFrame({"g": groups, "day": days, "ok": trainable})
        per = frame.groupby("g", sort=False).agg(day=("day", "min"), ok=("ok", "all"))
        known = np.sort(per.loc[per["ok"], "day"].to_numpy(dtype=np.int64))

    def count(day: int) -> int:
        return int(np.searchsorted(known, day, side="left"))

    return count

