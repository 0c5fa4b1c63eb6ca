"""Prometheus metrics of one app at ``GET /metrics``: requests, latency, predictions served, tasks and workers.

Every app has its own :class:`~prometheus_client.CollectorRegistry` (never the process-global one), so tests
and processes that build many apps never clash over metric names. Two kinds of metric live in it:

* **In-process** ones this server counts as it answers: requests per route *template* (``/api/v1/models/{id}``,
  not the raw path, so a scraper sees a bounded set of series), method and status; their latency (buckets for
  a 1-100 ms API); predictions served per sport.
* **Store** ones read at scrape time by :class:`StoreCollector`, because the store is shared by every process
  (API, workers, CLI) and only it knows them: tasks by status (one ``COUNT ... GROUP BY``), the durations of the
  most recent finished tasks (a gauge histogram: a window, not a counter that only grows), and each worker's
  seconds since its last heartbeat (``workers`` table). A scrape costs three small indexed queries on one
  connection; when the store cannot be read the scrape still answers with ``formguide_store_up 0``.

Other parts of the service add their own collectors with :func:`register_collector` (see its docstring).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from formguide.core.errors import FormguideError
from formguide.core.heartbeat import utc_now
from formguide.core.store.models import Task, Worker
from formguide.core.tasks import FINISHED, STATUSES

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LATENCY_BUCKETS", "TASK_DURATION_BUCKETS", "Collector", "MetricsMiddleware", "ServiceMetrics",
           "StoreCollector", "count_predictions", "metrics_of", "register_collector"]

#: Request latency buckets (seconds): dense over 1-100 ms, where the API should answer, then up to a
#: refitted prediction (about 2 s) and a long simulation.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0, 10.0, 30.0)
#: Task duration buckets (seconds): a training run takes seconds to tens of minutes.
TASK_DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
#: How many of the most recent finished tasks the duration histogram covers (keeps a scrape cheap).
RECENT_TASKS = 1000
#: Workers whose last heartbeat is older than this are left out of the heartbeat gauge (long gone).
WORKER_HORIZON_S = 24 * 3600.0
#: Label of requests that matched no route (a 404 for an unknown path): raw paths would be unbounded.
UNMATCHED = "unmatched"


class Collector(Protocol):
    """What :func:`register_collector` takes: anything whose ``collect()`` yields metric families."""

    def collect(self) -> Iterable[Metric]: ...


class StoreCollector:
    """The store's view at scrape time: tasks by status, recent task durations, worker heartbeats."""

    def __init__(self, engine_of: Callable[[], Engine], now: Callable[[], datetime] = utc_now) -> None:
        self._engine_of, self._now = engine_of, now

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("formguide_store_up", "1 when the store answered this scrape, 0 when it did not.")
        try:
            families = self._read()
        except (SQLAlchemyError, FormguideError, OSError):
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families
        took = GaugeMetricFamily("formguide_store_scrape_seconds", "Seconds the store's metrics took to read.")
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _read(self) -> list[Metric]:
        now = self._now()
        engine = self._engine_of()
        with engine.connect() as conn:
            by_status = dict(conn.execute(select(Task.status, func.count()).group_by(Task.status)).all())
            durations = conn.execute(_durations_query(engine.dialect.name)).all()
            workers = conn.execute(select(Worker.owner, Worker.host, Worker.heartbeat_at, Worker.tasks_done)
                                   .where(Worker.stopped_at.is_(None))).all()
        return [_tasks_family(by_status), _durations_family(durations), *_workers_families(workers, now)]


def _durations_query(dialect: str):  # type: ignore[no-untyped-def]
    """Bucket counts, count and sum of the durations of the most recent finished tasks per (kind, status),
    summed by the store (1,000 rows of datetimes parsed in Python cost a SQLite scrape ~15 ms)."""
    if dialect == "sqlite":
        seconds = (func.julianday(Task.completed_at) - func.julianday(Task.started_at)) * 86400.0
    else:
        seconds = func.extract("epoch", Task.completed_at - Task.started_at)
    recent = (select(Task.kind, Task.status, seconds.label("s"))
              .where(Task.status.in_(FINISHED), Task.started_at.is_not(None), Task.completed_at.is_not(None))
              .order_by(Task.id.desc()).limit(RECENT_TASKS).subquery())
    buckets = [func.sum(case((recent.c.s <= b, 1), else_=0)).label(f"le_{i}")
               for i, b in enumerate(TASK_DURATION_BUCKETS)]
    return (select(recent.c.kind, recent.c.status, func.count(), func.sum(recent.c.s), *buckets)
            .group_by(recent.c.kind, recent.c.status).order_by(recent.c.kind, recent.c.status))


