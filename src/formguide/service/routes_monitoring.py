"""Monitoring over HTTP: ``GET /api/v1/monitoring/{model_id}`` (drift per feature, the performance band) and the
drift gauges of ``/metrics``.

The endpoint calls the application layer's ``monitor_model``. The gauges never compute anything inside a scrape:
:class:`DriftCollector` exports the reports the use case keeps (the latest default report of each model, made by
any request to the endpoint) with their age. With ``FORMGUIDE_DRIFT_REFRESH_S`` set to a number of seconds (60
is a sensible value), a scrape that finds a champion's report missing or older than that starts one background
thread, at most one at a time, that recomputes the stale champions' reports; the scrape itself only reads memory
(microseconds). It is off by default: a background thread holding store connections outlives the request that
started it, and test stores (PostgreSQL schemas dropped at teardown) and a loaded 2-core machine should not
meet surprise work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi import Path as PathParam
from prometheus_client.core import GaugeMetricFamily, Metric

from formguide.app.context import Context
from formguide.app.monitoring import MonitoringReport, cached_reports, monitor_model, refresh_champions
from formguide.service.errors import ApiError
from formguide.service.gate import context

__all__ = ["DriftCollector", "install", "router"]

log = logging.getLogger("formguide.service.monitoring")
router = APIRouter(prefix="/monitoring", tags=["monitoring"])
Ctx = Annotated[Context, Depends(context)]
#: Environment variable: seconds between background refreshes of the champions' reports (unset/0: none).


@router.get("/{model_id}", response_model=MonitoringReport, summary="Drift per feature and performance band")
def monitoring(ctx: Ctx, model_id: Annotated[int, PathParam(ge=1, description="Model id (`formguide models list`).")],
               current_from: Annotated[date | None, Query(description="Start of the current window (default: "
                                                          "the events after the training window).")] = None,
               current_to: Annotated[date | None, Query(description="Last day of the current window.")] = None,
               chunk_size: Annotated[int, Query(ge=2, le=10_000, description="Events per performance chunk.")] = 50,
               permutations: Annotated[int, Query(ge=0, le=2_000, description="Shuffles of the false-alarm "
                                                  "calibration (0: none).")] = 200,
               with_band: Annotated[bool, Query(description="Re-run the walk-forward reference band even before "
                                                "a chunk of results exists (seconds).")] = False
               ) -> MonitoringReport:
    """Reference = the version's training window; current = the events after it (or its last training season
    when there are none, or ``current_from``..``current_to``): PSI and Jensen–Shannon per feature with the
    0.1/0.25 states and their false-alarm rates on unchanged data; stored predictions with results scored in
    chunks against mean ± 3σ of its walk-forward chunks."""
    if current_to is not None and current_from is None:
        raise ApiError(422, "validation", "current_to needs current_from", field="query.current_from")
    if current_from is not None and current_to is not None and current_from > current_to:
        raise ApiError(422, "validation", f"current_from {current_from} is after current_to {current_to}",
                       field="query.current_from")
    return monitor_model(ctx, model_id, current_from=current_from, current_to=current_to, chunk_size=chunk_size,
                         permutations=permutations, with_band=with_band)


class DriftCollector:
    """Gauges of the cached monitoring reports: PSI and JS per model and feature, states, report age."""

    def __init__(self, context_of: Callable[[], Context], refresh_s: float = 0.0) -> None:
        self._context_of, self._refresh_s = context_of, refresh_s
        self._lock = threading.Lock()
        self._running = False
        self._last_start = float("-inf")

    def collect(self) -> Iterator[Metric]:
        try:
            ctx = self._context_of()
        except Exception:  # noqa: BLE001 - the store is down: the store collector says so; no drift gauges
            return
        reports = cached_reports(ctx)
        self._maybe_refresh(ctx)
        labels = ["model_id", "model", "version"]
        psi = GaugeMetricFamily("formguide_feature_drift_psi", "PSI of a feature, training window vs current "
                                "(cached monitoring report)", labels=[*labels, "feature"])
        js = GaugeMetricFamily("formguide_feature_drift_js", "Jensen-Shannon distance (base 2) of a feature, "
                               "training window vs current", labels=[*labels, "feature"])
        alerts = GaugeMetricFamily("formguide_drift_features", "Features per drift state (ok/warn/alert)",
                                   labels=[*labels, "state"])
        perf = GaugeMetricFamily("formguide_performance_alert", "1 when the latest chunk of scored predictions is "
                                 "outside the walk-forward band", labels=labels)
        age = GaugeMetricFamily("formguide_monitoring_report_age_seconds", "Age of the cached monitoring report",
                                labels=labels)
        for seconds, rep in reports:
            who = [str(rep.model_id), rep.name, str(rep.version)]
            for row in rep.drift:
                psi.add_metric([*who, row.feature], row.psi)
                js.add_metric([*who, row.feature], row.js)
            for state in ("ok", "warn", "alert"):
                alerts.add_metric([*who, state], sum(r.state == state for r in rep.drift))
            perf.add_metric(who, 1.0 if rep.performance.state == "alert" else 0.0)
            age.add_metric(who, seconds)
        yield from (psi, js, alerts, perf, age)

    def _maybe_refresh(self, ctx: Context) -> None:
        """Start the background refresh when due (never waits for it)."""
        if self._refresh_s <= 0:
            return
        with self._lock:
            now = time.monotonic()
            if self._running or now - self._last_start < self._refresh_s:
                return
            self._running, self._last_start = True, now
        threading.Thread(target=self._refresh, args=(ctx,), name="formguide-drift-refresh", daemon=True).start()

    def _refresh(self, ctx: Context) -> None:
        try:
            refresh_champions(ctx, ttl=self._refresh_s)
        except Exception:  # noqa: BLE001 - a background job: log, try again at the next due scrape
            log.warning("drift refresh failed", exc_info=True)
        finally:
            with self._lock:
                self._running = False


def install(app: FastAPI) -> None:
    """Register the drift gauges with the app's ``/metrics`` (``service.metrics.register_collector``)."""
    from formguide.service.metrics import register_collector

    register_collector(app, DriftCollector(app.state.gate.context, app.state.settings.drift_refresh_s))
