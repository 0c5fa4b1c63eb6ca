import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from formguide.core.betting import simulate_bets

# Five events, three outcomes. Expected choices (edge = p * odds - 1):
#  e0 day 1: edges (.25, -.1, -.2)  -> back outcome 0 @ 2.5, home win  -> won
#  e1 day 1: edges (0, -.04, .2)    -> back outcome 2 @ 2.4, draw      -> lost
#  e2 day 2: edges (-.2, .2, .1)    -> back outcome 1 @ 3.0, draw      -> won
#  e3 day 2: all edges negative     -> no bet
#  e4 day 2: value side has no price (NaN) -> no bet
PROBS = np.array(
    [
        [0.5, 0.3, 0.2],
        [0.2, 0.3, 0.5],
        [0.4, 0.4, 0.2],
        [0.6, 0.25, 0.15],
        [0.7, 0.2, 0.1],
    ]
)
ODDS = np.array(
    [
        [2.5, 3.0, 4.0],
        [5.0, 3.2, 2.4],
        [2.0, 3.0, 5.5],
        [1.5, 3.5, 6.0],
        [np.nan, 4.0, 9.0],
    ]
)
OUTCOME = np.array([0, 1, 1, 0, 0])
DATES = pd.to_datetime(
    ["2024-01-01 12:30", "2024-01-01 20:00", "2024-01-02 15:00", "2024-01-02 15:00", "2024-01-02 17:30"]
).to_numpy()


def test_flat_three_bets():
    r = simulate_bets(PROBS, ODDS, OUTCOME, DATES, staking="flat", bankroll=100.0)
    assert r.n_events == 5 and r.n_bets == 3
    assert r.bet_row.tolist() == [0, 1, 2]
    assert r.bet_outcome.tolist() == [0, 2, 1]
    assert r.bet_won.tolist() == [True, False, True]
    np.testing.assert_allclose(r.bet_edge, [0.25, 0.2, 0.2])
    assert r.staked == pytest.approx(3.0)
    assert r.profit == pytest.approx(1.5 - 1.0 + 2.0)
    assert r.roi == pytest.approx(2.5 / 3) and r.yield_ == r.roi
    np.testing.assert_allclose(r.bankroll, [101.5, 100.5, 102.5])
    assert r.final_bankroll == pytest.approx(102.5)
    assert r.bankroll_growth == pytest.approx(0.025)
    assert r.max_drawdown == pytest.approx(1.0 / 101.5)


def test_flat_min_edge():
    r = simulate_bets(PROBS, ODDS, OUTCOME, DATES, min_edge=0.21)
    assert r.bet_row.tolist() == [0]
    assert r.profit == pytest.approx(1.5)
    assert r.max_drawdown == 0.0
    assert simulate_bets(PROBS, ODDS, OUTCOME, DATES, min_edge=0.25).bet_row.tolist() == [0]  # inclusive
    assert simulate_bets(PROBS, ODDS, OUTCOME, DATES, min_edge=-1.0).n_bets == 3  # edges must still be > 0


def test_kelly_three_bets_same_day_uses_start_bankroll():
    r = simulate_bets(PROBS, ODDS, OUTCOME, DATES, staking="kelly", fraction=0.5, cap=None, bankroll=100.0)
    # day 1 starts at 100: e0 f = .5 * .25/1.5, e1 f = .5 * .2/1.4 (not resized by e0's win)
    s0, s1 = 100 * 0.5 * 0.25 / 1.5, 100 * 0.5 * 0.2 / 1.4
    day2 = 100 + 1.5 * s0 - s1
    s2 = day2 * 0.5 * 0.2 / 2.0
    np.testing.assert_allclose(r.bet_stake, [s0, s1, s2])
    np.testing.assert_allclose(r.bet_profit, [1.5 * s0, -s1, 2.0 * s2])
    np.testing.assert_allclose(r.bankroll, [100 + 1.5 * s0, day2, day2 + 2.0 * s2])
    assert r.final_bankroll == pytest.approx(day2 + 2 * s2)  # 115.892857...
    assert r.final_bankroll == pytest.approx(115.89285714285714)
    assert r.staked == pytest.approx(s0 + s1 + s2)
    assert r.roi == pytest.approx((1.5 * s0 - s1 + 2 * s2) / (s0 + s1 + s2))
    assert r.bankroll_growth == pytest.approx(r.final_bankroll / 100 - 1)
    peak = 100 + 1.5 * s0
    assert r.max_drawdown == pytest.approx((peak - day2) / peak)  # 0.0634920...


