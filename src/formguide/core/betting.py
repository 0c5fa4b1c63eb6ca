"""Vectorised betting simulation for walk-forward backtests.

Given model probabilities, the decimal odds on offer and what happened, back at most one selection
per event (the one with the largest positive expected profit at or above ``min_edge``) and settle the
bets in date order, with either flat 1-unit stakes or fractional Kelly stakes sized from the bankroll at
the start of each date (so same-day bets cannot feed off each other's results).

What happened is either the index of the outcome (fixed-outcome markets such as 1X2: the backed outcome
wins, every other loses) or a settlement matrix from :func:`formguide.core.lines.settle` (1 win, 0.5
half-win, 0 push, -0.5 half-loss, -1 loss), so spreads, totals and Asian handicaps settle with their pushes
and half results. A market that can push has a loss probability of its own (``lose_probs``; by default
``1 - probs``). With closing probabilities each bet also gets its closing-line value (CLV): the price taken
times the de-margined closing probability of the selection, minus 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.lines import SETTLEMENT_VALUES, expected_profit, kelly_stake, profit_per_unit
from formguide.core.markets import _check_decimal_array
from formguide.core.metrics import _check_outcome

__all__ = ["STAKING", "BetSimulation", "closing_line_value", "outcome_settlement", "simulate_bets"]

STAKING: tuple[str, ...] = ("flat", "kelly")
_SUM_TOL = 1e-5


@dataclass(frozen=True)
class BetSimulation:
    """Outcome of :func:`simulate_bets`.

    Scalars summarise the run; the ``bet_*`` arrays have one entry per bet in settlement order
    (date, then input order), and ``bankroll`` is the bankroll after each bet, i.e. the curve to
    plot against ``bet_date``. ``roi`` and ``yield_`` are both profit / total staked (the usual
    betting "yield"); for Kelly staking ``bankroll_growth`` (final / initial - 1) is the compounded
    return. ``max_drawdown`` is the largest fall from a running peak of the bankroll curve (starting
    from the initial bankroll), as a fraction of that peak. ``bet_settlement`` is each bet's settlement
    (1, 0.5, 0, -0.5, -1) and ``bet_won`` whether it won at least half; ``pushes`` counts stakes returned and
    ``half_results`` half-wins and half-losses. ``bet_clv`` is the closing-line value of each bet (NaN where
    no closing probability was given); ``clv`` its mean and ``clv_positive`` the share of bets above 0, over
    the ``clv_bets`` bets that have one.
    """

    staking: str
    n_events: int
    n_bets: int
    staked: float
    profit: float
    roi: float
    yield_: float
    initial_bankroll: float
    final_bankroll: float
    bankroll_growth: float
    max_drawdown: float
    bet_row: NDArray[np.intp]
    bet_date: NDArray[Any]
    bet_outcome: NDArray[np.intp]
    bet_prob: NDArray[np.float64]
    bet_odds: NDArray[np.float64]
    bet_edge: NDArray[np.float64]
    bet_stake: NDArray[np.float64]
    bet_won: NDArray[np.bool_]
    bet_profit: NDArray[np.float64]
    bankroll: NDArray[np.float64]
    bet_lose_prob: NDArray[np.float64]
    bet_settlement: NDArray[np.float64]
    bet_closing_prob: NDArray[np.float64]
    bet_clv: NDArray[np.float64]
    pushes: int
    half_results: int
    clv_bets: int
    clv: float | None
    clv_positive: float | None

    def to_dict(self) -> dict[str, Any]:
        """Scalar summary (JSON-ready); note the key ``"yield"`` for the ``yield_`` attribute."""
        return {
            "staking": self.staking,
            "events": self.n_events,
            "bets": self.n_bets,
            "staked": self.staked,
            "profit": self.profit,
            "roi": self.roi,
            "yield": self.yield_,
            "initial_bankroll": self.initial_bankroll,
            "final_bankroll": self.final_bankroll,
            "bankroll_growth": self.bankroll_growth,
            "max_drawdown": self.max_drawdown,
            "pushes": self.pushes,
            "half_results": self.half_results,
            "clv_bets": self.clv_bets,
            "clv": self.clv,
            "clv_positive": self.clv_positive,
        }

    def bets_frame(self) -> pd.DataFrame:
        """One row per bet, for reports and plots."""
        return pd.DataFrame(
            {
                "row": self.bet_row,
                "date": self.bet_date,
                "outcome": self.bet_outcome,
                "prob": self.bet_prob,
                "odds": self.bet_odds,
                "edge": self.bet_edge,
                "stake": self.bet_stake,
                "won": self.bet_won,
                "profit": self.bet_profit,
                "bankroll": self.bankroll,
            }
        )


def _date_keys(dates: ArrayLike, n: int) -> NDArray[Any]:
    """Sortable per-event day keys: datetimes are floored to the calendar day (local wall time)."""
    arr = np.asarray(dates)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"dates must be 1-D with {n} entries to match probs, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
    else:
        if arr.dtype.kind != "M":
            try:
                idx = pd.DatetimeIndex(pd.to_datetime(pd.Index(arr)))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"dates could not be parsed as datetimes: {exc}") from None
            if idx.tz is not None:
                idx = idx.tz_localize(None)
            arr = idx.to_numpy()
        arr = arr.astype("datetime64[D]")
        bad = np.isnat(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"dates row {i} is missing ({arr[i]!r}); every event needs a date")
    return arr


def _check_model_probs(probs: ArrayLike) -> NDArray[np.float64]:
    """Probabilities (n, k); an all-NaN row means "no forecast" and simply gets no bet."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be 2-D (events, outcomes) with >= 2 outcomes, got shape {p.shape}")
    missing = np.isnan(p).all(axis=1)
    q = p[~missing]
    bad = ~np.isfinite(q).all(axis=1) | (q < 0).any(axis=1) | (q > 1).any(axis=1)
    bad |= np.abs(q.sum(axis=1) - 1.0) > _SUM_TOL
    if bad.any():
        i = int(np.flatnonzero(~missing)[np.flatnonzero(bad)[0]])
        raise ValueError(
            f"probs row {i} is not a probability distribution (finite, in [0, 1], sum 1): {p[i].tolist()}"
        )
    return p


