"""Model registry on the store: versioned, hash-verified models, one champion per name, training runs.

Sport-agnostic: a model is a name, a JSON bag of fitted parameters and optional artifact bytes. Every
version records ``artifact_sha256`` over the canonical JSON of its parameters (plus the artifact), so a
model edited in the database or in an export file is refused instead of silently used.

Training runs are written in their own short transactions (:func:`start_run`, :func:`finish_run`) so a
failed training is recorded even when the transaction that trained it rolled back. Call
:func:`finish_run` after the training transaction has ended: on SQLite a second writer waits for the
first one's lock.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from formguide.core.errors import ArtifactIntegrityError, FormguideError, ModelNotFoundError, StoreError
from formguide.core.jsonio import canonical_json, write_text_atomic
from formguide.core.store.db import session_scope
from formguide.core.store.models import ModelRecord, TrainingRun

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "MODEL_STATUSES",
    "ImportReport",
    "canonical_json",
    "champion",
    "export_models",
    "find_by_fingerprint",
    "finish_run",
    "get_model",
    "import_models",
    "list_models",
    "list_runs",
    "parameters_sha256",
    "promote",
    "register_model",
    "start_run",
    "verified_artifact",
    "verified_parameters",
]

MODEL_STATUSES = ("candidate", "champion", "retired")
EXPORT_FORMAT = "formguide-models"
EXPORT_VERSION = 1
RUN_METRIC_COLUMNS = ("brier", "log_loss", "rps", "accuracy", "draw_accuracy", "ece")
_RESERVED_NAME_CHARS = (":", "@")
_ARTIFACT_SEPARATOR = b"\nartifact\n"


# --------------------------------------------------------------------------------------------- hashing


def _normalised(obj: Any) -> Any:
    """What the database will hand back for ``obj``: storing this keeps stored and hashed values equal."""
    return json.loads(canonical_json(obj))


def parameters_sha256(parameters: dict, artifact: bytes | None = None) -> str:
    """sha256 over the canonical parameters JSON, then (when present) the artifact bytes."""
    h = hashlib.sha256(canonical_json(parameters))
    if artifact is not None:
        # canonical JSON never holds a raw newline, so the separator cannot be forged by the parameters
        h.update(_ARTIFACT_SEPARATOR)
        h.update(bytes(artifact))
    return h.hexdigest()


def _label(record: ModelRecord) -> str:
    return f"{record.name}:{record.version} (id {record.id})"


def verified_parameters(record: ModelRecord) -> dict:
    """The record's parameters, after checking they (and its artifact) still match the recorded hash."""
    _verify(record)
    return copy.deepcopy(record.parameters) if record.parameters is not None else {}


def verified_artifact(record: ModelRecord) -> bytes | None:
    """The record's artifact bytes, after the same hash check as :func:`verified_parameters`."""
    _verify(record)
    return bytes(record.artifact) if record.artifact is not None else None


def _verify(record: ModelRecord) -> None:
    if not record.artifact_sha256:
        raise ArtifactIntegrityError(f"model {_label(record)} has no recorded hash; refusing to load it")
    artifact = bytes(record.artifact) if record.artifact is not None else None
    actual = parameters_sha256(record.parameters if record.parameters is not None else {}, artifact)
    if actual != record.artifact_sha256:
        raise ArtifactIntegrityError(
            f"model {_label(record)} fails its integrity check: recorded sha256 {record.artifact_sha256}, "
            f"stored parameters/artifact hash to {actual}; it was changed after registration, refusing to load it"
        )


# --------------------------------------------------------------------------------------------- models


