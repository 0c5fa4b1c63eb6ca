"""Training: the one orchestrator every sport runs through.

validate -> features -> walk-forward evaluation (the model, its baselines; the champion re-run on the same
window) -> fit -> register -> promote if better. Every run is recorded in ``training_runs``, failures
included with their error; a failed run leaves no model version and no files behind (model cards are
staged and moved into place only after the store committed).

**Promotion rule** (one for every sport): a candidate becomes champion when its line has no champion, when
its score on the sport's promotion metric (lower is better) over the evaluation window is lower than the
champion's, re-run walk-forward with its own configuration on the same window and scored on the same
events, or when the scores are equal and the configurations are the same apart from ``until`` (a refit of
the champion on newer data replaces it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert, select

from formguide.core import artifacts, registry
from formguide.core.days import day_numbers
from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.estimators import FeatureImportance, NestedWalkForward
from formguide.core.fingerprint import training_fingerprint
from formguide.core.jsonio import canonical_json
from formguide.core.sport import Sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import FeatureSetRecord, FeatureValue, ModelRecord
from formguide.core.walkforward import Cadence, walk_forward

__all__ = ["Prepared", "Progress", "TrainOutcome", "TrainPlan", "phase_progress", "prepare", "train",
           "walk_forward_forecast"]

log = logging.getLogger("formguide.training")
#: ``progress(phase, fraction done)``: what every long use case reports (the CLI draws it, the worker stores it).
Progress = Callable[[str, float], None]


@dataclass
class TrainPlan:
    """Everything a training run depends on besides the data."""

    competition: str
    line: str
    model_type: str
    params: dict[str, Any] = field(default_factory=dict)
    feature_options: dict[str, Any] = field(default_factory=dict)
    until: datetime | None = None
    seasons: list[str] | None = None
    eval_seasons: int = 2
    promote_metric: str | None = None
    cadence: Cadence = field(default_factory=lambda: Cadence(period="month"))
    #: Events before this moment are left out (not trained on, not feature history); None keeps them all.
    date_from: datetime | None = None

    def config(self, sport: Sport) -> dict[str, Any]:
        config = {"sport": sport.name, "competition": self.competition, "model_type": self.model_type,
                  "params": self.params, "feature_options": self.feature_options,
                  "until": self.until.isoformat() if self.until else None, "seasons": self.seasons,
                  "eval_seasons": self.eval_seasons, "promote_metric": self.promote_metric or sport.headline_metric,
                  "cadence": self.cadence.to_dict()}
        if self.date_from is not None:  # only when set: configurations stored before it stay comparable
            config["date_from"] = self.date_from.isoformat()
        return config


@dataclass
class TrainOutcome:
    status: str  # "registered" | "skipped"
    run_id: int
    name: str
    model_id: int | None
    version: int | None
    promoted: bool
    metrics: dict[str, Any]
    message: str
    card_path: str | None = None


@dataclass
class Prepared:
    """A competition's frame as known at a moment, its point-in-time features and which rows are trainable."""

    frame: pd.DataFrame
    X: pd.DataFrame
    trainable: np.ndarray
    feature_set: Any


def prepare(engine: Engine | None, sport: Sport, competition: str, *, until: datetime | None = None,
            seasons: Sequence[str] | None = None, feature_options: dict[str, Any] | None = None,
            frame: pd.DataFrame | None = None, date_from: datetime | None = None) -> Prepared:
    """Frame, features and trainable rows of one competition; with ``until`` later results are hidden, with
    ``date_from`` earlier events are dropped (the features start from it, as with ``seasons``).

    ``frame`` replaces the store's rows (a frame built in code, e.g. straight from source files)."""
    if frame is None:
        frame = sport.load_frame(engine, [competition])
    if frame.empty:
        raise DataValidationError(f"no {sport.name} events for competition {competition!r} in the store; run "
                                  f"`formguide ingest {sport.name}` first")
    if seasons:
        stored = frame["season"].astype(str)
        missing = sorted(set(map(str, seasons)) - set(stored.unique()))
        if missing:
            raise DataValidationError(f"seasons not in the store for {competition}: {', '.join(missing)}")
        frame = frame[stored.isin([str(s) for s in seasons]).to_numpy()]
    if date_from is not None:
        frame = frame[(frame[sport.time_column] >= pd.Timestamp(date_from)).to_numpy()]
        if frame.empty:
            raise DataValidationError(f"no {sport.name} events of {competition} from {date_from:%Y-%m-%d} on"
                                      + (f" in seasons {', '.join(map(str, seasons))}" if seasons else ""))
    frame = frame.reset_index(drop=True)
    fs = sport.feature_set(**(feature_options or {}))
    if until is not None:
        frame = fs.hide_outcomes(frame, pd.Timestamp(until))
    X = fs.build(frame)
    return Prepared(frame, X, sport.trainable(frame), fs)