def _check_win_lose(probs: ArrayLike, lose_probs: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Win and loss probabilities (n, k) of markets that can push: each in [0, 1], their sum at most 1."""
    p = np.asarray(probs, dtype=np.float64)
    q = np.asarray(lose_probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"probs must be 2-D (events, selections), got shape {p.shape}")
    if q.shape != p.shape:
        raise ValueError(f"lose_probs shape {q.shape} does not match probs shape {p.shape}")
    with np.errstate(invalid="ignore"):
        bad = (p < 0) | (p > 1) | (q < 0) | (q > 1) | (p + q > 1.0 + _SUM_TOL) | np.isinf(p) | np.isinf(q)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise ValueError(f"probs/lose_probs row {i}, column {j} are not probabilities of a win and a loss "
                         f"(each in [0, 1], sum at most 1): {p[i, j]!r}, {q[i, j]!r}")
    return p, q


def outcome_settlement(outcome: ArrayLike, n: int, k: int) -> NDArray[np.float64]:
    """Settlement matrix (n, k) of a fixed-outcome market: 1 for the outcome that happened, -1 for the others."""
    y = _check_outcome(outcome, n, k)
    return np.where(np.arange(k)[None, :] == y[:, None], 1.0, -1.0)


def _check_settlement(settlement: ArrayLike, shape: tuple[int, int]) -> NDArray[np.float64]:
    s = np.asarray(settlement, dtype=np.float64)
    if s.shape != shape:
        raise ValueError(f"settlement shape {s.shape} does not match probs shape {shape}")
    bad = ~np.isnan(s) & ~np.isin(s, SETTLEMENT_VALUES)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise ValueError(f"settlement row {i}, column {j} is {s[i, j]!r}; one of 1, 0.5, 0, -0.5, -1 (or NaN)")
    return s


def closing_line_value(price: ArrayLike, closing_prob: ArrayLike) -> NDArray[np.float64]:
    """CLV of bets: the price taken times the de-margined closing probability of the selection, minus 1.

    Positive when the price beat the closing line (the market moved towards the bet); NaN where the closing
    probability is missing.
    """
    return np.asarray(price, dtype=np.float64) * np.asarray(closing_prob, dtype=np.float64) - 1.0


def _kelly_stakes(bday: NDArray[Any], f: NDArray[np.float64], ret: NDArray[np.float64], bankroll: float
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Stakes and bankroll curve of Kelly fractions ``f`` sized from the bankroll at the start of each day.

    If a day's fractions add up to more than 1 they are scaled down to total 1."""
    _, first, codes = np.unique(bday, return_index=True, return_inverse=True)
    n_days = first.shape[0]
    exposure = np.bincount(codes, weights=f, minlength=n_days)
    f = f / np.maximum(exposure, 1.0)[codes]
    # exposure <= 1 keeps growth >= 0; the clip only removes rounding below zero after a bust
    growth = np.maximum(1.0 + np.bincount(codes, weights=f * ret, minlength=n_days), 0.0)
    start = bankroll * np.concatenate(([1.0], np.cumprod(growth)[:-1]))
    stakes = start[codes] * f
    profits = stakes * ret
    within = np.cumsum(profits)
    offset = within[first] - profits[first]
    curve = np.maximum(start[codes] + (within - offset[codes]), 0.0)
    return stakes, curve


def _check_args(staking: str, bankroll: float, stake: float, outcome: object, settlement: object,
                dates: object) -> None:
    if staking not in STAKING:
        raise ValueError(f"unknown staking {staking!r}; choose one of {STAKING}")
    if not bankroll > 0:
        raise ValueError(f"initial bankroll must be > 0, got {bankroll}")
    if staking == "flat" and not stake > 0:
        raise ValueError(f"flat stake must be > 0, got {stake}")
    if (outcome is None) == (settlement is None):
        raise ValueError("give either outcome (the index of what happened) or a settlement matrix, not both")
    if dates is None:
        raise ValueError("dates are required: bets are settled in date order")


def simulate_bets(
    probs: ArrayLike,
    odds: ArrayLike,
    outcome: ArrayLike | None = None,
    dates: ArrayLike | None = None,
    min_edge: float = 0.0,
    staking: Literal["flat", "kelly"] = "flat",
    stake: float = 1.0,
    fraction: float = 0.25,
    cap: float | None = 0.05,
    bankroll: float = 100.0,
    *,
    settlement: ArrayLike | None = None,
    lose_probs: ArrayLike | None = None,
    closing_probs: ArrayLike | None = None,
) -> BetSimulation:
    """Back the best-value selection of each event and settle everything in date order.

    Parameters
    ----------
    probs : (n, k) model win probabilities; all-NaN rows get no bet. Without ``lose_probs`` each row is a
        distribution over exclusive outcomes (sums to 1).
    odds : (n, k) decimal odds on offer; NaN means no price for that selection.
    outcome : (n,) index of the outcome that happened (fixed-outcome markets), or
    settlement : (n, k) settlement of every selection (1, 0.5, 0, -0.5, -1; :func:`formguide.core.lines.settle`);
        give exactly one of the two. NaN is allowed only where no bet is placed.
    dates : (n,) event dates (datetimes are floored to the day; integers such as round numbers are
        used as they are). Events need not be sorted.
    min_edge : smallest expected profit per unit (``p_win (odds - 1) - p_lose``) worth betting (inclusive);
        it must also be > 0.
    staking : ``"flat"`` stakes ``stake`` units per bet; ``"kelly"`` stakes
        ``kelly_stake(p_win, p_lose, odds, fraction, cap)`` of the bankroll at the start of the bet's date.
        If a date's Kelly fractions add up to more than 1 they are scaled down to total 1, so a
        single day can never stake more than the bankroll.
    bankroll : starting bankroll in units (the base for drawdown and Kelly sizing).
    lose_probs : (n, k) loss probabilities (a half-loss counted half) where a selection can push; default
        ``1 - probs``.
    closing_probs : (n, k) de-margined closing probabilities, for each bet's closing-line value.
    """
    _check_args(staking, bankroll, stake, outcome, settlement, dates)
    if lose_probs is None:
        p = _check_model_probs(probs)
        q = 1.0 - p
    else:
        p, q = _check_win_lose(probs, lose_probs)
    n, k = p.shape
    o = np.asarray(odds, dtype=np.float64)
    if o.shape != p.shape:
        raise ValueError(f"odds shape {o.shape} does not match probs shape {p.shape}")
    _check_decimal_array(o)
    s = outcome_settlement(outcome, n, k) if settlement is None else _check_settlement(settlement, (n, k))
    close = None if closing_probs is None else np.asarray(closing_probs, dtype=np.float64)
    if close is not None and close.shape != p.shape:
        raise ValueError(f"closing_probs shape {close.shape} does not match probs shape {p.shape}")
    day = _date_keys(dates, n)

    e = expected_profit(p, q, o)
    eligible = (e > 0.0) & (e >= min_edge)  # NaN edges (no price / no forecast) compare False
    pick = np.argmax(np.where(eligible, e, -np.inf), axis=1)
    has_bet = eligible.any(axis=1)

    order = np.argsort(day, kind="stable")
    rows = order[has_bet[order]]
    side = pick[rows]
    bp, bq, bo, be, bs = p[rows, side], q[rows, side], o[rows, side], e[rows, side], s[rows, side]
    if np.isnan(bs).any():
        i = int(np.flatnonzero(np.isnan(bs))[0])
        raise ValueError(f"settlement row {int(rows[i])}, column {int(side[i])} is missing for a bet placed there")
    ret = profit_per_unit(bs, bo)  # profit per unit staked
    bday = day[rows]

    if staking == "flat":
        stakes = np.full(rows.shape[0], float(stake))
        profits = stakes * ret
        curve = bankroll + np.cumsum(profits)
    else:
        f = np.asarray(kelly_stake(bp, bq, bo, fraction=fraction, cap=cap), dtype=np.float64).reshape(-1)
        stakes, curve = _kelly_stakes(bday, f, ret, bankroll)
        profits = stakes * ret

    bclose = np.full(rows.shape[0], np.nan) if close is None else close[rows, side]
    clv = closing_line_value(bo, bclose)
    has_clv = ~np.isnan(clv)
    staked = float(stakes.sum())
    profit = float(profits.sum())
    final = float(curve[-1]) if curve.size else float(bankroll)
    path = np.concatenate(([bankroll], curve))
    peak = np.maximum.accumulate(path)
    drawdown = float(np.max((peak - path) / peak))
    roi = profit / staked if staked > 0 else float("nan")
    return BetSimulation(
        staking=staking,
        n_events=int(n),
        n_bets=int(rows.shape[0]),
        staked=staked,
        profit=profit,
        roi=roi,
        yield_=roi,
        initial_bankroll=float(bankroll),
        final_bankroll=final,
        bankroll_growth=final / bankroll - 1.0,
        max_drawdown=drawdown,
        bet_row=rows,
        bet_date=bday,
        bet_outcome=side,
        bet_prob=bp,
        bet_odds=bo,
        bet_edge=be,
        bet_stake=stakes,
        bet_won=bs > 0,
        bet_profit=profits,
        bankroll=curve,
        bet_lose_prob=bq,
        bet_settlement=bs,
        bet_closing_prob=bclose,
        bet_clv=clv,
        pushes=int((bs == 0).sum()),
        half_results=int((np.abs(bs) == 0.5).sum()),
        clv_bets=int(has_clv.sum()),
        clv=float(clv[has_clv].mean()) if has_clv.any() else None,
        clv_positive=float((clv[has_clv] > 0).mean()) if has_clv.any() else None,
    )