def _now() -> datetime:
    """Naive UTC, matching the store's ``DateTime`` columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise FormguideError(f"model name must be a non-empty string, got {name!r}")
    if len(name) > 128:
        raise FormguideError(f"model name {name[:40]!r}... is {len(name)} characters; at most 128 allowed")
    if any(c in name for c in _RESERVED_NAME_CHARS) or name.isdigit():
        raise FormguideError(
            f"model name {name!r} cannot contain ':' or '@' or be all digits: those select versions, "
            "champions and ids in model references"
        )


def _check_status(status: str) -> None:
    if status not in MODEL_STATUSES:
        raise FormguideError(f"unknown model status {status!r}; expected one of {', '.join(MODEL_STATUSES)}")


def register_model(
    session: Session,
    *,
    sport: str,
    name: str,
    model_type: str,
    parameters: dict,
    metrics: dict,
    config: dict,
    feature_set_version: str | None,
    data_fingerprint: str | None,
    training_competitions: list[str],
    training_seasons: list[str],
    model_card: str | None = None,
    artifact: bytes | None = None,
    status: str = "candidate",
) -> ModelRecord:
    """Store a new version of ``name`` (1 + the newest version) with its hash; flushed, so ``id`` is set."""
    _check_name(name)
    _check_status(status)
    if not isinstance(parameters, Mapping):
        raise FormguideError(f"parameters of model {name!r} must be a dict, got {type(parameters).__name__}")
    params = _normalised(parameters)
    blob = bytes(artifact) if artifact is not None else None
    latest = session.scalar(select(func.max(ModelRecord.version)).where(ModelRecord.name == name))
    record = ModelRecord(
        sport=sport,
        name=name,
        version=(latest or 0) + 1,
        model_type=model_type,
        status="candidate",
        parameters=params,
        artifact=blob,
        artifact_sha256=parameters_sha256(params, blob),
        metrics=_normalised(metrics) if metrics is not None else None,
        training_competitions=_normalised(list(training_competitions)),
        training_seasons=_normalised(list(training_seasons)),
        feature_set_version=feature_set_version,
        data_fingerprint=data_fingerprint,
        config=_normalised(config) if config is not None else None,
        model_card=model_card,
        created_at=_now(),
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as exc:
        raise StoreError(
            f"could not register {name}:{record.version}: another process registered that version at the "
            "same time; retry"
        ) from exc
    if status == "champion":
        return promote(session, record.id, reason="registered as champion")
    if status == "retired":
        record.status = "retired"
        session.flush()
    return record


def _known_names(session: Session) -> str:
    names = session.scalars(select(ModelRecord.name).distinct().order_by(ModelRecord.name)).all()
    return ", ".join(names) if names else "none (train a model first)"


def get_model(session: Session, ref: str | int) -> ModelRecord:
    """Resolve ``ref``: an id, ``"name"`` (newest version), ``"name:3"`` or ``"name@champion"``."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        record = session.get(ModelRecord, int(ref))
        if record is None:
            raise ModelNotFoundError(f"no model with id {ref}; known model names: {_known_names(session)}")
        return record
    if not isinstance(ref, str) or not ref.strip():
        raise ModelNotFoundError(f"model reference must be an id or a name, got {ref!r}")
    ref = ref.strip()
    if "@" in ref:
        name, _, tag = ref.partition("@")
        if tag == "latest":
            return get_model(session, name)
        if tag != "champion":
            raise ModelNotFoundError(f"unknown model tag {tag!r} in {ref!r}; use name@champion or name@latest")
        record = champion(session, name)
        if record is None:
            versions = _versions(session, name)
            if not versions:
                raise ModelNotFoundError(f"no model named {name!r}; known model names: {_known_names(session)}")
            raise ModelNotFoundError(
                f"model {name!r} has no champion (versions {', '.join(map(str, versions))}); promote one first"
            )
        return record
    if ":" in ref:
        name, _, ver = ref.rpartition(":")
        ver = ver[1:] if ver[:1] in ("v", "V") else ver
        if not ver.isdigit():
            raise ModelNotFoundError(f"bad version {ref.rpartition(':')[2]!r} in {ref!r}; expected name:3")
        record = session.scalar(
            select(ModelRecord).where(ModelRecord.name == name, ModelRecord.version == int(ver))
        )
        if record is None:
            versions = _versions(session, name)
            if not versions:
                raise ModelNotFoundError(f"no model named {name!r}; known model names: {_known_names(session)}")
            raise ModelNotFoundError(
                f"model {name!r} has no version {int(ver)}; versions: {', '.join(map(str, versions))}"
            )
        return record
    record = session.scalar(
        select(ModelRecord).where(ModelRecord.name == ref).order_by(ModelRecord.version.desc()).limit(1)
    )
    if record is None:
        raise ModelNotFoundError(f"no model named {ref!r}; known model names: {_known_names(session)}")
    return record


