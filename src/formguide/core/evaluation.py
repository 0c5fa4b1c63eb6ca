"""Small evaluation helpers: the base-rate baseline and the frame fingerprint (walk-forward: ``walkforward``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def base_rates(outcome: np.ndarray, n_classes: int, prior: float = 1.0) -> np.ndarray:
    """Class frequencies with a small additive prior: the naive baseline every model must beat."""
    counts = np.bincount(outcome[outcome >= 0], minlength=n_classes).astype(float) + prior
    return counts / counts.sum()


def fingerprint_frame(frame: pd.DataFrame, columns: list[str]) -> str:
    """Stable sha256 over the given columns: changes whenever any value the model could see changes."""
    import hashlib

    hashed = pd.util.hash_pandas_object(frame[columns].reset_index(drop=True), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()
