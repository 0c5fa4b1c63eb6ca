"""Portable model files: export versions with their training runs to one JSON file, import them elsewhere.

Every hash is checked on both sides (a tampered model is never exported, a tampered file never imported),
imports are all-or-nothing and idempotent, and an imported champion only stays champion where its line has
none yet.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from formguide.core.errors import ArtifactIntegrityError, FormguideError
from formguide.core.jsonio import canonical_json, write_text_atomic
from formguide.core.registry import (
    as_datetime,
    check_name,
    check_status,
    get_model,
    normalised,
    parameters_sha256,
    utc_now,
    verify,
)
from formguide.core.store.models import ModelRecord, TrainingRun

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "ImportReport", "export_models", "import_models"]

EXPORT_FORMAT = "formguide-models"
EXPORT_VERSION = 1


_MODEL_FIELDS = ("sport", "name", "version", "model_type", "status", "parameters", "artifact_sha256", "metrics",
                 "training_competitions", "training_seasons", "feature_set_version", "data_fingerprint",
                 "config", "model_card")
_RUN_FIELDS = ("sport", "model_name", "run_type", "status", "event_count", "brier", "log_loss", "rps",
               "accuracy", "draw_accuracy", "ece", "metrics", "headline_metric", "headline_value",
               "data_fingerprint", "config", "error_message", "logs")
_RUN_DATES = ("started_at", "completed_at", "date_from", "date_to")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_models(session: Session, path: str | os.PathLike, refs: list[str] | None = None) -> int:
    """Write the models (all, or those ``refs`` name) with their runs to one portable JSON file.

    Each model is verified first, so a tampered model is never exported. Returns how many were written.
    """
    if refs is None:
        records = list(session.scalars(select(ModelRecord).order_by(ModelRecord.name, ModelRecord.version)))
    else:
        seen: dict[int, ModelRecord] = {}
        for ref in refs:
            record = get_model(session, ref)
            seen.setdefault(record.id, record)
        records = list(seen.values())
    entries = []
    for record in records:
        verify(record)
        entry: dict[str, Any] = {field: getattr(record, field) for field in _MODEL_FIELDS}
        entry["id"] = record.id
        entry["artifact"] = base64.b64encode(bytes(record.artifact)).decode("ascii") if record.artifact is not None \
            else None
        entry["created_at"] = _iso(record.created_at)
        entry["promoted_at"] = _iso(record.promoted_at)
        runs = session.scalars(select(TrainingRun).where(TrainingRun.model_id == record.id)
                               .order_by(TrainingRun.started_at, TrainingRun.id))
        entry["training_runs"] = [
            {**{f: getattr(r, f) for f in _RUN_FIELDS}, **{f: _iso(getattr(r, f)) for f in _RUN_DATES}}
            for r in runs
        ]
        entries.append(entry)
    doc = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": utc_now().isoformat(), "models": entries}
    try:
        write_text_atomic(path, canonical_json(doc).decode("utf-8"))
    except OSError as exc:
        raise FormguideError(f"cannot write the export {path}: {exc.strerror or exc}") from exc
    return len(entries)


class ImportReport(list):
    """The newly imported records (a list, so callers can iterate it) plus what else happened.

    ``skipped``: records already present with the same name, version and hash. ``messages``: one line
    per model saying what was done with it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[ModelRecord] = []
        self.messages: list[str] = []


