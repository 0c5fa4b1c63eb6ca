"""The Plackett-Luce likelihood of race results: stage by stage, who finished next among those left.

Training rows are laid out as a (races, largest field) matrix by finishing order (:class:`RaceLayout`), so
the log-likelihood of every race and its gradient with respect to each entry's utility are a few
vectorised cumulative sums (:func:`plackett_luce_loglik`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from formguide.core.field_forecast import event_codes

__all__ = ["RaceLayout", "plackett_luce_loglik"]

_NEG_INF = -np.inf


class RaceLayout:
    """Training rows arranged as (races, max field) by finishing order, with the stages that count."""

    def __init__(self, race: ArrayLike, position: ArrayLike, classified: ArrayLike | None,
                 top_k: int | None) -> None:
        pos = np.asarray(position, dtype=np.float64)
        codes, n = event_codes(race)
        order = np.lexsort((np.arange(pos.size), pos, codes))
        counts = np.bincount(codes, minlength=n)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        col = np.empty(pos.size, dtype=np.intp)
        col[order] = np.arange(pos.size) - np.repeat(starts, counts)
        if top_k is None:
            cls = np.ones(pos.size) if classified is None else np.asarray(classified, dtype=np.float64)
            stages = np.bincount(codes, weights=np.nan_to_num(cls), minlength=n)
        else:
            stages = np.full(n, float(top_k))
        stages = np.clip(stages, 1, np.maximum(counts - 1, 0)).astype(np.intp)  # the last place is no choice
        width = int(counts.max(initial=1))
        self.codes, self.col, self.n_races, self.width = codes, col, n, width
        self.present = np.zeros((n, width), dtype=bool)
        self.present[codes, col] = True
        self.stage = np.arange(width)[None, :] < stages[:, None]
        self.counts = counts


def plackett_luce_loglik(u: ArrayLike, layout: RaceLayout) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-race log-likelihood of the (top-k) finishing order and its gradient with respect to each ``u``.

    Stage ``j`` picks the ``j``-th finisher from those not placed yet: ``u_(j) - log sum_{t >= j} exp u_(t)``.
    The gradient of row ``i`` is ``1[i is a stage pick] - exp(u_i) * sum_{stages j <= pos_i} 1 / D_j``.
    """
    u = np.asarray(u, dtype=np.float64)
    L = layout
    mat = np.full((L.n_races, L.width), _NEG_INF)
    mat[L.codes, L.col] = u
    top = mat.max(axis=1, keepdims=True)
    e = np.exp(mat - top)
    denom = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]  # D_j = sum_{t >= j} e_t
    with np.errstate(divide="ignore"):
        log_d = np.log(denom) + top
    picked = np.where(L.stage, mat, 0.0)
    ll = np.sum(picked - np.where(L.stage, log_d, 0.0), axis=1)
    inv = np.where(L.stage, 1.0 / np.where(denom > 0, denom, 1.0), 0.0)
    grad_mat = L.stage.astype(np.float64) - e * np.cumsum(inv, axis=1)
    return ll, grad_mat[L.codes, L.col]
