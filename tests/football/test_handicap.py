"""Asian handicap: settlement by hand, probabilities from a score matrix, push-aware scores, the prediction
market, and the backtest block (present, finite, the same fits as the 1X2, and leaving the 1X2 untouched)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from tests.helpers import e0_frame

from formguide.core.backtest import backtest
from formguide.core.lines import expected_profit
from formguide.core.sport import get_sport
from formguide.core.walkforward import Cadence
from formguide.football import handicap
from formguide.football.models.score_markets import asian_handicap, goal_difference_pmf
from formguide.football.odds import WIDE_AH_COLUMNS
from formguide.football.sport import FootballBacktestOptions

SPORT = get_sport("football")

# P(0-0) = 0.3, P(0-1) = 0.2, P(1-0) = 0.4, P(1-1) = 0.1: goal difference -1: 0.2, 0: 0.4, +1: 0.4
SMALL = np.array([[0.3, 0.2], [0.4, 0.1]])


def _scores(rows: list[tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame({"home_goals": [h for h, _ in rows], "away_goals": [a for _, a in rows]})


@pytest.mark.parametrize(("score", "line", "home", "away"), [
    ((1, 1), -0.25, -0.5, 0.5),   # draw at -0.25: half on 0 (push), half on -0.5 (loss)
    ((1, 1), 0.25, 0.5, -0.5),
    ((2, 1), -0.75, 0.5, -0.5),   # one-goal win at -0.75: half on -0.5 wins, half on -1 pushes
    ((2, 1), -1.0, 0.0, 0.0),     # whole line: push
    ((3, 1), -1.0, 1.0, -1.0),
    ((2, 1), -1.5, -1.0, 1.0),    # half line: never a push
    ((0, 0), 0.0, 0.0, 0.0),
    ((0, 2), 1.75, -0.5, 0.5),    # two-goal loss at +1.75: half on +1.5 loses, half on +2 pushes
])
def test_settlement_of_quarter_whole_and_half_lines_by_hand(score, line, home, away):
    got = handicap.settle_home_away(_scores([score]), [line])
    assert got.tolist() == [[home, away]]


def test_settlement_without_a_result_is_missing():
    frame = pd.DataFrame({"home_goals": pd.array([None], dtype="Int64"), "away_goals": pd.array([None], dtype="Int64")})
    assert np.isnan(handicap.settle_home_away(frame, [-0.5])).all()


def test_a_small_score_matrix_by_hand():
    pmf, values = goal_difference_pmf(SMALL)
    assert values.tolist() == [-1, 0, 1]
    np.testing.assert_allclose(pmf[0], [0.2, 0.4, 0.4])
    states = handicap.handicap_states(np.repeat(pmf, 3, axis=0), values, [-0.25, 0.0, -0.75])
    #                      win  half-win push half-loss loss
    np.testing.assert_allclose(states[0, 0], [0.4, 0.0, 0.0, 0.4, 0.2])  # home -0.25
    np.testing.assert_allclose(states[0, 1], [0.2, 0.4, 0.0, 0.0, 0.4])  # away +0.25
    np.testing.assert_allclose(states[1, 0], [0.4, 0.0, 0.4, 0.0, 0.2])  # home 0 (draw no bet)
    np.testing.assert_allclose(states[2, 0], [0.0, 0.4, 0.0, 0.0, 0.6])  # home -0.75
    # break-even W / (W + L): -0.25: 0.4 / 0.8; 0: 0.4 / 0.6; -0.75: 0.2 / 0.8
    np.testing.assert_allclose(handicap.break_even(states)[:, 0], [0.5, 2 / 3, 0.25])
    # the score-market helper gives the same home table
    np.testing.assert_allclose(asian_handicap(SMALL, -0.75)[0], states[2, 0])


def test_state_probabilities_sum_to_one_with_pushes_on_every_line():
    lam, mu = 1.6, 1.1
    g = np.arange(11)
    pois = lambda m: np.exp(-m) * m ** g / np.cumprod(np.r_[1, np.arange(1, 11)])  # noqa: E731
    matrix = np.outer(pois(lam), pois(mu))
    matrix /= matrix.sum()
    pmf, values = goal_difference_pmf(matrix)
    lines = handicap.FAIR_LINE_GRID
    states = handicap.handicap_states(np.repeat(pmf, lines.size, axis=0), values, lines)
    np.testing.assert_allclose(states.sum(axis=2), 1.0, atol=1e-12)
    # the home and away sides are mirror images: home's win is away's loss, a push is a push for both
    np.testing.assert_allclose(states[:, 0, ::-1], states[:, 1], atol=1e-12)
    whole = np.mod(lines, 1.0) == 0
    assert (states[whole, 0, 2] > 0).all() and (states[~whole, 0, 2] == 0).all()
    half = np.mod(lines * 2, 2) == 1  # x.5 lines never push nor half-settle
    assert (states[half][:, :, 1:4] == 0).all()


def test_push_aware_scores_weight_halves_half_and_leave_pushes_out():
    got = handicap.selection_scores([0.6, 0.5, 0.3], [1.0, 0.0, -0.5])
    assert got["n"] == 2 and got["weight"] == 1.5
    assert got["brier"] == pytest.approx((0.4 ** 2 + 0.5 * 0.3 ** 2) / 1.5)
    assert got["log_loss"] == pytest.approx(-(np.log(0.6) + 0.5 * np.log(0.7)) / 1.5)
    assert handicap.selection_scores([0.5], [0.0])["brier"] is None


def test_market_break_even_removes_the_margin_and_skips_missing_prices():
    got = handicap.market_break_even([[1.90, 1.90], [2.10, np.nan], [1.80, 2.05]])
    np.testing.assert_allclose(got[0], [0.5, 0.5])
    assert np.isnan(got[1]).all()
    np.testing.assert_allclose(got[2].sum(), 1.0)
    assert got[2, 0] == pytest.approx((1 / 1.80) / (1 / 1.80 + 1 / 2.05))


def test_prediction_market_prices_the_stored_line_and_a_fair_line_without_one():
    m = handicap.prediction_market(np.stack([SMALL, SMALL]), [-0.25, np.nan], [[2.10, 1.80], [np.nan, np.nan]])
    priced, fair = m.forecast(0), m.forecast(1)
    assert (priced.market, priced.line, priced.label) == ("asian_handicap", -0.25, "AH")
    assert priced.probabilities == pytest.approx({"home": 0.4, "away": 0.4})  # effective win probabilities
    assert priced.price == {"home": 2.10, "away": 1.80}
    assert priced.edge["home"] == pytest.approx(float(expected_profit(0.4, 0.4, 2.10)))
    # goal difference -1/0/+1 at 0.2/0.4/0.4: home at 0 breaks even 2/3 away, home -0.25 exactly 1/2
    assert fair.line == -0.25 and fair.label == "AH fair line" and fair.price == {} and fair.edge == {}


def test_refit_aligned_start_is_the_refit_group_before_the_first_wanted_day():
    days = np.array([0, 1, 7, 8, 14, 31, 40, 45, 62])  # day 0 is a Thursday (1970-01-01)
    # weekly: the week group holding day 45 (Mon 39 .. Sun 45) starts on its first match day, 40
    assert handicap.refit_aligned_start(days, 0, 45, "week", Cadence(period="week")) == 40
    assert handicap.refit_aligned_start(days, 0, 14, "week", Cadence(period="week")) == 14
    # monthly refits of weekly groups: February starts with the group of day 31 (1 Feb)
    assert handicap.refit_aligned_start(days, 0, 45, "week", Cadence(period="month")) == 31
    assert handicap.refit_aligned_start(days, 0, 14, "week", Cadence(period="month")) == 0
    assert handicap.refit_aligned_start(days, 5, 45, "week", Cadence(groups=3)) == 5


# ----------------------------------------------------------------------------------------------- backtest
@pytest.fixture(scope="module")
def e0(football_dir):
    """Three real E0 seasons (2022/23-2024/25, all with closing Asian handicaps), no store (the ids it would give)."""
    frame = e0_frame(football_dir, ("2223", "2324", "2425"))
    return frame.assign(event_id=np.arange(1, len(frame) + 1))


def _backtest(frame: pd.DataFrame, model: str = "dixon-coles", cadence: str = "week") -> dict:
    return backtest(None, SPORT, "E0", model_type=model, frame=frame, options=FootballBacktestOptions(),
                    date_from=datetime(2024, 8, 1), cadence=Cadence.parse(cadence))


@pytest.fixture(scope="module")
def reports(e0):
    without = e0.copy()
    without[WIDE_AH_COLUMNS] = np.nan
    return _backtest(e0), _backtest(without)


def _finite(block: dict, *keys: str) -> None:
    for k in keys:
        assert block[k] is not None and np.isfinite(block[k]), k


def test_backtest_has_an_asian_handicap_block_with_finite_numbers(reports):
    block = reports[0]["asian_handicap"]
    assert block["priced_by"] == "dixon-coles"
    assert 350 <= block["matches"] <= block["matches_in_window"] == reports[0]["window"]["n"]
    assert sum(block["home_settlements"].values()) == block["matches"]
    assert block["home_settlements"]["push"] > 0 and block["home_settlements"]["half_win"] > 0
    for side in ("model", "market_closing"):
        _finite(block[side], "brier", "log_loss", "mean_probability")
        assert block[side]["n"] == block["matches"] - block["home_settlements"]["push"]
        assert 0.15 < block[side]["brier"] < 0.35
    for staking in ("flat", "kelly"):
        assert block[staking]["bets"] > 0
        _finite(block[staking], "roi", "profit", "clv", "final_bankroll")
    # the score matrices come from the very fits behind the 1X2 forecasts
    assert block["same_fits_max_abs_1x2"] < 1e-12
    views = SPORT.backtest_views(reports[0])
    assert [len(v.rows) for v in views] == [2, 2] and "Asian handicap" in views[0].title


def test_the_1x2_numbers_are_the_same_with_and_without_handicap_prices(reports):
    with_ah, without = reports
    for key in ("model", "market", "baselines", "window"):
        assert with_ah[key] == without[key], key
    for staking in ("flat", "kelly"):
        assert with_ah["betting"][staking] == without["betting"][staking]
    assert without["asian_handicap"]["matches"] == 0 and "no match" in without["asian_handicap"]["note"]
    assert SPORT.backtest_views(without)[0].rows == []


def test_a_monthly_backtest_uses_the_same_monthly_fits(e0):
    block = _backtest(e0, cadence="month")["asian_handicap"]
    assert block["matches"] > 0 and block["same_fits_max_abs_1x2"] < 1e-12


def test_an_elo_backtest_says_it_cannot_price_handicaps(e0):
    block = _backtest(e0, model="elo")["asian_handicap"]
    assert block["matches"] == 0 and "score distribution" in block["note"]
