"""Betting markets from score matrices.

A score matrix holds ``P(home goals = i, away goals = j)`` at ``[..., i, j]``; a batch has shape
``(n, Gh + 1, Ga + 1)`` and a single 2-D matrix is treated as a batch of one. Every market is a linear
map of the goal-difference or goal-total distribution, so each function is one matrix product over the
whole batch. Matrices are expected to sum to 1 (models renormalise the truncated grid); they are not
renormalised here.

Asian settlement (``asian_handicap``, ``asian_total``) returns the five outcomes of ``AH_OUTCOMES`` for the
side named in the docstring. Quarter lines split the stake over the two neighbouring lines, which is where
half-wins and half-losses come from; whole lines can push.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

OUTCOMES_1X2 = ("H", "D", "A")
AH_OUTCOMES = ("win", "half_win", "push", "half_loss", "loss")

_WIN, _HALF_WIN, _PUSH, _HALF_LOSS, _LOSS = range(5)


def _as_batch(matrices: ArrayLike) -> NDArray[np.float64]:
    m = np.asarray(matrices, dtype=np.float64)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"score matrices must have shape (n, Gh+1, Ga+1) or (Gh+1, Ga+1), got {m.shape}")
    if m.shape[1] < 1 or m.shape[2] < 1:
        raise ValueError(f"score matrices must have at least one row and column, got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("score matrices contain NaN or infinite entries")
    if (m < 0).any():
        raise ValueError("score matrices contain negative probabilities")
    return m


@lru_cache(maxsize=64)
def _projection(rows: int, cols: int, kind: str) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """One-hot map from flattened (i, j) cells to goal difference ``i - j`` or total ``i + j``."""
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    if kind == "diff":
        values = np.arange(-(cols - 1), rows)
        key = (i - j).ravel() + (cols - 1)
    else:
        values = np.arange(rows + cols - 1)
        key = (i + j).ravel()
    proj = np.zeros((rows * cols, values.size))
    proj[np.arange(rows * cols), key] = 1.0
    proj.setflags(write=False)
    return proj, values


def goal_difference_pmf(matrices: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Distribution of home minus away goals: ``(probs (n, K), differences (K,))``."""
    m = _as_batch(matrices)
    proj, values = _projection(m.shape[1], m.shape[2], "diff")
    return m.reshape(m.shape[0], -1) @ proj, values


