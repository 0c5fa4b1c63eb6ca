"""Asian handicap: the model's prices at the bookmakers' line, scored and bet against the closing line.

Every probability here comes from a distribution of the goal difference (home minus away), which a
Dixon-Coles score matrix gives (``score_markets.goal_difference_pmf``); settlement, the five states of a bet
(win, half-win, push, half-loss, loss) and staking are the core's (``core.lines``, ``core.betting``), so
quarter lines half-win and half-lose and whole lines push exactly as they settle.

The line is the home side's handicap as the store keeps it (``odds.line``; ``ah_line_*`` in the frame). A
bet on home at line ``h`` wins when ``home - away + h > 0``; the away side is at ``-h``.

Scoring a selection with pushes. Of a bet's stake the part that does not push either wins or loses, so the
probability a model or market gives the home side is its *break-even* probability ``W / (W + L)`` (``W`` = win
+ half a half-win, ``L`` = loss + half a half-loss; for the market the de-margined two-way closing prices). The
observed outcome is 1 when the home settlement is a win or half-win, 0 for a loss or half-loss, weighted by
the share of the stake that did not push (1 or 0.5; a push weighs 0). Brier (the squared error of the home
probability) and log loss are these weighted means.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.days import day_numbers, period_ids
from formguide.core.lines import MARKETS, SETTLEMENT_VALUES, outcome_probabilities, win_lose
from formguide.core.markets import remove_overround
from formguide.core.match import ExtraMarket, MarketForecast
from formguide.core.metrics import LOG_LOSS_EPS
from formguide.core.views import Column, TableView
from formguide.core.walkforward import Cadence, walk_forward

__all__ = ["MARKET_ID", "HandicapMarket", "ScoreWalkForward", "backtest_block", "backtest_report", "backtest_views",
           "break_even", "closing_rows", "fair_lines", "handicap_states", "market_break_even", "prediction_market",
           "refit_aligned_start", "score_walk_forward", "selection_scores", "settle_home_away",
           "walk_forward_goal_difference"]

#: Market id of Asian-handicap forecasts (predictions table, JSON); the odds table calls it ``AH``.
MARKET_ID = "asian_handicap"
_MARKET = MARKETS["asian_handicap"]
#: Lines a fair handicap is chosen from when a match has no bookmaker line (home side's handicap).
FAIR_LINE_GRID = np.arange(-5.0, 5.0 + 0.125, 0.25)


# ------------------------------------------------------------------------------------------ probabilities
def handicap_states(pmf: ArrayLike, values: ArrayLike, line: ArrayLike) -> NDArray[np.float64]:
    """(n, 2, 5) state probabilities (win, half-win, push, half-loss, loss) of home and away at the home
    ``line`` (n,) from the goal-difference distribution ``pmf`` (n, K) over ``values`` (K,)."""
    return _MARKET.probabilities(values, pmf, np.asarray(line, dtype=np.float64))


def break_even(states: ArrayLike) -> NDArray[np.float64]:
    """(n, 2) break-even probability ``W / (W + L)`` of each selection from (n, 2, 5) states (NaN: all push)."""
    w, lose = win_lose(states)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w + lose > 0, w / (w + lose), np.nan)


def market_break_even(odds: ArrayLike) -> NDArray[np.float64]:
    """(n, 2) de-margined (multiplicative) probabilities of two-way handicap prices; NaN rows where a price is missing."""
    o = np.asarray(odds, dtype=np.float64)
    out = np.full(o.shape, np.nan)
    ok = ~np.isnan(o).any(axis=1) & (o > 1.0).all(axis=1)
    if ok.any():
        out[ok] = remove_overround(o[ok], "multiplicative")
    return out


def fair_lines(pmf: ArrayLike, values: ArrayLike) -> NDArray[np.float64]:
    """The quarter line (``FAIR_LINE_GRID``) at which each row's home break-even probability is nearest 1/2."""
    p = np.asarray(pmf, dtype=np.float64)
    grid = np.broadcast_to(FAIR_LINE_GRID, (p.shape[0], FAIR_LINE_GRID.size))
    w, lose = win_lose(outcome_probabilities(values, p, grid))
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(np.where(w + lose > 0, w / (w + lose), np.nan) - 0.5)
    return FAIR_LINE_GRID[np.argmin(np.nan_to_num(gap, nan=np.inf), axis=1)]


