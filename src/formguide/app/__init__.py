"""The application layer: one function per use case, each taking a typed request and returning a typed result.

Every front end goes through here (the CLI today; the HTTP API, the job worker and the web UI call the same
functions). Use cases print nothing; long ones report ``progress(phase, fraction)``.
"""

from formguide.app.context import Context
from formguide.app.data import competitions, info, ingest
from formguide.app.modelling import backtest, train
from formguide.app.registry import (
    export_models,
    import_models,
    list_models,
    list_runs,
    promote_model,
    show_model,
)
from formguide.app.schemas import (
    BacktestRequest,
    IngestRequest,
    PredictRequest,
    SimulateRequest,
    TrainRequest,
)
from formguide.app.serving import predict, simulate

__all__ = [
    "BacktestRequest",
    "Context",
    "IngestRequest",
    "PredictRequest",
    "SimulateRequest",
    "TrainRequest",
    "backtest",
    "competitions",
    "export_models",
    "import_models",
    "info",
    "ingest",
    "list_models",
    "list_runs",
    "predict",
    "promote_model",
    "show_model",
    "simulate",
    "train",
]
