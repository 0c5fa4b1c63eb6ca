"""Markets with lines: settling handicap, spread and total bets (pushes, half results) and their probabilities.

Conventions (every sport uses the same ones):

* A selection's **margin** is its score minus the other side's (a home bet: home - away; an away bet:
  away - home). For a total market the margin of an **over** is the total and of an **under** minus the
  total.
* The **handicap** ``line`` is added to the margin: the selection wins when ``margin + line > 0``, loses when it
  is ``< 0`` and pushes (stake back) when it is exactly 0. A home spread of -3.5 is ``line = -3.5`` on the home
  margin; the away side of the same market is ``-margin`` with ``line = +3.5``. An over 47.5 is
  ``settle(total, -47.5)``, the under ``settle(-total, +47.5)`` (:func:`selection_lines` does this).
* Lines are multiples of 0.25. Integer lines push when ``margin + line == 0``; half lines (x.5) never push;
  quarter lines (x.25, x.75, Asian handicap) put half the stake on each neighbouring line (-0.75 = half on
  -0.5, half on -1), giving half-wins and half-losses.
* A **settlement** is a number per bet: 1 win, 0.5 half-win, 0 push, -0.5 half-loss, -1 loss (NaN: no result).
  Profit per unit staked at decimal ``odds``: ``max(s, 0) (odds - 1) + min(s, 0)``.
* The store's ``odds.line`` is the HOME side's handicap for a handicap/spread market, the total for a total
  market and NULL for 1X2 and moneyline.

Probabilities of a bet are the five states (win, half_win, push, half_loss, loss) from a discrete distribution
of the selection's margin; for staking they collapse to an effective win and loss probability (a half-win is
half a win, :func:`win_lose`), and :func:`expected_profit` and :func:`kelly_stake` work on those two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from formguide.core.markets import _check_decimal_array

__all__ = [
    "MARKETS",
    "RULES",
    "SETTLEMENT_VALUES",
    "SETTLEMENT_WORDS",
    "LineMarket",
    "check_line",
    "expected_profit",
    "kelly_stake",
    "outcome_probabilities",
    "profit_per_unit",
    "selection_lines",
    "settle",
    "settlement_words",
    "win_lose",
]

#: Settlement values in the order of :func:`outcome_probabilities` columns.
SETTLEMENT_VALUES: tuple[float, ...] = (1.0, 0.5, 0.0, -0.5, -1.0)
#: The word of each settlement value (same order), as written in bet ledgers.
SETTLEMENT_WORDS: tuple[str, ...] = ("win", "half-win", "push", "half-loss", "loss")

Rule = Literal["1x2", "moneyline", "handicap", "total"]
#: Settlement rules: ``1x2`` (three-way result, never a push), ``moneyline`` (two-way, a tie pushes),
#: ``handicap`` (home line on the home margin), ``total`` (over/under the line).
RULES: tuple[str, ...] = ("1x2", "moneyline", "handicap", "total")


def check_line(line: ArrayLike) -> NDArray[np.float64]:
    """The line(s) as floats; refuses a finite line that is not a multiple of 0.25 (NaN: no line)."""
    arr = np.asarray(line, dtype=np.float64)
    quarters = arr * 4.0
    bad = np.isinf(arr) | (np.isfinite(arr) & (np.abs(quarters - np.round(quarters)) > 1e-9))
    if bad.any():
        value = float(arr[tuple(np.argwhere(bad)[0])]) if arr.ndim else float(arr)
        raise ValueError(f"line {value!r} is not a multiple of 0.25 (lines are whole, half or quarter points)")
    return arr


def settle(margin: ArrayLike, line: ArrayLike = 0.0) -> NDArray[np.float64]:
    """Settlement in {1, 0.5, 0, -0.5, -1} of selections with ``margin`` and handicap ``line`` (broadcast).

    ``margin + line`` decides: > 0 win, < 0 loss, 0 push; a quarter line is the mean of its two neighbouring
    lines (``line -/+ 0.25``), so it half-wins or half-loses where one of them pushes. NaN margin or line -> NaN.
    """
    m = np.asarray(margin, dtype=np.float64)
    h = check_line(line)
    quarter = np.isfinite(h) & (np.mod(np.round(h * 4.0), 2.0) == 1.0)
    lo = np.where(quarter, h - 0.25, h)
    hi = np.where(quarter, h + 0.25, h)
    out = 0.5 * (np.sign(m + lo) + np.sign(m + hi))
    return out if out.ndim else np.float64(out)


def profit_per_unit(settlement: ArrayLike, odds: ArrayLike) -> NDArray[np.float64]:
    """Profit of one unit staked at decimal ``odds`` with ``settlement``: win odds-1, push 0, loss -1, halves half."""
    s = np.asarray(settlement, dtype=np.float64)
    o = np.asarray(odds, dtype=np.float64)
    return np.maximum(s, 0.0) * (o - 1.0) + np.minimum(s, 0.0)


def settlement_words(settlement: ArrayLike) -> NDArray[np.str_]:
    """The word of each settlement value (win, half-win, push, half-loss, loss; ``""`` for NaN)."""
    s = np.asarray(settlement, dtype=np.float64)
    conds = [s == v for v in SETTLEMENT_VALUES]
    return np.select(conds, list(SETTLEMENT_WORDS), default="")


def outcome_probabilities(values: ArrayLike, pmf: ArrayLike, line: ArrayLike = 0.0) -> NDArray[np.float64]:
    """Probabilities of (win, half_win, push, half_loss, loss) of a selection from its margin's distribution.

    ``values`` (m,) are the margins (integers: score differences or totals, signed as in :func:`settle`) and
    ``pmf`` their probabilities, (n, m) for n events or (m,) for one distribution. Each row is normalised (a
    truncated distribution's missing mass is spread proportionally); a row with a NaN gives NaN. ``line`` is a
    scalar, (n,) (one line per event) or (n, L) (several lines per event): the result is (n, 5) or (n, L, 5).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be 1-D (the margins), got shape {v.shape}")
    p = np.asarray(pmf, dtype=np.float64)
    p = p[None, :] if p.ndim == 1 else p
    if p.ndim != 2 or p.shape[1] != v.shape[0]:
        raise ValueError(f"pmf must be (n, {v.shape[0]}) or ({v.shape[0]},) to match values, got {np.shape(pmf)}")
    if (p < 0).any():
        raise ValueError("pmf has negative probabilities")
    h = check_line(line)
    if h.ndim > 2:
        raise ValueError(f"line must be a scalar, (n,) or (n, L), got shape {h.shape}")
    many = h.ndim == 2
    h2 = np.broadcast_to(h, (p.shape[0],)) if h.ndim == 0 else h
    h2 = h2 if many else h2[:, None]
    n = max(p.shape[0], h2.shape[0])
    if {p.shape[0], h2.shape[0]} - {1, n}:
        raise ValueError(f"line has {h2.shape[0]} rows but pmf has {p.shape[0]}")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / p.sum(axis=1, keepdims=True)
    p = np.broadcast_to(p, (n, v.shape[0]))[:, None, :]
    s = settle(v[None, None, :], np.broadcast_to(h2, (n, h2.shape[1]))[:, :, None])  # (n, L, m)
    out = np.stack([np.where(s == state, p, 0.0).sum(axis=2) for state in SETTLEMENT_VALUES], axis=-1)
    out[np.isnan(s).any(axis=2) | np.isnan(p).any(axis=2)] = np.nan
    return out if many else out[:, 0, :]


def win_lose(dist5: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Effective win and loss probabilities of (..., 5) state probabilities: a half counts half; the rest pushes."""
    d = np.asarray(dist5, dtype=np.float64)
    if d.shape[-1] != 5:
        raise ValueError(f"expected (..., 5) probabilities of win/half_win/push/half_loss/loss, got {d.shape}")
    return d[..., 0] + 0.5 * d[..., 1], d[..., 4] + 0.5 * d[..., 3]


def expected_profit(p_win: ArrayLike, p_lose: ArrayLike, odds: ArrayLike) -> NDArray[np.float64]:
    """Expected profit per unit staked, ``p_win (odds - 1) - p_lose`` (a push returns the stake).

    Computed as ``p_win odds - 1 + p_push`` so that with ``p_lose = 1 - p_win`` it is exactly the fixed-outcome
    edge ``p odds - 1`` of :func:`formguide.core.markets.edge`. NaN prices or probabilities propagate.
    """
    pw = np.asarray(p_win, dtype=np.float64)
    pl = np.asarray(p_lose, dtype=np.float64)
    o = np.asarray(odds, dtype=np.float64)
    _check_decimal_array(o)
    return (pw * o - 1.0) + ((1.0 - pw) - pl)


def kelly_stake(p_win: ArrayLike, p_lose: ArrayLike, odds: ArrayLike, fraction: float = 1.0,
                cap: float | None = None) -> NDArray[np.float64]:
    """Growth-optimal share of bankroll for a bet that can push, times ``fraction``, at most ``cap``.

    Maximising ``p log(1 + b f) + q log(1 - f)`` (b = odds - 1, the push leaves the bankroll alone) gives
    ``f* = (b p - q) / (b (p + q))``; 0 when not positive or undefined. With ``q = 1 - p`` this is
    :func:`formguide.core.markets.kelly_fraction`.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"kelly fraction must be in [0, 1], got {fraction}")
    if cap is not None and not 0.0 <= cap <= 1.0:
        raise ValueError(f"kelly cap must be in [0, 1], got {cap}")
    pw = np.asarray(p_win, dtype=np.float64)
    pl = np.asarray(p_lose, dtype=np.float64)
    o = np.asarray(odds, dtype=np.float64)
    e = expected_profit(pw, pl, o)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(e > 0.0, fraction * e / ((o - 1.0) * (pw + pl)), 0.0)
    if cap is not None:
        f = np.minimum(f, cap)
    return np.asarray(f, dtype=np.float64)


def selection_lines(rule: str, line: ArrayLike | None = None) -> NDArray[np.float64]:
    """Handicap of each selection of a market (last axis, in :attr:`LineMarket.selections` order).

    ``1x2``: no handicap (and no push: see :meth:`LineMarket.settle`); ``moneyline``: 0 and 0 (a tie pushes);
    ``handicap``: the home line ``h`` -> (h, -h); ``total``: the total ``t`` -> (-t, +t) for (over, under).
    """
    if rule in ("1x2", "moneyline"):
        shape = () if line is None else np.shape(line)
        return np.zeros(shape + ((3,) if rule == "1x2" else (2,)))
    if rule not in ("handicap", "total"):
        raise ValueError(f"unknown settlement rule {rule!r}; one of {', '.join(RULES)}")
    if line is None:
        raise ValueError(f"a {rule} market needs a line")
    h = check_line(line)
    return np.stack([h, -h], axis=-1) if rule == "handicap" else np.stack([-h, h], axis=-1)


@dataclass(frozen=True)
class LineMarket:
    """A market every sport uses: its id, selections, line (None where it has none) and settlement rule.

    * 1X2 (``rule="1x2"``, selections home/draw/away, no line): the result; never a push.
    * Moneyline (``"moneyline"``, home/away, no line): the winner; a tie pushes (handicap 0).
    * Handicap / spread (``"handicap"``, home/away, ``line`` = the home side's handicap, e.g. -3.5, -0.75).
    * Total (``"total"``, over/under, ``line`` = the total, e.g. 47.5 or 2.5).

    :meth:`settle` gives the (n, k) settlement matrix from scores, :meth:`probabilities` the (n, k, 5) state
    probabilities of every selection from a distribution of the home margin (or of the total).
    """

    id: str
    selections: tuple[str, ...]
    line: float | None
    rule: Rule

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown settlement rule {self.rule!r}; one of {', '.join(RULES)}")
        wanted = 3 if self.rule == "1x2" else 2
        if len(self.selections) != wanted:
            raise ValueError(f"a {self.rule} market has {wanted} selections, got {self.selections}")
        if (self.line is None) != (self.rule in ("1x2", "moneyline")):
            raise ValueError(f"a {self.rule} market {'takes no' if self.line is not None else 'needs a'} line")
        if self.line is not None:
            check_line(self.line)

    def with_line(self, line: float) -> LineMarket:
        """The same market at another line (e.g. the spread of one game)."""
        return LineMarket(self.id, self.selections, float(line), self.rule)

    def _lines(self, line: ArrayLike | None) -> NDArray[np.float64]:
        return selection_lines(self.rule, self.line if line is None else line)

    def settle(self, home_score: ArrayLike, away_score: ArrayLike, line: ArrayLike | None = None
               ) -> NDArray[np.float64]:
        """(n, k) settlement of each selection from the scores; ``line`` (n,) overrides the market's per event."""
        hs = np.asarray(home_score, dtype=np.float64)
        aws = np.asarray(away_score, dtype=np.float64)
        margin = hs - aws
        if self.rule == "1x2":
            res = np.sign(margin)[..., None]
            out = np.where(res == np.array([1.0, 0.0, -1.0]), 1.0, -1.0)
            return np.where(np.isnan(res), np.nan, out)
        lines = self._lines(line)
        if self.rule == "total":
            total = hs + aws
            return settle(np.stack([total, -total], axis=-1), lines)
        return settle(np.stack([margin, -margin], axis=-1), lines)

    def probabilities(self, values: ArrayLike, pmf: ArrayLike, line: ArrayLike | None = None
                      ) -> NDArray[np.float64]:
        """(n, k, 5) state probabilities of every selection from the pmf of the home margin (total market: of
        the total) over integer ``values``; ``line`` (n,) overrides the market's line per event."""
        v = np.asarray(values, dtype=np.float64)
        p = np.asarray(pmf, dtype=np.float64)
        p = p[None, :] if p.ndim == 1 else p
        if self.rule == "1x2":
            with np.errstate(invalid="ignore", divide="ignore"):
                p = p / p.sum(axis=1, keepdims=True)
            home, draw, away = ((p * (v[None, :] > 0)).sum(1), (p * (v[None, :] == 0)).sum(1),
                                (p * (v[None, :] < 0)).sum(1))
            wins = np.stack([home, draw, away], axis=1)
            zeros = np.zeros_like(wins)
            return np.stack([wins, zeros, zeros, zeros, 1.0 - wins], axis=-1)
        lines = np.broadcast_to(self._lines(line), (p.shape[0], 2))
        first = outcome_probabilities(v, p, lines[:, 0])
        # the second selection's margin is minus the first's: reverse the values (and their pmf)
        second = outcome_probabilities(-v[::-1], p[:, ::-1], lines[:, 1])
        return np.stack([first, second], axis=1)


#: The markets of every sport (lines per event come from the store's ``odds.line``; see :meth:`with_line`).
MARKETS: dict[str, LineMarket] = {
    "1x2": LineMarket("1x2", ("home", "draw", "away"), None, "1x2"),
    "moneyline": LineMarket("moneyline", ("home", "away"), None, "moneyline"),
    "spread": LineMarket("spread", ("home", "away"), 0.0, "handicap"),
    "asian_handicap": LineMarket("asian_handicap", ("home", "away"), 0.0, "handicap"),
    "total": LineMarket("total", ("over", "under"), 0.0, "total"),
}
