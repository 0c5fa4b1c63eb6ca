"""The FastAPI application: every endpoint under ``/api/v1`` calls the application layer's use cases (the ones
the CLI calls), OpenAPI at ``/docs``, the store's health at ``/health``.

``create_app(settings)`` builds one app around one :class:`~formguide.app.Context`; ``formguide serve`` runs it
with uvicorn.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from formguide import __version__
from formguide.app.context import Context
from formguide.core.errors import StoreError
from formguide.core.settings import Settings, load_settings
from formguide.core.store.db import head_revision, redact_url
from formguide.core.workers import WorkerInfo
from formguide.service import routes_catalog, routes_field, routes_models, routes_serving, ui
from formguide.service.errors import ErrorBody, install_error_handlers, unexpected_errors
from formguide.service.gate import StoreGate
from formguide.service.metrics import CONTENT_TYPE, MetricsMiddleware, ServiceMetrics
from formguide.service.routes_monitoring import install as install_monitoring
from formguide.service.routes_monitoring import router as monitoring_router
from formguide.service.routes_tasks import router as tasks_router
from formguide.service.workers import WorkerPool, worker_health

__all__ = ["API_PREFIX", "Health", "create_app"]

API_PREFIX = "/api/v1"
_ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 422, 503)}


class Health(BaseModel):
    status: str = Field(description="ok, or what is wrong.")
    store: str = Field(description="The store's URL (password hidden).")
    schema_revision: str | None = Field(description="The store's migration revision.")
    head_revision: str = Field(description="The newest migration this code knows.")
    migrations_current: bool
    workers_alive: int = Field(0, description=(
        "Workers (`formguide worker` processes and `serve --workers` threads) with a heartbeat in the last 30 s. "
        "0 is not a 503: the API works and queued tasks wait for a worker."))
    workers: list[WorkerInfo] = Field(default_factory=list, description="The live workers (at most 10).")
    workers_message: str | None = Field(None, description="The workers in a sentence.")


def _health(gate: StoreGate, settings: Settings) -> tuple[int, Health | ErrorBody]:
    store = redact_url(settings.store_url)
    head = head_revision()
    try:
        with gate.context().engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except StoreError as exc:
        return 503, ErrorBody(status=503, error="store_unavailable", message=str(exc))
    except SQLAlchemyError as exc:
        gate.reset()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return 503, ErrorBody(status=503, error="store_unavailable", message=f"cannot reach the store {store}: "
                              f"{reason}")
    current = revision == head
    status = "ok" if current else f"the store is at migration {revision}, this code expects {head}"
    workers = worker_health(gate.context().engine) if current else {}
    return (200 if current else 503), Health(status=status, store=store, schema_revision=revision,
                                             head_revision=head, migrations_current=current, **workers)


def create_app(settings: Settings | None = None, context_factory: Callable[[], Context] | None = None,
               workers: int = 0) -> FastAPI:
    """The API around one store: ``settings`` (default: flags/env/defaults) or a factory of the context;
    ``workers`` job workers run as threads of the server while it is up (``formguide serve --workers N``)."""
    settings = settings if settings is not None else load_settings()
    gate = StoreGate(context_factory or (lambda: Context(settings)))
    pool = WorkerPool(gate.context, workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        await run_in_threadpool(routes_catalog.sports)  # load every sport's models now, not on a first request
        gc.collect()
        gc.freeze()  # the models and frames loaded at start-up stay out of every later full collection (pauses)
        pool.start()
        yield
        await run_in_threadpool(pool.stop)
        gate.close()

    app = FastAPI(title="formguide", version=__version__, lifespan=lifespan, docs_url="/docs",
                  description="Calibrated sports probabilities over HTTP: the same use cases as the `formguide` "
                  "command line. Reads are open; writes need `Authorization: Bearer $FORMGUIDE_API_TOKEN`.")
    app.state.settings, app.state.gate = settings, gate
    app.state.workers = pool
    app.state.metrics = ServiceMetrics(lambda: gate.context().engine)
    install_error_handlers(app)
    app.middleware("http")(unexpected_errors)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: sees every answer, 500s too

    api = APIRouter(prefix=API_PREFIX, responses=_ERRORS)
    for module in (routes_catalog, routes_models, routes_serving, routes_field):
        api.include_router(module.router)
    api.include_router(tasks_router)
    api.include_router(monitoring_router)
    app.include_router(api)
    install_monitoring(app)  # drift gauges of /metrics, from cached monitoring reports

    @app.get("/health", response_model=Health, responses={503: {"model": ErrorBody}}, tags=["health"],
             summary="Store reachable and migrated")
    def health(request: Request) -> JSONResponse:
        code, body = _health(gate, settings)
        return JSONResponse(body.model_dump(mode="json"), status_code=code)

    @app.get("/metrics", response_class=Response, tags=["health"], summary="Prometheus metrics",
             responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."}})
    def metrics() -> Response:
        """Requests and latency per route template and status, predictions served, tasks by status, task
        durations and worker heartbeats (read from the store at scrape time), and any registered collector."""
        return Response(app.state.metrics.exposition(), media_type=CONTENT_TYPE)

    ui.mount(app)  # the web UI at /, after the API so /api/v1, /health and /metrics match first
    return app
