"""Day arithmetic: the one place that turns event times into the integer days every rule works in.

Point-in-time features, walk-forward folds and refit calendars all reason in whole calendar days: an event
on day ``D`` may learn from events of days strictly before ``D``. A day is the event's local wall-clock date
(a time-zone-aware time keeps its own date, it is not converted to UTC first), counted from 1970-01-01.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CALENDAR_PERIODS", "day_number", "day_numbers", "event_days", "period_ids"]

#: Calendar periods a walk-forward can group or refit by.
CALENDAR_PERIODS = ("day", "week", "month")


def event_days(times: pd.Series | pd.Index | np.ndarray) -> pd.Series:
    """Calendar day of each time (midnight), the granularity of the point-in-time rule."""
    series = times if isinstance(times, pd.Series) else pd.Series(times)
    if not pd.api.types.is_datetime64_any_dtype(series):
        series = pd.to_datetime(series)
    return series.dt.normalize()


def day_numbers(times: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Calendar day of each time as an integer (days since 1970-01-01, local wall-clock day)."""
    days = event_days(times)
    if days.dt.tz is not None:
        days = days.dt.tz_localize(None)
    return days.to_numpy().astype("datetime64[D]").astype(np.int64)


def day_number(value: Any) -> int:
    """:func:`day_numbers` of one date or time."""
    return int(day_numbers(pd.Series([pd.Timestamp(value)]))[0])


def period_ids(days: np.ndarray, period: str) -> np.ndarray:
    """Integer id of the calendar period of each day (weeks start on Monday)."""
    days = np.asarray(days, dtype=np.int64)
    if period == "day":
        return days.copy()
    if period == "week":
        return (days + 3) // 7  # 1970-01-01 was a Thursday
    if period == "month":
        d = days.astype("datetime64[D]")
        years = d.astype("datetime64[Y]").astype(np.int64)
        months = d.astype("datetime64[M]").astype(np.int64) - years * 12
        return years * 12 + months
    raise ValueError(f"unknown period {period!r}; choose one of {', '.join(CALENDAR_PERIODS)}")