def _versions(session: Session, name: str) -> list[int]:
    return list(session.scalars(
        select(ModelRecord.version).where(ModelRecord.name == name).order_by(ModelRecord.version)
    ))


def champion(session: Session, name: str) -> ModelRecord | None:
    """The champion version of ``name``, or None."""
    rows = session.scalars(
        select(ModelRecord).where(ModelRecord.name == name, ModelRecord.status == "champion")
    ).all()
    if len(rows) > 1:
        labels = ", ".join(_label(r) for r in rows)
        raise StoreError(f"model {name!r} has {len(rows)} champions ({labels}); promote one to repair this")
    return rows[0] if rows else None


def promote(session: Session, model_id: int, reason: str = "") -> ModelRecord:
    """Make a verified model the champion of its name; the previous champion becomes ``retired``.

    Every version of the name is locked first (``FOR UPDATE`` on PostgreSQL), so two concurrent promotions
    cannot both leave a champion. The promotion is logged as a ``promotion`` row in ``training_runs``.
    """
    record = session.get(ModelRecord, int(model_id))
    if record is None:
        raise ModelNotFoundError(f"no model with id {model_id}; known model names: {_known_names(session)}")
    # lock, then re-read: a promotion committed while we waited must be seen, not the cached status
    siblings = session.scalars(
        select(ModelRecord).where(ModelRecord.name == record.name).order_by(ModelRecord.id)
        .with_for_update().execution_options(populate_existing=True)
    ).all()
    _verify(record)
    previous = [r for r in siblings if r.status == "champion" and r.id != record.id]
    if record.status == "champion" and not previous:
        return record
    for old in previous:
        old.status = "retired"
    session.flush()
    now = _now()
    record.status = "champion"
    record.promoted_at = now
    session.add(TrainingRun(
        sport=record.sport, model_id=record.id, model_name=record.name, run_type="promotion",
        status="succeeded", started_at=now, completed_at=now, data_fingerprint=record.data_fingerprint,
        config={"reason": reason, "retired": [_label(r) for r in previous]},
        logs=[f"promoted {_label(record)}" + (f": {reason}" if reason else "")]
        + [f"retired {_label(r)}" for r in previous],
    ))
    session.flush()
    return record


def list_models(session: Session, sport: str | None = None, name: str | None = None) -> list[ModelRecord]:
    """Registered models, newest first."""
    stmt = select(ModelRecord)
    if sport is not None:
        stmt = stmt.where(ModelRecord.sport == sport)
    if name is not None:
        stmt = stmt.where(ModelRecord.name == name)
    return list(session.scalars(stmt.order_by(ModelRecord.created_at.desc(), ModelRecord.id.desc())))


def find_by_fingerprint(session: Session, name: str, fingerprint: str, config: dict) -> ModelRecord | None:
    """The newest version of ``name`` trained on the same data fingerprint with the same config, if any.

    Config equality is on canonical JSON, compared here rather than in SQL (PostgreSQL ``json`` has no
    equality operator).
    """
    wanted = canonical_json(config)
    rows = session.scalars(
        select(ModelRecord)
        .where(ModelRecord.name == name, ModelRecord.data_fingerprint == fingerprint)
        .order_by(ModelRecord.version.desc())
    )
    for record in rows:
        if canonical_json(record.config) == wanted:
            return record
    return None


# --------------------------------------------------------------------------------------------- runs