def _rows(idx: np.ndarray) -> np.ndarray | slice:
    """The same rows as a slice when they are consecutive: pandas slices a wide frame without copying it,
    where taking an index array copies every column (weekly refits of a baseline do it hundreds of times)."""
    if idx.size and idx[-1] - idx[0] + 1 == idx.size and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def walk_forward_forecast(sport: Sport, frame: pd.DataFrame, X: pd.DataFrame, trainable: np.ndarray,
                          model_type: str, params: dict[str, Any], *, start_day: int, end_day: int,
                          cadence: Cadence, progress: Callable[[int, int], None] | None = None,
                          factory: Callable[[], Any] | None = None) -> np.ndarray:
    """Out-of-sample ``(n, n_outputs)`` forecasts of one configuration for rows in ``[start_day, end_day)``."""
    make = factory or (lambda: sport.make_model(model_type, **params))
    probe = make()
    if isinstance(probe, NestedWalkForward):  # staged models run their own nested walk-forward
        out = probe.walk_forward_forecast(frame, X, start_day=start_day, end_day=end_day, cadence=cadence,
                                          progress=progress)
        return np.asarray(out, dtype=np.float64).reshape(len(frame), -1)

    def fit(idx: np.ndarray) -> Any:
        rows = _rows(idx)
        return make().fit(frame.iloc[rows], X.iloc[rows])

    def predict(model: Any, idx: np.ndarray) -> np.ndarray:
        rows = _rows(idx)
        return sport.forecast(model, frame.iloc[rows], X.iloc[rows])

    return walk_forward(day_numbers(frame[sport.time_column]), trainable, fit=fit, predict=predict,
                        n_outputs=sport.n_outputs, start_day=start_day, end_day=end_day, groups=sport.groups(frame),
                        cadence=cadence, min_train=sport.min_train, min_train_groups=sport.min_train_groups,
                        progress=progress)


def baseline_forecasts(sport: Sport, frame: pd.DataFrame, X: pd.DataFrame, trainable: np.ndarray, *,
                       start_day: int, end_day: int, cadence: Cadence) -> dict[str, np.ndarray]:
    """Every baseline of the sport by the same walk-forward (at the sport's baseline cadence)."""
    cadence = sport.baseline_cadence or cadence
    return {name: walk_forward_forecast(sport, frame, X, trainable, name, {}, start_day=start_day, end_day=end_day,
                                        cadence=cadence, factory=factory)
            for name, factory in sport.baselines().items()}


def evaluation_window(sport: Sport, frame: pd.DataFrame, trainable: np.ndarray, eval_seasons: int) -> tuple[int, int]:
    """Days ``[start, end)`` of the latest ``eval_seasons`` seasons with results (one season is kept to learn)."""
    played = list(dict.fromkeys(frame.loc[trainable, "season"]))
    if len(played) < 2:
        raise DataValidationError("training needs at least two seasons with results (one to learn, one to evaluate)")
    chosen = played[-min(eval_seasons, len(played) - 1):]
    days = day_numbers(frame[sport.time_column])
    in_eval = frame["season"].isin(chosen).to_numpy() & trainable
    return int(days[in_eval].min()), int(days[in_eval].max()) + 1


def _stage(progress: Progress | None, phase: str, fraction: float = 0.0) -> None:
    if progress is not None:
        progress(phase, fraction)


def phase_progress(progress: Progress | None, phase: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda i, n: progress(phase, i / n if n else 1.0)


def _without_until(config: dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in (config or {}).items() if k != "until"})


def _config_cadence(config: dict[str, Any], default: Cadence) -> Cadence:
    """The cadence a stored configuration ran at (older stores: ``refit`` name or ``refit_every`` groups)."""
    if config.get("cadence"):
        return Cadence.from_dict(config["cadence"])
    if config.get("refit_every"):
        return Cadence(groups=int(config["refit_every"]))
    if isinstance(config.get("refit"), str):
        return Cadence.parse(config["refit"])
    return default


def _champion_forecast(engine: Engine, sport: Sport, plan: TrainPlan, prep: Prepared, start_day: int,
                       end_day: int) -> tuple[np.ndarray | None, int | None, bool, str | None]:
    """The champion's configuration re-run on the candidate's window: (forecast, id, same config, problem)."""
    with session_scope(engine) as s:
        champ = registry.champion(s, plan.line)
        if champ is None:
            return None, None, False, None
        cfg, champ_id = dict(champ.config or {}), champ.id
    same = _without_until(cfg) == _without_until(plan.config(sport))
    try:
        forecast = walk_forward_forecast(sport, prep.frame, prep.X, prep.trainable, cfg.get("model_type", plan.model_type),
                                         cfg.get("params", {}), start_day=start_day, end_day=end_day,
                                         cadence=_config_cadence(cfg, plan.cadence))
    except (FormguideError, ValueError, TypeError, KeyError) as exc:
        return None, champ_id, same, f"the champion's configuration could not be re-run ({exc})"
    return forecast, champ_id, same, None


