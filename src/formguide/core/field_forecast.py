"""The probability layer of field sports: log-strengths and retirement risks -> what each entrant may achieve.

One function, :func:`field_probabilities`, serves every use of a field forecast (backtests, training
evaluation, race predictions, season simulations), so the numbers a user reads in any of them come from
the same place:

* ``p_win`` is exact: ``softmax(u)`` within each event. Utilities are calibrated on winners (a field
  model's temperature is fitted so), so they already carry the chance that a fast car breaks down.
* The rest of the order is drawn with the Gumbel-max trick (exponential arrival times, see
  :func:`formguide.core.field.sample_orders`): the first arrival is the winner, so winners follow
  ``softmax(u)`` exactly. Each other entrant retires with its retirement probability given that it did not
  win, ``q_i = min(1, d_i / (1 - p_win_i))``, so that overall it retires with probability ``d_i``; retired
  entrants are placed behind every finisher in random order and score nothing. The finishers behind the
  winner keep the Plackett-Luce order of their arrival times (memoryless: given the winner, the others'
  order is Plackett-Luce among themselves).
* ``p_podium`` / ``p_points``: finishing (not retired) in the first 3 / the scoring places; both are
  scored by reliability tables in every backtest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.field import MAX_SPREAD, finishing_positions

__all__ = ["FieldForecast", "event_codes", "field_probabilities", "fit_temperature", "group_softmax",
           "sample_finishes"]

_NEG_INF = -np.inf


def event_codes(event: ArrayLike) -> tuple[NDArray[np.intp], int]:
    """Integer code of each row's event (order of first appearance) and the number of events."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(event)), sort=False)
    if (codes < 0).any():
        raise ValueError("event ids must not be missing")
    return codes.astype(np.intp), len(uniques)


def group_softmax(u: ArrayLike, event: ArrayLike) -> NDArray[np.float64]:
    """Softmax of utilities within each event (``-inf`` = cannot win); each event sums to 1."""
    u = np.asarray(u, dtype=np.float64)
    codes, n = event_codes(event)
    if np.isnan(u).any():
        i = int(np.flatnonzero(np.isnan(u))[0])
        raise ValueError(f"utility of row {i} is NaN; every entry of a predicted event needs a utility")
    top = np.full(n, _NEG_INF)
    np.maximum.at(top, codes, u)
    if np.isneginf(top).any():
        raise ValueError("an event has no entrant with a finite utility")
    e = np.exp(u - top[codes])
    return e / np.bincount(codes, weights=e, minlength=n)[codes]


def fit_temperature(u: ArrayLike, event: ArrayLike, won: ArrayLike, bounds: tuple[float, float] = (0.02, 20.0)
                    ) -> float:
    """The ``a`` maximising the winners' log-likelihood of ``softmax(a * u)`` per event (a 1-D convex fit)."""
    from scipy.optimize import minimize_scalar

    u = np.asarray(u, dtype=np.float64)
    won = np.asarray(won, dtype=bool)
    codes, n = event_codes(event)
    has_winner = np.bincount(codes, weights=won, minlength=n) == 1
    keep = has_winner[codes] & np.isfinite(u)
    if not keep.any():
        raise ValueError("no event with exactly one winner to fit a temperature on")
    u, won, event_k = u[keep], won[keep], np.asarray(event)[keep]
    codes, n = event_codes(event_k)
    u_win = u[won]

    def nll(a: float) -> float:
        z = a * u
        top = np.full(n, _NEG_INF)
        np.maximum.at(top, codes, z)
        lse = top + np.log(np.bincount(codes, weights=np.exp(z - top[codes]), minlength=n))
        return float(np.sum(lse[codes[won]] - a * u_win))

    res = minimize_scalar(nll, bounds=bounds, method="bounded", options={"xatol": 1e-4})
    return float(res.x)


