"""Many-competitor fields (a race, a heat): Plackett–Luce sampling, position distributions, field metrics.

A field model gives every entrant a log-strength ``u_i``. Under Plackett–Luce the winner is ``i`` with
probability ``softmax(u)_i``, second place is drawn the same way from those left, and so on. Sorting
``u_i + G_i`` with independent standard Gumbel noise ``G_i`` in descending order gives an exact
Plackett–Luce draw of the whole order (the Gumbel-max trick), so many orders are one argsort of a
``(n_sims, n)`` array instead of ``n`` sequential draws per simulation (computed with exponential arrival
times, see :func:`sample_orders`).

Retirements: a field with a retirement probability per entrant first decides who retires, then orders the
finishers by Plackett–Luce and places the retired after every finisher, in uniformly random order among
themselves (nothing in the strengths says who retires later).

Metrics take the long "one row per entry" layout a field sport's frame already has: a forecast per entry,
the entry's finishing position (1 = winner) and an event key grouping the entries of one event.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from formguide.core.metrics import reliability_table

__all__ = [
    "expected_top1_accuracy",
    "finishing_positions",
    "podium_brier",
    "position_distribution",
    "sample_orders",
    "top1_accuracy",
    "win_ece",
    "win_log_loss",
    "win_probabilities",
]

LOG_LOSS_EPS = 1e-15
_SUM_TOL = 1e-5
#: Log-strengths further than this below the best of their field are raised to it when sampling.
MAX_SPREAD = 600.0


def _as_strengths(log_strength: ArrayLike) -> NDArray[np.float64]:
    u = np.asarray(log_strength, dtype=np.float64)
    if u.ndim not in (1, 2):
        raise ValueError(f"log_strength must be 1-D (n,) or 2-D (races, n), got shape {u.shape}")
    if u.shape[-1] < 1:
        raise ValueError("log_strength has no entrants")
    bad = np.isnan(u) | (u == np.inf)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise ValueError(f"log_strength at index {where} is {u[tuple(where)]!r}; use finite values "
                         "(-inf marks an absent entrant)")
    if (u == -np.inf).all(axis=-1).any():
        raise ValueError("every entrant of a field is absent (-inf log_strength)")
    return u


def _as_dnf(dnf_prob: ArrayLike | None, shape: tuple[int, ...]) -> NDArray[np.float64] | None:
    if dnf_prob is None:
        return None
    q = np.asarray(dnf_prob, dtype=np.float64)
    try:
        q = np.broadcast_to(q, shape)
    except ValueError as exc:
        raise ValueError(f"dnf_prob of shape {q.shape} does not broadcast to log_strength {shape}") from exc
    bad = ~np.isfinite(q) | (q < 0) | (q > 1)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise ValueError(f"dnf_prob at index {where} is {q[tuple(where)]!r}, not a probability in [0, 1]")
    return q


def sample_orders(
    log_strength: ArrayLike,
    n_sims: int,
    rng: np.random.Generator | int | None = None,
    dnf_prob: ArrayLike | None = None,
    return_retired: bool = False,
) -> NDArray[np.intp] | tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Draw finishing orders from Plackett–Luce with optional retirements.

    ``log_strength`` is ``(n,)`` for one field or ``(races, n)`` for several of equal size (pad smaller
    fields with ``-inf``: an absent entrant always finishes behind everyone present). ``dnf_prob``
    broadcasts against it. Returns ``orders`` of shape ``(n_sims, n)`` or ``(races, n_sims, n)`` where
    ``orders[..., s, k]`` is the index of the entrant finishing in position ``k + 1`` of simulation ``s``.
    With ``return_retired`` also ``retired[..., s, i]``: entrant ``i`` retired in simulation ``s`` (scores
    nothing, whatever its place behind the finishers).

    The Gumbel-max draw is computed as exponential arrival times: with ``E ~ Exp(1)``, ``-log E`` is a
    standard Gumbel, so ordering ``E * exp(-u)`` ascending is the same as ordering ``u + G`` descending,
    and exponentials are several times cheaper to draw than Gumbels. Finite log-strengths more than
    ``MAX_SPREAD`` below a field's best are raised to that floor (their chance of beating anyone is
    below ``e^-600`` either way) so that the arrival times stay finite.
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, int | np.integer) or n_sims < 1:
        raise ValueError(f"n_sims must be a positive integer, got {n_sims!r}")
    u = _as_strengths(log_strength)
    q = _as_dnf(dnf_prob, u.shape)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    shape = (*u.shape[:-1], int(n_sims), u.shape[-1])
    present = np.isfinite(u)
    top = np.max(np.where(present, u, -np.inf), axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        scale = np.where(present, np.exp(top - np.maximum(u, top - MAX_SPREAD)), np.inf)
    keys = gen.standard_exponential(size=shape)
    retired = None
    if q is not None and q.any():
        retired = (gen.random(shape) < q[..., None, :]) & present[..., None, :]
        # Retired entrants go behind every finisher (all arrival times are below ``behind``) and keep the
        # order of their own exponentials among themselves: a uniformly random order.
        behind = 2.0 * float(keys.max()) * float(np.max(np.where(present, scale, 1.0))) + 1.0
        finished = keys * scale[..., None, :]
        keys = np.where(retired, behind * (1.0 + keys), finished)
    else:
        with np.errstate(invalid="ignore"):
            keys *= scale[..., None, :]
    orders = np.argsort(keys, axis=-1)
    if not return_retired:
        return orders
    return orders, (retired if retired is not None else np.zeros(shape, dtype=bool))


def finishing_positions(orders: ArrayLike) -> NDArray[np.intp]:
    """Invert orders: ``positions[..., s, i]`` is the 0-based position of entrant ``i`` in simulation ``s``
    (any leading shape; a single order ``(n,)`` works too)."""
    o = np.asarray(orders)
    if o.ndim < 1:
        raise ValueError(f"orders must have a last axis of entrants, got shape {o.shape}")
    positions = np.empty_like(o, dtype=np.intp)
    ranks = np.broadcast_to(np.arange(o.shape[-1], dtype=np.intp), o.shape)
    np.put_along_axis(positions, o.astype(np.intp, copy=False), ranks, axis=-1)
    return positions


def position_distribution(orders: ArrayLike) -> NDArray[np.float64]:
    """Share of simulations in which each entrant finished in each position.

    ``orders`` as returned by :func:`sample_orders`; the result is ``(n, n)`` (``(races, n, n)`` for
    several fields) with ``P[i, k]`` the probability that entrant ``i`` finishes in position ``k + 1``.
    Rows and columns each sum to 1.
    """
    o = np.asarray(orders)
    if o.ndim not in (2, 3):
        raise ValueError(f"orders must be (n_sims, n) or (races, n_sims, n), got shape {o.shape}")
    n_sims, n = o.shape[-2], o.shape[-1]
    if n_sims == 0:
        raise ValueError("orders hold no simulations")
    flat = o.reshape(-1, n_sims, n)
    races = flat.shape[0]
    # cell index = race * n*n + entrant * n + position
    cell = flat.astype(np.intp) * n + np.arange(n, dtype=np.intp)
    cell += (np.arange(races, dtype=np.intp) * n * n)[:, None, None]
    counts = np.bincount(cell.ravel(), minlength=races * n * n).reshape(races, n, n)
    dist = counts / float(n_sims)
    return dist[0] if o.ndim == 2 else dist


def win_probabilities(log_strength: ArrayLike) -> NDArray[np.float64]:
    """Exact Plackett–Luce win probabilities: the softmax of log-strengths over the last axis."""
    u = _as_strengths(log_strength)
    z = u - u.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------------------------------ metrics
def _long(p: ArrayLike, position: ArrayLike, what: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    pa = np.asarray(p, dtype=np.float64)
    pos = np.asarray(position, dtype=np.float64)
    if pa.ndim != 1 or pos.shape != pa.shape:
        raise ValueError(f"{what} and position must be 1-D of equal length, got {pa.shape} and {pos.shape}")
    if pa.size == 0:
        raise ValueError(f"{what} is empty: no forecasts to score")
    bad = ~np.isfinite(pa) | (pa < 0) | (pa > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} row {i} is not a probability in [0, 1]: {pa[i]!r}")
    bad = ~np.isfinite(pos) | (pos < 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"position row {i} must be a finishing position >= 1 (events not yet run cannot be "
                         f"scored), got {pos[i]!r}")
    return pa, pos


def _winners(p_win: ArrayLike, position: ArrayLike, event: ArrayLike
             ) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.intp], NDArray[np.intp]]:
    """Validated forecasts, winner flags, event codes and the row of each event's winner."""
    p, pos = _long(p_win, position, "p_win")
    ev = np.asarray(event)
    if ev.shape != p.shape:
        raise ValueError(f"event must have one key per entry ({p.shape[0]}), got shape {ev.shape}")
    keys, codes = np.unique(ev, return_inverse=True)
    total = np.bincount(codes, weights=p, minlength=keys.size)
    off = np.abs(total - 1.0) > _SUM_TOL
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise ValueError(f"win probabilities of event {keys[k]!r} sum to {total[k]:.6f}, not 1 "
                         f"({int(off.sum())} events off)")
    won = pos == 1
    n_won = np.bincount(codes, weights=won, minlength=keys.size)
    bad = n_won != 1
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"event {keys[k]!r} has {int(n_won[k])} entries in position 1; exactly one is needed")
    winner_row = np.empty(keys.size, dtype=np.intp)
    winner_row[codes[won]] = np.flatnonzero(won)
    return p, won, codes, winner_row


