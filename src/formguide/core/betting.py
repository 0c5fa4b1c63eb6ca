"""Vectorised betting simulation for walk-forward backtests.

Given model probabilities, the decimal odds on offer and what happened, back at most one outcome
per event (the one with the largest positive edge at or above ``min_edge``) and settle the bets in
date order, with either flat 1-unit stakes or fractional Kelly stakes sized from the bankroll at
the start of each date (so same-day bets cannot feed off each other's results).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.markets import _check_decimal_array, kelly_fraction
from formguide.core.metrics import _check_outcome

__all__ = ["STAKING", "BetSimulation", "simulate_bets"]

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
    from the initial bankroll), as a fraction of that peak.
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


def simulate_bets(
    probs: ArrayLike,
    odds: ArrayLike,
    outcome: ArrayLike,
    dates: ArrayLike,
    min_edge: float = 0.0,
    staking: Literal["flat", "kelly"] = "flat",
    stake: float = 1.0,
    fraction: float = 0.25,
    cap: float | None = 0.05,
    bankroll: float = 100.0,
) -> BetSimulation:
    """Back the best-value outcome of each event and settle everything in date order.

    Parameters
    ----------
    probs : (n, k) model probabilities; all-NaN rows get no bet.
    odds : (n, k) decimal odds on offer; NaN means no price for that outcome.
    outcome : (n,) index of the outcome that happened.
    dates : (n,) event dates (datetimes are floored to the day; integers such as round numbers are
        used as they are). Events need not be sorted.
    min_edge : smallest edge ``p * odds - 1`` worth betting (inclusive); edges must also be > 0.
    staking : ``"flat"`` stakes ``stake`` units per bet; ``"kelly"`` stakes
        ``kelly_fraction(p, odds, fraction, cap)`` of the bankroll at the start of the bet's date.
        If a date's Kelly fractions add up to more than 1 they are scaled down to total 1, so a
        single day can never stake more than the bankroll.
    bankroll : starting bankroll in units (the base for drawdown and Kelly sizing).
    """
    if staking not in STAKING:
        raise ValueError(f"unknown staking {staking!r}; choose one of {STAKING}")
    if not bankroll > 0:
        raise ValueError(f"initial bankroll must be > 0, got {bankroll}")
    if staking == "flat" and not stake > 0:
        raise ValueError(f"flat stake must be > 0, got {stake}")
    p = _check_model_probs(probs)
    n, k = p.shape
    o = np.asarray(odds, dtype=np.float64)
    if o.shape != p.shape:
        raise ValueError(f"odds shape {o.shape} does not match probs shape {p.shape}")
    _check_decimal_array(o)
    y = _check_outcome(outcome, n, k)
    day = _date_keys(dates, n)

    e = p * o - 1.0
    eligible = (e > 0.0) & (e >= min_edge)  # NaN edges (no price / no forecast) compare False
    pick = np.argmax(np.where(eligible, e, -np.inf), axis=1)
    has_bet = eligible.any(axis=1)

    order = np.argsort(day, kind="stable")
    rows = order[has_bet[order]]
    side = pick[rows]
    bp, bo, be = p[rows, side], o[rows, side], e[rows, side]
    won = y[rows] == side
    ret = np.where(won, bo - 1.0, -1.0)  # profit per unit staked
    bday = day[rows]

    if staking == "flat":
        stakes = np.full(rows.shape[0], float(stake))
        profits = stakes * ret
        curve = bankroll + np.cumsum(profits)
    else:
        f = np.asarray(kelly_fraction(bp, bo, fraction=fraction, cap=cap), dtype=np.float64).reshape(-1)
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
        bet_won=won,
        bet_profit=profits,
        bankroll=curve,
    )