def settle_home_away(frame: pd.DataFrame, line: ArrayLike) -> NDArray[np.float64]:
    """(n, 2) settlement (1, 0.5, 0, -0.5, -1; NaN without a result or line) of home and away at the home line."""
    home = frame["home_goals"].to_numpy(dtype=float, na_value=np.nan)
    away = frame["away_goals"].to_numpy(dtype=float, na_value=np.nan)
    return _MARKET.settle(home, away, np.asarray(line, dtype=np.float64))


def selection_scores(p_home: ArrayLike, settlement_home: ArrayLike) -> dict[str, Any]:
    """Weighted Brier and log loss of home break-even probabilities against settlements (module docstring)."""
    p = np.asarray(p_home, dtype=np.float64)
    s = np.asarray(settlement_home, dtype=np.float64)
    weight = np.abs(s)
    y = (s > 0).astype(np.float64)
    ok = ~np.isnan(p) & ~np.isnan(s) & (weight > 0)
    if not ok.any():
        return {"n": 0, "weight": 0.0, "brier": None, "log_loss": None, "mean_probability": None,
                "observed": None}
    w, p, y = weight[ok], p[ok], y[ok]
    q = np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    return {"n": int(ok.sum()), "weight": float(w.sum()),
            "brier": float(np.sum(w * (p - y) ** 2) / w.sum()),
            "log_loss": float(-np.sum(w * (y * np.log(q) + (1 - y) * np.log(1 - q))) / w.sum()),
            "mean_probability": float(np.sum(w * p) / w.sum()), "observed": float(np.sum(w * y) / w.sum())}


# ---------------------------------------------------------------------------------------------- predictions
@dataclass(frozen=True)
class HandicapMarket(ExtraMarket):
    """An Asian-handicap market whose line differs from match to match (``lines``, one per row).

    Rows whose match has a bookmaker line are priced at it, with the best price known before kick-off; rows
    without one are priced at their fair line (``fair_lines``), labelled so and without a price.
    """

    lines: np.ndarray | None = None
    priced_line: np.ndarray | None = None

    def forecast(self, i: int) -> MarketForecast:
        got = super().forecast(i)
        line = float(self.lines[i]) if self.lines is not None else None
        label = self.label if self.priced_line is None or self.priced_line[i] else f"{self.label} fair line"
        return got.model_copy(update={"line": line, "label": label})


def prediction_market(matrices: ArrayLike, lines: ArrayLike, prices: ArrayLike, label: str = "AH"
                      ) -> HandicapMarket:
    """The Asian handicap of each row priced from its score matrix at ``lines`` (n,; NaN: use the fair line),
    with the (n, 2) home/away ``prices`` at those lines (NaN: none) for price and edge."""
    from formguide.football.models.score_markets import goal_difference_pmf

    pmf, values = goal_difference_pmf(matrices)
    given = np.asarray(lines, dtype=np.float64)
    has_line = ~np.isnan(given)
    line = np.where(has_line, given, fair_lines(pmf, values) if (~has_line).any() else 0.0)
    states = handicap_states(pmf, values, line)
    w, lose = win_lose(states)
    o = np.where(has_line[:, None], np.asarray(prices, dtype=np.float64), np.nan)
    sel = _MARKET.selections
    return HandicapMarket(market=MARKET_ID, line=None, label=label,
                          probabilities={s: w[:, j] for j, s in enumerate(sel)},
                          prices={s: o[:, j] for j, s in enumerate(sel)},
                          lose_probabilities={s: lose[:, j] for j, s in enumerate(sel)},
                          lines=line, priced_line=has_line)