def _as_datetime(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        value = value.astype("datetime64[us]").item()
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise FormguideError(f"{what} {value!r} is not an ISO date/time") from exc
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise FormguideError(f"{what} must be a date/time, got {type(value).__name__}: {value!r}")


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def start_run(engine: Engine, *, sport: str, run_type: str, model_name: str | None, config: dict) -> int:
    """Record a ``running`` training run in its own transaction and return its id."""
    with session_scope(engine) as s:
        run = TrainingRun(sport=sport, run_type=run_type, model_name=model_name, status="running",
                          started_at=_now(), config=_normalised(config) if config is not None else None)
        s.add(run)
        s.flush()
        return run.id


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    model_id: int | None = None,
    event_count: int | None = None,
    date_from: Any = None,
    date_to: Any = None,
    metrics: dict | None = None,
    headline: tuple[str, float] | None = None,
    data_fingerprint: str | None = None,
    error_message: str | None = None,
    logs: list | None = None,
) -> None:
    """Close a run in its own transaction. ``metrics`` (the sport's named metrics) is kept whole as JSON; the
    keys brier/log_loss/rps/accuracy/draw_accuracy/ece also fill their columns when the sport has them (NaN
    stored as NULL); ``headline`` is the promotion metric and its value. Call it after the training
    transaction has committed or rolled back.
    """
    if not isinstance(status, str) or not status or len(status) > 16:
        raise FormguideError(f"run status must be a non-empty string of at most 16 characters, got {status!r}")
    start = _as_datetime(date_from, "date_from")
    end = _as_datetime(date_to, "date_to")
    with session_scope(engine) as s:
        run = s.get(TrainingRun, int(run_id))
        if run is None:
            raise FormguideError(f"no training run with id {run_id}")
        run.status = status
        run.completed_at = _now()
        if model_id is not None:
            run.model_id = int(model_id)
        if event_count is not None:
            run.event_count = int(event_count)
        if start is not None:
            run.date_from = start
        if end is not None:
            run.date_to = end
        if metrics:
            run.metrics = _normalised(metrics)
            for key in RUN_METRIC_COLUMNS:
                if key in metrics:
                    setattr(run, key, _as_float(metrics[key]))
        if headline is not None:
            run.headline_metric, run.headline_value = str(headline[0]), _as_float(headline[1])
        if data_fingerprint is not None:
            run.data_fingerprint = data_fingerprint
        if error_message is not None:
            run.error_message = error_message
        if logs is not None:
            run.logs = _normalised(list(logs))


def list_runs(session: Session, model_name: str | None = None, limit: int = 50) -> list[TrainingRun]:
    """Training runs (and promotions), newest first."""
    stmt = select(TrainingRun)
    if model_name is not None:
        stmt = stmt.where(TrainingRun.model_name == model_name)
    stmt = stmt.order_by(TrainingRun.started_at.desc(), TrainingRun.id.desc()).limit(int(limit))
    return list(session.scalars(stmt))


# --------------------------------------------------------------------------------------------- export


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
        _verify(record)
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
    doc = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": _now().isoformat(), "models": entries}
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
        _check_name(entry["name"])
        _check_status(entry["status"])
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
            _as_datetime(r.get(field), f"{where}: training run {field}")
        for field in ("sport", "run_type", "status", "started_at"):
            if r.get(field) is None:
                raise FormguideError(f"{where}: a training run is missing field {field!r}")
    return (artifact, _as_datetime(entry.get("created_at"), f"{where}: created_at"),
            _as_datetime(entry.get("promoted_at"), f"{where}: promoted_at"))


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
            status=status, parameters=_normalised(entry["parameters"]), artifact=artifact,
            artifact_sha256=entry["artifact_sha256"], metrics=_normalised(entry.get("metrics")),
            training_competitions=_normalised(entry.get("training_competitions")),
            training_seasons=_normalised(entry.get("training_seasons")),
            feature_set_version=entry.get("feature_set_version"),
            data_fingerprint=entry.get("data_fingerprint"), config=_normalised(entry.get("config")),
            model_card=entry.get("model_card"), created_at=created or _now(), promoted_at=promoted,
        )
        session.add(record)
        session.flush()
        for r in entry.get("training_runs") or []:
            session.add(TrainingRun(
                model_id=record.id,
                **{f: _normalised(r.get(f)) for f in _RUN_FIELDS},
                **{f: _as_datetime(r.get(f), f) for f in _RUN_DATES},
            ))
        report.append(record)
        report.messages.append(f"{label}: imported (id {record.id}){note}")
    session.flush()
    return report
