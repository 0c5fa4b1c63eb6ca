"""Naive F1 baselines, scored by the same walk-forward and probability layer as every model.

Each gives win probabilities from a slot per entry (grid slot, championship standing): the historical win
rate of that slot over the last ``seasons`` seasons of training races, renormalised per race; the
log-probabilities are its strengths. :class:`GridBaseline` (P(win | grid slot)), :class:`PoleBaseline`
(the pole-sitter gets the historical pole win rate) and :class:`LeaderBaseline` (the championship leader gets
the historical leader win rate).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.core.field_forecast import event_codes, group_softmax

__all__ = ["BASELINE_TYPES", "GridBaseline", "LeaderBaseline", "PoleBaseline"]


_P_FLOOR = 1e-9


def _slot_rates(slot: NDArray[np.float64], won: NDArray[np.bool_], max_slot: int) -> NDArray[np.float64]:
    """Win rate per slot 1..max_slot: Laplace-smoothed frequencies, made non-increasing (weighted PAV).

    Slots never seen take the rate of the nearest better slot seen.
    """
    from sklearn.isotonic import IsotonicRegression

    s = np.clip(slot, 1, max_slot).astype(np.intp) - 1
    starts = np.bincount(s, minlength=max_slot).astype(np.float64)
    wins = np.bincount(s, weights=won.astype(np.float64), minlength=max_slot)
    seen = starts > 0
    if not seen.any():
        return np.full(max_slot, 1.0 / max_slot)
    x = np.flatnonzero(seen) + 1.0
    rate = (wins[seen] + 0.5) / (starts[seen] + 1.0)
    fitted = IsotonicRegression(increasing=False).fit(x, rate, sample_weight=starts[seen]).predict(x)
    out = np.full(max_slot, np.nan)
    out[seen] = fitted
    return pd.Series(out).ffill().bfill().to_numpy()


class _Baseline(BaseEstimator, ABC):
    """Win probabilities from a slot (grid, standing) per entry, renormalised per race."""

    model_type = "baseline"

    def __init__(self, seasons: int = 10, max_slot: int = 30) -> None:
        self.seasons = seasons
        self.max_slot = max_slot

    @abstractmethod
    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        ...

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> _Baseline:
        if len(frame) != len(X):
            raise ValueError(f"frame has {len(frame)} rows but the feature rows {len(X)}; they must be aligned")
        run = frame["position"].notna().to_numpy().copy()
        season = frame["season"].to_numpy()
        if run.any():
            run &= season > season[run].max() - self.seasons
        slot = self._slots(frame, X)
        ok = run & np.isfinite(slot)
        won = frame["position"].to_numpy(dtype=np.float64) == 1
        self.rates_ = _slot_rates(slot[ok], won[ok], self.max_slot)
        return self

    def _weights(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        check_is_fitted(self, "rates_")
        slot = self._slots(frame, X)
        rate = np.where(np.isfinite(slot), self.rates_[np.clip(np.nan_to_num(slot, nan=1), 1, self.max_slot)
                                                        .astype(np.intp) - 1], np.nan)
        race = frame["race_id"].to_numpy()
        # a race with no slot known at all: every entry alike; otherwise an unknown slot cannot win
        any_known = pd.Series(np.isfinite(slot)).groupby(race, sort=False).transform("any").to_numpy()
        return np.where(np.isfinite(rate), rate, np.where(any_known, _P_FLOOR, 1.0))

    def predict_win_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        """``(n,)`` win probability of each entry within its race."""
        w = self._weights(frame, X)
        race = frame["race_id"].to_numpy()
        return group_softmax(np.log(w), race)

    def predict_strength(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        """``(n,)`` log-strength of each entry (the log of its win probability)."""
        return np.log(np.maximum(self.predict_win_proba(frame, X), _P_FLOOR))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.model_type, "params": self.get_params(), "rates": self.rates_.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Baseline:
        m = cls(**data["params"])
        m.rates_ = np.asarray(data["rates"], dtype=np.float64)
        return m


def _grid_slots(frame: pd.DataFrame) -> NDArray[np.float64]:
    """Starting slot per entry (pit lane behind the last slot), as the grid features define it."""
    from formguide.f1.features import _grid_slot

    return _grid_slot(frame)


class GridBaseline(_Baseline):
    """P(win | grid slot) from the last ``seasons`` seasons of training races, renormalised per race."""

    model_type = "grid"

    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _grid_slots(frame)


class PoleBaseline(_Baseline):
    """The pole-sitter gets the historical pole win rate; the rest share what is left by grid-slot rate."""

    model_type = "pole"

    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _grid_slots(frame)

    def predict_win_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _leader_share(self._slots(frame, X), super().predict_win_proba(frame, X), self.rates_[0],
                             frame["race_id"].to_numpy())


class LeaderBaseline(_Baseline):
    """The championship leader before the race gets the historical leader win rate; the others share the
    rest by their standing's historical win rate. At a season's first race last season's final standings
    stand in.
    """

    model_type = "leader"

    def _slots(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        for col in ("champ_position", "champ_prev_season"):
            if col not in X.columns:
                raise ValueError(f"the leader baseline needs feature column {col!r} (championship features)")
        now = X["champ_position"].to_numpy(dtype=np.float64, na_value=np.nan)
        prev = X["champ_prev_season"].to_numpy(dtype=np.float64, na_value=np.nan)
        race = frame["race_id"].to_numpy()
        has_now = pd.Series(np.isfinite(now)).groupby(race, sort=False).transform("any").to_numpy()
        return np.where(has_now, now, prev)

    def predict_win_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> NDArray[np.float64]:
        return _leader_share(self._slots(frame, X), super().predict_win_proba(frame, X), self.rates_[0],
                             frame["race_id"].to_numpy())


def _leader_share(slot: NDArray[np.float64], p: NDArray[np.float64], top_rate: float,
                  race: NDArray[Any]) -> NDArray[np.float64]:
    """Give the slot-1 entries of each race ``top_rate`` in total, the others ``1 - top_rate`` in proportion
    to ``p``; races without a slot-1 entry keep ``p``."""
    first = slot == 1
    codes, n = event_codes(race)
    n_first = np.bincount(codes, weights=first, minlength=n)
    rest = np.bincount(codes, weights=np.where(first, 0.0, p), minlength=n)
    has = (n_first[codes] > 0) & (rest[codes] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shared = np.where(first, top_rate / n_first[codes], (1.0 - top_rate) * p / rest[codes])
    return np.where(has, shared, p)


BASELINE_TYPES: dict[str, type[_Baseline]] = {"grid": GridBaseline, "pole": PoleBaseline, "leader": LeaderBaseline}