# ------------------------------------------------------------------------------------------------- backtest
@dataclass(frozen=True)
class ScoreWalkForward:
    """The score model behind a backtest's 1X2 forecasts and the walk-forward that fitted it, so its score
    matrices can be made again with the same fits (the core keeps only the (n, 3) forecasts)."""

    make_model: Callable[[], Any]
    priced_by: str
    start_day: int
    group_period: str
    min_train: int
    #: Whether the backtest's 1X2 forecasts are this model's own (not a stacked model's on top of it).
    own_forecasts: bool = True


def score_walk_forward(probe: Any, make_model: Callable[[], Any], frame: pd.DataFrame, *, start_day: int,
                       cadence: Cadence, min_train: int) -> ScoreWalkForward | None:
    """How ``probe`` (an unfitted model of the backtest) makes score matrices; None: it has none (Elo).

    A Dixon-Coles or Poisson model is its own score model, walked forward from the backtest's start. A blend
    prices goals with its Dixon-Coles base, which its nested walk-forward fits from ``warmup_days`` after the
    first match at the backtest's cadence (weekly groups when weekly, else monthly), on at least 100 matches.
    """
    from formguide.football.models.estimators import BlendEstimator, DixonColesEstimator, ScoreDistribution

    if isinstance(probe, BlendEstimator):
        base = dict(probe.base_params or {})
        first = int(day_numbers(frame["kickoff"])[0]) if len(frame) else 0
        return ScoreWalkForward(lambda: DixonColesEstimator(**base), "the blend's Dixon-Coles base",
                                first + int(probe.warmup_days), "week" if cadence.period == "week" else "month", 100,
                                own_forecasts=False)
    if not isinstance(probe, ScoreDistribution):
        return None
    return ScoreWalkForward(make_model, str(getattr(probe, "model_type", type(probe).__name__)), start_day, "week",
                            min_train)


def refit_aligned_start(days: ArrayLike, lo: int, first_wanted: int, group_period: str, cadence: Cadence) -> int:
    """The first day of the last refit group at or before ``first_wanted`` of a walk-forward starting at ``lo``.

    A walk-forward started there makes, from then on, exactly the fits of the one started at ``lo`` (a refit
    is due at each new calendar period of a group's first day), so rows before it need no forecasts."""
    d = np.asarray(days, dtype=np.int64)
    if cadence.period is None:  # every N groups: the count runs from lo
        return int(lo)
    d = d[(d >= lo) & (d <= first_wanted)]
    if d.size == 0:
        return int(lo)
    pid = period_ids(d, "day" if cadence.period == "day" else group_period)
    group_days = d[np.r_[True, np.diff(pid) != 0]]
    refit = period_ids(group_days, cadence.period)
    return int(group_days[np.r_[True, np.diff(refit) != 0]].max())


