"""Fingerprints: what a fit depends on, as one sha256, so an unchanged fit is skipped or reused."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from formguide.core.jsonio import canonical_json

__all__ = ["fingerprint_frame", "training_fingerprint"]


def fingerprint_frame(frame: pd.DataFrame, columns: list[str]) -> str:
    """Stable sha256 over the given columns: changes whenever any value the model could see changes."""
    hashed = pd.util.hash_pandas_object(frame[columns].reset_index(drop=True), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def training_fingerprint(frame: pd.DataFrame, fs_version: str, config: dict[str, Any], *,
                         id_columns: tuple[str, ...] = ("event_id",)) -> str:
    """What a training run depends on: every value of the frame (store ids excluded, they carry no
    information), the feature-set version and the configuration. Equal fingerprints mean a retrain
    would reproduce the same model, so it is skipped."""
    cols = [c for c in frame.columns if c not in id_columns]
    h = hashlib.sha256()
    h.update(fingerprint_frame(frame, cols).encode())
    h.update(fs_version.encode())
    h.update(canonical_json(config))
    return h.hexdigest()
