"""The application layer: one function per use case, each taking a typed request and returning a typed result.

Every front end goes through here (the CLI today; the HTTP API, the job worker and the web UI call the same
functions). Use cases print nothing; long ones report ``progress(phase, fraction)``. Names are imported on
first use, so a front end that serves one use case does not pay for the others' imports.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Context": "context",
    "BacktestRequest": "schemas", "IngestRequest": "schemas", "PredictRequest": "schemas",
    "SimulateRequest": "schemas", "TrainRequest": "schemas", "RatingsRequest": "schemas",
    "competitions": "data", "info": "data", "ingest": "data",
    "backtest": "modelling", "train": "modelling",
    "predict": "serving", "simulate": "serving", "ratings": "ratings",
    "TrainAllRequest": "schemas", "PredictAllRequest": "schemas",
    "train_all": "batch", "train_bet_types": "batch", "predict_all": "batch", "predict_bet_types": "batch",
    "export_models": "registry", "import_models": "registry", "list_models": "registry", "list_runs": "registry",
    "promote_model": "registry", "show_model": "registry",
    "monitor_model": "monitoring", "MonitoringReport": "monitoring",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'formguide.app' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"formguide.app.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
