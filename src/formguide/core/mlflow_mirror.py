"""Optional mirroring of training runs and champions into MLflow (the ``[mlflow]`` extra).

Why a mirror and not MLflow as the registry: the store stays the source of truth (versions, the promotion
rule, parameters with their sha256); MLflow gets a copy people can browse and compare next to their other
experiments. The mirror reads what the store recorded (the ``training_runs`` row, the model version and its
card) after the run has finished, so MLflow shows exactly what the store holds, and a failure here can never
change or fail a training run: it becomes a warning in the run's messages and the log.

What goes where (sport-agnostic: only the store's own columns are read):

- one experiment per model line, ``formguide/<line>``; one MLflow run per training run, whatever its end
  (registered, skipped, failed, cancelled), tagged with the store's run id, model id, version and status;
  parameters: the configuration flattened, feature-set version, data fingerprint, competition, seasons, date
  windows; metrics: the run's evaluation (model, market, baselines, promotion scores); artifacts: the model
  card, the reliability diagram and a JSON pointer to the formguide model (never the fitted model itself);
- one registered model per line, ``formguide.<line>`` (MLflow refuses ``/`` in registered model names), one
  version per formguide version that was the store's champion while mirroring was on, and the
  ``champion`` alias on the current one.

No phoning home: MLflow 3 sends usage telemetry unless ``MLFLOW_DISABLE_TELEMETRY`` or ``DO_NOT_TRACK`` is
set; both are set before mlflow is first imported (here, lazily: the core never imports mlflow otherwise).
MLflow 3.17 refuses its ``file:`` store unless ``MLFLOW_ALLOW_FILE_STORE`` is set; it is set only when the
user chose a ``file:`` URI (``sqlite:///...`` is the recommended local store).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from formguide.core import artifacts
from formguide.core.errors import FormguideError
from formguide.core.store.db import redact_url, session_scope
from formguide.core.store.models import ModelRecord, TrainingRun

__all__ = ["ALIAS", "MISSING_EXTRA", "Mirror", "MirrorUnavailable", "experiment_name", "mirrored_training",
           "open_mirror", "registered_name"]

log = logging.getLogger("formguide.mlflow")

MISSING_EXTRA = "MLflow mirroring needs the [mlflow] extra: pip install 'formguide[mlflow]'"
ALIAS = "champion"
#: Environment MLflow reads to stay quiet: no usage telemetry (MLflow 3), honoured before the first import.
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
#: A tracking server that is down must not hold a finished training run for minutes: MLflow's own defaults
#: (7 retries with backoff, 120 s timeouts) took 253 s to give up on a refused loopback port; these give up in
#: seconds. Defaults only: a value already in the environment wins.
PATIENCE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
#: A formguide run's end -> MLflow's run status.
RUN_STATUS = {"succeeded": "FINISHED", "skipped": "FINISHED", "failed": "FAILED", "cancelled": "KILLED",
              "interrupted": "KILLED"}
_PARAM_CHUNK, _METRIC_CHUNK, _VALUE_MAX = 100, 1000, 6000  # MLflow's log_batch and param-value limits


class MirrorUnavailable(FormguideError):
    """Mirroring was asked for but cannot start (the extra missing, an unusable URI): one line, before training."""


def experiment_name(line: str) -> str:
    return f"formguide/{line}"


def registered_name(line: str) -> str:
    return "formguide." + re.sub(r"[/:%]", "-", line)


def _import_mlflow() -> Any:
    """mlflow, imported with telemetry off; the one-line error naming the extra when it is not installed."""
    os.environ.update(QUIET_ENV)
    for name, value in PATIENCE_ENV.items():
        os.environ.setdefault(name, value)
    try:
        import mlflow
        from mlflow import MlflowClient  # noqa: F401  (mlflow-skinny provides it; a broken install fails here)
    except ImportError:
        raise MirrorUnavailable(MISSING_EXTRA) from None
    try:  # MLflow 3 decides at import; imported earlier by other code, its client is dropped now
        from mlflow.telemetry import set_telemetry_client
    except ImportError:  # MLflow 2 has no telemetry
        return mlflow
    set_telemetry_client()
    return mlflow


def _ms(moment: datetime | None) -> int | None:
    """Epoch milliseconds of the store's naive-UTC timestamps."""
    return None if moment is None else int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def _key(name: str) -> str:
    """A name MLflow accepts (alphanumerics, ``_ - . space / :``)."""
    return re.sub(r"[^\w\-. /:]", "_", name)


