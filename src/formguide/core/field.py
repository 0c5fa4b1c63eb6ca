"""Many-competitor fields (a race, a heat): Plackett–Luce sampling and position distributions.

A field model gives every entrant a log-strength ``u_i``. Under Plackett–Luce the winner is ``i`` with
probability ``softmax(u)_i``, second place is drawn the same way from those left, and so on. Sorting
``u_i + G_i`` with independent standard Gumbel noise ``G_i`` in descending order gives an exact
Plackett–Luce draw of the whole order (the Gumbel-max trick), so many orders are one argsort of a
``(n_sims, n)`` array instead of ``n`` sequential draws per simulation (computed with exponential arrival
times, see :func:`sample_orders`).

Retirements: a field with a retirement probability per entrant first decides who retires, then orders the
finishers by Plackett–Luce and places the retired after every finisher, in uniformly random order among
themselves (nothing in the strengths says who retires later).

Scoring lives in :mod:`formguide.core.field_metrics`; the probability layer every field forecast goes
through in :mod:`formguide.core.field_forecast`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["MAX_SPREAD", "finishing_positions", "position_distribution", "sample_orders", "win_probabilities"]

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