def test_kelly_cap():
    r = simulate_bets(PROBS, ODDS, OUTCOME, DATES, staking="kelly", fraction=0.5, cap=0.06)
    # e0 (.0833) and e1 (.0714) hit the 6% cap; e2 (.05) does not
    np.testing.assert_allclose(r.bet_stake, [6.0, 6.0, 0.05 * 103.0])
    np.testing.assert_allclose(r.bankroll, [109.0, 103.0, 103.0 + 2 * 5.15])
    assert r.max_drawdown == pytest.approx(6.0 / 109.0)


def test_kelly_day_exposure_never_exceeds_bankroll():
    n = 8
    probs = np.tile([0.9, 0.1], (n, 1))
    odds = np.tile([3.0, 10.0], (n, 1))
    r = simulate_bets(
        probs, odds, np.ones(n, dtype=int), np.zeros(n, dtype=int), staking="kelly", fraction=1.0, cap=None
    )
    assert r.staked == pytest.approx(100.0)
    assert r.final_bankroll == pytest.approx(0.0)
    assert r.max_drawdown == pytest.approx(1.0)


def test_order_independent_and_rows_map_back():
    perm = np.array([4, 2, 0, 3, 1])
    a = simulate_bets(PROBS, ODDS, OUTCOME, DATES, staking="kelly", fraction=0.5)
    b = simulate_bets(PROBS[perm], ODDS[perm], OUTCOME[perm], DATES[perm], staking="kelly", fraction=0.5)
    assert perm[b.bet_row].tolist() == a.bet_row.tolist()
    np.testing.assert_allclose(b.bankroll, a.bankroll)
    assert b.max_drawdown == pytest.approx(a.max_drawdown)


def test_no_bets_and_missing_forecasts():
    probs = PROBS.copy()
    probs[[0, 1, 2]] = np.nan  # no forecast for the value events
    r = simulate_bets(probs, ODDS, OUTCOME, DATES)
    assert r.n_bets == 0 and r.staked == 0.0 and r.profit == 0.0
    assert math.isnan(r.roi)
    assert r.final_bankroll == 100.0 and r.max_drawdown == 0.0
    assert r.bankroll.shape == (0,)


def test_outputs_for_reports():
    r = simulate_bets(PROBS, ODDS, OUTCOME, pd.Series(DATES).dt.strftime("%Y-%m-%d %H:%M").tolist())
    d = r.to_dict()
    assert {
        "bets",
        "staked",
        "profit",
        "roi",
        "yield",
        "max_drawdown",
        "final_bankroll",
        "bankroll_growth",
    } <= set(d)
    assert d["bets"] == 3 and d["yield"] == pytest.approx(2.5 / 3)
    frame = r.bets_frame()
    assert list(frame.columns) == [
        "row",
        "date",
        "outcome",
        "prob",
        "odds",
        "edge",
        "stake",
        "won",
        "profit",
        "bankroll",
    ]
    assert frame["date"].astype(str).tolist() == ["2024-01-01", "2024-01-01", "2024-01-02"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"odds": ODDS[:, :2]}, "does not match"),
        ({"odds": np.where(ODDS == 2.0, 1.0, ODDS)}, "row 2, column 0"),
        ({"staking": "martingale"}, "unknown staking"),
        ({"bankroll": 0.0}, "bankroll"),
        ({"outcome": np.array([0, 1, 1, 0, 3])}, "outcome row 4"),
        ({"dates": DATES[:4]}, "5 entries"),
        ({"dates": np.array(["2024-01-01", None, "x", "y", "z"], dtype=object)}, "dates"),
        ({"probs": PROBS * 1.1}, "probs row 0"),
    ],
)
def test_errors(kwargs, match):
    args = {"probs": PROBS, "odds": ODDS, "outcome": OUTCOME, "dates": DATES, **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate_bets(**args)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.sampled_from(["flat", "kelly"]))
