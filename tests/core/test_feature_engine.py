"""The sport-agnostic feature engine: versioning, as-of builds, point-in-time joins, parity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.errors import DataValidationError
from formguide.core.features.engine import (
    FeatureDefinition,
    FeatureSet,
    asof_join,
    day_numbers,
    hide_outcomes,
    parity_check,
    rolling_before,
    trailing_window,
)

# A toy "sport": one entity per event scoring points; the engine must not care what it is.


def _events() -> pd.DataFrame:
    times = pd.to_datetime(
        ["2024-01-01 10:00", "2024-01-01 18:00", "2024-01-02 09:00", "2024-01-03 12:00", "2024-01-03 20:00",
         "2024-01-05 15:00"]
    )
    return pd.DataFrame(
        {
            "time": times,
            "player": ["a", "b", "a", "a", "b", "a"],
            "score": [1.0, 2.0, 3.0, 4.0, 5.0, np.nan],
        },
        index=pd.Index([10, 11, 12, 13, 14, 15], name="event_id"),
    )


def previous_score_mean(frame: pd.DataFrame, window: int = 2) -> pd.DataFrame:
    history = frame.loc[frame["score"].notna(), ["player", "time", "score"]]
    out = rolling_before(frame, history, "player", "time", ["score"], window)
    return out.rename(columns={"score": "prev_mean"})


def own_score(frame: pd.DataFrame) -> pd.DataFrame:
    """A leaky feature: the event's own outcome."""
    return pd.DataFrame({"own": frame["score"].to_numpy()}, index=frame.index)


def _toy_set(window: int = 2) -> FeatureSet:
    return FeatureSet(
        "toy",
        [FeatureDefinition("prev", previous_score_mean, ("prev_mean",), params={"window": window})],
        outcome_columns=("score",),
        time_column="time",
    )


def test_asof_join_uses_only_earlier_days_and_last_state_of_a_day() -> None:
    timeline = pd.DataFrame(
        {
            "who": ["x", "x", "x", "y"],
            "t": pd.to_datetime(
                ["2024-01-01 08:00", "2024-01-01 20:00", "2024-01-03 09:00", "2024-01-02 00:00"]
            ),
            "v": [1.0, 2.0, 3.0, 9.0],
        }
    )
    events = pd.DataFrame(
        {
            "who": ["x", "x", "x", "y", "z", "y"],
            "t": pd.to_datetime(
                ["2024-01-01 23:00", "2024-01-02 00:00", "2024-01-03 23:59", "2024-01-02 22:00",
                 "2024-02-01 00:00", "2024-01-03 00:00"]
            ),
        },
        index=["e1", "e2", "e3", "e4", "e5", "e6"],
    )
    out = asof_join(events, timeline, "who", "t", columns=["v"])
    assert list(out.index) == list(events.index)
    # same day never visible; the evening state of Jan 1 wins over the morning one
    np.testing.assert_array_equal(out["v"].to_numpy(), [np.nan, 2.0, 2.0, np.nan, np.nan, 9.0])


def test_asof_join_with_several_keys() -> None:
    timeline = pd.DataFrame(
        {"a": ["p", "p", "q"], "b": [1, 2, 1], "t": pd.to_datetime(["2024-01-01"] * 3), "v": [1.0, 2.0, 3.0]}
    )
    events = pd.DataFrame({"a": ["q", "p", "p"], "b": [1, 2, 3], "t": pd.to_datetime(["2024-01-02"] * 3)})
    out = asof_join(events, timeline, ["a", "b"], "t")
    np.testing.assert_array_equal(out["v"].to_numpy(), [3.0, 2.0, np.nan])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.one_of(st.none(), st.integers(-5, 5))), min_size=1, max_size=40
    ),
    st.integers(1, 6),
)
def test_trailing_window_matches_a_naive_loop(rows, window) -> None:
    history = pd.DataFrame(
        {
            "g": [r[0] for r in rows],
            "t": pd.date_range("2024-01-01", periods=len(rows), freq="D"),
            "x": [np.nan if r[1] is None else float(r[1]) for r in rows],
        }
    ).sample(frac=1.0, random_state=0)  # input order must not matter
    out = trailing_window(history, "g", "t", ["x"], window, how="mean", count_column="n")
    ordered = history.sort_values("t")
    for idx, row in ordered.iterrows():
        past = ordered[(ordered["g"] == row["g"]) & (ordered["t"] <= row["t"])].tail(window)
        expected = past["x"].mean() if past["x"].notna().any() else np.nan
        got = out.at[idx, "x"]
        assert (np.isnan(expected) and np.isnan(got)) or got == pytest.approx(expected, abs=1e-12)
        assert out.at[idx, "n"] == len(past)


