"""Feature drift between a reference sample and a current one: PSI and Jensen–Shannon on fixed bins, and how
often the fixed thresholds fire on unchanged data (a permutation calibration).

**Bins** are fixed by the reference alone, so the current sample is compared with one frozen picture of it:

* a numeric column with more than ``max_categories`` distinct reference values gets ``n_bins`` quantile bins of
  the reference (inner edges at the 1/n_bins ... (n_bins-1)/n_bins quantiles, linear interpolation), open at both
  ends (``(-inf, e1], (e1, e2], ..., (e_last, inf)``), so current values outside the reference's range still land
  in the first or last bin; tied quantiles (a zero-inflated column) leave empty bins, which add nothing;
* a boolean, categorical or text column, or a numeric one with at most ``max_categories`` distinct reference values
  (counts, flags stored as 0/1), is binned by value: one bin per reference value plus one for values the reference
  never had;
* missing values (NaN/None) are a bin of their own in both cases (a feature that starts missing is drift too).

**PSI** = sum over bins of ``(q - p) ln(q / p)`` (natural log), ``p`` the reference share and ``q`` the current
share, where an empty bin's share is replaced by ``EPS = 1e-4`` before the logarithm (not renormalised), as
Evidently does; every term is ``>= 0``, so PSI is ``>= 0`` and exactly 0 when both samples fill the bins alike.
**JS** is the Jensen–Shannon *distance* (the square root of the divergence) in base 2, on the same bins and the
raw shares (no epsilon: it is finite with empty bins), so it lies in [0, 1] and is symmetric. The states use the
thresholds Evidently and NannyML default to: PSI < 0.1 ``ok``, < 0.25 ``warn``, else ``alert``.

**False alarms.** Fixed thresholds ignore sample size: with a few dozen current rows PSI exceeds 0.1 by chance
alone. :func:`permutation_calibration` pools reference and current, shuffles and splits them at the same sizes
``B`` times (seeded), re-derives the bins from each shuffled reference exactly as above and reports the share of
shuffles whose PSI exceeds 0.1 and 0.25 (the false-alarm rate of the thresholds at these sample sizes, on data
that did not change) and the permutation p-value ``(1 + #{PSI_perm >= PSI_obs}) / (B + 1)`` of the observed PSI.
Everything is vectorised over rows and shuffles (no per-row Python loop).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["ALERT", "EPS", "WARN", "Binning", "FeatureDrift", "binning", "drift_state", "drift_table",
           "js_distance", "permutation_calibration", "psi", "shares", "shuffles"]

#: Share given to an empty bin inside PSI's logarithm (Evidently's value).
EPS = 1e-4
#: PSI thresholds (Evidently and NannyML defaults).
WARN, ALERT = 0.1, 0.25
N_BINS = 10
MAX_CATEGORIES = 10
PERMUTATIONS = 200
SEED = 20240601


@dataclass(frozen=True)
class Binning:
    """Fixed bins of one column: quantile ``edges`` of a numeric column or the reference's ``categories``."""

    kind: str  # "quantile" | "categorical"
    edges: NDArray[np.float64] | None = None
    categories: tuple | None = None

    @property
    def n_bins(self) -> int:
        """Bins including the missing bin (and the unseen-value bin of a categorical column)."""
        if self.kind == "quantile":
            assert self.edges is not None
            return len(self.edges) + 2
        assert self.categories is not None
        return len(self.categories) + 2

    def assign(self, values: pd.Series | NDArray) -> NDArray[np.intp]:
        """Bin index of every value; the last bin is "missing"."""
        s = pd.Series(values) if not isinstance(values, pd.Series) else values
        missing = s.isna().to_numpy()
        if self.kind == "quantile":
            assert self.edges is not None
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
            idx = np.searchsorted(self.edges, np.where(missing, 0.0, x), side="left")
        else:
            assert self.categories is not None
            codes = pd.Index(self.categories).get_indexer(s.where(~missing, None))
            idx = np.where(codes < 0, len(self.categories), codes)
        return np.where(missing, self.n_bins - 1, idx).astype(np.intp)


def _is_categorical(ref: pd.Series, max_categories: int) -> bool:
    if isinstance(ref.dtype, pd.CategoricalDtype) or ref.dtype == bool or not pd.api.types.is_numeric_dtype(ref):
        return True
    return ref.dropna().nunique() <= max_categories


def binning(ref: pd.Series, *, n_bins: int = N_BINS, max_categories: int = MAX_CATEGORIES) -> Binning:
    """The fixed bins of a column, from its reference values alone (see the module docstring)."""
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins}")
    if _is_categorical(ref, max_categories):
        values = ref.dropna()
        return Binning("categorical", categories=tuple(pd.unique(values)))
    x = ref.dropna().to_numpy(dtype=np.float64)
    if x.size == 0:  # nothing but missing values: one missing bin
        return Binning("categorical", categories=())
    return Binning("quantile", edges=np.quantile(x, np.arange(1, n_bins) / n_bins))


def shares(idx: NDArray[np.intp], n_bins: int) -> NDArray[np.float64]:
    """Share of the rows in each bin (all zeros for an empty sample)."""
    counts = np.bincount(idx, minlength=n_bins).astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


