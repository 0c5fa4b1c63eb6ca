"""Football market views of the canonical frame: de-margined 1X2 probabilities and best prices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.core.markets import remove_overround

OUTCOMES = ("H", "D", "A")


def odds_matrix(frame: pd.DataFrame, kind: str, outcomes: tuple[str, ...] = OUTCOMES) -> np.ndarray:
    """(n, k) decimal prices of ``odds_<kind>_<outcome>`` columns; NaN where absent."""
    cols = [f"odds_{kind}_{o}" for o in outcomes]
    if not set(cols) <= set(frame.columns):
        return np.full((len(frame), len(outcomes)), np.nan)
    return frame[cols].to_numpy(dtype=float, na_value=np.nan)


def market_probabilities(frame: pd.DataFrame, which: str = "close", method: str = "multiplicative") -> np.ndarray:
    """De-margined 1X2 probabilities from the opening, closing or latest known (closing else opening) prices."""
    if which not in ("open", "close", "latest"):
        raise ValueError(f"which must be open, close or latest, got {which!r}")
    if which == "latest":
        close = odds_matrix(frame, "close")
        opening = odds_matrix(frame, "open")
        use_close = ~np.isnan(close).any(axis=1)
        odds = np.where(use_close[:, None], close, opening)
    else:
        odds = odds_matrix(frame, which)
    out = np.full(odds.shape, np.nan)
    ok = ~np.isnan(odds).any(axis=1) & (odds > 1.0).all(axis=1)
    if ok.any():
        out[ok] = remove_overround(odds[ok], method)
    return out