@example(n=1, seed=965867, staking="kelly")  # no bet placed: an empty bankroll curve
def test_bankroll_accounting(n, seed, staking):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet([2, 1.5, 2], size=n)
    odds = 1 / rng.dirichlet([2, 1.5, 2], size=n) * rng.uniform(0.9, 1.1, size=(n, 1))
    odds = np.maximum(odds, 1.01)
    y = rng.integers(0, 3, size=n)
    days = rng.integers(0, 6, size=n)
    r = simulate_bets(probs, odds, y, days, staking=staking, fraction=0.5, cap=0.2)
    assert r.n_bets <= n
    assert r.final_bankroll == pytest.approx(100.0 + r.profit, abs=1e-9)
    assert np.all(np.diff(r.bet_date) >= 0)
    assert 0.0 <= r.max_drawdown <= (1.0 if staking == "kelly" else np.inf)
    if r.n_bets:
        assert np.all(r.bet_edge > 0)
        np.testing.assert_allclose(np.diff(np.concatenate(([100.0], r.bankroll))), r.bet_profit, atol=1e-9)
    if staking == "kelly":
        assert np.all(r.bankroll >= -1e-9)
        assert np.all(r.bet_stake <= 0.2 * np.max(r.bankroll, initial=100.0) + 1e-9)


# ----------------------------------------------------------------------------- lines: pushes and halves
def test_outcome_and_its_settlement_matrix_give_the_same_run():
    from formguide.core.betting import outcome_settlement

    s = outcome_settlement(OUTCOME, 5, 3)
    assert s[0].tolist() == [1, -1, -1] and s[1].tolist() == [-1, 1, -1]
    for staking in ("flat", "kelly"):
        a = simulate_bets(PROBS, ODDS, OUTCOME, DATES, staking=staking)
        b = simulate_bets(PROBS, ODDS, dates=DATES, staking=staking, settlement=s, lose_probs=1.0 - PROBS)
        assert a.to_dict() == b.to_dict()
        np.testing.assert_array_equal(a.bet_profit, b.bet_profit)
        assert a.pushes == 0 and a.half_results == 0 and a.clv is None


# Two-way spread markets (home, away) that can push. p_win, p_lose per selection; settlement per selection.
SP_WIN = np.array([[0.50, 0.40], [0.45, 0.45], [0.30, 0.62], [0.55, 0.40]])
SP_LOSE = np.array([[0.40, 0.50], [0.45, 0.45], [0.62, 0.30], [0.40, 0.55]])
SP_ODDS = np.array([[1.95, 1.95], [1.91, 1.91], [2.00, 1.80], [1.90, 2.00]])
SP_SETTLE = np.array([[0.0, 0.0], [1.0, -1.0], [0.5, -0.5], [-0.5, 0.5]])
SP_DATES = np.array([1, 1, 2, 3])


def test_spread_bets_push_and_half_results():
    # edges: e0 home .5*.95-.4 = .075 (push); e1 none (.45*.91-.45 < 0);
    # e2 away .62*.8-.3 = .196 (half-loss); e3 home .55*.9-.4 = .095 (half-loss)
    r = simulate_bets(SP_WIN, SP_ODDS, dates=SP_DATES, settlement=SP_SETTLE, lose_probs=SP_LOSE)
    assert r.bet_row.tolist() == [0, 2, 3] and r.bet_outcome.tolist() == [0, 1, 0]
    np.testing.assert_allclose(r.bet_edge, [0.075, 0.196, 0.095])
    np.testing.assert_array_equal(r.bet_settlement, [0.0, -0.5, -0.5])
    np.testing.assert_allclose(r.bet_profit, [0.0, -0.5, -0.5])
    assert r.bet_won.tolist() == [False, False, False]
    assert r.pushes == 1 and r.half_results == 2
    d = r.to_dict()
    assert d["pushes"] == 1 and d["half_results"] == 2 and d["profit"] == pytest.approx(-1.0)