def _padded(values: NDArray[np.float64], codes: NDArray[np.intp], n: int, fill: float
            ) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """(events, largest field) matrix of per-row values padded with ``fill``, and each row's column in it."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    col = np.empty(codes.size, dtype=np.intp)
    col[order] = np.arange(codes.size) - np.repeat(starts, counts)
    mat = np.full((n, int(counts.max(initial=1))), fill)
    mat[codes, col] = values
    return mat, col


@dataclass(frozen=True)
class FieldForecast:
    """Per-row probabilities of a field forecast (rows in the order given), plus positions when asked for.

    ``positions[i, k]``: probability that row ``i`` finishes ``k + 1``-th (retired entrants are placed
    behind the finishers); ``expected_points`` when a points table was given.
    """

    frame: pd.DataFrame
    positions: NDArray[np.float64] | None = None


def _check_dnf(dnf_prob: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    if dnf_prob is None:
        return None
    d = np.broadcast_to(np.asarray(dnf_prob, dtype=np.float64), (n,)).astype(np.float64)
    bad = ~np.isfinite(d) | (d < 0) | (d > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"retirement probability of row {i} is {d[i]!r}, not a probability in [0, 1]")
    return d


def field_probabilities(u: ArrayLike, event: ArrayLike, *, dnf_prob: ArrayLike | None = None,
                        n_sims: int = 20000, seed: int | np.random.Generator | None = 0, podium: int = 3,
                        points: int | ArrayLike = 10, points_table: ArrayLike | None = None,
                        positions: bool = False, chunk_cells: int = 4_000_000) -> FieldForecast:
    """``p_win`` (exact), ``p_podium``, ``p_points``, ``p_retire`` and ``expected_position`` of every row.

    ``u``: calibrated log-strengths; ``event``: event key per row; ``dnf_prob``: retirement probability per
    row (None: nobody retires). ``points``: scoring places, one number or one per row (constant within an
    event). ``points_table``: points by finishing place (adds ``expected_points``). Events are simulated
    together, padded to the largest field with absent entrants, in chunks of about ``chunk_cells`` draws.
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, int | np.integer) or n_sims < 1:
        raise ValueError(f"n_sims must be a positive integer, got {n_sims!r}")
    u = np.asarray(u, dtype=np.float64)
    codes, n_events = event_codes(event)
    p_win = group_softmax(u, event)
    d = _check_dnf(dnf_prob, u.size)
    places = np.broadcast_to(np.asarray(points, dtype=np.int64), (u.size,))
    mat, col = _padded(u, codes, n_events, _NEG_INF)
    width = mat.shape[1]
    event_places = np.zeros(n_events, dtype=np.int64)
    event_places[codes] = places
    q = None if d is None else _padded(_conditional_dnf(d, p_win), codes, n_events, 0.0)[0]
    table = None if points_table is None else np.pad(np.asarray(points_table, dtype=np.float64),
                                                     (0, max(0, width - len(points_table))))[:width]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    step = max(1, int(chunk_cells // max(1, int(n_sims) * width)))
    out = {k: np.zeros((n_events, width)) for k in ("p_podium", "p_points", "p_retire", "expected_position",
                                                    "expected_points")}
    dist = np.zeros((n_events, width, width)) if positions else None
    for lo in range(0, n_events, step):
        hi = min(n_events, lo + step)
        orders, retired = _simulate(mat[lo:hi], None if q is None else q[lo:hi], int(n_sims), rng)
        pos = finishing_positions(orders)
        finished = ~retired
        out["p_podium"][lo:hi] = ((pos < podium) & finished).mean(axis=1)
        out["p_points"][lo:hi] = ((pos < event_places[lo:hi, None, None]) & finished).mean(axis=1)
        out["p_retire"][lo:hi] = retired.mean(axis=1)
        out["expected_position"][lo:hi] = (pos + 1).mean(axis=1)
        if table is not None:
            out["expected_points"][lo:hi] = np.where(finished, table[pos], 0.0).mean(axis=1)
        if dist is not None:  # cell (entrant i, place k) counted by one bincount per event
            flat = np.arange(width) * width
            for k in range(hi - lo):
                counts = np.bincount((pos[k] + flat).ravel(), minlength=width * width)
                dist[lo + k] = counts.reshape(width, width) / n_sims
    cell = (codes, col)
    frame = pd.DataFrame({"p_win": p_win, **{k: v[cell] for k, v in out.items()
                                            if k != "expected_points" or table is not None}})
    return FieldForecast(frame, None if dist is None else dist[cell])


def _conditional_dnf(d: NDArray[np.float64], p_win: NDArray[np.float64]) -> NDArray[np.float64]:
    """Retirement probability given that the entrant did not win, so that it retires with ``d`` overall."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p_win < 1.0, np.minimum(1.0, d / np.maximum(1.0 - p_win, 1e-300)), 0.0)


def sample_finishes(log_strength: ArrayLike, dnf_prob: ArrayLike | None, n_sims: int,
                    rng: np.random.Generator | int | None = None) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Orders and retirements drawn by the layer (winner exact, retirements given not winning).

    ``log_strength`` is ``(n,)`` for one field or ``(events, n)`` for several padded with ``-inf``;
    ``dnf_prob`` broadcasts against it. Returns ``orders[..., s, k]`` (the entrant finishing ``k + 1``-th in
    simulation ``s``) and ``retired[..., s, i]``, shaped ``(n_sims, n)`` or ``(events, n_sims, n)``.
    """
    u = np.asarray(log_strength, dtype=np.float64)
    single = u.ndim == 1
    mat = u[None, :] if single else u
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    q = None
    if dnf_prob is not None:
        d = np.broadcast_to(np.asarray(dnf_prob, dtype=np.float64), mat.shape)
        present = np.isfinite(mat)
        top = np.max(np.where(present, mat, -np.inf), axis=-1, keepdims=True)
        e = np.where(present, np.exp(mat - top), 0.0)
        q = _conditional_dnf(d, e / e.sum(axis=-1, keepdims=True))
    orders, retired = _simulate(mat, q, int(n_sims), gen)
    return (orders[0], retired[0]) if single else (orders, retired)


def _simulate(u: NDArray[np.float64], q: NDArray[np.float64] | None, n_sims: int, rng: np.random.Generator
              ) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Orders and retirements ``(events, n_sims, width)`` of padded fields (see the module doc)."""
    present = np.isfinite(u)
    top = np.max(np.where(present, u, -np.inf), axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        scale = np.where(present, np.exp(top - np.maximum(u, top - MAX_SPREAD)), np.inf)
    shape = (u.shape[0], n_sims, u.shape[1])
    keys = rng.standard_exponential(size=shape)
    if q is None or not q.any():
        with np.errstate(invalid="ignore"):
            keys *= scale[:, None, :]
        return np.argsort(keys, axis=-1), np.zeros(shape, dtype=bool)
    arrival = keys * scale[:, None, :]
    winner = np.argmin(arrival, axis=-1)
    retired = (rng.random(shape) < q[:, None, :]) & present[:, None, :]
    np.put_along_axis(retired, winner[..., None], False, axis=-1)
    behind = 2.0 * float(keys.max()) * float(np.max(np.where(present, scale, 1.0))) + 1.0
    keys = np.where(retired, behind * (1.0 + keys), arrival)
    return np.argsort(keys, axis=-1), retired