def test_rolling_before_excludes_same_day() -> None:
    frame = _events()
    out = previous_score_mean(frame)
    # event 12 (a, Jan 2) sees a's Jan 1 score only; event 13 (a, Jan 3) sees Jan 1 and Jan 2;
    # event 15 (a, Jan 5) sees the last two: Jan 2 and Jan 3; event 14 (b, Jan 3) sees b's Jan 1
    np.testing.assert_array_equal(out["prev_mean"].to_numpy(), [np.nan, np.nan, 1.0, 2.0, 2.0, 3.5])


def test_build_as_of_blanks_outcomes_from_that_time() -> None:
    frame = _events()
    hidden = hide_outcomes(frame, "2024-01-03", ["score"], "time")
    assert hidden["score"].isna().sum() == 3
    assert frame["score"].notna().sum() == 5  # input untouched
    fs = _toy_set()
    full = fs.build(frame)
    served = fs.build(frame, as_of="2024-01-03")
    # events on Jan 3 see the same as in training, the later event loses Jan 3's results
    pd.testing.assert_series_equal(full.loc[[13, 14], "prev_mean"], served.loc[[13, 14], "prev_mean"])
    assert full.at[15, "prev_mean"] == 3.5
    assert served.at[15, "prev_mean"] == 2.0


def test_parity_check_passes_for_point_in_time_feature_and_catches_a_leak() -> None:
    frame = _events()
    fs = _toy_set()
    for idx in frame.index:
        result = parity_check(fs, frame, idx)
        assert result.ok and not result.mismatches
    leaky = FeatureSet("leaky", [FeatureDefinition("own", own_score, ("own",))], outcome_columns=("score",),
                       time_column="time")
    result = parity_check(leaky, frame, 13)
    assert not result
    assert result.mismatches == {"own": (4.0, result.mismatches["own"][1])}
    assert np.isnan(result.mismatches["own"][1])


def test_versions_change_with_params_and_source() -> None:
    assert _toy_set(2).version == _toy_set(2).version
    assert _toy_set(2).version != _toy_set(3).version
    assert _toy_set(2).version.startswith("toy@") and len(_toy_set(2).version) == len("toy@") + 8
    a = FeatureDefinition("f", previous_score_mean, ("prev_mean",))
    b = FeatureDefinition("f", own_score, ("prev_mean",))
    assert a.version != b.version
    c = FeatureDefinition("f", previous_score_mean, ("prev_mean",), dependencies=(own_score,))
    assert c.version != a.version
    # parameter spelling does not matter, values do
    d1 = FeatureDefinition("f", previous_score_mean, ("prev_mean",), params={"window": 2, "x": (1, 2)})
    d2 = FeatureDefinition("f", previous_score_mean, ("prev_mean",), params={"x": [1, 2], "window": 2})
    assert d1.version == d2.version


def _misaligned(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"v": np.zeros(len(frame))})


def _wrong_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"w": np.zeros(len(frame))}, index=frame.index)


def test_contract_violations_are_reported() -> None:
    frame = _events()
    with pytest.raises(ValueError, match="not aligned"):
        FeatureSet("s", [FeatureDefinition("m", _misaligned, ("v",))], time_column="time").build(frame)
    with pytest.raises(ValueError, match="unexpected \\['w'\\], missing \\['v'\\]"):
        FeatureSet("s", [FeatureDefinition("m", _wrong_columns, ("v",))], time_column="time").build(frame)
    with pytest.raises(ValueError, match="produced by both"):
        FeatureSet("s", [FeatureDefinition("a", own_score, ("own",)),
                         FeatureDefinition("b", own_score, ("own",))])
    with pytest.raises(DataValidationError, match="needs column"):
        FeatureSet("s", [FeatureDefinition("a", own_score, ("own",), requires=("nope",))],
                   time_column="time").build(frame)
    bad = frame.copy()
    bad.loc[12, "time"] = pd.NaT
    with pytest.raises(DataValidationError, match="missing at row 2"):
        _toy_set().build(bad)
    with pytest.raises(DataValidationError, match="unique"):
        _toy_set().build(pd.concat([frame, frame]))


def test_columns_and_day_numbers() -> None:
    fs = _toy_set()
    assert fs.columns == ["prev_mean"]
    assert list(fs.describe()["name"]) == ["prev"]
    days = day_numbers(pd.Series(pd.to_datetime(["1970-01-02 23:59", "2024-01-01 00:00"])))
    np.testing.assert_array_equal(days, [1, 19723])
