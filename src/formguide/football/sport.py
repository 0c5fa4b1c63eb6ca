"""Football's plug-in for the core: ingest, canonical frame, features, markets and models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core.sport import IngestReport, MatchSport


def _estimators():
    """Imported on first use: scikit-learn and SciPy cost seconds at start-up that ingest never needs."""
    from formguide.football.models import estimators

    return estimators


class FootballSport(MatchSport):
    name = "football"
    outcome_labels = ("H", "D", "A")
    model_types = ("dixon-coles", "poisson", "elo", "blend")

    def ingest(self, engine: Engine, paths: Sequence[Path], *, progress: Callable[[int], None] | None = None
               ) -> IngestReport:
        from formguide.football import store_io

        return store_io.ingest_files(engine, paths, progress=progress)

    def load_frame(self, engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
        from formguide.football import store_io

        return store_io.load_frame(engine, competitions)

    def feature_set(self, **options: Any):
        from formguide.football.features import football_feature_set

        return football_feature_set(**options)

    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        return _estimators().outcome_index(frame)

    def market_probabilities(self, frame: pd.DataFrame, *, which: str = "close",
                             method: str = "multiplicative") -> np.ndarray:
        from formguide.football import markets

        return markets.market_probabilities(frame, which, method)

    def best_odds(self, frame: pd.DataFrame) -> np.ndarray:
        from formguide.football import markets

        return markets.odds_matrix(frame, "best")

    def make_model(self, model_type: str, **params: Any):
        return _estimators().make_estimator(model_type, **params)

    def model_from_dict(self, data: dict[str, Any]):
        return _estimators().estimator_from_dict(data)

    def baselines(self) -> dict[str, Callable[[], Any]]:
        return {"elo": _estimators().EloEstimator}
