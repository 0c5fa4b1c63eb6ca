"""walk_forward: the one place every reported number comes from, so its point-in-time rule is pinned here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.baserates import base_rates
from formguide.core.days import day_numbers, period_ids
from formguide.core.fingerprint import fingerprint_frame
from formguide.core.walkforward import Cadence, walk_forward

MONDAY = int(day_numbers(pd.Series([pd.Timestamp("2024-01-01")]))[0])  # 2024-01-01 was a Monday


class Recorder:
    """fit/predict callables that log what each fit saw and which model predicted which rows."""

    def __init__(self, days: np.ndarray) -> None:
        self.days = days
        self.fits: list[np.ndarray] = []
        self.predictions: list[tuple[int, np.ndarray]] = []  # (fit number, predicted rows)

    def fit(self, idx: np.ndarray) -> int:
        self.fits.append(np.asarray(idx).copy())
        return len(self.fits) - 1

    def predict(self, model: int, idx: np.ndarray) -> np.ndarray:
        self.predictions.append((model, np.asarray(idx).copy()))
        return np.tile([0.5, 0.3, 0.2], (len(idx), 1))

    def violations(self) -> list[tuple[int, int]]:
        """(max training day, min predicted day) pairs where training reached the predicted period."""
        bad = []
        for model, rows in self.predictions:
            train = self.fits[model]
            if train.size and self.days[train].max() >= self.days[rows].min():
                bad.append((int(self.days[train].max()), int(self.days[rows].min())))
        return bad


def run(days, trainable, period="week", refit="week", **kwargs) -> tuple[np.ndarray, Recorder]:
    rec = Recorder(np.asarray(days))
    kwargs.update(group_period=period, cadence=refit)
    out = walk_forward(np.asarray(days), np.asarray(trainable), fit=rec.fit, predict=rec.predict, n_outputs=3,
                       **kwargs)
    return out, rec


@st.composite
def schedules(draw):
    """Sorted match days with several matches on some days and gaps of up to five weeks."""
    gaps = draw(st.lists(st.integers(0, 35), min_size=1, max_size=120))
    days = MONDAY + np.cumsum(gaps)
    trainable = np.array(draw(st.lists(st.booleans(), min_size=len(days), max_size=len(days))))
    return days.astype(np.int64), trainable


@settings(max_examples=150, deadline=None)
@given(schedules(), st.sampled_from(["week", "month"]), st.sampled_from(["day", "week", "month"]),
       st.integers(1, 20))
def test_never_trains_on_a_day_of_the_predicted_period(schedule, period, refit, min_train):
    days, trainable = schedule
    out, rec = run(days, trainable, period=period, refit=refit, min_train=min_train)
    assert rec.violations() == []
    first_block: dict[int, np.ndarray] = {}
    last_refit_id = None
    for model, rows in rec.predictions:
        # every predicted block lies in one period
        assert np.unique(period_ids(days[rows], period)).size == 1
        refit_id = period_ids(days[rows[:1]], refit)[0]
        if model not in first_block:  # a new fit happens exactly when the refit period changes
            assert refit_id != last_refit_id
            first_block[model] = rows
            last_refit_id = refit_id
        else:
            assert refit_id == last_refit_id
    for model, rows in first_block.items():
        # the fit saw exactly the trainable rows before the first day of the block it was made for
        train = rec.fits[model]
        assert np.array_equal(train, np.flatnonzero(trainable & (days < days[rows].min())))
        assert train.size >= min_train
    predicted = np.concatenate([r for _, r in rec.predictions]) if rec.predictions else np.array([], int)
    assert np.array_equal(np.sort(predicted), np.flatnonzero(~np.isnan(out).any(axis=1)))


def test_each_fit_uses_all_trainable_rows_strictly_before_the_period():
    # three matches a day, every day for 60 days; the middle match of each day has no result yet
    days = np.repeat(np.arange(MONDAY, MONDAY + 60), 3)
    trainable = np.tile([True, False, True], 60)
    _, rec = run(days, trainable, period="week", refit="week", min_train=1)
    for model, rows in rec.predictions:
        first_day = days[rows].min()
        assert np.array_equal(rec.fits[model], np.flatnonzero(trainable & (days < first_day)))


def test_a_leaky_cutoff_is_caught_by_the_recorder():
    """The recorder's check can fail: a fit that also sees the first day of the period is flagged."""
    days = np.repeat(np.arange(MONDAY, MONDAY + 28), 2)
    rec = Recorder(days)
    for week_start in range(MONDAY + 7, MONDAY + 28, 7):
        rows = np.flatnonzero((days >= week_start) & (days < week_start + 7))
        model = rec.fit(np.flatnonzero(days <= week_start))  # same-day leak
        rec.predict(model, rows)
    assert len(rec.violations()) == 3