def _param_value(value: Any) -> str:
    text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return text[:_VALUE_MAX]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class _Facts:
    """What the store recorded of one training run and its model version, read in one session."""

    run: dict[str, Any]
    model: dict[str, Any] | None


_RUN_COLUMNS = ("id", "sport", "model_id", "model_name", "run_type", "status", "started_at", "completed_at",
                "event_count", "date_from", "date_to", "metrics", "headline_metric", "headline_value",
                "data_fingerprint", "config", "error_message", "logs")
_MODEL_COLUMNS = ("id", "sport", "name", "version", "model_type", "status", "feature_set_version",
                  "data_fingerprint", "artifact_sha256", "metrics", "config", "training_competitions",
                  "training_seasons", "model_card", "created_at", "promoted_at")


def _read(engine: Engine, run_id: int) -> _Facts:
    with session_scope(engine) as s:
        run = s.get(TrainingRun, int(run_id))
        if run is None:
            raise FormguideError(f"no training run {run_id} in the store")
        model = s.get(ModelRecord, run.model_id) if run.model_id is not None else None
        return _Facts({c: getattr(run, c) for c in _RUN_COLUMNS},
                      {c: getattr(model, c) for c in _MODEL_COLUMNS} if model is not None else None)


def _params(facts: _Facts) -> dict[str, str]:
    """The configuration flattened, with what the data and the features were."""
    run, model = facts.run, facts.model
    out = {_key(k): _param_value(v) for k, v in _flatten(run["config"] or (model or {}).get("config") or {})
           if v is not None}
    out["line"] = str(run["model_name"])
    if run["data_fingerprint"]:
        out["data_fingerprint"] = run["data_fingerprint"]
    if model is not None and run["status"] == "succeeded":
        data = (model["metrics"] or {}).get("data") or {}
        out["feature_set_version"] = str(model["feature_set_version"])
        out["training_seasons"] = _param_value(model["training_seasons"] or data.get("seasons") or [])
        for k in ("date_from", "date_to", "n_events", "n_rows"):
            if data.get(k) is not None:
                out[f"data.{k}"] = str(data[k])
        for k in ("date_from", "date_to"):
            if run[k] is not None:
                out[f"evaluation.{k}"] = run[k].isoformat()
    return out


def _metrics(facts: _Facts) -> dict[str, float]:
    """The run's evaluation: the model's metrics by their names, ``market.*``, ``baseline.<name>.*``."""
    run, model = facts.run, facts.model
    if run["status"] != "succeeded":
        return {}
    stored = (model or {}).get("metrics") or {}
    evaluation = stored.get("evaluation") or {}
    found: dict[str, Any] = dict(evaluation.get("model") or run["metrics"] or {})
    found.update({f"market.{k}": v for k, v in _flatten(evaluation.get("market") or {})})
    found.update({f"baseline.{k}": v for k, v in _flatten(evaluation.get("baselines") or {})})
    promotion = stored.get("promotion") or {}
    found.update({"promotion.candidate": promotion.get("candidate"), "promotion.champion": promotion.get("champion"),
                  "duration_s": stored.get("duration_s"), "evaluation.n": run["event_count"]})
    return {_key(k): v for k, v in ((k, _number(v)) for k, v in found.items()) if v is not None}