def win_log_loss(p_win: ArrayLike, position: ArrayLike, event: ArrayLike) -> float:
    """Mean over events of ``-log p(winner)``; a uniform field of ``n`` scores ``log n``."""
    p, _, _, winner_row = _winners(p_win, position, event)
    return float(-np.mean(np.log(np.clip(p[winner_row], LOG_LOSS_EPS, 1.0))))


def _favourites(p: NDArray[np.float64], codes: NDArray[np.intp], n_events: int) -> NDArray[np.intp]:
    """Row of each event's favourite: highest win probability, the first such row on ties."""
    order = np.lexsort((np.arange(p.size), -p, codes))
    first = np.ones(order.size, dtype=bool)
    first[1:] = codes[order][1:] != codes[order][:-1]
    favourite = np.empty(n_events, dtype=np.intp)
    favourite[codes[order][first]] = order[first]
    return favourite


def top1_accuracy(p_win: ArrayLike, position: ArrayLike, event: ArrayLike) -> float:
    """Share of events whose favourite (highest win probability, first such entry on ties) won."""
    p, _, codes, winner_row = _winners(p_win, position, event)
    return float(np.mean(_favourites(p, codes, winner_row.size) == winner_row))


def expected_top1_accuracy(p_win: ArrayLike, position: ArrayLike, event: ArrayLike) -> float:
    """The top-1 accuracy the forecasts themselves expect: mean over events of the favourite's win probability.

    A calibrated forecaster's realised :func:`top1_accuracy` scatters around this value (binomial, standard
    error ``sqrt(sum p(1-p)) / n_events``), so the pair tells a sharpness limit (low expected value: the
    forecasts are not confident enough to pick more winners) from bad luck or over-confidence in favourites
    (realised well below expected).
    """
    p, _, codes, winner_row = _winners(p_win, position, event)
    return float(np.mean(p[_favourites(p, codes, winner_row.size)]))


def podium_brier(p_podium: ArrayLike, position: ArrayLike, top: int = 3) -> float:
    """Mean squared error of each entry's "finishes in the top ``top``" probability against what happened."""
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    p, pos = _long(p_podium, position, "p_podium")
    return float(np.mean((p - (pos <= top)) ** 2))


def win_ece(p_win: ArrayLike, position: ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error of win probabilities, every entry a binary forecast of winning.

    Entries are put in ``n_bins`` equal-width probability bins; the result is the count-weighted mean of
    ``|mean forecast - win rate|`` per bin. Most entries sit near 0, so look at the reliability table
    (``core.metrics.reliability_table``) too.
    """
    p, pos = _long(p_win, position, "p_win")
    table = reliability_table(p, (pos == 1).astype(np.float64), n_bins=n_bins)
    filled = table.count > 0
    gaps = np.abs(table.mean_predicted[filled] - table.observed_freq[filled])
    return float(np.sum(table.count[filled] * gaps) / table.count.sum())