def test_refit_cadence_week_versus_month():
    days = np.arange(MONDAY, MONDAY + 182)  # one match a day, 26 weeks from Monday 2024-01-01
    trainable = np.ones(days.size, dtype=bool)
    _, weekly = run(days, trainable, period="week", refit="week")
    _, monthly = run(days, trainable, period="week", refit="month")
    # the first week is skipped whole (nothing before its first day to learn from): 25 weekly fits
    assert len(weekly.fits) == 25
    # monthly refits: one fit per calendar month reached (Jan..Jun), each reused for that month's weeks
    assert len(monthly.fits) == 6
    assert len(monthly.predictions) == len(weekly.predictions)
    months = period_ids(days, "month")
    for model, rows in monthly.predictions:
        first = rows.min()
        fit_rows = monthly.fits[model]
        # the model serving a week is the one fitted at the first block of the month of the week's first day
        month_first_block = min(r.min() for m, r in monthly.predictions if months[r.min()] == months[first])
        assert np.array_equal(fit_rows, np.flatnonzero(days < days[month_first_block]))
    # reusing a model never lets it see the weeks it predicts
    assert monthly.violations() == []


def test_daily_refits_see_the_results_of_earlier_days_in_the_same_week():
    days = np.array([MONDAY, MONDAY + 5, MONDAY + 8, MONDAY + 12, MONDAY + 12])  # weekend, midweek, weekend
    _, weekly = run(days, np.ones(5, bool), period="week", refit="week")
    _, daily = run(days, np.ones(5, bool), period="week", refit="day")
    assert [f.tolist() for f in weekly.fits] == [[0, 1]]  # week 2 is predicted from week 1 only
    assert [f.tolist() for f in daily.fits] == [[0], [0, 1], [0, 1, 2]]  # the midweek result is used
    assert daily.violations() == [] and weekly.violations() == []


def test_a_block_is_predicted_by_one_fit_made_before_its_first_day():
    days = np.arange(MONDAY, MONDAY + 70)  # January, February and ten days of March
    out, rec = run(days, np.ones(70, bool), period="month", refit="week")
    # blocks are months: one fit per predicted month even though refit says week; January has nothing
    # before its first day, so all of it stays NaN although later January days had history
    assert len(rec.fits) == 2
    january = period_ids(days, "month") == period_ids(days[:1], "month")[0]
    assert np.isnan(out[january]).all() and not np.isnan(out[~january]).any()


def test_rows_before_min_train_and_outside_the_range_stay_nan():
    days = np.repeat(np.arange(MONDAY, MONDAY + 10 * 7, 7), 4)  # four matches every Monday for ten weeks
    trainable = np.ones(days.size, dtype=bool)
    trainable[4:8] = False  # week 2 has no results
    start, end = MONDAY + 7, MONDAY + 8 * 7
    out, rec = run(days, trainable, period="week", refit="week", min_train=9, start_day=start, end_day=end)
    trainable_before = np.array([np.sum(trainable & (days < d)) for d in days])
    expect_pred = (days >= start) & (days < end) & (trainable_before >= 9)
    assert np.array_equal(~np.isnan(out).any(axis=1), expect_pred)
    # weeks 1-3 have only 4, 4 and 8 trainable rows before them: NaN although inside the range
    assert np.isnan(out[(days >= start) & (days < MONDAY + 3 * 7)]).all()
    assert np.isnan(out[days >= end]).all() and np.isnan(out[days < start]).all()
    assert min(len(f) for f in rec.fits) >= 9


def test_empty_range_and_empty_input():
    days = np.arange(MONDAY, MONDAY + 20)
    out, rec = run(days, np.ones(20, bool), start_day=MONDAY + 100)
    assert np.isnan(out).all() and rec.fits == []
    out, rec = run(np.array([], dtype=np.int64), np.array([], dtype=bool))
    assert out.shape == (0, 3) and rec.fits == []


def test_unsorted_input_raises():
    days = np.array([MONDAY, MONDAY + 2, MONDAY + 1])
    with pytest.raises(ValueError, match="sorted"):
        run(days, np.ones(3, bool))