def store_features(session: Any, sport: Sport, fs: Any, frame: pd.DataFrame, X: pd.DataFrame) -> int:
    """Persist feature rows under the feature-set version, keyed per event and entry (replacing older rows)."""
    rec = session.scalars(select(FeatureSetRecord).where(FeatureSetRecord.name == fs.name,
                                                         FeatureSetRecord.version == fs.version)).first()
    if rec is None:
        rec = FeatureSetRecord(sport=sport.name, name=fs.name, version=fs.version, columns=list(X.columns),
                               definition={"features": fs.describe().to_dict(orient="records")})
        session.add(rec)
        session.flush()
    from formguide.core.store.models import Event

    stored = set(session.scalars(select(Event.id).where(Event.sport == sport.name)))
    keep = frame[sport.event_column].isin(stored).to_numpy()  # rows of events the store holds
    frame, X = frame[keep], X[keep]
    events = frame[sport.event_column].to_numpy(dtype=np.int64)
    entries = np.asarray(sport.entry_ids(session, frame), dtype=np.int64)
    unique_events = [int(e) for e in pd.unique(events)]
    for lo in range(0, len(unique_events), 900):
        session.execute(delete(FeatureValue).where(FeatureValue.feature_set_id == rec.id,
                                                   FeatureValue.event_id.in_(unique_events[lo:lo + 900])))
    values = X.astype(float).to_numpy()
    cols = list(X.columns)
    now = datetime.now()
    rows = [{"feature_set_id": rec.id, "event_id": int(e), "entry_id": int(n), "computed_at": now,
             "values": {c: (None if v != v else float(v)) for c, v in zip(cols, row, strict=True)}}
            for e, n, row in zip(events, entries, values.tolist(), strict=True)]
    if rows:
        session.execute(insert(FeatureValue), rows)
    return len(rows)