def test_half_win_pays_half_the_winnings():
    settle = np.array([[0.5, -0.5]])
    r = simulate_bets(np.array([[0.6, 0.3]]), np.array([[2.0, 2.0]]), dates=[0], settlement=settle,
                      lose_probs=np.array([[0.3, 0.6]]))
    assert r.bet_profit.tolist() == [0.5] and r.bet_won.tolist() == [True]


def test_kelly_with_a_push_uses_the_push_closed_form():
    from formguide.core.lines import kelly_stake

    r = simulate_bets(SP_WIN, SP_ODDS, dates=SP_DATES, settlement=SP_SETTLE, lose_probs=SP_LOSE, staking="kelly",
                      fraction=1.0, cap=None, bankroll=100.0)
    f0 = (0.95 * 0.5 - 0.4) / (0.95 * 0.9)
    assert r.bet_stake[0] == pytest.approx(100 * f0)
    assert r.bet_stake[0] == pytest.approx(100 * float(kelly_stake(0.5, 0.4, 1.95)))
    assert r.bet_profit[0] == 0.0  # the push returns the stake
    # day 2 is sized from the unchanged bankroll (day 1 pushed)
    assert r.bet_stake[1] == pytest.approx(100 * float(kelly_stake(0.62, 0.30, 1.80)))


