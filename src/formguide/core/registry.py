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

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from formguide.core.errors import ArtifactIntegrityError, FormguideError, ModelNotFoundError, StoreError
from formguide.core.jsonio import canonical_json
from formguide.core.store.db import session_scope
from formguide.core.store.locks import take_turn_within
from formguide.core.store.models import ModelRecord, TrainingRun

__all__ = [
    "MODEL_STATUSES",
    "canonical_json",
    "champion",
    "find_by_fingerprint",
    "finish_run",
    "get_model",
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
RUN_METRIC_COLUMNS = ("brier", "log_loss", "rps", "accuracy", "draw_accuracy", "ece")
# Portable export/import of versions and their runs: formguide.core.model_transfer.
_RESERVED_NAME_CHARS = (":", "@")
_ARTIFACT_SEPARATOR = b"\nartifact\n"


# --------------------------------------------------------------------------------------------- hashing


def normalised(obj: Any) -> Any:
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
    verify(record)
    return copy.deepcopy(record.parameters) if record.parameters is not None else {}


def verified_artifact(record: ModelRecord) -> bytes | None:
    """The record's artifact bytes, after the same hash check as :func:`verified_parameters`."""
    verify(record)
    return bytes(record.artifact) if record.artifact is not None else None


def verify(record: ModelRecord) -> None:
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


def utc_now() -> datetime:
    """Naive UTC, matching the store's ``DateTime`` columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise FormguideError(f"model name must be a non-empty string, got {name!r}")
    if len(name) > 128:
        raise FormguideError(f"model name {name[:40]!r}... is {len(name)} characters; at most 128 allowed")
    if any(c in name for c in _RESERVED_NAME_CHARS) or name.isdigit():
        raise FormguideError(
            f"model name {name!r} cannot contain ':' or '@' or be all digits: those select versions, "
            "champions and ids in model references"
        )


def check_status(status: str) -> None:
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
    check_name(name)
    check_status(status)
    if not isinstance(parameters, Mapping):
        raise FormguideError(f"parameters of model {name!r} must be a dict, got {type(parameters).__name__}")
    params = normalised(parameters)
    blob = bytes(artifact) if artifact is not None else None
    take_turn_within(session.connection(), f"formguide:register:{name}")  # two runs of one line: one at a time
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
        metrics=normalised(metrics) if metrics is not None else None,
        training_competitions=normalised(list(training_competitions)),
        training_seasons=normalised(list(training_seasons)),
        feature_set_version=feature_set_version,
        data_fingerprint=data_fingerprint,
        config=normalised(config) if config is not None else None,
        model_card=model_card,
        created_at=utc_now(),
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
    verify(record)
    previous = [r for r in siblings if r.status == "champion" and r.id != record.id]
    if record.status == "champion" and not previous:
        return record
    for old in previous:
        old.status = "retired"
    session.flush()
    now = utc_now()
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


def as_datetime(value: Any, what: str) -> datetime | None:
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
    """Record a ``running`` training run in its own transaction and return its id.

    The run carries this process as its owner and a heartbeat renewed until :func:`finish_run`, so a run
    whose process dies is marked interrupted (``core.heartbeat.interrupt_dead_runs``), not running for ever."""
    import os

    from formguide.core.heartbeat import HOST

    with session_scope(engine) as s:
        now = utc_now()
        run = TrainingRun(sport=sport, run_type=run_type, model_name=model_name, status="running",
                          started_at=now, config=normalised(config) if config is not None else None,
                          owner_pid=os.getpid(), owner_host=HOST, heartbeat_at=now)
        s.add(run)
        s.flush()
        run_id = run.id
    _start_run_heartbeat(engine, run_id)
    return run_id


_run_heartbeats: dict[int, Any] = {}


def _start_run_heartbeat(engine: Engine, run_id: int) -> None:
    """Renew the run's ``heartbeat_at`` in the background while it is ``running``."""
    from sqlalchemy import update

    from formguide.core.heartbeat import RUN_HEARTBEAT_S, Heartbeat

    def beat() -> bool:
        with engine.begin() as conn:
            changed = conn.execute(update(TrainingRun).where(TrainingRun.id == run_id,
                                                             TrainingRun.status == "running")
                                   .values(heartbeat_at=utc_now()))
        return bool(changed.rowcount)

    _run_heartbeats[run_id] = Heartbeat(beat, RUN_HEARTBEAT_S, name=f"formguide-run-{run_id}").start()


def _stop_run_heartbeat(run_id: int) -> None:
    beat = _run_heartbeats.pop(int(run_id), None)
    if beat is not None:
        beat.stop()


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
    start = as_datetime(date_from, "date_from")
    end = as_datetime(date_to, "date_to")
    _stop_run_heartbeat(run_id)
    with session_scope(engine) as s:
        run = s.get(TrainingRun, int(run_id))
        if run is None:
            raise FormguideError(f"no training run with id {run_id}")
        run.status = status
        run.completed_at = utc_now()
        if model_id is not None:
            run.model_id = int(model_id)
        if event_count is not None:
            run.event_count = int(event_count)
        if start is not None:
            run.date_from = start
        if end is not None:
            run.date_to = end
        if metrics:
            run.metrics = normalised(metrics)
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
            run.logs = normalised(list(logs))


def list_runs(session: Session, model_name: str | None = None, limit: int = 50) -> list[TrainingRun]:
    """Training runs (and promotions), newest first."""
    stmt = select(TrainingRun)
    if model_name is not None:
        stmt = stmt.where(TrainingRun.model_name == model_name)
    stmt = stmt.order_by(TrainingRun.started_at.desc(), TrainingRun.id.desc()).limit(int(limit))
    return list(session.scalars(stmt))