def psi(p: NDArray[np.float64], q: NDArray[np.float64], eps: float = EPS) -> NDArray[np.float64] | float:
    """Population stability index of shares ``q`` (current) against ``p`` (reference); last axis = bins."""
    pe = np.where(p == 0, eps, p)
    qe = np.where(q == 0, eps, q)
    out = np.sum((qe - pe) * np.log(qe / pe), axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def js_distance(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64] | float:
    """Jensen–Shannon distance in base 2 (in [0, 1], symmetric) of two share vectors; last axis = bins."""
    m = (p + q) / 2

    def kl(a: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log2(np.where(a > 0, a, 1.0) / np.where(m > 0, m, 1.0)), 0.0)
        return np.sum(terms, axis=-1)

    out = np.sqrt(np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0))
    return float(out) if np.ndim(out) == 0 else out


def drift_state(value: float) -> str:
    """``ok`` / ``warn`` / ``alert`` of a PSI by the fixed thresholds."""
    return "alert" if value >= ALERT else "warn" if value >= WARN else "ok"


def _counts(idx: NDArray[np.intp], k: int) -> NDArray[np.float64]:
    """(B, k) bin counts of a (B, m) array of bin indices in [0, k): one bincount over row-offset indices."""
    B = idx.shape[0]
    flat = (idx + (np.arange(B) * k)[:, None]).ravel()
    return np.bincount(flat, minlength=B * k).reshape(B, k).astype(np.float64)


def _permuted_shares(pooled: pd.Series, b: Binning, n_ref: int, perms: NDArray[np.intp], n_bins: int
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(B, bins) reference and current shares of every shuffle, bins re-derived from each shuffled reference."""
    B, n = perms.shape
    if b.kind == "categorical":
        # by-value bins: a shuffled reference's categories are those it holds; current values it lacks go to
        # the "unseen" bin, as they would for real data; missing values to their own bin
        codes, cats = pd.factorize(pooled, use_na_sentinel=True)
        k = len(cats)
        shuffled = np.where(codes < 0, k, codes)[perms]  # (B, n), k = missing
        ref, cur = _counts(shuffled[:, :n_ref], k + 1), _counts(shuffled[:, n_ref:], k + 1)
        seen = ref[:, :k] > 0
        unseen = np.where(seen, 0.0, cur[:, :k]).sum(axis=1, keepdims=True)
        ref_bins = np.concatenate([ref[:, :k], np.zeros((B, 1)), ref[:, k:]], axis=1)
        cur_bins = np.concatenate([np.where(seen, cur[:, :k], 0.0), unseen, cur[:, k:]], axis=1)
        return ref_bins / n_ref, cur_bins / (n - n_ref)
    x = pd.to_numeric(pooled, errors="coerce").to_numpy(dtype=np.float64)
    return _quantile_shares(x, n_ref, perms, n_bins)


def _quantile_shares(x: NDArray[np.float64], n_ref: int, perms: NDArray[np.intp], n_bins: int
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Quantile-bin shares of every shuffle in O(B n): the pooled values are sorted once; a running count of
    reference members along that order gives each shuffle's order statistics (its quantile edges, linear
    interpolation as ``np.quantile``) and how many reference values lie at or below each edge."""
    B, n = perms.shape
    finite = ~np.isnan(x)
    in_ref = np.zeros((B, n), dtype=bool)
    np.put_along_axis(in_ref, perms[:, :n_ref], True, axis=1)
    order = np.argsort(x[finite], kind="stable")
    s, m = x[finite][order], int(finite.sum())
    member = in_ref[:, finite][:, order]  # (B, m): is the r-th smallest pooled value in shuffle b's reference
    cs = np.zeros((B, m + 1), dtype=np.int64)
    np.cumsum(member, axis=1, out=cs[:, 1:])  # reference values among the r smallest
    n_valid = cs[:, -1]
    offsets = (np.arange(B, dtype=np.int64) * (m + 1))[:, None]  # rows kept apart in one flat sorted array
    flat = (cs[:, 1:] + offsets).ravel()

    def kth(k: NDArray[np.int64]) -> NDArray[np.float64]:
        """The k-th smallest (0-based) reference value of each shuffle, k of shape (B, j)."""
        pos = np.searchsorted(flat, (k + 1 + offsets).ravel(), side="left") - (np.arange(B) * m).repeat(k.shape[1])
        return s[np.clip(pos, 0, max(m - 1, 0))].reshape(k.shape)

    h = np.maximum(n_valid[:, None] - 1, 0) * (np.arange(1, n_bins) / n_bins)[None, :]
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n_valid[:, None] - 1, 0))
    v_lo = kth(lo) if m else np.zeros(lo.shape)
    v_hi = kth(hi) if m else np.zeros(lo.shape)
    edges = v_lo + (h - lo) * (v_hi - v_lo)
    at_or_below = np.searchsorted(s, edges.ravel(), side="right").reshape(edges.shape)  # pooled values <= edge
    ref_le = np.take_along_axis(cs, at_or_below, axis=1)
    ref = np.diff(np.concatenate([np.zeros((B, 1), np.int64), ref_le, n_valid[:, None]], axis=1), axis=1)
    cur = np.diff(np.concatenate([np.zeros((B, 1), np.int64), at_or_below - ref_le, (m - n_valid)[:, None]],
                                 axis=1), axis=1)
    ref_bins = np.concatenate([ref, (n_ref - n_valid)[:, None]], axis=1).astype(np.float64)
    cur_bins = np.concatenate([cur, ((n - n_ref) - (m - n_valid))[:, None]], axis=1).astype(np.float64)
    return ref_bins / n_ref, cur_bins / (n - n_ref)


