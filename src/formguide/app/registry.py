"""Use cases of the model registry: list, show, promote, export and import versions; training-run history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from formguide.app.context import Context
from formguide.app.schemas import ExportResult, ImportResult, ModelDetail, ModelSummary, RunSummary
from formguide.core import artifacts, model_transfer, registry
from formguide.core.errors import FormguideError
from formguide.core.mlflow_mirror import open_mirror
from formguide.core.model_card import render_model_card
from formguide.core.sport import available_sports, get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import ModelRecord, TrainingRun
from formguide.core.views import Column, TableView

__all__ = ["export_models", "import_models", "list_models", "list_runs", "promote_model", "show_model"]


def _sport_of(record: ModelRecord) -> Any:
    return get_sport(record.sport) if record.sport in available_sports() else None


def _summary(record: ModelRecord) -> ModelSummary:
    metrics = ((record.metrics or {}).get("evaluation") or {}).get("model") or {}
    sport = _sport_of(record)
    headline = (record.metrics or {}).get("promotion", {}).get("metric") or getattr(sport, "headline_metric", None)
    columns = getattr(sport, "metric_columns", tuple(metrics))
    return ModelSummary(id=record.id, sport=record.sport, name=record.name, version=record.version,
                        model_type=record.model_type, status=record.status, created_at=record.created_at,
                        promoted_at=record.promoted_at, headline_metric=headline,
                        headline=metrics.get(headline) if headline else None,
                        metrics={k: metrics.get(k) for k in columns if isinstance(metrics.get(k), int | float | None)})


def list_models(ctx: Context, sport: str | None = None) -> list[ModelSummary]:
    """Every registered model version (of one sport, or all), newest first."""
    if sport is not None:
        get_sport(sport)  # a clear error for an unknown sport
    with session_scope(ctx.engine) as s:
        return [_summary(m) for m in registry.list_models(s, sport=sport)]


def models_view(models: list[ModelSummary]) -> TableView:
    cols = [Column(key="id"), Column(key="name", align="left", max_width=22), Column(key="version", header="v"),
            Column(key="model_type", header="type", align="left"), Column(key="status", align="left"),
            Column(key="headline_metric", header="metric", align="left", priority=1),
            Column(key="headline", header="score", digits=4), Column(key="created", align="left", priority=2)]
    rows = [{**m.model_dump(), "created": str(m.created_at)[:16]} for m in models]
    return TableView(title="models", columns=cols, rows=rows, empty="no models yet: run `formguide train`")


def _card(record: ModelRecord, folder: Path) -> str:
    importance = (record.metrics or {}).get("feature_importance")
    png = "reliability.png" if (folder / "reliability.png").exists() else None
    return render_model_card(record, sport=_sport_of(record), reliability_png=png, feature_importance=importance)


def show_model(ctx: Context, ref: str) -> ModelDetail:
    """One model version with its card rendered now (so its status is the current one)."""
    with session_scope(ctx.engine) as s:
        record = registry.get_model(s, ref)
        folder = artifacts.model_dir(ctx.artifacts, record.name, record.version)
        card = _card(record, folder)
        detail = ModelDetail(model=_summary(record), feature_set_version=record.feature_set_version,
                             data_fingerprint=record.data_fingerprint, artifact_sha256=record.artifact_sha256,
                             config=record.config, evaluation=(record.metrics or {}).get("evaluation"), card=card,
                             card_path=str(folder / "MODEL_CARD.md") if folder.exists() else None)
    return detail


def promote_model(ctx: Context, ref: str) -> ModelSummary:
    """Make a version the champion of its line (the previous champion is retired); cards are brought up to date.
    With an MLflow URI set the ``champion`` alias follows (a failure there is a logged warning, not an error)."""
    mirror = open_mirror(ctx.settings.mlflow_uri)  # the extra missing: one line before anything changes
    with session_scope(ctx.engine) as s:
        record = registry.get_model(s, ref)
        registry.verified_parameters(record)
        registry.promote(s, record.id, reason="manual")
        siblings = list(s.scalars(select(ModelRecord).where(ModelRecord.name == record.name)))
        for m in siblings:
            folder = artifacts.model_dir(ctx.artifacts, m.name, m.version)
            if folder.is_dir():
                (folder / "MODEL_CARD.md").write_text(_card(m, folder), encoding="utf-8")
        summary = _summary(record)
    if mirror is not None:
        mirror.after_promote(ctx.engine, summary.id, ctx.artifacts)
    _refresh_online(ctx, summary)
    return summary


def _refresh_online(ctx: Context, summary: ModelSummary) -> None:
    """The line's online rows follow its new champion (app.online; a failure there is logged, not raised)."""
    from formguide.app.online import refresh_online

    refresh_online(ctx, summary.sport, reason="promote", line=summary.name)


def export_models(ctx: Context, path: Path, refs: list[str] | None = None) -> ExportResult:
    with session_scope(ctx.engine) as s:
        n = model_transfer.export_models(s, path, refs or None)
    result = ExportResult(path=str(path), exported=n)
    result.messages.append(f"exported {n} model(s) to {path}")
    return result


def import_models(ctx: Context, path: Path) -> ImportResult:
    with session_scope(ctx.engine) as s:
        report = model_transfer.import_models(s, path)
        imported = [f"{r.name} v{r.version} ({r.status})" for r in report]
        skipped = [f"{r.name} v{r.version}" for r in report.skipped]
    result = ImportResult(path=str(path), imported=imported, skipped=skipped)
    result.messages.append(f"imported {len(imported)} model(s)" + (": " + ", ".join(imported) if imported else "")
                           + (f"; {len(skipped)} already present" if skipped else ""))
    return result


def list_runs(ctx: Context, limit: int = 20, sport: str | None = None) -> list[RunSummary]:
    """Training runs (failed, skipped and promotions included), newest first."""
    if limit < 1:
        raise FormguideError(f"--limit must be at least 1, got {limit}")
    with session_scope(ctx.engine) as s:
        stmt = select(TrainingRun)
        if sport is not None:
            stmt = stmt.where(TrainingRun.sport == get_sport(sport).name)
        stmt = stmt.order_by(TrainingRun.started_at.desc(), TrainingRun.id.desc()).limit(int(limit))
        return [RunSummary(id=r.id, sport=r.sport, model=r.model_name, run_type=r.run_type, status=r.status,
                           started_at=r.started_at, completed_at=r.completed_at, events=r.event_count,
                           headline_metric=r.headline_metric, headline=r.headline_value, metrics=r.metrics,
                           error=r.error_message) for r in s.scalars(stmt)]


def runs_view(runs: list[RunSummary]) -> TableView:
    cols = [Column(key="id"), Column(key="model", align="left", max_width=22), Column(key="run_type", header="type",
            align="left"), Column(key="status", align="left"), Column(key="started", align="left", priority=1),
            Column(key="events", priority=1), Column(key="headline_metric", header="metric", align="left", priority=2),
            Column(key="headline", header="score"), Column(key="error", align="left", priority=1, max_width=40)]
    rows = [{**r.model_dump(), "started": str(r.started_at)[:16]} for r in runs]
    return TableView(title="training runs", columns=cols, rows=rows, empty="no training runs yet")
