"""Point-in-time feature engine: one library of feature definitions for training and serving.

A :class:`FeatureDefinition` is a pure function ``f(frame, **params) -> DataFrame`` aligned with the
event frame's index. A :class:`FeatureSet` groups definitions, versions them, and builds them. The
same ``build`` call produces training rows (``as_of=None``) and serving rows (``as_of=<time>``), so
there is never a second code path for prediction.

Point-in-time rule
------------------
A feature of an event on calendar day ``D`` may use only the *outcomes* of events on days strictly
before ``D``. Pre-event information (who plays whom, when, in which competition and season, the
published fixture list, bookmaker prices) is not an outcome and may be used as it stands.

Day granularity is deliberate: old source rows carry a date but no kick-off time, and it makes
"predict as of the morning of D" produce exactly the training row of an event on D (two events of
the same day never see each other's results). Every helper here joins on day-floored times with
strictly-before semantics (:func:`asof_join`, :func:`rolling_before`).

``FeatureSet.build(frame, as_of=t)`` first blanks the declared ``outcome_columns`` of every event
with time ``>= t``, then runs the definitions unchanged. Because definitions already ignore outcomes
from the event's own day onwards, the features of an event on day ``D`` built ``as_of`` midnight of
``D`` equal its row in the full build; :func:`parity_check` verifies that for one event.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from formguide.core.days import day_numbers, event_days
from formguide.core.errors import DataValidationError

__all__ = [
    "FeatureDefinition",
    "FeatureSet",
    "ParityResult",
    "asof_join",
    "hide_outcomes",
    "parity_check",
    "rolling_before",
    "trailing_window",
]

FeatureFunction = Callable[..., pd.DataFrame]


def _short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


@functools.lru_cache(maxsize=1024)
def _source_of(func: Callable[..., Any]) -> str:
    """Source text of a callable; falls back to its bytecode for callables without a source file."""
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        if code is None:
            return repr(func)
        return f"{code.co_code.hex()}|{code.co_consts!r}|{code.co_names!r}"


def _canonical(value: Any) -> str:
    """Deterministic text for a parameter value (dict order and tuple/list spelling do not matter)."""
    return json.dumps(value, sort_keys=True, default=repr)


@dataclass(frozen=True)
class FeatureDefinition:
    """One feature family: a pure function plus its parameters and the columns it returns.

    ``dependencies`` lists helper callables whose source also feeds the version, so editing a helper
    the function relies on (e.g. a rating algorithm) changes the version as well.
    ``requires`` lists frame columns the function cannot work without; the engine checks them.
    """

    name: str
    function: FeatureFunction
    columns: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    dependencies: tuple[Callable[..., Any], ...] = ()
    requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "dependencies", tuple(self.dependencies))
        object.__setattr__(self, "requires", tuple(self.requires))
        if not self.columns:
            raise ValueError(f"feature definition {self.name!r} declares no output columns")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"feature definition {self.name!r} declares duplicate columns")

    @functools.cached_property
    def version(self) -> str:
        """Short sha256 of the function's (and its dependencies') source and the parameters."""
        parts = [_source_of(self.function)]
        parts += [_source_of(dep) for dep in self.dependencies]
        parts.append(_canonical(self.params))
        parts.append(_canonical(list(self.columns)))
        return _short_hash("\n".join(parts))

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Run the function and check that it kept its contract (aligned index, declared columns)."""
        missing = [c for c in self.requires if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"feature {self.name!r} needs column(s) {missing} that the event frame does not have"
            )
        out = self.function(frame, **self.params)
        if not isinstance(out, pd.DataFrame):
            raise TypeError(f"feature {self.name!r} returned {type(out).__name__}, expected a DataFrame")
        if not out.index.equals(frame.index):
            raise ValueError(f"feature {self.name!r} returned rows not aligned with the event frame's index")
        if set(out.columns) != set(self.columns):
            extra = sorted(set(out.columns) - set(self.columns))
            lacking = sorted(set(self.columns) - set(out.columns))
            raise ValueError(
                f"feature {self.name!r} returned columns that differ from its declaration "
                f"(unexpected {extra}, missing {lacking})"
            )
        return out[list(self.columns)]