def total_goals_pmf(matrices: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Distribution of total goals: ``(probs (n, K), totals (K,))``."""
    m = _as_batch(matrices)
    proj, values = _projection(m.shape[1], m.shape[2], "total")
    return m.reshape(m.shape[0], -1) @ proj, values


def probs_1x2(matrices: ArrayLike) -> NDArray[np.float64]:
    """Home win / draw / away win, shape ``(n, 3)`` in ``OUTCOMES_1X2`` order."""
    pmf, d = goal_difference_pmf(matrices)
    return np.stack([pmf[:, d > 0].sum(axis=1), pmf[:, d == 0].sum(axis=1), pmf[:, d < 0].sum(axis=1)], axis=1)


def _check_half_line(line: float) -> float:
    line = float(line)
    if not np.isfinite(line) or line < 0 or (line * 2) % 2 != 1:
        raise ValueError(f"over/under line must be a non-negative half line such as 2.5, got {line}; "
                         "use asian_total for whole and quarter lines")
    return line


def over_under(matrices: ArrayLike, line: float = 2.5) -> NDArray[np.float64]:
    """``P(total > line)`` and ``P(total < line)`` for a half line, shape ``(n, 2)``."""
    line = _check_half_line(line)
    pmf, t = total_goals_pmf(matrices)
    return np.stack([pmf[:, t > line].sum(axis=1), pmf[:, t < line].sum(axis=1)], axis=1)


def btts(matrices: ArrayLike) -> NDArray[np.float64]:
    """Both teams to score: ``(yes, no)``, shape ``(n, 2)``."""
    m = _as_batch(matrices)
    yes = m[:, 1:, 1:].sum(axis=(1, 2))
    return np.stack([yes, m.sum(axis=(1, 2)) - yes], axis=1)


def correct_score(matrices: ArrayLike, top: int = 5) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The ``top`` most likely scores: ``(scores (n, top, 2) as [home, away], probs (n, top))``, most likely first."""
    m = _as_batch(matrices)
    cells = m.shape[1] * m.shape[2]
    if not 1 <= int(top) <= cells:
        raise ValueError(f"top must be between 1 and {cells} (the number of scores in the grid), got {top}")
    flat = m.reshape(m.shape[0], -1)
    order = np.argsort(-flat, axis=1, kind="stable")[:, : int(top)]
    probs = np.take_along_axis(flat, order, axis=1)
    scores = np.stack(np.divmod(order, m.shape[2]), axis=-1)
    return scores, probs


def _check_quarter_line(line: float) -> float:
    line = float(line)
    if not np.isfinite(line) or (line * 4) % 1 != 0:
        raise ValueError(f"Asian line must be a multiple of 0.25, got {line}")
    return line


@lru_cache(maxsize=256)
def _settlement(values: tuple[int, ...], line: float) -> NDArray[np.float64]:
    """One-hot ``(K, 5)`` settlement of a bet that wins when ``value + line > 0``, split on quarter lines."""
    v = np.asarray(values, dtype=np.float64)
    if (line * 4) % 2 == 1:  # quarter line: half the stake on each neighbouring line
        lo, hi = np.sign(v + line - 0.25), np.sign(v + line + 0.25)
    else:
        lo = hi = np.sign(v + line)
    score = lo + hi  # 2 win, 1 half win, 0 push, -1 half loss, -2 loss
    out = np.zeros((v.size, 5))
    out[np.arange(v.size), (2 - score).astype(np.int64)] = 1.0
    out.setflags(write=False)
    return out


def asian_handicap(matrices: ArrayLike, line: float) -> NDArray[np.float64]:
    """Settlement of a bet on the HOME side with handicap ``line`` added to its goals.

    Returns ``(n, 5)`` probabilities in ``AH_OUTCOMES`` order (win, half_win, push, half_loss, loss). The away
    side at ``-line`` has the same table reversed. Lines are multiples of 0.25 (e.g. -0.75 splits the stake
    over -0.5 and -1.0).
    """
    line = _check_quarter_line(line)
    pmf, d = goal_difference_pmf(matrices)
    return pmf @ _settlement(tuple(d.tolist()), line)


def asian_total(matrices: ArrayLike, line: float) -> NDArray[np.float64]:
    """Settlement of an OVER bet on total goals at ``line`` (any multiple of 0.25), ``(n, 5)`` in ``AH_OUTCOMES`` order.

    The under bet is the same table reversed.
    """
    line = _check_quarter_line(line)
    if line < 0:
        raise ValueError(f"total goals line must be non-negative, got {line}")
    pmf, t = total_goals_pmf(matrices)
    return pmf @ _settlement(tuple(t.tolist()), -line)


def effective_probs(settlement: ArrayLike) -> NDArray[np.float64]:
    """Break-even probabilities of the two sides of an Asian bet from its ``(n, 5)`` settlement table.

    The first column is the side the table describes, the second its opponent; each is ``1 / fair decimal
    odds``, i.e. the win probability of an equivalent two-way bet without pushes or half stakes. Rows where
    every outcome is a push have no price and come back as NaN.
    """
    s = np.asarray(settlement, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != 5:
        raise ValueError(f"settlement table must have shape (n, 5), got {s.shape}")
    gain = s[:, _WIN] + 0.5 * s[:, _HALF_WIN]
    loss = s[:, _LOSS] + 0.5 * s[:, _HALF_LOSS]
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(total > 0, gain / np.where(total > 0, total, 1.0), np.nan)
    return np.stack([p, 1.0 - p], axis=1)