def _tasks_family(by_status: dict[str, int]) -> Metric:
    gauge = GaugeMetricFamily("formguide_tasks", "Tasks in the store by status (every status, 0 when none).",
                              labels=["status"])
    for status in (*STATUSES, *sorted(set(by_status) - set(STATUSES))):
        gauge.add_metric([status], float(by_status.get(status, 0)))
    return gauge


def _durations_family(rows: Iterable[Any]) -> Metric:
    """Durations (started -> completed) of the most recent finished tasks, per kind and final status."""
    family = GaugeHistogramMetricFamily(
        "formguide_task_duration_seconds", f"Run time of the {RECENT_TASKS} most recent finished tasks (a window "
        "read from the store at scrape time, not a counter), by kind and final status.", labels=["kind", "status"])
    for kind, status, count, total, *under in rows:
        buckets = [(_le(b), float(n or 0)) for b, n in zip(TASK_DURATION_BUCKETS, under, strict=True)]
        family.add_metric([kind, status], [*buckets, ("+Inf", float(count))], gsum_value=float(total or 0.0))
    return family


def _le(bound: float) -> str:
    return repr(float(bound))


def _workers_families(rows: Iterable[Any], now: datetime) -> list[Metric]:
    age = GaugeMetricFamily("formguide_worker_heartbeat_age_seconds", "Seconds since each running worker's last "
                            "heartbeat (a worker that stopped cleanly is left out).", labels=["worker", "host"])
    done = GaugeMetricFamily("formguide_worker_tasks_done", "Tasks each running worker has finished.",
                             labels=["worker", "host"])
    for owner, host, beat, n_done in rows:
        seconds = max(0.0, (now - beat).total_seconds())
        if seconds <= WORKER_HORIZON_S:
            age.add_metric([owner, host], seconds)
            done.add_metric([owner, host], float(n_done or 0))
    return [age, done]


class ServiceMetrics:
    """One app's registry with its request, latency and prediction metrics (and the store's collector)."""

    def __init__(self, engine_of: Callable[[], Engine]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("formguide_http_requests", "HTTP requests answered, by method, route template "
                                "and status code.", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("formguide_http_request_duration_seconds", "Time to answer an HTTP request "
                                 "(seconds), by method, route template and status code.",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.predictions = Counter("formguide_predictions_served", "Events whose predictions were returned (a "
                                   "match, or one race's field), by sport and endpoint.", ["sport", "endpoint"],
                                   registry=self.registry)
        self.registry.register(StoreCollector(engine_of))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format (what ``GET /metrics`` answers)."""
        return generate_latest(self.registry)


#: What ``generate_latest`` writes: Prometheus's text format 0.0.4.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def metrics_of(app: FastAPI) -> ServiceMetrics:
    """The app's metrics (set by ``create_app``)."""
    return app.state.metrics


def register_collector(app: FastAPI, collector: Collector) -> None:
    """Add ``collector`` to the app's registry: its ``collect()`` runs at every scrape of ``/metrics``.

    ``collect()`` yields ``prometheus_client.core`` metric families (``GaugeMetricFamily`` ...), read at scrape
    time; it should be cheap (a few indexed queries) and must not raise for a store that is down (yield nothing,
    or a gauge saying so). The store's engine is ``app.state.gate.context().engine``. A metric name may be
    registered once per app (``ValueError`` otherwise).
    """
    metrics_of(app).registry.register(collector)


def count_predictions(app: FastAPI, sport: str, endpoint: str, events: int) -> None:
    """Note ``events`` served by ``endpoint`` (``predictions`` or ``field``) for ``sport``."""
    metrics_of(app).predictions.labels(sport, endpoint).inc(events)


def _route_of(scope: Scope) -> str:
    """The template of the route the request matched, with its routers' prefixes (``/api/v1/models/{model_id}``).

    FastAPI 0.16x keeps included routers lazy: the ``route`` in the scope is the router's own (``/models/{model_id}``)
    and the full template sits in its effective route context; older versions copy routes with the prefix, so
    ``route.path_format`` is already whole. ``tests/service/test_metrics.py`` checks the full template.
    """
    fastapi_scope = scope.get("fastapi")
    effective = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for holder in (effective, scope.get("route")):
        path = getattr(holder, "path_format", None)
        if isinstance(path, str) and path:
            return path
    return UNMATCHED


class MetricsMiddleware:
    """ASGI middleware: counts every HTTP request and times it, labelled by the route template it matched.

    Pure ASGI (not ``BaseHTTPMiddleware``): no extra task per request. The route is read from the scope after
    the app ran (the router records the matched route there), so the label is the template, never the raw path.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(scope.get("method", "GET"), _route_of(scope), status, time.perf_counter() - started)