def _tags(facts: _Facts, store: str) -> dict[str, str]:
    run, model = facts.run, facts.model
    tags = {"formguide.store": store, "formguide.run_id": str(run["id"]), "formguide.run_status": run["status"],
            "formguide.sport": str(run["sport"]), "formguide.line": str(run["model_name"])}
    if model is not None:
        tags.update({"formguide.model_id": str(model["id"]), "formguide.version": str(model["version"]),
                     "formguide.model_type": str(model["model_type"])})
    if run["error_message"]:
        tags["formguide.error"] = str(run["error_message"])[:_VALUE_MAX]
    steps = [str(entry.get("step")) for entry in (run["logs"] or []) if isinstance(entry, dict)]
    if run["status"] == "skipped" and steps:
        tags["formguide.note"] = steps[-1][:_VALUE_MAX]
    return tags


class Mirror:
    """An MLflow tracking and registry client on one URI, writing what the store recorded (idempotently)."""

    def __init__(self, uri: str) -> None:
        _import_mlflow()
        from mlflow import MlflowClient

        if uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # the user chose MLflow's file store
        self.uri = uri
        try:
            self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        except Exception as exc:  # MLflow raises its own and plain errors for a URI it cannot use
            raise MirrorUnavailable(f"MLflow URI {redact_url(uri)!r} (--mlflow-uri, FORMGUIDE_MLFLOW_URI) cannot be "
                                    f"used: {_first_line(exc)}") from None

    # ----------------------------------------------------------------------------------------- runs
    def log_run(self, engine: Engine, run_id: int, artifacts_dir: Path) -> str:
        """The MLflow run of store run ``run_id`` (created and filled once; a half-written one is replaced)."""
        from mlflow.entities import Metric, Param

        facts = _read(engine, run_id)
        if facts.run["status"] not in RUN_STATUS:
            raise FormguideError(f"training run {run_id} has not finished ({facts.run['status']})")
        store = _store_tag(engine)
        experiment_id = self._experiment(str(facts.run["model_name"]))
        existing = self._find_run(experiment_id, store, run_id)
        if existing is not None and existing.info.status != "RUNNING":
            return str(existing.info.run_id)
        if existing is not None:
            self.client.delete_run(existing.info.run_id)
        label = f"run {run_id}" + (f" v{facts.model['version']}" if facts.model and facts.run["status"] == "succeeded"
                                   else f" {facts.run['status']}")
        run = self.client.create_run(experiment_id, start_time=_ms(facts.run["started_at"]),
                                     tags=_tags(facts, store), run_name=f"{facts.run['model_name']} {label}")
        mlflow_id = run.info.run_id
        params = [Param(k, v) for k, v in _params(facts).items()]
        at = _ms(facts.run["completed_at"]) or _ms(facts.run["started_at"]) or 0
        metrics = [Metric(k, v, at, 0) for k, v in _metrics(facts).items()]
        for lo in range(0, len(params), _PARAM_CHUNK):
            self.client.log_batch(mlflow_id, params=params[lo:lo + _PARAM_CHUNK])
        for lo in range(0, len(metrics), _METRIC_CHUNK):
            self.client.log_batch(mlflow_id, metrics=metrics[lo:lo + _METRIC_CHUNK])
        self._log_files(mlflow_id, facts, engine, artifacts_dir)
        self.client.set_terminated(mlflow_id, status=RUN_STATUS[facts.run["status"]],
                                   end_time=_ms(facts.run["completed_at"]))
        return str(mlflow_id)

    def _experiment(self, line: str) -> str:
        name = experiment_name(line)
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            return str(found.experiment_id)
        return str(self.client.create_experiment(name, artifact_location=self._artifact_root(line),
                                                 tags={"formguide.line": line}))

    def _artifact_root(self, line: str) -> str | None:
        """Beside a SQLite tracking file (MLflow's default is ``./mlruns`` of whatever the working directory is)."""
        if not self.uri.startswith("sqlite:"):
            return None
        name = self.uri.split("://", 1)[-1][1:].split("?", 1)[0]
        if name in ("", ":memory:"):
            return None
        path = Path(name).absolute()
        return (path.parent / f"{path.stem}-artifacts" / re.sub(r"[^\w\-.]", "_", line)).as_uri()

    def _find_run(self, experiment_id: str, store: str, run_id: int) -> Any:
        runs = self.client.search_runs([experiment_id], max_results=1, filter_string=(
            f"tags.`formguide.run_id` = '{int(run_id)}' and tags.`formguide.store` = '{store}'"))
        return runs[0] if runs else None

    def _log_files(self, mlflow_id: str, facts: _Facts, engine: Engine, artifacts_dir: Path) -> None:
        """``run.json`` (the store's record of the run) and, for a registered version, ``model/``: the card, the
        reliability diagram and ``formguide_model.json``, a pointer to the version in the store."""
        run, model = facts.run, facts.model
        with tempfile.TemporaryDirectory(prefix="formguide-mlflow-") as tmp:
            root = Path(tmp)
            record = {k: run[k] for k in ("id", "status", "error_message", "headline_metric", "headline_value",
                                          "event_count", "logs")}
            (root / "run.json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
            if model is not None and run["status"] == "succeeded":
                folder = root / "model"
                folder.mkdir()
                source = artifacts.model_dir(artifacts_dir, model["name"], model["version"])
                card = source / "MODEL_CARD.md"
                if card.is_file():
                    shutil.copy2(card, folder / "MODEL_CARD.md")
                elif model["model_card"]:
                    (folder / "MODEL_CARD.md").write_text(model["model_card"], encoding="utf-8")
                if (source / "reliability.png").is_file():
                    shutil.copy2(source / "reliability.png", folder / "reliability.png")
                pointer = {"store": engine.url.render_as_string(hide_password=True),
                           "model_id": model["id"], "name": model["name"], "version": model["version"],
                           "model_type": model["model_type"], "feature_set_version": model["feature_set_version"],
                           "data_fingerprint": model["data_fingerprint"],
                           "artifact_sha256": model["artifact_sha256"], "artifacts": str(source),
                           "note": "the fitted model stays in the formguide store; load it by model_id"}
                (folder / "formguide_model.json").write_text(json.dumps(pointer, indent=2), encoding="utf-8")
            self.client.log_artifacts(mlflow_id, str(root))

    # ------------------------------------------------------------------------------------- champion
    def set_champion(self, engine: Engine, model_id: int, artifacts_dir: Path) -> str:
        """Register ``model_id`` (once) under its line's registered model and point the alias at it; the other
        mirrored versions' ``formguide.status`` tags are brought up to date. Returns what was done, in words
        (MLflow numbers its versions itself: they match formguide's only when every version was mirrored)."""
        with session_scope(engine) as s:
            record = s.get(ModelRecord, int(model_id))
            if record is None:
                raise FormguideError(f"no model with id {model_id} in the store")
            line, version = record.name, record.version
            run_id = s.scalar(select(func.max(TrainingRun.id)).where(
                TrainingRun.model_id == record.id, TrainingRun.run_type == "train",
                TrainingRun.status == "succeeded"))
            statuses = dict(s.execute(select(ModelRecord.id, ModelRecord.status).where(ModelRecord.name == line)).all())
        if run_id is None:
            raise FormguideError(f"model {line} v{version} has no succeeded training run in the store to mirror")
        mlflow_run = self.log_run(engine, int(run_id), artifacts_dir)
        name, store = registered_name(line), _store_tag(engine)
        self._registered_model(name, line)
        versions = self.client.search_model_versions(f"name='{name}'")
        mine = [v for v in versions if (v.tags or {}).get("formguide.store") == store]
        target = next((v for v in mine if v.tags.get("formguide.model_id") == str(model_id)), None)
        if target is None:
            target = self.client.create_model_version(
                name, f"runs:/{mlflow_run}/model", run_id=mlflow_run,
                tags={"formguide.store": store, "formguide.model_id": str(model_id), "formguide.version": str(version),
                      "formguide.status": statuses.get(int(model_id), "champion")},
                description=f"formguide {line} v{version} (model id {model_id}); the fitted model stays in the store")
            mine.append(target)
        self.client.set_registered_model_alias(name, ALIAS, target.version)
        for v in mine:
            now = statuses.get(int(v.tags.get("formguide.model_id", -1)))
            if now is not None and (v.tags or {}).get("formguide.status") != now:
                self.client.set_model_version_tag(name, v.version, "formguide.status", now)
        return f"MLflow: alias '{ALIAS}' on {name} version {target.version} ({line} v{version})"

    def _registered_model(self, name: str, line: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name, tags={"formguide.line": line}, description=(
                f"formguide line {line}: one version per formguide champion, alias '{ALIAS}' on the current one"))

    # -------------------------------------------------------------------------------- use-case hooks
    def after_train(self, engine: Engine, line: str, after: int, artifacts_dir: Path) -> list[str]:
        """Mirror the training runs of ``line`` this process finished since run id ``after``, then the line's
        champion; the messages say where they went, or the warning when mirroring failed."""
        def work() -> list[str]:
            from formguide.core.heartbeat import HOST

            with session_scope(engine) as s:
                ids = list(s.scalars(select(TrainingRun.id).where(
                    TrainingRun.id > after, TrainingRun.model_name == line, TrainingRun.run_type == "train",
                    TrainingRun.owner_pid == os.getpid(), TrainingRun.owner_host == HOST,
                    TrainingRun.status != "running").order_by(TrainingRun.id)))
                champion = s.scalar(select(ModelRecord.id).where(ModelRecord.name == line,
                                                                 ModelRecord.status == "champion"))
            notes = [f"MLflow: run {self.log_run(engine, i, artifacts_dir)} in experiment "
                     f"{experiment_name(line)!r} ({redact_url(self.uri)})" for i in ids]
            if champion is not None:
                notes.append(self.set_champion(engine, int(champion), artifacts_dir))
            return notes

        return _safely(f"the training of {line}", work)

    def after_promote(self, engine: Engine, model_id: int, artifacts_dir: Path) -> list[str]:
        """Point the champion alias at a version promoted by hand (a warning when that fails)."""
        def work() -> list[str]:
            return [f"{self.set_champion(engine, model_id, artifacts_dir)} in {redact_url(self.uri)}"]

        return _safely(f"the promotion of model {model_id}", work)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    return line if len(line) <= 300 else line[:297] + "..."


def _safely(what: str, work: Any) -> list[str]:
    """Run a mirroring step; any failure is one warning (logged and returned), never raised."""
    try:
        notes = work()
    except Exception as exc:
        message = f"warning: MLflow mirroring of {what} failed (the store is unaffected): {_first_line(exc)}"
        log.warning(message, exc_info=log.isEnabledFor(logging.DEBUG))
        return [message]
    for note in notes:
        log.info(note)
    return notes


def _store_tag(engine: Engine) -> str:
    """Which store a mirrored run came from (run ids are per store): a hash of its URL without the password."""
    return hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:12]


_mirrors: dict[str, Mirror] = {}


def open_mirror(uri: str | None) -> Mirror | None:
    """The mirror of ``uri`` (one client per URI and process), None when mirroring is off; the extra missing or
    an unusable URI is a :class:`MirrorUnavailable` one-liner, raised before any training starts."""
    if not uri:
        return None
    if uri not in _mirrors:
        _mirrors[uri] = Mirror(uri)
    return _mirrors[uri]


def _last_run_id(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.max(TrainingRun.id))) or 0)


@contextmanager
def mirrored_training(uri: str | None, engine: Engine, line: str, artifacts_dir: Path) -> Iterator[list[str]]:
    """Around one training run: afterwards, registered, skipped or failed, it is mirrored; the yielded list
    receives the messages (a failed run's go to the log, since the run's error is what is raised)."""
    notes: list[str] = []
    mirror = open_mirror(uri)
    if mirror is None:
        yield notes
        return
    after = _last_run_id(engine)
    try:
        yield notes
    except Exception:
        mirror.after_train(engine, line, after, artifacts_dir)
        raise
    notes.extend(mirror.after_train(engine, line, after, artifacts_dir))
