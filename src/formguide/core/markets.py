"""Betting-market arithmetic: odds formats, implied probabilities, margin removal, edge and Kelly.

Everything here is sport-agnostic. Array functions treat a 2-D array as ``(events, outcomes)``:
one row per event, one column per mutually exclusive outcome. ``NaN`` marks a missing price;
any row containing a ``NaN`` gives an all-``NaN`` row of probabilities, so missing prices never
silently turn into a confident probability.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "METHODS",
    "SignalTiers",
    "american_to_decimal",
    "american_to_fractional",
    "decimal_to_american",
    "decimal_to_fractional",
    "edge",
    "fair_odds",
    "fractional_to_american",
    "fractional_to_decimal",
    "implied_probabilities",
    "kelly_fraction",
    "overround",
    "remove_overround",
]

Method = Literal["multiplicative", "additive", "power", "shin"]

#: Margin-removal methods understood by :func:`remove_overround` (used for CLI choices).
METHODS: tuple[str, ...] = ("multiplicative", "additive", "power", "shin")

_EVENS = {"evens", "evs", "even", "ev"}


# --------------------------------------------------------------------------------------------------
# Odds-format conversion
# --------------------------------------------------------------------------------------------------


def _as_real(value: object, what: str) -> float:
    """Coerce a scalar to float, with an error that says what was wrong."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if isinstance(value, numbers.Real):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise ValueError(f"{what} must be a number, got {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(out):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return out


def _check_decimal_array(odds: NDArray[np.float64], allow_nan: bool = True) -> None:
    """Raise on decimal odds <= 1 or infinite, naming the first offending position."""
    bad = ~(odds > 1.0) & ~np.isnan(odds) if allow_nan else ~(odds > 1.0)
    bad |= np.isinf(odds)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = (
            f"row {idx[0]}, column {idx[1]}" if len(idx) == 2 else (f"position {idx[0]}" if idx else "scalar")
        )
        raise ValueError(
            f"decimal odds must be finite and > 1.0 (NaN marks a missing price); "
            f"got {float(odds[idx])!r} at {where}"
        )


def _to_float_array(values: ArrayLike, what: str) -> NDArray[np.float64]:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numeric, got {values!r}") from None


def fractional_to_decimal(fractional: str) -> float:
    """Convert fractional odds such as ``"5/2"`` (or ``"evens"``) to decimal odds (3.5)."""
    if not isinstance(fractional, str):
        raise ValueError(f"fractional odds must be a string like '5/2', got {fractional!r}")
    text = fractional.strip().lower()
    if text in _EVENS:
        return 2.0
    parts = text.replace("-", "/").split("/")
    if len(parts) != 2:
        raise ValueError(f"fractional odds must look like 'a/b' (e.g. '5/2'), got {fractional!r}")
    num = _as_real(parts[0], f"numerator of fractional odds {fractional!r}")
    den = _as_real(parts[1], f"denominator of fractional odds {fractional!r}")
    if den <= 0:
        raise ValueError(f"fractional odds denominator must be > 0, got {fractional!r}")
    if num <= 0:
        raise ValueError(f"fractional odds numerator must be > 0 (decimal odds > 1.0), got {fractional!r}")
    return 1.0 + num / den


def decimal_to_fractional(decimal: float, max_denominator: int = 1000) -> str:
    """Convert decimal odds to the nearest fractional string, e.g. ``3.5 -> "5/2"``.

    The decimal is read via its shortest repr so ``1.91`` gives ``"91/100"`` rather than a
    binary-float artefact; ``max_denominator`` bounds the denominator for awkward prices.
    """
    d = _as_real(decimal, "decimal odds")
    if d <= 1.0:
        raise ValueError(f"decimal odds must be > 1.0, got {decimal!r}")
    frac = (Fraction(repr(d)) - 1).limit_denominator(max_denominator)
    if frac <= 0:
        raise ValueError(
            f"decimal odds {decimal!r} are too close to 1.0 for max_denominator={max_denominator}"
        )
    return f"{frac.numerator}/{frac.denominator}"


def american_to_decimal(american: ArrayLike) -> float | NDArray[np.float64]:
    """Convert American (moneyline) odds to decimal: ``+150 -> 2.5``, ``-200 -> 1.5``.

    Accepts a scalar (number or string such as ``"+150"``) or an array; valid American odds have
    magnitude >= 100. Arrays may contain ``NaN`` for missing prices.
    """
    if np.ndim(american) == 0:
        a = _as_real(american if not isinstance(american, np.ndarray) else american.item(), "American odds")
        if abs(a) < 100:
            raise ValueError(f"American odds must be >= +100 or <= -100, got {american!r}")
        return 1.0 + a / 100.0 if a > 0 else 1.0 + 100.0 / -a
    arr = _to_float_array(american, "American odds")
    bad = (np.abs(arr) < 100) | np.isinf(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"American odds must be >= +100 or <= -100, got {float(arr[idx])!r} at index {idx}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(arr > 0, 1.0 + arr / 100.0, 1.0 + 100.0 / -arr)


def decimal_to_american(decimal: ArrayLike) -> float | NDArray[np.float64]:
    """Convert decimal odds to American: ``2.5 -> +150``, ``1.5 -> -200`` (2.0 gives +100)."""
    if np.ndim(decimal) == 0:
        d = _as_real(decimal if not isinstance(decimal, np.ndarray) else decimal.item(), "decimal odds")
        if d <= 1.0:
            raise ValueError(f"decimal odds must be > 1.0, got {decimal!r}")
        return (d - 1.0) * 100.0 if d >= 2.0 else -100.0 / (d - 1.0)
    arr = _to_float_array(decimal, "decimal odds")
    _check_decimal_array(arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(arr >= 2.0, (arr - 1.0) * 100.0, -100.0 / (arr - 1.0))


def fractional_to_american(fractional: str) -> float:
    """Convert fractional odds (``"5/2"``) to American (``+250``)."""
    return float(decimal_to_american(fractional_to_decimal(fractional)))


def american_to_fractional(american: float | str, max_denominator: int = 1000) -> str:
    """Convert American odds (``-200``) to fractional (``"1/2"``)."""
    return decimal_to_fractional(float(american_to_decimal(american)), max_denominator=max_denominator)


# --------------------------------------------------------------------------------------------------
# Implied probabilities and margin removal
# --------------------------------------------------------------------------------------------------


def implied_probabilities(odds: ArrayLike) -> NDArray[np.float64]:
    """Raw implied probabilities ``1 / odds`` (still containing the bookmaker margin).

    Works elementwise on any shape; ``NaN`` odds give ``NaN``. Raises on odds <= 1.
    """
    arr = _to_float_array(odds, "decimal odds")
    _check_decimal_array(arr)
    return 1.0 / arr


def overround(odds: ArrayLike) -> float | NDArray[np.float64]:
    """Bookmaker margin ``sum(1/odds) - 1`` per event (last axis); ``NaN`` if any price is missing."""
    arr = _to_float_array(odds, "decimal odds")
    if arr.ndim not in (1, 2):
        raise ValueError(f"odds must be 1-D (one event) or 2-D (events, outcomes), got shape {arr.shape}")
    out = implied_probabilities(arr).sum(axis=-1) - 1.0
    return float(out) if arr.ndim == 1 else out


def _additive(pi: NDArray[np.float64]) -> NDArray[np.float64]:
    k = pi.shape[1]
    p = pi - (pi.sum(axis=1, keepdims=True) - 1.0) / k
    # With a large margin a long shot's share of it can exceed its own implied probability,
    # giving p < 0. We clip those to 0 and renormalise the rest (documented in remove_overround).
    p = np.clip(p, 0.0, None)
    return p / p.sum(axis=1, keepdims=True)


def _power(pi: NDArray[np.float64], tol: float = 1e-14, max_iter: int = 200) -> NDArray[np.float64]:
    """Solve ``sum_i pi_i**k = 1`` per row by Newton's method.

    ``f(k) = sum pi**k`` is decreasing and convex in ``k`` for ``0 < pi < 1``, so Newton from
    ``k = 1`` converges monotonically (at most one overshoot when the book is under-round).
    """
    log_pi = np.log(pi)
    k = np.ones((pi.shape[0], 1))
    for _ in range(max_iter):
        pk = np.exp(k * log_pi)
        f = pk.sum(axis=1, keepdims=True) - 1.0
        if np.all(np.abs(f) < tol):
            break
        fprime = (pk * log_pi).sum(axis=1, keepdims=True)
        k = k - f / fprime
    p = np.exp(k * log_pi)
    return p / p.sum(axis=1, keepdims=True)


def _shin_p(z: NDArray[np.float64], q: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Shin's probabilities (and their derivative in z) for insider share ``z``, ``q = pi**2 / sum(pi)``.

    ``(r - z) / (2(1-z))`` with ``r = sqrt(z^2 + 4(1-z)q)`` is rewritten as ``2q / (r + z)`` for
    z >= 0 so it stays accurate as z -> 1; the original form is used for z < 0 (no cancellation).
    """
    r = np.sqrt(z * z + 4.0 * (1.0 - z) * q)
    dr = (z - 2.0 * q) / r
    with np.errstate(divide="ignore", invalid="ignore"):
        stable = 2.0 * q / (r + z)
        d_stable = -stable * (dr + 1.0) / (r + z)
        direct = (r - z) / (2.0 * (1.0 - z))
        d_direct = ((dr - 1.0) * (1.0 - z) + (r - z)) / (2.0 * (1.0 - z) ** 2)
    pos = z >= 0.0
    return np.where(pos, stable, direct), np.where(pos, d_stable, d_direct)


def _shin(pi: NDArray[np.float64], tol: float = 1e-13, max_iter: int = 200) -> tuple[NDArray, NDArray]:
    """Solve Shin's model for the insider share ``z`` per row (safeguarded Newton).

    ``g(z) = sum_i p_i(z) - 1`` is decreasing on [-1, 1], >= 0 at z = -1 and equal to
    ``sum(pi^2)/sum(pi) - 1 < 0`` at z = 1, so the root is bracketed there. Newton steps from z = 0
    converge in a handful of iterations; any step leaving the current bracket is replaced by a
    bisection, so convergence is guaranteed. Over-round books give the usual ``z in [0, 1)``;
    under-round rows (possible with best-of-market prices) give ``z < 0``, a formal extension of
    Shin's formula that still yields a coherent distribution. Equivalent to the fixed point
    ``z = (sum sqrt(z^2 + 4(1-z)pi^2/B) - 2) / (k - 2)`` of the literature (Shin 1993; Štrumbelj
    2014) but also valid for two-outcome markets.
    """
    q = pi * pi / pi.sum(axis=1, keepdims=True)
    n = pi.shape[0]
    lo, hi = np.full((n, 1), -1.0), np.full((n, 1), 1.0)
    z = np.zeros((n, 1))
    for _ in range(max_iter):
        p, dp = _shin_p(z, q)
        g = p.sum(axis=1, keepdims=True) - 1.0
        active = (np.abs(g) >= tol) & (hi - lo > 1e-15)  # converged rows are frozen
        if not active.any():
            break
        lo = np.where(active & (g > 0.0), z, lo)  # sum too big -> root lies at larger z
        hi = np.where(active & (g < 0.0), z, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = z - g / dp.sum(axis=1, keepdims=True)
        inside = np.isfinite(step) & (step > lo) & (step < hi)
        z = np.where(active, np.where(inside, step, 0.5 * (lo + hi)), z)
    p, _ = _shin_p(z, q)
    return p / p.sum(axis=1, keepdims=True), z[:, 0]


def remove_overround(odds: ArrayLike, method: Method | str = "multiplicative") -> NDArray[np.float64]:
    """Fair probabilities from bookmaker odds, one row per event.

    Methods (see :data:`METHODS`):

    * ``multiplicative``: ``pi / sum(pi)`` (margin spread proportionally).
    * ``additive``: ``pi - margin / k``; can go negative for long shots under big margins, in which
      case negatives are clipped to 0 and the row is renormalised.
    * ``power``: ``pi**k`` with ``k`` solved so the row sums to 1 (favourite-longshot aware).
    * ``shin``: Shin's insider-trading model, solving for the insider share ``z`` per row.

    ``odds`` is 1-D (one event, returns 1-D) or 2-D ``(events, outcomes)``. Rows containing
    ``NaN`` come back all-``NaN``; every other row sums to 1 with entries in [0, 1].
    """
    if method not in METHODS:
        raise ValueError(f"unknown margin-removal method {method!r}; choose one of {METHODS}")
    arr = _to_float_array(odds, "decimal odds")
    squeeze = arr.ndim == 1
    if squeeze:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"odds must be 1-D (one event) or 2-D (events, outcomes), got shape {arr.shape}")
    if arr.shape[1] < 2:
        raise ValueError(f"need at least 2 outcomes per event to remove a margin, got {arr.shape[1]}")
    _check_decimal_array(arr)

    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr).any(axis=1)
    if ok.any():
        pi = 1.0 / arr[ok]
        if method == "multiplicative":
            p = pi / pi.sum(axis=1, keepdims=True)
        elif method == "additive":
            p = _additive(pi)
        elif method == "power":
            p = _power(pi)
        else:
            p, _ = _shin(pi)
        out[ok] = np.clip(p, 0.0, 1.0)
    return out[0] if squeeze else out


# --------------------------------------------------------------------------------------------------
# Value: fair odds, edge, Kelly, signal tiers
# --------------------------------------------------------------------------------------------------


def _scalar_or_array(x: NDArray[np.float64]) -> float | NDArray[np.float64]:
    return float(x) if x.ndim == 0 else x


def fair_odds(p: ArrayLike) -> float | NDArray[np.float64]:
    """Decimal odds with no margin for probability ``p`` (``1/p``; ``p = 0`` gives ``inf``)."""
    arr = _to_float_array(p, "probabilities")
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    with np.errstate(divide="ignore"):
        return _scalar_or_array(1.0 / arr)


def edge(p: ArrayLike, odds: ArrayLike) -> float | NDArray[np.float64]:
    """Expected profit per unit staked, ``p * odds - 1``; ``NaN`` odds propagate."""
    parr = _to_float_array(p, "probabilities")
    oarr = _to_float_array(odds, "decimal odds")
    _check_decimal_array(oarr)
    return _scalar_or_array(parr * oarr - 1.0)


def kelly_fraction(
    p: ArrayLike, odds: ArrayLike, fraction: float = 1.0, cap: float | None = None
) -> float | NDArray[np.float64]:
    """Share of bankroll to stake: ``fraction * (p*odds - 1) / (odds - 1)``, floored at 0.

    Zero whenever the edge is <= 0 or undefined (``NaN`` price), and never above ``cap`` when given.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"kelly fraction must be in [0, 1], got {fraction}")
    if cap is not None and not 0.0 <= cap <= 1.0:
        raise ValueError(f"kelly cap must be in [0, 1], got {cap}")
    parr = _to_float_array(p, "probabilities")
    oarr = _to_float_array(odds, "decimal odds")
    _check_decimal_array(oarr)
    e = parr * oarr - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(e > 0.0, fraction * e / (oarr - 1.0), 0.0)
    if cap is not None:
        f = np.minimum(f, cap)
    return _scalar_or_array(np.asarray(f, dtype=np.float64))


@dataclass(frozen=True)
class SignalTiers:
    """Edge thresholds that grade a value signal: A >= a, B >= b, C >= c, otherwise D."""

    a: float = 0.10
    b: float = 0.05
    c: float = 0.02

    def __post_init__(self) -> None:
        if not (self.a >= self.b >= self.c):
            raise ValueError(f"tier thresholds must satisfy a >= b >= c, got {self.a}, {self.b}, {self.c}")

    def tier(self, edge: ArrayLike) -> str | NDArray[np.str_]:
        """Letter grade per edge (vectorised); ``NaN`` edges grade ``"D"``."""
        e = _to_float_array(edge, "edge")
        out = np.select([e >= self.a, e >= self.b, e >= self.c], ["A", "B", "C"], default="D").astype("<U1")
        return str(out) if out.ndim == 0 else out
