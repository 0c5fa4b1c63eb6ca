"""Read pages of the web UI: the dashboard (champions), the training history and the models (versions side by
side, one version's card). Each calls the application-layer use case the API and the CLI call."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from formguide.app import list_runs, show_model
from formguide.app.champions import champions, model_lines
from formguide.core.sport import available_sports, get_sport
from formguide.service.routes_models import _files as served_files
from formguide.service.ui.common import UiError, shown
from formguide.service.ui.monitoring import monitoring_section
from formguide.service.ui.render import page

__all__ = ["router"]

router = APIRouter()
HISTORY_LIMITS = (20, 50, 200)


@router.get("/", response_class=HTMLResponse, name="ui_dashboard")
def dashboard(request: Request) -> HTMLResponse:
    items = shown(request, lambda ctx: champions(ctx))
    sports = {}
    for c in items:
        sports.setdefault(c.sport, []).append(c)
    installed = sorted(available_sports())
    return page(request, "dashboard.html", title="Dashboard", by_sport=sports, installed=installed)


#: Counts a run's metrics carry beside its scores (shown in their own columns, or not at all).
_COUNTS = ("n", "n_events", "entries", "races", "duration_s")


def _run_row(run: Any) -> dict[str, Any]:
    """A history row: the run, its duration, and up to four scores after the headline."""
    metrics = run.metrics or {}
    duration = metrics.get("duration_s")
    if duration is None and run.started_at and run.completed_at:
        duration = (run.completed_at - run.started_at).total_seconds()
    scores = [(k, v) for k, v in sorted(metrics.items()) if isinstance(v, int | float) and not isinstance(v, bool)
              and k not in _COUNTS and k != run.headline_metric]
    return {"run": run, "duration": duration, "metrics": scores[:4]}


def _sport_filter(sport: str | None) -> str | None:
    """A page's sport filter: empty means every sport; an unknown one is a 404 naming the installed ones."""
    if not sport:
        return None
    if sport not in available_sports():
        raise UiError(404, f"unknown sport {sport!r}; installed: {', '.join(sorted(available_sports()))}")
    return sport


@router.get("/history", response_class=HTMLResponse, name="ui_history")
def history(request: Request, limit: int = 50, sport: str | None = None) -> HTMLResponse:
    limit = limit if limit in HISTORY_LIMITS else 50
    sport = _sport_filter(sport)
    runs = shown(request, lambda ctx: list_runs(ctx, limit=limit, sport=sport))
    return page(request, "history.html", title="Training history", rows=[_run_row(r) for r in runs],
                limit=limit, limits=HISTORY_LIMITS, sport=sport, sports=sorted(available_sports()))


def _metric_columns(sport_name: str) -> tuple[list[str], frozenset[str]]:
    """The sport's metric columns and which of them are lower-is-better."""
    if sport_name not in available_sports():
        return [], frozenset()
    sport = get_sport(sport_name)
    return list(sport.metric_columns), frozenset(sport.lower_is_better)


def _best(versions: list[Any], columns: list[str], lower: frozenset[str]) -> dict[str, int]:
    """Per metric column, the id of the version with the best value (when there are two versions to compare)."""
    best = {}
    for c in columns:
        scored = [(m.metrics[c], m.id) for m in versions if isinstance(m.metrics.get(c), int | float)]
        values = sorted(v for v, _ in scored)
        if len(scored) < 2 or values[0] == values[-1]:
            continue
        top = values[0] if c in lower else values[-1]
        winners = [i for v, i in scored if v == top]
        if len(winners) == 1:  # a tie marks nothing
            best[c] = winners[0]
    return best


@router.get("/models", response_class=HTMLResponse, name="ui_models")
def models(request: Request, sport: str | None = None) -> HTMLResponse:
    sport = _sport_filter(sport)
    versions = shown(request, lambda ctx: model_lines(ctx, sport))
    lines: dict[str, dict[str, Any]] = {}
    for m in versions:
        line = lines.setdefault(m.name, {"name": m.name, "sport": m.sport, "competition": m.competition,
                                         "bet_type": m.bet_type, "versions": [], "columns": []})
        line["versions"].append(m)
    for line in lines.values():
        line["versions"].sort(key=lambda m: -m.version)
        wanted, lower = _metric_columns(line["sport"])
        have = {k for m in line["versions"] for k in m.metrics if k not in _COUNTS}
        line["columns"] = [c for c in wanted if c in have] or sorted(have)
        line["best"] = _best(line["versions"], line["columns"], lower)
        line["champion"] = next((m.version for m in line["versions"] if m.status == "champion"), None)
    return page(request, "models.html", title="Models", lines=sorted(lines.values(), key=lambda x: x["name"]),
                sport=sport, sports=sorted(available_sports()))


_IMPORTANCE_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*`?([^|`]+?)`?\s*\|\s*([-\d.eE+]+)\s*\|\s*([\d.]+)%\s*\|$")


def importance_rows(card: str) -> list[dict[str, Any]]:
    """The card's feature-importance table (``core.model_card`` writes it) as rows to draw as bars."""
    section = card.split("## Feature importance", 1)
    if len(section) < 2:
        return []
    rows = []
    for line in section[1].split("\n## ", 1)[0].splitlines():
        m = _IMPORTANCE_ROW.match(line.strip())
        if m:
            rows.append({"rank": int(m.group(1)), "feature": m.group(2), "value": float(m.group(3)),
                         "share": float(m.group(4)) / 100})
    return rows


def model_id_of(text: str) -> int:
    """A model id from the path: a positive whole number, else the page says so (404)."""
    if not text.isdigit() or int(text) < 1:
        raise UiError(404, f"no model {text!r}: a model id is a positive whole number (see the Models page)")
    return int(text)


@router.get("/models/{model_ref}", response_class=HTMLResponse, name="ui_model")
def model_page(request: Request, model_ref: str, monitor: bool = False) -> HTMLResponse:
    model_id = model_id_of(model_ref)
    detail = shown(request, lambda ctx: show_model(ctx, str(model_id)))
    line = next((m for m in shown(request, lambda ctx: model_lines(ctx, detail.model.sport)) if m.id == model_id),
                None)
    folder_files = _card_files(detail.card_path)
    base = f"/api/v1/models/{model_id}/files/"

    def image_url(name: str) -> str | None:
        return base + name if name in folder_files else None

    # the page draws the importance as bars and the diagram beside the summary: the card text without them
    card = re.sub(r"\n## (Feature importance|Calibration).*?(?=\n## |\Z)", "\n", detail.card, flags=re.S)
    return page(request, "model.html", title=f"{detail.model.name} v{detail.model.version}", detail=detail,
                line=line, card=card, image_url=image_url, importance=importance_rows(detail.card),
                reliability=image_url("reliability.png"), files={n: base + n for n in folder_files},
                monitoring=monitoring_section(request, model_id, compute=monitor))


def _card_files(card_path: str | None) -> list[str]:
    """The files of the version's card folder the API serves (``/api/v1/models/{id}/files/{name}``)."""
    return served_files(Path(card_path).parent) if card_path else []