def _read_export(path: Path) -> list[dict]:
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise FormguideError(f"{path}: no such model export file") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormguideError(f"{path.name}: not a formguide model export (invalid JSON: {exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise FormguideError(f"{path.name}: not a formguide model export (missing format {EXPORT_FORMAT!r})")
    if doc.get("version") != EXPORT_VERSION:
        raise FormguideError(f"{path.name}: export format version {doc.get('version')!r} is not supported "
                             f"(this formguide reads version {EXPORT_VERSION})")
    models = doc.get("models")
    if not isinstance(models, list):
        raise FormguideError(f"{path.name}: 'models' must be a list")
    return models


def _check_entry(path: Path, i: int, entry: Any) -> tuple[bytes | None, datetime | None, datetime | None]:
    """Validate one exported model and its hash; returns its decoded artifact and dates."""
    where = f"{path.name}, model {i}"
    if not isinstance(entry, dict):
        raise FormguideError(f"{where}: expected an object, got {type(entry).__name__}")
    for field in ("sport", "name", "version", "model_type", "status", "parameters", "artifact_sha256"):
        if entry.get(field) is None:
            raise FormguideError(f"{where}: missing field {field!r}")
    where = f"{where} ({entry['name']}:{entry['version']})"
    if not isinstance(entry["version"], int) or isinstance(entry["version"], bool) or entry["version"] < 1:
        raise FormguideError(f"{where}: version must be a positive integer")
    try:
        check_name(entry["name"])
        check_status(entry["status"])
    except FormguideError as exc:
        raise FormguideError(f"{where}: {exc}") from exc
    if not isinstance(entry["parameters"], dict):
        raise FormguideError(f"{where}: parameters must be an object")
    artifact = None
    if entry.get("artifact") is not None:
        try:
            artifact = base64.b64decode(entry["artifact"], validate=True)
        except (ValueError, TypeError) as exc:
            raise FormguideError(f"{where}: artifact is not valid base64") from exc
    actual = parameters_sha256(entry["parameters"], artifact)
    if actual != entry["artifact_sha256"]:
        raise ArtifactIntegrityError(
            f"{where}: recorded sha256 {entry['artifact_sha256']}, parameters/artifact hash to {actual}; "
            "the file was changed after export, nothing imported"
        )
    runs = entry.get("training_runs") or []
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise FormguideError(f"{where}: training_runs must be a list of objects")
    for r in runs:
        for field in _RUN_DATES:
            as_datetime(r.get(field), f"{where}: training run {field}")
        for field in ("sport", "run_type", "status", "started_at"):
            if r.get(field) is None:
                raise FormguideError(f"{where}: a training run is missing field {field!r}")
    return (artifact, as_datetime(entry.get("created_at"), f"{where}: created_at"),
            as_datetime(entry.get("promoted_at"), f"{where}: promoted_at"))


def import_models(session: Session, path: str | os.PathLike) -> ImportReport:
    """Import an :func:`export_models` file; all-or-nothing and idempotent.

    Every hash and every name/version clash is checked before anything is written. A model already
    present with the same hash is skipped; one with the same name and version but another hash is an
    error. An imported champion stays champion only if its name has none here yet, else it is ``retired``.
    """
    path = Path(path)
    entries = _read_export(path)
    checked = [_check_entry(path, i, e) for i, e in enumerate(entries)]

    report = ImportReport()
    plan: list[tuple[dict, bytes | None, datetime | None, datetime | None]] = []
    in_file: dict[tuple[str, int], str] = {}
    for entry, (artifact, created, promoted) in zip(entries, checked, strict=True):
        key = (entry["name"], entry["version"])
        label = f"{key[0]}:{key[1]}"
        if key in in_file:
            if in_file[key] != entry["artifact_sha256"]:
                raise FormguideError(f"{path.name}: {label} appears twice with different hashes; nothing imported")
            continue
        in_file[key] = entry["artifact_sha256"]
        existing = session.scalar(
            select(ModelRecord).where(ModelRecord.name == key[0], ModelRecord.version == key[1])
        )
        if existing is not None:
            if existing.artifact_sha256 != entry["artifact_sha256"]:
                raise FormguideError(
                    f"{path.name}: {label} already exists here (id {existing.id}) with sha256 "
                    f"{existing.artifact_sha256}, the file has {entry['artifact_sha256']}; it is a different "
                    "model under the same name and version, nothing imported"
                )
            report.skipped.append(existing)
            report.messages.append(f"{label}: already present (id {existing.id}), skipped")
            continue
        plan.append((entry, artifact, created, promoted))

    champions = {name for name, in session.execute(
        select(ModelRecord.name).where(ModelRecord.status == "champion").distinct()
    )}
    for entry, artifact, created, promoted in plan:
        label = f"{entry['name']}:{entry['version']}"
        status = entry["status"]
        note = ""
        if status == "champion":
            if entry["name"] in champions:
                status = "retired"
                note = f" as retired ({entry['name']} already has a champion)"
            champions.add(entry["name"])
        record = ModelRecord(
            sport=entry["sport"], name=entry["name"], version=entry["version"], model_type=entry["model_type"],
            status=status, parameters=normalised(entry["parameters"]), artifact=artifact,
            artifact_sha256=entry["artifact_sha256"], metrics=normalised(entry.get("metrics")),
            training_competitions=normalised(entry.get("training_competitions")),
            training_seasons=normalised(entry.get("training_seasons")),
            feature_set_version=entry.get("feature_set_version"),
            data_fingerprint=entry.get("data_fingerprint"), config=normalised(entry.get("config")),
            model_card=entry.get("model_card"), created_at=created or utc_now(), promoted_at=promoted,
        )
        session.add(record)
        session.flush()
        for r in entry.get("training_runs") or []:
            session.add(TrainingRun(
                model_id=record.id,
                **{f: normalised(r.get(f)) for f in _RUN_FIELDS},
                **{f: as_datetime(r.get(f), f) for f in _RUN_DATES},
            ))
        report.append(record)
        report.messages.append(f"{label}: imported (id {record.id}){note}")
    session.flush()
    return report