def permutation_calibration(reference: pd.Series, current: pd.Series, *, permutations: int = PERMUTATIONS,
                            seed: int = SEED, n_bins: int = N_BINS, max_categories: int = MAX_CATEGORIES,
                            observed: float | None = None, perms: NDArray[np.intp] | None = None
                            ) -> dict[str, float]:
    """False-alarm rates of the PSI thresholds on unchanged data, and the observed PSI's permutation p-value.

    ``reference`` and ``current`` are pooled and split at their own sizes ``permutations`` times (a
    ``numpy.random.default_rng(seed)`` permutation each; ``perms`` gives them instead, one row per shuffle, so a
    table of features shares one set); see the module docstring."""
    pooled = pd.concat([reference, current], ignore_index=True)
    n_ref, n = len(reference), len(pooled)
    if perms is None:
        perms = shuffles(n, permutations, seed)
    permutations = perms.shape[0]
    kind = binning(reference, n_bins=n_bins, max_categories=max_categories)
    p, q = _permuted_shares(pooled, kind, n_ref, perms, n_bins)
    values = np.asarray(psi(p, q))
    if observed is None:
        observed = float(psi(*_observed_shares(reference, current, kind)))
    return {"false_alarm_warn": float(np.mean(values > WARN)), "false_alarm_alert": float(np.mean(values > ALERT)),
            "p_value": float((1 + np.sum(values >= observed - 1e-12)) / (permutations + 1)),
            "psi_null_median": float(np.median(values)), "psi_null_p95": float(np.quantile(values, 0.95))}


def shuffles(n: int, permutations: int = PERMUTATIONS, seed: int = SEED) -> NDArray[np.intp]:
    """``(permutations, n)`` seeded shuffles of ``range(n)``."""
    if permutations < 1:
        raise ValueError(f"permutations must be at least 1, got {permutations}")
    return np.random.default_rng(seed).permuted(np.broadcast_to(np.arange(n), (permutations, n)), axis=1)


def _observed_shares(reference: pd.Series, current: pd.Series, b: Binning
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return shares(b.assign(reference), b.n_bins), shares(b.assign(current), b.n_bins)


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift: PSI, JS, the sample sizes, the state and (when calibrated) the false-alarm rates."""

    feature: str
    psi: float
    js: float
    n_ref: int
    n_cur: int
    state: str
    binning: str
    n_bins: int
    #: Share of missing values on each side (the missing bin: a feature that starts or stops being missing).
    missing_ref: float = 0.0
    missing_cur: float = 0.0
    false_alarm_warn: float | None = None
    false_alarm_alert: float | None = None
    p_value: float | None = None
    psi_null_median: float | None = None
    psi_null_p95: float | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def drift_table(reference: pd.DataFrame, current: pd.DataFrame, *, n_bins: int = N_BINS,
                max_categories: int = MAX_CATEGORIES, permutations: int = PERMUTATIONS, seed: int = SEED
                ) -> dict[str, FeatureDrift]:
    """Per feature of ``reference`` (columns ``current`` shares): PSI, JS, sizes, state, permutation calibration.

    ``permutations=0`` skips the calibration (its fields stay None). Columns missing from ``current`` are an
    error: comparing a feature with nothing is a bug upstream, not drift."""
    missing = [c for c in reference.columns if c not in current.columns]
    if missing:
        raise ValueError(f"current rows lack feature columns: {', '.join(map(str, missing[:5]))}")
    if reference.empty or current.empty:
        raise ValueError(f"drift needs rows on both sides: {len(reference)} reference, {len(current)} current")
    out: dict[str, FeatureDrift] = {}
    perms = shuffles(len(reference) + len(current), permutations, seed) if permutations else None
    for col in reference.columns:
        ref, cur = reference[col], current[col]
        b = binning(ref, n_bins=n_bins, max_categories=max_categories)
        p, q = _observed_shares(ref, cur, b)
        value = float(psi(p, q))
        cal = (permutation_calibration(ref, cur, permutations=permutations, seed=seed, n_bins=n_bins,
                                       max_categories=max_categories, observed=value, perms=perms) if permutations else {})
        out[str(col)] = FeatureDrift(feature=str(col), psi=value, js=float(js_distance(p, q)), n_ref=len(ref),
                                     n_cur=len(cur), state=drift_state(value), binning=b.kind, n_bins=b.n_bins,
                                     missing_ref=float(ref.isna().mean()), missing_cur=float(cur.isna().mean()), **cal)
    return out
