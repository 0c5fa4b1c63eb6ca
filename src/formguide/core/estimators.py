"""What the core needs from a model, in scikit-learn's idiom.

Estimators subclass ``sklearn.base.BaseEstimator``: parameters are the ``__init__`` arguments, stored
unchanged (``get_params``, ``set_params`` and ``sklearn.base.clone`` come for free), fitted state carries a
trailing underscore, and using a model before ``fit`` raises :class:`NotFittedError`. Every estimator of a
sport works on the sport's frame and feature rows (``fit(frame, X)``) and serialises to JSON
(``to_dict`` / the sport's ``model_from_dict``).

Optional abilities are protocols the core checks with ``isinstance`` rather than probing attributes:

* :class:`NestedWalkForward`: a staged model (base -> stacker -> calibrator) that produces its own
  out-of-sample forecasts over a window, each stage trained only on earlier out-of-sample output;
* :class:`FeatureImportance`: a model that can rank its inputs (shown in model cards).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFitted
from sklearn.utils.validation import check_is_fitted as _sklearn_check_is_fitted

from formguide.core.errors import FormguideError

if TYPE_CHECKING:
    from formguide.core.walkforward import Cadence

__all__ = ["BaseEstimator", "Estimator", "FeatureImportance", "NestedWalkForward", "NotFittedError",
           "check_is_fitted"]


class NotFittedError(FormguideError, _SklearnNotFitted):
    """A model used before it was fitted (or loaded from a fitted model's JSON)."""


def check_is_fitted(estimator: Any, attributes: str | list[str] | None = None) -> None:
    """Raise :class:`NotFittedError` naming the estimator when it has not been fitted."""
    try:
        _sklearn_check_is_fitted(estimator, attributes)
    except _SklearnNotFitted as exc:
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet: call fit() (or load a fitted "
                             "model) before using it") from exc


class Estimator(Protocol):
    """The core's view of a model: fitted on the sport's frame and feature rows, serialised to JSON."""

    model_type: str

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> Estimator: ...

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class NestedWalkForward(Protocol):
    """A staged model that makes its own out-of-sample forecasts over ``[start_day, end_day)``."""

    def walk_forward_forecast(self, frame: pd.DataFrame, X: pd.DataFrame, *, start_day: int, end_day: int,
                              cadence: Cadence, progress: Callable[[int, int], None] | None = None
                              ) -> np.ndarray: ...


@runtime_checkable
class FeatureImportance(Protocol):
    def feature_importance(self) -> dict[str, float]: ...
