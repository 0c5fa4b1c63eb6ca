"""The naive baseline of match sports: class frequencies of the training rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from formguide.core.estimators import BaseEstimator, check_is_fitted

if TYPE_CHECKING:
    from formguide.core.match import MatchSport

__all__ = ["BaseRateModel", "OutcomeBaseRates", "base_rates"]


def base_rates(outcome: np.ndarray, n_classes: int, prior: float = 1.0) -> np.ndarray:
    """Class frequencies with a small additive prior: the naive baseline every model must beat."""
    counts = np.bincount(outcome[outcome >= 0], minlength=n_classes).astype(float) + prior
    return counts / counts.sum()


class BaseRateModel(BaseEstimator):
    """The naive forecast every model must beat: class frequencies of the training rows (additive prior)."""

    model_type = "base-rates"

    def __init__(self, n_classes: int = 3, outcome_column: str = "__outcome__", prior: float = 1.0) -> None:
        self.n_classes = n_classes
        self.outcome_column = outcome_column
        self.prior = prior

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame | None = None) -> BaseRateModel:
        self.rates_ = base_rates(frame[self.outcome_column].to_numpy(dtype=np.int64), self.n_classes, self.prior)
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame | None = None) -> np.ndarray:
        check_is_fitted(self, "rates_")
        return np.tile(self.rates_, (len(frame), 1))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.model_type, "params": self.get_params(), "rates": self.rates_.tolist()}


class OutcomeBaseRates(BaseRateModel):
    """:class:`BaseRateModel` reading the outcome through the sport (the frame needs no outcome column)."""

    def __init__(self, sport: MatchSport, n_classes: int = 3) -> None:
        super().__init__(n_classes=n_classes)
        self.sport = sport

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame | None = None) -> OutcomeBaseRates:
        y = self.sport.outcome(frame)
        self.rates_ = base_rates(y, self.n_classes, self.prior)
        return self