def test_unknown_period_raises():
    with pytest.raises(ValueError, match="refit must be daily, weekly, monthly"):
        run(np.arange(MONDAY, MONDAY + 5), np.ones(5, bool), refit="fortnight")
    with pytest.raises(ValueError, match="unknown period 'season'"):
        period_ids(np.arange(3), "season")


def test_groups_refit_every_n_groups_and_fit_strictly_before_each_group():
    # three "races" a week apart, two entries each; the middle race has an unknown result
    days = np.repeat([MONDAY, MONDAY + 7, MONDAY + 14, MONDAY + 21], 2)
    groups = np.repeat([10, 11, 12, 13], 2)
    trainable = np.array([1, 1, 0, 0, 1, 1, 1, 1], bool)
    rec = Recorder(days)
    out = walk_forward(days, trainable, fit=rec.fit, predict=rec.predict, n_outputs=3, groups=groups,
                       cadence=Cadence(groups=2), min_train=1, min_train_groups=True)
    assert np.isnan(out[:2]).all() and not np.isnan(out[2:]).any()
    # race 11 and 12 share the first fit (every 2 groups), race 13 gets a new one that saw race 12
    assert [m for m, _ in rec.predictions] == [0, 0, 1]
    assert rec.fits[0].tolist() == [0, 1] and rec.fits[1].tolist() == [0, 1, 4, 5]
    assert rec.violations() == []


def test_a_group_counts_as_history_only_when_all_its_rows_are_known():
    days = np.repeat([MONDAY, MONDAY + 7, MONDAY + 14], 2)
    groups = np.repeat([1, 2, 3], 2)
    trainable = np.array([1, 0, 1, 1, 1, 1], bool)  # race 1 only half known
    out, _ = run(days, trainable, refit=Cadence(groups=1), groups=groups, min_train=1, min_train_groups=True)
    assert np.isnan(out[:4]).all() and not np.isnan(out[4:]).any()


def test_cadence_parses_the_command_line_spelling():
    assert Cadence.parse("weekly") == Cadence(period="week") == Cadence.parse("week")
    assert Cadence.parse("5") == Cadence(groups=5)
    assert Cadence.from_dict(Cadence.parse("monthly").to_dict()) == Cadence(period="month")
    assert str(Cadence(groups=1)) == "every 1 group" and str(Cadence(period="day")) == "daily"
    for bad in ("0", "-1", "fortnight", "2.5"):
        with pytest.raises(ValueError):
            Cadence.parse(bad)


def test_weeks_start_on_monday_and_months_are_calendar_months():
    sunday, monday = MONDAY - 1, MONDAY
    assert period_ids(np.array([sunday]), "week")[0] != period_ids(np.array([monday]), "week")[0]
    assert period_ids(np.array([monday]), "week")[0] == period_ids(np.array([monday + 6]), "week")[0]
    jan31, feb1 = MONDAY + 30, MONDAY + 31
    assert period_ids(np.array([jan31]), "month")[0] + 1 == period_ids(np.array([feb1]), "month")[0]


def test_day_numbers_ignore_the_time_of_day():
    kick = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-01 20:45", "2024-01-02 12:30"]))
    assert day_numbers(kick).tolist() == [MONDAY, MONDAY, MONDAY + 1]


def test_progress_is_reported_per_block():
    calls = []
    days = np.arange(MONDAY, MONDAY + 21)
    walk_forward(days, np.ones(21, bool), fit=lambda idx: None, predict=lambda m, idx: np.zeros((idx.size, 3)),
                 n_outputs=3, progress=lambda i, n: calls.append((i, n)))
    # three weekly blocks; the first is skipped (no history) and reports no progress
    assert calls == [(2, 3), (3, 3)]


def test_base_rates_ignore_unplayed_and_apply_the_prior():
    y = np.array([0, 0, 1, 2, -1, -1])
    np.testing.assert_allclose(base_rates(y, 3, prior=1.0), [3 / 7, 2 / 7, 2 / 7])
    np.testing.assert_allclose(base_rates(y, 3, prior=0.0), [0.5, 0.25, 0.25])


def test_fingerprint_changes_with_any_value_and_only_then():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": ["x", "y", "z"]})
    fp = fingerprint_frame(frame, ["a", "b"])
    assert fp == fingerprint_frame(frame.copy(), ["a", "b"])
    assert fp == fingerprint_frame(frame.set_axis([10, 11, 12]), ["a", "b"])  # the index is not data
    changed = frame.copy()
    changed.loc[2, "a"] = 0.0
    assert fingerprint_frame(changed, ["a", "b"]) != fp
    assert fingerprint_frame(frame, ["a"]) != fp