def _as_timestamp(as_of: Any, like: pd.Series) -> pd.Timestamp:
    ts = pd.Timestamp(as_of)
    tz = getattr(like.dt, "tz", None)
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    elif tz is None and ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts


def hide_outcomes(
    frame: pd.DataFrame, as_of: Any, outcome_columns: Iterable[str], time_column: str = "kickoff"
) -> pd.DataFrame:
    """Copy of ``frame`` where the outcome columns of events with time ``>= as_of`` are missing."""
    times = frame[time_column]
    ts = _as_timestamp(as_of, times)
    future = (times >= ts).to_numpy()
    out = frame.copy()
    if not future.any():
        return out
    keep = ~future
    for col in outcome_columns:
        if col in out.columns:
            out[col] = out[col].where(keep)
    return out


class FeatureSet:
    """A named, versioned group of feature definitions built together over one event frame."""

    def __init__(
        self,
        name: str,
        definitions: Sequence[FeatureDefinition],
        outcome_columns: Sequence[str] = (),
        time_column: str = "kickoff",
    ) -> None:
        self.name = name
        self.definitions = tuple(definitions)
        self.outcome_columns = tuple(outcome_columns)
        self.time_column = time_column
        if not self.definitions:
            raise ValueError(f"feature set {name!r} has no definitions")
        seen: dict[str, str] = {}
        for d in self.definitions:
            for c in d.columns:
                if c in seen:
                    raise ValueError(f"column {c!r} is produced by both {seen[c]!r} and {d.name!r}")
                seen[c] = d.name
        names = [d.name for d in self.definitions]
        if len(set(names)) != len(names):
            raise ValueError(f"feature set {name!r} has duplicate definition names")

    @functools.cached_property
    def version(self) -> str:
        """``<name>@<hash of member versions>``, e.g. ``football-core@3f2a9c1d``."""
        text = "\n".join(f"{d.name}:{d.version}" for d in self.definitions)
        return f"{self.name}@{_short_hash(text)}"

    @property
    def columns(self) -> list[str]:
        return [c for d in self.definitions for c in d.columns]

    def describe(self) -> pd.DataFrame:
        """One row per definition: name, version, params and columns (for registries and the CLI)."""
        return pd.DataFrame(
            {
                "name": [d.name for d in self.definitions],
                "version": [d.version for d in self.definitions],
                "params": [_canonical(d.params) for d in self.definitions],
                "columns": [list(d.columns) for d in self.definitions],
            }
        )

    def _validate(self, frame: pd.DataFrame) -> None:
        if self.time_column not in frame.columns:
            raise DataValidationError(f"event frame has no time column {self.time_column!r}")
        times = frame[self.time_column]
        if not pd.api.types.is_datetime64_any_dtype(times):
            raise DataValidationError(
                f"column {self.time_column!r} must be datetime64, got {times.dtype}"
            )
        if times.isna().any():
            pos = int(np.flatnonzero(times.isna().to_numpy())[0])
            raise DataValidationError(
                f"column {self.time_column!r} is missing at row {pos} (index {frame.index[pos]!r})"
            )
        if not frame.index.is_unique:
            raise DataValidationError("event frame index must be unique so features can be aligned")

    def build(self, frame: pd.DataFrame, as_of: Any = None) -> pd.DataFrame:
        """Features for every row of ``frame``, index-aligned.

        With ``as_of``, outcomes of events at or after that time are blanked first, so the result is
        what could have been computed at that moment.
        """
        self._validate(frame)
        source = frame
        if as_of is not None:
            source = hide_outcomes(frame, as_of, self.outcome_columns, self.time_column)
        parts = [d.compute(source) for d in self.definitions]
        return pd.concat(parts, axis=1)

    def hide_outcomes(self, frame: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """The frame as known at ``as_of``: this set's outcome columns blanked from then on."""
        return hide_outcomes(frame, as_of, self.outcome_columns, self.time_column)

    def __repr__(self) -> str:
        n_def, n_col = len(self.definitions), len(self.columns)
        return f"FeatureSet({self.version!r}, {n_def} definitions, {n_col} columns)"


# --------------------------------------------------------------------------------------------------
# Point-in-time helpers reused by every sport
# --------------------------------------------------------------------------------------------------


def _joint_codes(left: pd.DataFrame, right: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for the ``by`` key, consistent between the two frames (-1 where a key is missing)."""
    n_left = len(left)
    combined = np.zeros(n_left + len(right), dtype=np.int64)
    missing = np.zeros(n_left + len(right), dtype=bool)
    for col in by:
        values = pd.concat([left[col], right[col]], ignore_index=True)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        missing |= codes < 0
        combined = combined * (len(uniques) + 1) + (codes + 1)
        combined = pd.factorize(combined)[0].astype(np.int64)
    combined[missing] = -1
    return combined[:n_left], combined[n_left:]


def asof_join(
    events: pd.DataFrame,
    timeline: pd.DataFrame,
    by: str | Sequence[str],
    on: str,
    columns: Sequence[str] | None = None,
    timeline_on: str | None = None,
) -> pd.DataFrame:
    """Latest ``timeline`` state for each event, from days strictly before the event's day.

    ``timeline`` holds one row per state change (key columns ``by``, time ``timeline_on`` or ``on``,
    value columns). Times on both sides are floored to the day and matched with
    ``merge_asof(allow_exact_matches=False)``; among several states on one day the last one in the
    timeline's order wins. Returns the value columns aligned with ``events.index`` (NaN where no
    earlier state exists).
    """
    by = [by] if isinstance(by, str) else list(by)
    t_on = timeline_on or on
    if columns is None:
        columns = [c for c in timeline.columns if c not in by and c != t_on]
    columns = list(columns)
    lkey, rkey = _joint_codes(events, timeline, by)
    # Integer day numbers on both sides: immune to datetime resolution (ns/us) and time-zone mismatches.
    left = pd.DataFrame({"_key": lkey, "_day": day_numbers(events[on]), "_pos": np.arange(len(events))})
    right = pd.DataFrame({"_key": rkey, "_day": day_numbers(timeline[t_on])})
    for c in columns:
        right[c] = timeline[c].to_numpy()
    right = right[right["_key"] >= 0]
    right = right.sort_values("_day", kind="stable").drop_duplicates(["_key", "_day"], keep="last")
    left = left.sort_values("_day", kind="stable")
    merged = pd.merge_asof(
        left, right, on="_day", by="_key", allow_exact_matches=False, direction="backward"
    )
    merged = merged.sort_values("_pos", kind="stable")
    out = merged[columns].set_axis(events.index)
    if (lkey < 0).any():
        out.loc[lkey < 0, :] = np.nan
    return out


def trailing_window(
    history: pd.DataFrame,
    by: str | Sequence[str],
    on: str,
    columns: Sequence[str],
    window: int,
    how: str = "mean",
    count_column: str | None = None,
) -> pd.DataFrame:
    """Per group, the aggregate of ``columns`` over the last ``window`` rows up to and including each row.

    Rows are ordered by ``on`` (ties keep their order in ``history``). NaN values are skipped: the
    mean divides by the number of non-missing values in the window and is NaN when there are none;
    ``how="sum"`` gives NaN only when the window has no non-missing value. Each window is summed
    directly (no running totals), so a value depends only on the rows inside its window.
    ``count_column`` adds the number of rows in the window. Returns a frame aligned with ``history``.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if how not in ("mean", "sum"):
        raise ValueError(f"how must be 'mean' or 'sum', got {how!r}")
    by = [by] if isinstance(by, str) else list(by)
    n = len(history)
    if by:
        key, _ = _joint_codes(history[by], history[by].iloc[:0], by)
    else:
        key = np.zeros(n, dtype=np.int64)
    times = history[on].to_numpy()
    order = np.lexsort((np.arange(n), times, key))
    skey = key[order]
    starts = np.r_[True, skey[1:] != skey[:-1]] if n else np.zeros(0, dtype=bool)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else np.zeros(0, dtype=int)
    pos = np.arange(n)
    result: dict[str, np.ndarray] = {}
    for col in columns:
        vals = history[col].to_numpy(dtype=np.float64)[order]
        present = ~np.isnan(vals)
        filled = np.where(present, vals, 0.0)
        total = np.zeros(n)
        count = np.zeros(n)
        for lag in range(window):
            src = pos - lag
            ok = src >= group_start
            idx = np.where(ok, src, 0)
            total += np.where(ok, filled[idx], 0.0)
            count += np.where(ok, present[idx], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            agg = total / count if how == "mean" else np.where(count > 0, total, np.nan)
        agg = np.where(count > 0, agg, np.nan)
        out = np.empty(n)
        out[order] = agg
        result[col] = out
    if count_column is not None:
        rows = np.minimum(pos - group_start + 1, window).astype(np.float64)
        out = np.empty(n)
        out[order] = rows
        result[count_column] = out
    return pd.DataFrame(result, index=history.index)


def rolling_before(
    events: pd.DataFrame,
    history: pd.DataFrame,
    by: str | Sequence[str],
    on: str,
    columns: Sequence[str],
    window: int,
    how: str = "mean",
    count_column: str | None = None,
    history_on: str | None = None,
) -> pd.DataFrame:
    """Aggregate over each key's last ``window`` history rows on days strictly before the event's day.

    ``history`` must hold only rows whose values are known (e.g. played matches); ``by`` names key
    columns present in both frames. Composes :func:`trailing_window` and :func:`asof_join`.
    """
    h_on = history_on or on
    state = trailing_window(history, by, h_on, columns, window, how=how, count_column=count_column)
    by_list = [by] if isinstance(by, str) else list(by)
    timeline = pd.concat([history[by_list + [h_on]], state], axis=1)
    out_cols = list(columns) + ([count_column] if count_column else [])
    return asof_join(events, timeline, by_list, on, columns=out_cols, timeline_on=h_on)


# --------------------------------------------------------------------------------------------------
# Parity: serving equals training
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParityResult:
    """Outcome of :func:`parity_check`; truthy when the served row equals the training row."""

    event_index: Any
    as_of: pd.Timestamp
    ok: bool
    mismatches: dict[str, tuple[Any, Any]]

    def __bool__(self) -> bool:
        return self.ok


def _same(a: Any, b: Any) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if pd.isna(a) or pd.isna(b):
        return False
    return bool(a == b)


def parity_check(
    feature_set: FeatureSet,
    frame: pd.DataFrame,
    event_index: Any,
    training: pd.DataFrame | None = None,
) -> ParityResult:
    """Build the event's features as of the start of its own day and compare with the training row.

    ``training`` may pass an already built full feature frame to avoid building it again. Values must
    be identical (NaN equals NaN); any difference is listed in ``mismatches`` as (training, served).
    """
    if event_index not in frame.index:
        raise KeyError(f"event {event_index!r} is not in the frame")
    day = event_days(frame[feature_set.time_column]).loc[event_index]
    full = feature_set.build(frame) if training is None else training
    served = feature_set.build(frame, as_of=day)
    mismatches = {
        c: (full.at[event_index, c], served.at[event_index, c])
        for c in feature_set.columns
        if not _same(full.at[event_index, c], served.at[event_index, c])
    }
    return ParityResult(event_index=event_index, as_of=day, ok=not mismatches, mismatches=mismatches)
