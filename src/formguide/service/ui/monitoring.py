"""The model page's monitoring section: drift per feature and the performance band of one version
(``app.monitoring.monitor_model``, the use case behind ``GET /api/v1/monitoring/{id}``).

A report takes seconds (a permutation calibration per feature), so the page never computes one unasked: it
shows the report the use case keeps for the version (made by the API, a scrape's refresh or this page) with
its age, and offers to compute one now.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from formguide.app.monitoring import cached_reports, monitor_model
from formguide.service.ui.common import UiError, shown

__all__ = ["monitoring_section"]

#: Features listed on the page (the largest PSI first); the API has them all.
TOP_FEATURES = 12


def monitoring_section(request: Request, model_id: int, compute: bool) -> dict[str, Any]:
    """``{report, age_s, error, top}``: the kept report (or one computed now when ``compute``)."""
    out: dict[str, Any] = {"report": None, "age_s": None, "error": None, "top": TOP_FEATURES, "computed": compute}
    try:
        if compute:
            out["report"], out["age_s"] = shown(request, lambda ctx: monitor_model(ctx, model_id)), 0.0
        else:
            kept = [(age, rep) for age, rep in shown(request, cached_reports) if rep.model_id == model_id]
            if kept:
                out["age_s"], out["report"] = min(kept, key=lambda item: item[0])
    except UiError as exc:  # e.g. no stored feature rows: the section says so, the page still shows
        out["error"] = exc.message
    return out