def test_closing_line_value():
    from formguide.core.betting import closing_line_value

    close = np.array([[0.55, 0.45], [0.5, 0.5], [0.42, 0.58], [np.nan, np.nan]])
    r = simulate_bets(SP_WIN, SP_ODDS, dates=SP_DATES, settlement=SP_SETTLE, lose_probs=SP_LOSE, closing_probs=close)
    np.testing.assert_allclose(r.bet_clv, [1.95 * 0.55 - 1, 1.8 * 0.58 - 1, np.nan])
    assert r.clv_bets == 2
    assert r.clv == pytest.approx(np.mean([1.95 * 0.55 - 1, 1.8 * 0.58 - 1]))
    assert r.clv_positive == 1.0  # 1.95 * .55 = 1.0725, 1.8 * .58 = 1.044: both beat the close
    r = simulate_bets(SP_WIN, SP_ODDS, dates=SP_DATES, settlement=SP_SETTLE, lose_probs=SP_LOSE,
                      closing_probs=close[:, ::-1])
    assert r.clv_positive == 0.0 and r.clv == pytest.approx(np.mean([1.95 * 0.45 - 1, 1.8 * 0.42 - 1]))
    assert float(closing_line_value(2.0, 0.5)) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"settlement": SP_SETTLE * 0.7}, "settlement row 1, column 0"),
        ({"settlement": SP_SETTLE[:, :1]}, "settlement shape"),
        ({"lose_probs": SP_LOSE + 0.2}, "row 0, column 0"),
        ({"lose_probs": SP_LOSE[:2]}, "lose_probs shape"),
        ({"settlement": np.where(SP_SETTLE == -0.5, np.nan, SP_SETTLE)}, "settlement row 2, column 1 is missing"),
        ({"closing_probs": np.ones((4, 3))}, "closing_probs shape"),
        ({"outcome": np.zeros(4, dtype=int)}, "not both"),
        ({"dates": None}, "dates are required"),
    ],
)
def test_line_errors(kwargs, match):
    args = {"probs": SP_WIN, "odds": SP_ODDS, "dates": SP_DATES, "settlement": SP_SETTLE, "lose_probs": SP_LOSE,
            **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate_bets(**args)


# ------------------------------------------------------------------ MatchSport: betting hooks, CLV, ledger
from formguide.core.lines import MARKETS  # noqa: E402
from formguide.core.match import ExtraMarket, MatchSport  # noqa: E402
from formguide.core.options import BacktestBettingOptions  # noqa: E402


class _Sport(MatchSport):
    """The smallest match sport: prices and results in the frame's own columns."""

    name = "toy"
    outcome_labels = ("H", "D", "A")
    selection_names = {"H": "home", "D": "draw", "A": "away"}

    def ingest(self, engine, paths, *, progress=None):
        raise NotImplementedError

    def load_frame(self, engine, competitions=None):
        raise NotImplementedError

    def feature_set(self, **options):
        raise NotImplementedError

    def make_model(self, model_type, **params):
        raise NotImplementedError

    def model_from_dict(self, data):
        raise NotImplementedError

    def outcome(self, frame):
        return frame["y"].to_numpy()

    def best_odds(self, frame):
        return frame[["o0", "o1", "o2"]].to_numpy(dtype=float)

    def market_probabilities(self, frame, *, which="close", method="multiplicative"):
        return frame[["c0", "c1", "c2"]].to_numpy(dtype=float)


class _Spread(_Sport):
    """A two-way spread (home, away) with the home line in the frame and a model that prices a push."""

    name = "toy-spread"
    outcome_labels = ("home", "away")
    selection_names = {"home": "home cover", "away": "away cover"}
    push = 0.1

    def outcome(self, frame):
        return np.where(frame["home_score"] > frame["away_score"], 0, 1)

    def best_odds(self, frame):
        return frame[["o0", "o1"]].to_numpy(dtype=float)

    def market_probabilities(self, frame, *, which="close", method="multiplicative"):
        return frame[["c0", "c1"]].to_numpy(dtype=float)

    def settlement(self, frame):
        return MARKETS["spread"].settle(frame["home_score"], frame["away_score"], frame["line"].to_numpy())

    def bet_probabilities(self, forecast):
        return forecast * (1 - self.push), (1 - forecast) * (1 - self.push)

    def closing_prices(self, frame):
        return 1.0 / frame[["c0", "c1"]].to_numpy(dtype=float)

    def bet_lines(self, frame):
        line = frame["line"].to_numpy(dtype=float)
        return np.column_stack([line, -line])


def _frame(n: int, k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = rng.dirichlet(np.full(k, 3.0), size=n)
    odds = np.round(1 / close * rng.uniform(0.9, 1.15, size=(n, k)), 2).clip(1.01)
    data = {"event_id": np.arange(100, 100 + n), "kickoff": pd.date_range("2024-01-01 15:00", periods=n, freq="D"),
            "home_team": [f"T{i}" for i in range(n)], "away_team": [f"U{i}" for i in range(n)]}
    data |= {f"o{j}": odds[:, j] for j in range(k)} | {f"c{j}": close[:, j] for j in range(k)}
    return pd.DataFrame(data)


def test_default_hooks_bet_exactly_as_simulate_bets_on_outcomes():
    frame = _frame(60, 3)
    rng = np.random.default_rng(1)
    frame["y"] = rng.integers(0, 3, 60)
    forecast = rng.dirichlet([2, 1.5, 2], size=60)
    rows = np.ones(60, dtype=bool)
    rows[::7] = False
    opts = BacktestBettingOptions(min_edge=0.02, kelly=0.5, kelly_cap=0.1, bankroll=100.0)
    report, curves = _Sport().betting(frame, forecast, rows, opts)
    for staking in ("flat", "kelly"):
        direct = simulate_bets(forecast[rows], frame[["o0", "o1", "o2"]].to_numpy()[rows], frame["y"].to_numpy()[rows],
                               frame["kickoff"].to_numpy()[rows], min_edge=0.02, staking=staking, fraction=0.5,
                               cap=0.1, bankroll=100.0)
        expected = direct.to_dict()
        got = {k: report[staking][k] for k in expected if not k.startswith("clv")}
        assert got == {k: v for k, v in expected.items() if not k.startswith("clv")}
        np.testing.assert_array_equal(curves[staking][1], direct.bankroll)
    ledger = report["ledger"]
    assert len(ledger) == report["flat"]["bets"] > 0
    first = ledger[0]
    event = frame.set_index("event_id").loc[first["event_id"]]
    side = ["home", "draw", "away"].index(first["selection"])
    assert first["price"] == event[f"o{side}"] and first["closing_price"] is None  # the toy has no closing prices
    assert first["clv"] == pytest.approx(event[f"o{side}"] * event[f"c{side}"] - 1)
    assert first["settlement"] == ("win" if event["y"] == side else "loss")
    assert first["profit"] == (event[f"o{side}"] - 1 if event["y"] == side else -1.0)
    assert first["date"] == event["kickoff"].strftime("%Y-%m-%dT%H:%M:%S")
    assert (first["home_team"], first["away_team"]) == (event["home_team"], event["away_team"])
    assert "line" not in first
    clvs = [r["clv"] for r in ledger]
    assert report["flat"]["clv"] == pytest.approx(np.mean(clvs))
    assert report["flat"]["clv_positive"] == pytest.approx(np.mean(np.array(clvs) > 0))


def test_spread_betting_counts_pushes_and_half_results_in_report_and_ledger():
    n = 200
    frame = _frame(n, 2, seed=4)
    rng = np.random.default_rng(5)
    frame["home_score"] = rng.integers(0, 4, n)
    frame["away_score"] = rng.integers(0, 4, n)
    frame["line"] = rng.choice([-1.0, -0.75, -0.5, 0.0, 0.25, 1.0], n)
    forecast = rng.dirichlet([3, 3], size=n)
    rows = np.ones(n, dtype=bool)
    sport = _Spread()
    report, _ = sport.betting(frame, forecast, rows, BacktestBettingOptions(min_edge=0.0))
    ledger = pd.DataFrame(report["ledger"])
    assert len(ledger) == report["flat"]["bets"] > 10
    settle = sport.settlement(frame)
    by_event = frame.set_index("event_id")
    for r in ledger.itertuples():
        j = ["home cover", "away cover"].index(r.selection)
        i = int(np.flatnonzero(frame["event_id"].to_numpy() == r.event_id)[0])
        assert r.settlement == {1.0: "win", 0.5: "half-win", 0.0: "push", -0.5: "half-loss", -1.0: "loss"}[settle[i, j]]
        assert r.line == (by_event.loc[r.event_id, "line"] * (1 if j == 0 else -1))
        p, q = forecast[i, j] * 0.9, (1 - forecast[i, j]) * 0.9
        assert r.edge == pytest.approx(p * (r.price - 1) - q)
        assert r.closing_price == pytest.approx(1 / by_event.loc[r.event_id, f"c{j}"])
    assert report["flat"]["pushes"] == int((ledger["settlement"] == "push").sum())
    assert report["flat"]["half_results"] == int(ledger["settlement"].str.startswith("half").sum())
    assert report["flat"]["pushes"] > 0 and report["flat"]["half_results"] > 0  # the data exercise both
    assert report["flat"]["profit"] == pytest.approx(ledger["profit"].sum())
    assert report["kelly"]["profit"] == pytest.approx(ledger["kelly_profit"].sum())
    assert (ledger.loc[ledger["settlement"] == "push", ["profit", "kelly_profit"]] == 0).all().all()


def test_ledger_files_csv_and_json(tmp_path):
    import json

    from formguide.core.errors import FormguideError
    from formguide.core.ledger import LEDGER_COLUMNS, write_ledger

    frame = _frame(30, 3, seed=2)
    frame["y"] = np.random.default_rng(3).integers(0, 3, 30)
    forecast = np.random.default_rng(4).dirichlet([2, 2, 2], size=30)
    report, _ = _Sport().betting(frame, forecast, np.ones(30, dtype=bool), BacktestBettingOptions(min_edge=0.0))
    rows = report["ledger"]
    csv = pd.read_csv(write_ledger(tmp_path / "bets.csv", rows))
    assert list(csv.columns) == [c for c in LEDGER_COLUMNS if c != "line"] and len(csv) == len(rows)
    assert csv["closing_price"].isna().all()  # missing values are empty cells
    np.testing.assert_allclose(csv["profit"], [r["profit"] for r in rows])
    text = (tmp_path / "bets.json").write_text("old") and write_ledger(tmp_path / "bets.json", rows).read_text()
    assert json.loads(text) == rows and "NaN" not in text
    assert pd.read_csv(write_ledger(tmp_path / "none.csv", [])).empty
    with pytest.raises(FormguideError, match=r"ledger file .*bets\.txt must end in \.csv or \.json"):
        write_ledger(tmp_path / "bets.txt", rows)
    assert not (tmp_path / "bets.txt").exists()


def test_extra_market_prices_and_edges_allow_for_a_push():
    m = ExtraMarket("total", 2.5, "2.5", {"over": np.array([0.6, 0.5]), "under": np.array([0.4, 0.5])},
                    {"over": np.array([1.9, np.nan]), "under": np.array([2.2, np.nan])})
    f = m.forecast(0)
    assert f.price == {"over": 1.9, "under": 2.2}
    assert f.edge["over"] == pytest.approx(0.6 * 1.9 - 1) and f.edge["under"] == pytest.approx(0.4 * 2.2 - 1)
    assert m.forecast(1).price == {} and m.forecast(1).edge == {}  # no prices for that event
    ah = ExtraMarket("asian_handicap", -0.25, "-0.25", {"home": np.array([0.45])}, {"home": np.array([2.1])},
                     lose_probabilities={"home": np.array([0.40])})
    assert ah.forecast(0).edge["home"] == pytest.approx(0.45 * 1.1 - 0.40)
    assert ExtraMarket.of(("total", 2.5, "2.5", {"over": np.array([0.5])})).prices is None


def test_prediction_view_names_selections_and_shows_priced_markets():
    def event(i: int, priced: bool) -> dict:
        markets = [ExtraMarket("total", 2.5, "2.5", {"over": np.array([0.6]), "under": np.array([0.4])},
                               {"over": np.array([1.9]), "under": np.array([2.4])} if priced else None).forecast(0),
                   ExtraMarket("btts", None, "btts", {"yes": np.array([0.55]), "no": np.array([0.45])}).forecast(0)]
        return {"event_id": i, "kickoff": "2025-05-18T15:00:00", "home_team": "Arsenal", "away_team": "Newcastle",
                "probabilities": {"H": 0.5, "D": 0.25, "A": 0.25}, "fair_odds": {"H": 2.0, "D": 4.0, "A": 4.0},
                "market_prices": {"H": 2.2, "D": 3.5, "A": None}, "edge": {"H": 0.1, "D": -0.125, "A": None},
                "selection": "home", "best_edge": 0.1, "stake": 10.0, "tier": "A", "actual": None,
                "markets": [m.model_dump() for m in markets]}

    view = _Sport().prediction_view([event(1, True), event(2, False)])
    headers = {c.key: (c.header or c.key) for c in view.columns}
    assert [headers[k] for k in ("H", "D", "A")] == ["home", "draw", "away"]
    assert "total 2.5" in headers and "btts btts" not in headers  # priced markets only
    assert view.rows[0]["total 2.5"] == "over 0.60 @1.90 +0.140"
    assert view.rows[1]["total 2.5"] == "over 0.60"  # that event has no price: the likeliest selection
    assert view.rows[0]["bet"] == "home" and view.rows[0]["tier"] == "A"