def train(engine: Engine, sport: Sport, plan: TrainPlan, *, artifacts_dir: Path, force: bool = False,
          progress: Progress | None = None, frame: pd.DataFrame | None = None) -> TrainOutcome:
    """Run the whole training pipeline once; see the module docstring for the steps and the promotion rule."""
    config = plan.config(sport)
    metric = plan.promote_metric or sport.headline_metric
    run_id = registry.start_run(engine, sport=sport.name, run_type="train", model_name=plan.line, config=config)
    logs: list[dict[str, Any]] = []

    def step(msg: str, **extra: Any) -> None:
        logs.append({"at": datetime.now().isoformat(timespec="seconds"), "step": msg, **extra})
        log.info(msg)

    started = time.perf_counter()
    staged: Path | None = None
    try:
        _stage(progress, "validate")
        prep = prepare(engine, sport, plan.competition, until=plan.until, seasons=plan.seasons,
                       feature_options=plan.feature_options, frame=frame, date_from=plan.date_from)
        frame, X, rows = prep.frame, prep.X, prep.trainable
        sport.check_history(frame, rows, plan.competition)
        step("validated", rows=len(frame), trainable=int(rows.sum()))
        fingerprint = training_fingerprint(frame[rows], prep.feature_set.version, config,
                                           id_columns=(sport.event_column,))
        with session_scope(engine) as s:
            same = registry.find_by_fingerprint(s, plan.line, fingerprint, config)
            same_info = (same.id, same.version, same.metrics or {}) if same is not None else None
        if same_info is not None and not force:
            msg = (f"skipped: data and configuration unchanged since {plan.line} v{same_info[1]} "
                   f"(fingerprint {fingerprint[:12]}); use --force to retrain")
            registry.finish_run(engine, run_id, status="skipped", model_id=same_info[0], data_fingerprint=fingerprint,
                                logs=logs + [{"step": msg}])
            return TrainOutcome("skipped", run_id, plan.line, same_info[0], same_info[1], False, same_info[2], msg)
        start_day, end_day = evaluation_window(sport, frame, rows, plan.eval_seasons)
        days = day_numbers(frame[sport.time_column])
        window = (days >= start_day) & (days < end_day)
        step("walk-forward evaluation", start_day=start_day, end_day=end_day)
        _stage(progress, "walk-forward")
        forecast = walk_forward_forecast(sport, frame, X, rows, plan.model_type, plan.params, start_day=start_day,
                                         end_day=end_day, cadence=plan.cadence,
                                         progress=phase_progress(progress, "walk-forward"))
        _stage(progress, "baselines")
        references = baseline_forecasts(sport, frame, X, rows, start_day=start_day, end_day=end_day,
                                        cadence=plan.cadence)
        _stage(progress, "evaluate")
        evaluation = sport.evaluate(frame, {"model": forecast, **references}, window)
        if evaluation["model"] is None:
            raise DataValidationError("the evaluation window produced no out-of-sample predictions")
        _stage(progress, "champion")
        champ_forecast, champ_id, same_config, problem = _champion_forecast(engine, sport, plan, prep, start_day,
                                                                            end_day)
        score, champion_score = float(evaluation["model"][metric]), None
        if champ_forecast is not None:
            versus = sport.evaluate(frame, {"model": forecast, "champion": champ_forecast}, window)
            if versus["model"] is None or (versus.get("baselines") or {}).get("champion") is None:
                # e.g. a champion that needs more history than this run's seasons give: treated like a champion
                # whose configuration cannot be re-run (not compared), with the reason in the promotion note
                problem = "the champion's configuration made no forecast on this evaluation window"
            else:
                score = float(versus["model"][metric])
                champion_score = float(versus["baselines"]["champion"][metric])
        promote = champion_score is None or score < champion_score or (same_config and score <= champion_score)
        _stage(progress, "fit")
        step("fit final model")
        est = sport.make_model(plan.model_type, **plan.params).fit(frame[rows], X[rows])
        importance = est.feature_importance() if isinstance(est, FeatureImportance) else None
        evaluated = sport.evaluated_events(frame, forecast, window)
        times = frame.loc[rows, sport.time_column]
        metrics = {
            "evaluation": evaluation,
            "data": {"n_events": int(frame.loc[rows, sport.event_column].nunique()), "n_rows": int(rows.sum()),
                     "date_from": times.min().isoformat(), "date_to": times.max().isoformat(),
                     "seasons": [str(s) for s in dict.fromkeys(frame.loc[rows, "season"])]},
            "feature_importance": importance,
            "model": sport.model_facts(est),
            "duration_s": round(time.perf_counter() - started, 2),
            "promotion": {"metric": metric, "candidate": score, "champion": champion_score, "champion_id": champ_id,
                          "same_configuration": same_config, "promoted": bool(promote), "note": problem},
        }
        _stage(progress, "register")
        with session_scope(engine) as s:
            record = registry.register_model(
                s, sport=sport.name, name=plan.line, model_type=plan.model_type, parameters=est.to_dict(),
                metrics=metrics, config=config, feature_set_version=prep.feature_set.version,
                data_fingerprint=fingerprint, training_competitions=[plan.competition],
                training_seasons=metrics["data"]["seasons"])
            if promote:
                _stage(progress, "promote")
                versus = "none" if champion_score is None else f"{champion_score:.5f}"
                registry.promote(s, record.id, reason=f"{metric} {score:.5f} vs {versus}")
            final = artifacts.model_dir(artifacts_dir, record.name, record.version)
            staged = artifacts.stage(final)
            record.model_card = write_model_card(sport, record, staged, frame, forecast, evaluated, importance)
            store_features(s, sport, prep.feature_set, frame[rows], X[rows])
            model_id, version = record.id, record.version
        artifacts.publish(staged, final)
        staged = None
        step("registered", model_id=model_id, version=version, promoted=bool(promote))
        registry.finish_run(engine, run_id, status="succeeded", model_id=model_id,
                            event_count=int(evaluation["window"]["n"]), date_from=evaluation["window"]["from"],
                            date_to=evaluation["window"]["to"], metrics=evaluation["model"], headline=(metric, score),
                            data_fingerprint=fingerprint, logs=logs)
        verdict = "promoted to champion" if promote else "kept as candidate (the champion is better)"
        return TrainOutcome("registered", run_id, plan.line, model_id, version, bool(promote), metrics,
                            f"{plan.line} v{version} ({plan.model_type}) {verdict}", str(final / "MODEL_CARD.md"))
    except BaseException as exc:
        artifacts.discard(staged)
        status = getattr(exc, "run_status", "failed")  # a cancelled task's run is recorded as cancelled
        registry.finish_run(engine, run_id, status=status, error_message=f"{type(exc).__name__}: {exc}", logs=logs)
        raise


def write_model_card(sport: Sport, record: ModelRecord, folder: Path, frame: pd.DataFrame, forecast: np.ndarray,
                     rows: np.ndarray, importance: dict[str, float] | None) -> str:
    """Reliability diagram and Markdown card of a version in ``folder``; returns the card's text."""
    from formguide.core.model_card import render_model_card

    png = None
    if rows.any():
        png = sport.reliability_plot(frame, forecast, rows, folder / "reliability.png",
                                     title=f"{record.name} v{record.version}: walk-forward reliability")
    card = render_model_card(record, sport=sport, reliability_png=png.name if png else None,
                             feature_importance=importance)
    (folder / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    return card
