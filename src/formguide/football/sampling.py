"""Drawing match scores from score-probability matrices, fast and exactly.

Scores are drawn by inverse CDF over the flattened matrix, with uniforms ``u = bits / 2**32`` from
32 random bits. To avoid a binary search per draw, each fixture gets a guide table over ``2**12``
equal buckets of [0, 1): a bucket that holds no CDF step maps straight to its score, and only the
~1 % of draws landing in a bucket with a step fall back to ``searchsorted``. The result is identical
to ``searchsorted(cdf, u, side="right")`` (bucket edges ``b / 2**12`` are exact in floating point)
and several times faster. Each team's points, goals for and goals against are packed into one
integer per score cell so that a single sum over its fixtures tallies all three.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["GUIDE", "GUIDE_BITS", "cell_codes", "guide_tables", "result_points", "sample_cells", "sampler"]

# Guide-table buckets per fixture; a power of two so that ``u * GUIDE`` and ``b / GUIDE`` are exact.
GUIDE_BITS = 12
GUIDE = 1 << GUIDE_BITS


def result_points(gf: NDArray, ga: NDArray, points: tuple[int, int, int]) -> NDArray[np.int64]:
    """Points of a side scoring ``gf`` and conceding ``ga`` under (win, draw, loss) ``points``."""
    win, draw, loss = points
    return np.where(gf > ga, win, np.where(gf == ga, draw, loss)).astype(np.int64)


def guide_tables(cdf: NDArray[np.float64]) -> NDArray[np.integer]:
    """Per fixture and bucket ``[b, b+1) / GUIDE``: the sampled cell if the bucket holds no CDF step, else -1.

    ``count(cdf <= b/L)`` and ``count(cdf < (b+1)/L)`` bound ``searchsorted(cdf, u, "right")`` for every
    ``u`` in the bucket; equal bounds mean the answer does not depend on where in the bucket ``u`` is.
    """
    m, k = cdf.shape
    scaled = cdf * GUIDE  # exact: power-of-two scale
    offsets = (np.arange(m) * (GUIDE + 1))[:, None]
    size = m * (GUIDE + 1)
    # cdf_j <= b/L  <=>  ceil(cdf_j L) <= b ;  cdf_j < b/L  <=>  floor(cdf_j L) < b
    ceil_counts = np.bincount((np.ceil(scaled).astype(np.int64) + offsets).ravel(), minlength=size)
    floor_counts = np.bincount((np.floor(scaled).astype(np.int64) + offsets).ravel(), minlength=size)
    at_or_below = np.cumsum(ceil_counts.reshape(m, GUIDE + 1), axis=1)[:, :-1]
    below_next = np.cumsum(floor_counts.reshape(m, GUIDE + 1), axis=1)[:, :-1]
    dtype = np.int16 if k < np.iinfo(np.int16).max else np.int32
    return np.where(at_or_below == below_next, at_or_below, -1).astype(dtype)


def sample_cells(
    bits: NDArray[np.uint32], cdf: NDArray[np.float64], guide: NDArray[np.integer]
) -> NDArray[np.integer]:
    """Inverse-CDF draw of a flattened score cell for each (fixture, simulation) of random ``bits``.

    The uniform is ``u = bits / 2**32``, so its guide bucket is just the top ``log2(GUIDE)`` bits.
    """
    m, b = bits.shape
    bucket = bits >> np.uint32(32 - GUIDE_BITS)
    bucket += (np.arange(m, dtype=np.uint32) * np.uint32(GUIDE))[:, None]
    cells = np.take(guide, bucket)
    flat = np.flatnonzero(cells < 0)  # row-major, so grouped by fixture
    if flat.size:
        rows = flat // b
        u = bits.ravel()[flat] * 2.0**-32
        bounds = np.searchsorted(rows, np.arange(m + 1))
        found = np.empty(flat.size, dtype=cells.dtype)
        for i in np.flatnonzero(np.diff(bounds)):
            lo, hi = bounds[i], bounds[i + 1]
            found[lo:hi] = np.searchsorted(cdf[i], u[lo:hi], side="right")
        cells.ravel()[flat] = found
    return cells


def cell_codes(
    rows: int, cols: int, max_fixtures: int, points: tuple[int, int, int]
) -> tuple[NDArray[np.integer], NDArray[np.integer], int]:
    """Per flattened score cell, one packed integer per side: ``(points * B + goals for) * B + goals against``.

    Summing codes over a team's fixtures sums all three fields at once, exactly, because no field
    can reach ``B``; ``divmod`` by ``B`` unpacks them.
    """
    base = 1 << (max(rows, cols) * max_fixtures + 1).bit_length()
    if (max(points) * max_fixtures + 1) * base * base >= 2**62:
        raise ValueError(
            f"score grid {rows}x{cols} with {max_fixtures} fixtures per team is too large to tally"
        )
    hg, ag = np.divmod(np.arange(rows * cols, dtype=np.int64), cols)
    code_home = (result_points(hg, ag, points) * base + hg) * base + ag
    code_away = (result_points(ag, hg, points) * base + ag) * base + hg
    # int32 halves the memory traffic of the per-draw gathers whenever every team total fits.
    dtype = np.int32 if (max(points) * max_fixtures + 1) * base * base < 2**31 else np.int64
    return code_home.astype(dtype), code_away.astype(dtype), base


def sampler(probs: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.integer]]:
    """Flattened CDF per fixture (exactly 1 from the last possible score on) and its guide table."""
    m = probs.shape[0]
    k = probs.shape[1] * probs.shape[2]
    flat = probs.reshape(m, k)
    cdf = np.minimum(np.cumsum(flat, axis=1), 1.0)
    if m == 0:
        return cdf, np.zeros((0, GUIDE), dtype=np.int16)
    last = k - 1 - np.argmax(flat[:, ::-1] > 0, axis=1)
    cdf[np.arange(k) >= last[:, None]] = 1.0
    return cdf, guide_tables(cdf)