def walk_forward_goal_difference(frame: pd.DataFrame, wanted: np.ndarray, how: ScoreWalkForward, cadence: Cadence
                                 ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Out-of-sample goal-difference distributions (n, K) of the ``wanted`` rows (NaN elsewhere) and the
    differences (K,), by the score model's own walk-forward from its refit before the first wanted row."""
    from formguide.football.models.score_markets import goal_difference_pmf

    days = day_numbers(frame["kickoff"])
    goals = int(how.make_model().get_params().get("max_goals", 10))
    values = np.arange(-goals, goals + 1)
    if not wanted.any():
        return np.full((len(frame), values.size), np.nan), values
    first = int(days[wanted].min())
    start = refit_aligned_start(days, how.start_day, first, how.group_period, cadence)

    def predict(model: Any, idx: np.ndarray) -> np.ndarray:
        pmf, d = goal_difference_pmf(model.score_matrix(frame.iloc[idx]))
        if not np.array_equal(d, values):
            raise ValueError(f"score matrices of {d.size} goal differences, expected {values.size}")
        return pmf

    pmf = walk_forward(days, frame["home_goals"].notna().to_numpy(), fit=lambda idx: how.make_model().fit(
        frame.iloc[idx]), predict=predict, n_outputs=values.size, start_day=start,
        end_day=int(days[wanted].max()) + 1, group_period=how.group_period, cadence=cadence,
        min_train=how.min_train)
    pmf[~wanted] = np.nan
    return pmf, values


def closing_rows(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Rows of ``rows`` a closing handicap can be scored and bet on: a result, the closing line, the closing
    reference's two prices and both best closing prices at that line."""
    cols = ["ah_line_close", "odds_close_ah_home", "odds_close_ah_away", "odds_best_ah_home", "odds_best_ah_away"]
    if any(c not in frame.columns for c in cols):
        return np.zeros(len(frame), dtype=bool)
    have = frame[cols].notna().all(axis=1).to_numpy()
    return np.asarray(rows, dtype=bool) & have & frame["home_goals"].notna().to_numpy()


def backtest_block(frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, how: ScoreWalkForward | None,
                   cadence: Cadence, *, min_edge: float, kelly: float, kelly_cap: float | None, bankroll: float
                   ) -> dict[str, Any]:
    """The Asian-handicap block of a backtest over the evaluated ``rows`` (see :func:`backtest_report`).

    Where the model prices goals itself (Dixon-Coles, Poisson) the block also says how far the 1X2 of its score
    matrices is from the backtest's 1X2 forecasts on the same matches (``same_fits_max_abs_1x2``; 0 up to
    rounding: the same fits)."""
    use = closing_rows(frame, rows)
    if how is None or not use.any():
        why = ("the model has no score distribution to price goal handicaps" if how is None else
               "no match of the window has a closing Asian handicap (football-data has them from 2019/20)")
        return {"market": "AH", "matches": 0, "matches_in_window": int(np.sum(rows)), "note": why}
    t0 = time.perf_counter()
    pmf, values = walk_forward_goal_difference(frame, use, how, cadence)
    report = backtest_report(frame, use, pmf, values, min_edge=min_edge, kelly=kelly, kelly_cap=kelly_cap,
                             bankroll=bankroll, priced_by=how.priced_by)
    report["matches_in_window"] = int(np.sum(rows))
    if how.own_forecasts:
        got = ~np.isnan(pmf).any(axis=1) & use
        one_x_two = np.stack([pmf[got][:, values > 0].sum(1), pmf[got][:, values == 0].sum(1),
                              pmf[got][:, values < 0].sum(1)], axis=1)
        report["same_fits_max_abs_1x2"] = float(np.abs(one_x_two - forecast[got]).max()) if got.any() else None
    report["seconds"] = round(time.perf_counter() - t0, 2)
    return report


def backtest_report(frame: pd.DataFrame, rows: np.ndarray, pmf: np.ndarray, values: np.ndarray, *,
                    min_edge: float, kelly: float, kelly_cap: float | None, bankroll: float, priced_by: str
                    ) -> dict[str, Any]:
    """Asian-handicap scoring and betting of the ``rows`` with a closing line, from their goal-difference ``pmf``.

    Bets go at the best closing price at the closing line (``odds_best_ah_*``, ``ah_line_close``), one
    selection per match at most, flat and Kelly as for 1X2; the closing-line value is against the de-margined
    closing reference (Pinnacle closing, else the closing average). Scores: module docstring.
    """
    from formguide.core.betting import simulate_bets

    line = frame["ah_line_close"].to_numpy(dtype=float, na_value=np.nan)
    best = frame[["odds_best_ah_home", "odds_best_ah_away"]].to_numpy(dtype=float, na_value=np.nan)
    close = market_break_even(frame[["odds_close_ah_home", "odds_close_ah_away"]].to_numpy(dtype=float,
                                                                                            na_value=np.nan))
    use = closing_rows(frame, rows) & ~np.isnan(pmf).any(axis=1) & ~np.isnan(close).any(axis=1)
    idx = np.flatnonzero(use)
    states = handicap_states(pmf[idx], values, line[idx])
    p_win, p_lose = win_lose(states)
    settlement = settle_home_away(frame.iloc[idx], line[idx])
    model_q = break_even(states)
    counts = {word: int((settlement[:, 0] == v).sum()) for word, v in zip(
        ("win", "half_win", "push", "half_loss", "loss"), SETTLEMENT_VALUES, strict=True)}
    report: dict[str, Any] = {
        "market": "AH", "priced_by": priced_by,
        "odds": "best closing price at the closing line",
        "closing_reference": "Pinnacle closing, else market average closing, de-margined (multiplicative)",
        "matches": int(use.sum()),
        "home_settlements": counts,
        "lines": {f"{h:+g}": int(c) for h, c in zip(*np.unique(line[idx], return_counts=True), strict=True)},
        "model": selection_scores(model_q[:, 0], settlement[:, 0]),
        "market_closing": selection_scores(close[idx, 0], settlement[:, 0]),
        "min_edge": min_edge,
        "clv": "price taken x de-margined closing break-even probability - 1",
    }
    dates = frame["kickoff"].to_numpy()[idx]
    for staking in ("flat", "kelly"):
        sim = simulate_bets(p_win, best[idx], dates=dates, min_edge=min_edge, staking=staking, fraction=kelly,
                            cap=kelly_cap, bankroll=bankroll, settlement=settlement, lose_probs=p_lose,
                            closing_probs=close[idx])
        report[staking] = sim.to_dict()
    return report


def backtest_views(block: dict[str, Any] | None) -> list[TableView]:
    """The Asian-handicap block as two tables: the home selection's scores, and betting (flat, Kelly)."""
    if not block:
        return []
    if not block.get("matches"):
        return [TableView(title="Asian handicap", columns=[Column(key="note", align="left")],
                          empty=f"Asian handicap not scored: {block.get('note', 'no matches')}")]
    score_cols = [Column(key="forecast", align="left"), Column(key="n", digits=0),
                  Column(key="brier", digits=4), Column(key="log_loss", header="log loss", digits=4),
                  Column(key="mean_probability", header="mean p(home)", digits=3, priority=1),
                  Column(key="observed", header="observed", digits=3, priority=1)]
    rows = [{"forecast": name, **{k: block[key].get(k) for k in ("n", "brier", "log_loss", "mean_probability",
                                                                  "observed")}}
            for name, key in (("model", "model"), ("closing market", "market_closing"))]
    scores = TableView(title=f"Asian handicap at the closing line, priced by {block['priced_by']}: P(home covers) "
                             "(pushes left out, halves weighted half)", columns=score_cols, rows=rows)
    keys = ("bets", "staked", "profit", "roi", "clv", "max_drawdown", "final_bankroll", "clv_positive", "pushes",
            "half_results")
    bet_cols = [Column(key="staking", align="left"), Column(key="bets", digits=0), Column(key="staked", digits=2),
                Column(key="profit", digits=2), Column(key="roi", digits=4), Column(key="clv", digits=4),
                Column(key="max_drawdown", digits=3),
                Column(key="final_bankroll", header="final", digits=2, priority=1),
                Column(key="clv_positive", header="clv>0", digits=3, priority=1),
                Column(key="pushes", digits=0, priority=1),
                Column(key="half_results", header="halves", digits=0, priority=2)]
    bets = TableView(title=f"Asian handicap betting vs {block['odds']}, min edge {block['min_edge']} "
                           f"({block['matches']} matches)",
                     columns=bet_cols, rows=[{"staking": s, **{k: block[s].get(k) for k in keys}}
                                             for s in ("flat", "kelly")])
    return [scores, bets]
