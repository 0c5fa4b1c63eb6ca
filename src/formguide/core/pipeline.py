"""Training, backtesting and prediction: the sport-agnostic pipeline every sport runs through.

train:    validate -> features -> walk-forward evaluation (model, market, baselines) -> fit -> register
          -> promote if it beats the champion on the same evaluation window. Every run is recorded,
          failures included; a failed run leaves no model behind.
backtest: walk-forward over a date range with periodic refits, metrics next to the market and naive
          baselines, and betting results against the best available prices.
predict:  the champion (refitted as of the date when it had seen later data), the same feature code.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert, select

from formguide.core import registry
from formguide.core.betting import simulate_bets
from formguide.core.days import day_numbers
from formguide.core.errors import DataValidationError, ModelNotFoundError
from formguide.core.evaluation import base_rates, fingerprint_frame
from formguide.core.metrics import summarise
from formguide.core.sport import MatchSport as Sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import FeatureSetRecord, Prediction
from formguide.core.walkforward import walk_forward

log = logging.getLogger("formguide.pipeline")
Progress = Callable[[int, int], None]


def model_name(sport: str, competition: str) -> str:
    """Registry name of the champion line of a competition: models of every type compete under it."""
    return f"{sport}-{competition}"


@dataclass
class TrainConfig:
    competition: str
    model_type: str
    params: dict[str, Any] = field(default_factory=dict)
    until: datetime | None = None
    seasons: list[str] | None = None
    eval_seasons: int = 2
    promote_metric: str = "log_loss"
    refit: str = "month"
    feature_options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"competition": self.competition, "model_type": self.model_type, "params": self.params,
                "until": self.until.isoformat() if self.until else None, "seasons": self.seasons,
                "eval_seasons": self.eval_seasons, "promote_metric": self.promote_metric, "refit": self.refit,
                "feature_options": self.feature_options}


@dataclass
class TrainOutcome:
    status: str  # "registered" | "skipped"
    run_id: int
    model_id: int | None
    version: int | None
    promoted: bool
    metrics: dict[str, Any]
    message: str
    card_path: str | None = None


# --------------------------------------------------------------------------------------------------
# Data preparation shared by every command
# --------------------------------------------------------------------------------------------------

def prepare(engine: Engine, sport: Sport, competition: str, *, until: datetime | None = None,
            seasons: Sequence[str] | None = None, feature_options: dict[str, Any] | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, Any]:
    """Frame, point-in-time features, outcome index and feature set for one competition.

    With ``until`` every result from that moment on is hidden from features and outcome alike: the
    store is seen exactly as it was known then.
    """
    frame = sport.load_frame(engine, [competition])
    if frame.empty:
        raise DataValidationError(
            f"no {sport.name} events for competition {competition!r} in the store; run `formguide ingest` first")
    if seasons:
        missing = sorted(set(seasons) - set(frame["season"].unique()))
        if missing:
            raise DataValidationError(f"seasons not in the store for {competition}: {', '.join(missing)}")
        frame = frame[frame["season"].isin(list(seasons))].reset_index(drop=True)
    fs = sport.feature_set(**(feature_options or {}))
    if until is not None:
        frame = fs.hide_outcomes(frame, pd.Timestamp(until))
    X = fs.build(frame)
    y = sport.outcome(frame)
    return frame, X, y, fs


def _summary(probs: np.ndarray, y: np.ndarray, mask: np.ndarray) -> dict[str, Any] | None:
    ok = mask & (y >= 0) & ~np.isnan(probs).any(axis=1)
    if ok.sum() == 0:
        return None
    return summarise(probs[ok], y[ok])


def oos_predictions(sport: Sport, frame: pd.DataFrame, X: pd.DataFrame, y: np.ndarray, model_type: str,
                    params: dict[str, Any], *, start_day: int, end_day: int, refit: str,
                    progress: Progress | None = None) -> np.ndarray:
    """Walk-forward predictions of one model configuration for rows in ``[start_day, end_day)``."""
    days = day_numbers(frame["kickoff"])
    est = sport.make_model(model_type, **params)
    if hasattr(est, "walk_forward_predict"):  # staged models run their own nested walk-forward
        return est.walk_forward_predict(frame, X, start_day=start_day, end_day=end_day, refit=refit,
                                        progress=progress)
    k = len(sport.outcome_labels)

    def fit(idx: np.ndarray):
        return est.fit(frame.iloc[idx], X.iloc[idx])

    return walk_forward(days, y >= 0, fit=fit, predict=lambda m, idx: m.predict_proba(frame.iloc[idx], X.iloc[idx]),
                        n_outputs=k, start_day=start_day, end_day=end_day, cadence=refit,
                        min_train=50, progress=progress)


def baseline_predictions(sport: Sport, frame: pd.DataFrame, X: pd.DataFrame, y: np.ndarray, *, start_day: int,
                         end_day: int, refit: str) -> dict[str, np.ndarray]:
    """Naive baselines by the same walk-forward: base rates, plus the sport's own (e.g. Elo)."""
    days = day_numbers(frame["kickoff"])
    k = len(sport.outcome_labels)
    out = {"base_rates": walk_forward(days, y >= 0, fit=lambda idx: base_rates(y[idx], k),
                                      predict=lambda m, idx: np.tile(m, (idx.size, 1)), n_outputs=k,
                                      start_day=start_day, end_day=end_day, cadence=refit)}
    for name, factory in sport.baselines().items():
        def fit(idx: np.ndarray, factory=factory):
            return factory().fit(frame.iloc[idx], X.iloc[idx])

        out[name] = walk_forward(days, y >= 0, fit=fit,
                                 predict=lambda m, idx: m.predict_proba(frame.iloc[idx], X.iloc[idx]),
                                 n_outputs=k, start_day=start_day, end_day=end_day, cadence=refit,
                                 min_train=50)
    return out


def evaluation_report(sport: Sport, frame: pd.DataFrame, y: np.ndarray, model_probs: np.ndarray,
                      baselines: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, Any]:
    """Metrics of model, de-margined closing market and baselines on the same evaluated events."""
    evaluated = mask & (y >= 0) & ~np.isnan(model_probs).any(axis=1)
    market = sport.market_probabilities(frame, which="close", method="multiplicative")
    has_market = evaluated & ~np.isnan(market).any(axis=1)
    days = frame["kickoff"][evaluated]
    report: dict[str, Any] = {
        "window": {"from": days.min().isoformat() if len(days) else None,
                   "to": days.max().isoformat() if len(days) else None, "n": int(evaluated.sum())},
        "model": _summary(model_probs, y, evaluated),
        "market": None,
        "baselines": {name: _summary(p, y, evaluated) for name, p in baselines.items()},
    }
    if has_market.sum():
        report["market"] = _summary(market, y, has_market)
        report["market"]["model_on_same_events"] = _summary(model_probs, y, has_market)
    return report


# --------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------

def training_fingerprint(frame: pd.DataFrame, fs_version: str, config: dict[str, Any], *,
                         id_column: str = "event_id") -> str:
    """What a training run depends on: every value of the frame (store ids excluded, they carry no
    information), the feature-set version and the configuration. Equal fingerprints mean a retrain
    would reproduce the same model, so it is skipped."""
    cols = [c for c in frame.columns if c != id_column]
    h = hashlib.sha256()
    h.update(fingerprint_frame(frame, cols).encode())
    h.update(fs_version.encode())
    h.update(registry.canonical_json(config))
    return h.hexdigest()


def _evaluation_window(frame: pd.DataFrame, y: np.ndarray, eval_seasons: int) -> tuple[int, int]:
    played_seasons = list(dict.fromkeys(frame.loc[y >= 0, "season"]))
    if len(played_seasons) < 2:
        raise DataValidationError("training needs at least two seasons with results (one to learn, one to evaluate)")
    eval_set = played_seasons[-min(eval_seasons, len(played_seasons) - 1):]
    days = day_numbers(frame["kickoff"])
    in_eval = frame["season"].isin(eval_set).to_numpy() & (y >= 0)
    return int(days[in_eval].min()), int(days[in_eval].max()) + 1


def train(engine: Engine, sport: Sport, cfg: TrainConfig, *, artifacts_dir: Path | str = "var/models",
          force: bool = False, progress: Progress | None = None) -> TrainOutcome:
    """Run the whole training pipeline once; see the module docstring for the steps."""
    name = model_name(sport.name, cfg.competition)
    run_id = registry.start_run(engine, sport=sport.name, run_type="train", model_name=name, config=cfg.as_dict())
    logs: list[dict[str, Any]] = []

    def step(msg: str, **extra: Any) -> None:
        logs.append({"at": datetime.now().isoformat(timespec="seconds"), "step": msg, **extra})
        log.info(msg)

    started = time.perf_counter()
    stage: Path | None = None
    try:
        frame, X, y, fs = prepare(engine, sport, cfg.competition, until=cfg.until, seasons=cfg.seasons,
                                  feature_options=cfg.feature_options)
        played = y >= 0
        if played.sum() < 100:
            raise DataValidationError(f"only {int(played.sum())} played events for {cfg.competition}; need 100+")
        step("validated", events=len(frame), played=int(played.sum()))
        config = cfg.as_dict()
        fingerprint = training_fingerprint(frame[played], fs.version, config)
        with session_scope(engine) as s:
            same = registry.find_by_fingerprint(s, name, fingerprint, config)
        if same is not None and not force:
            msg = (f"skipped: data and configuration unchanged since {name} v{same.version} "
                   f"(fingerprint {fingerprint[:12]}); use --force to retrain")
            registry.finish_run(engine, run_id, status="skipped", model_id=same.id, data_fingerprint=fingerprint,
                                logs=logs + [{"step": msg}])
            return TrainOutcome("skipped", run_id, same.id, same.version, False, same.metrics or {}, msg)
        start_day, end_day = _evaluation_window(frame, y, cfg.eval_seasons)
        window = day_numbers(frame["kickoff"])
        mask = (window >= start_day) & (window < end_day)
        step("walk-forward evaluation", start_day=start_day, end_day=end_day)
        probs = oos_predictions(sport, frame, X, y, cfg.model_type, cfg.params, start_day=start_day,
                                end_day=end_day, refit=cfg.refit, progress=progress)
        baselines = baseline_predictions(sport, frame, X, y, start_day=start_day, end_day=end_day, refit=cfg.refit)
        evaluation = evaluation_report(sport, frame, y, probs, baselines, mask)
        if evaluation["model"] is None:
            raise DataValidationError("the evaluation window produced no out-of-sample predictions")
        step("fit final model")
        est = sport.make_model(cfg.model_type, **cfg.params).fit(frame[played], X[played])
        parameters = est.to_dict()
        importance = est.feature_importance() if hasattr(est, "feature_importance") else None
        metrics = {
            "evaluation": evaluation,
            "data": {"n_events": int(played.sum()), "date_from": frame.loc[played, "kickoff"].min().isoformat(),
                     "date_to": frame.loc[played, "kickoff"].max().isoformat()},
            "feature_importance": importance,
            "duration_s": round(time.perf_counter() - started, 2),
        }
        champion_score, champion_id = _champion_score(engine, sport, name, cfg, frame, X, y, start_day, end_day,
                                                      mask & ~np.isnan(probs).any(axis=1))
        score = evaluation["model"][cfg.promote_metric]
        promote = champion_score is None or score < champion_score
        metrics["promotion"] = {"metric": cfg.promote_metric, "candidate": score, "champion": champion_score,
                                "champion_id": champion_id, "promoted": bool(promote)}
        seasons = list(dict.fromkeys(frame.loc[played, "season"]))
        with session_scope(engine) as s:
            record = registry.register_model(
                s, sport=sport.name, name=name, model_type=cfg.model_type, parameters=parameters, metrics=metrics,
                config=config, feature_set_version=fs.version, data_fingerprint=fingerprint,
                training_competitions=[cfg.competition], training_seasons=seasons)
            stage, final_dir = _write_card(record, probs, y, mask, sport, Path(artifacts_dir), importance)
            record.model_card = (stage / "MODEL_CARD.md").read_text()
            store_features(s, sport.name, fs, frame.loc[played, "event_id"].to_numpy(), X[played])
            if promote:
                registry.promote(s, record.id, reason=f"{cfg.promote_metric} {score:.5f} vs "
                                                      f"{'none' if champion_score is None else f'{champion_score:.5f}'}")
            model_id, version = record.id, record.version
        _publish(stage, final_dir)
        card_path = str(final_dir / "MODEL_CARD.md")
        step("registered", model_id=model_id, version=version, promoted=bool(promote))
        registry.finish_run(engine, run_id, status="succeeded", model_id=model_id, event_count=int(mask.sum()),
                            date_from=pd.Timestamp(evaluation["window"]["from"]).to_pydatetime(),
                            date_to=pd.Timestamp(evaluation["window"]["to"]).to_pydatetime(),
                            metrics=evaluation["model"], data_fingerprint=fingerprint, logs=logs)
        verdict = "promoted to champion" if promote else "kept as candidate (champion is better)"
        return TrainOutcome("registered", run_id, model_id, version, bool(promote), metrics,
                            f"{name} v{version} ({cfg.model_type}) {verdict}", card_path)
    except BaseException as exc:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        registry.finish_run(engine, run_id, status="failed", error_message=f"{type(exc).__name__}: {exc}", logs=logs)
        raise


def _champion_score(engine: Engine, sport: Sport, name: str, cfg: TrainConfig, frame, X, y, start_day, end_day,
                    mask) -> tuple[float | None, int | None]:
    """The champion's score on the candidate's window: its configuration is re-run walk-forward there."""
    with session_scope(engine) as s:
        champ = registry.champion(s, name)
        if champ is None:
            return None, None
        champ_cfg = dict(champ.config or {})
        champ_id = champ.id
    probs = oos_predictions(sport, frame, X, y, champ_cfg.get("model_type", "dixon-coles"),
                            champ_cfg.get("params", {}), start_day=start_day, end_day=end_day,
                            refit=champ_cfg.get("refit", cfg.refit))
    summary = _summary(probs, y, mask)
    return (summary[cfg.promote_metric] if summary else None), champ_id


def _write_card(record, probs, y, mask, sport: Sport, artifacts_dir: Path, importance) -> tuple[Path, Path]:
    """Model card + reliability diagram in a staging folder; returns (staging dir, final dir).

    The caller moves the staging folder into place only after the registration committed, so a failed
    run leaves no files behind either.
    """
    from formguide.core.model_card import render_model_card
    from formguide.core.plots import reliability_diagram

    final_dir = artifacts_dir / f"{record.name}-v{record.version}"
    stage = artifacts_dir / f".staging-{record.name}-v{record.version}-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    ok = mask & (y >= 0) & ~np.isnan(probs).any(axis=1)
    png = reliability_diagram(probs[ok], y[ok], list(sport.outcome_labels), stage / "reliability.png",
                              title=f"{record.name} v{record.version}: walk-forward reliability")
    card = render_model_card(record, reliability_png=Path(png).name, feature_importance=importance)
    (stage / "MODEL_CARD.md").write_text(card)
    return stage, final_dir


def _publish(stage: Path, final_dir: Path) -> None:
    shutil.rmtree(final_dir, ignore_errors=True)
    os.replace(stage, final_dir)


def store_features(session, sport: str, fs, event_ids: np.ndarray, X: pd.DataFrame) -> int:
    """Persist feature rows under the feature-set version (replacing earlier rows of those events)."""
    rec = session.scalars(select(FeatureSetRecord).where(FeatureSetRecord.name == fs.name,
                                                         FeatureSetRecord.version == fs.version)).first()
    if rec is None:
        rec = FeatureSetRecord(sport=sport, name=fs.name, version=fs.version, columns=list(X.columns),
                               definition={"features": fs.describe().to_dict(orient="records")})
        session.add(rec)
        session.flush()
    ids = [int(i) for i in event_ids]
    from formguide.core.store.models import FeatureValue

    for chunk in range(0, len(ids), 900):
        session.execute(delete(FeatureValue).where(FeatureValue.feature_set_id == rec.id,
                                                   FeatureValue.event_id.in_(ids[chunk:chunk + 900])))
    values = X.astype(float).to_numpy()
    cols = list(X.columns)
    now = datetime.now()
    rows = [{"feature_set_id": rec.id, "event_id": eid, "computed_at": now,
             "values": {c: (None if np.isnan(v) else float(v)) for c, v in zip(cols, row, strict=True)}}
            for eid, row in zip(ids, values.tolist(), strict=True)]
    if rows:
        session.execute(insert(FeatureValue), rows)
    return len(rows)


# --------------------------------------------------------------------------------------------------
# Backtest
# --------------------------------------------------------------------------------------------------

def backtest(engine: Engine, sport: Sport, competition: str, *, model_type: str, params: dict[str, Any] | None = None,
             date_from: datetime | None = None, date_to: datetime | None = None, refit: str = "week",
             min_edge: float = 0.02, kelly_fraction: float = 0.25, kelly_cap: float = 0.05,
             plots_dir: Path | str | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Walk-forward backtest; returns the documented JSON shape (model, market, baselines, betting)."""
    frame, X, y, _fs = prepare(engine, sport, competition)
    days = day_numbers(frame["kickoff"])
    played_days = days[y >= 0]
    if played_days.size == 0:
        raise DataValidationError(f"no played events for {competition}")
    first_season_end = day_numbers(frame.loc[frame["season"] == frame["season"].iloc[0], "kickoff"]).max() + 1
    start_day = int(day_numbers(pd.Series([pd.Timestamp(date_from)]))[0]) if date_from else int(first_season_end)
    end_day = int(day_numbers(pd.Series([pd.Timestamp(date_to)]))[0]) + 1 if date_to else int(played_days.max()) + 1
    mask = (days >= start_day) & (days < end_day)
    t0 = time.perf_counter()
    probs = oos_predictions(sport, frame, X, y, model_type, params or {}, start_day=start_day, end_day=end_day,
                            refit=refit, progress=progress)
    baselines = baseline_predictions(sport, frame, X, y, start_day=start_day, end_day=end_day, refit=refit)
    elapsed = time.perf_counter() - t0
    report = evaluation_report(sport, frame, y, probs, baselines, mask)
    evaluated = mask & (y >= 0) & ~np.isnan(probs).any(axis=1)
    if not evaluated.any():
        raise DataValidationError(
            f"{model_type} made no out-of-sample forecast of a played {competition} match in the window: it needs "
            "more history before the window (a blend first needs about a season of Dixon-Coles forecasts); "
            "move --from later or ingest earlier seasons")
    odds = sport.best_odds(frame)
    betting: dict[str, Any] = {"odds": "best available closing price (else best opening)", "min_edge": min_edge}
    curves = {}
    for staking in ("flat", "kelly"):
        sim = simulate_bets(probs[evaluated], odds[evaluated], y[evaluated], frame.loc[evaluated, "kickoff"].to_numpy(),
                            min_edge=min_edge, staking=staking, fraction=kelly_fraction, cap=kelly_cap)
        betting[staking] = sim.to_dict()
        curves[staking] = sim
    result = {
        "competition": competition,
        "model": {"type": model_type, "params": params or {}, "refit": refit, **(report["model"] or {})},
        "market": report["market"],
        "baselines": report["baselines"],
        "betting": betting,
        "window": report["window"],
        "seconds": round(elapsed, 2),
    }
    if plots_dir is not None:
        result["bankroll_png"] = str(_bankroll_plot(curves, Path(plots_dir), competition, model_type))
        from formguide.core.plots import reliability_diagram

        result["reliability_png"] = str(reliability_diagram(
            probs[evaluated], y[evaluated], list(sport.outcome_labels),
            Path(plots_dir) / f"reliability-{competition}-{model_type}.png",
            title=f"{competition} {model_type}: walk-forward reliability"))
    return result


def _bankroll_plot(curves: dict[str, Any], plots_dir: Path, competition: str, model_type: str) -> Path:
    from formguide.core.plots import bankroll_curve

    plots_dir.mkdir(parents=True, exist_ok=True)
    data = {name: (sim.bet_date, sim.bankroll) for name, sim in curves.items()}
    return bankroll_curve(data, plots_dir / f"bankroll-{competition}-{model_type}.png",
                          title=f"{competition} {model_type}: bankroll, walk-forward bets")


# --------------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------------

def load_champion(engine: Engine, sport: Sport, competition: str):
    name = model_name(sport.name, competition)
    with session_scope(engine) as s:
        champ = registry.champion(s, name)
        if champ is None:
            known = sorted({m.name for m in registry.list_models(s, sport=sport.name)})
            hint = f" (models exist for: {', '.join(known)})" if known else ""
            raise ModelNotFoundError(
                f"no trained model for {sport.name} {competition}{hint}; run "
                f"`formguide train --sport {sport.name} --league {competition}` first")
        params = registry.verified_parameters(champ)
        s.expunge(champ)
    return champ, sport.model_from_dict(params)


def predict_as_of(engine: Engine, sport: Sport, competition: str, as_of: datetime, *, days: int = 7):
    """Champion probabilities for events in ``[as_of, as_of + days)`` as known at ``as_of``.

    If the champion was trained on results from ``as_of`` or later, its configuration is refitted on
    what was known at ``as_of`` (so a past date is predicted honestly); the returned dict says so.
    """
    champ, est = load_champion(engine, sport, competition)
    cfg = champ.config or {}
    frame, X, y, fs = prepare(engine, sport, competition, until=as_of, feature_options=cfg.get("feature_options"))
    if champ.feature_set_version and champ.feature_set_version != fs.version:
        log.warning("feature set changed since %s v%s was trained (%s -> %s)", champ.name, champ.version,
                    champ.feature_set_version, fs.version)
    as_of_ts = pd.Timestamp(as_of)
    trained_to = pd.Timestamp((champ.metrics or {}).get("data", {}).get("date_to") or as_of_ts)
    refitted = bool(trained_to.normalize() >= as_of_ts.normalize())
    if refitted:
        played = y >= 0
        est = sport.make_model(cfg.get("model_type", champ.model_type), **cfg.get("params", {}))
        est.fit(frame[played], X[played])
    target = ((frame["kickoff"] >= as_of_ts.normalize()) &
              (frame["kickoff"] < as_of_ts.normalize() + pd.Timedelta(days=days))).to_numpy()
    return {"model": champ, "estimator": est, "refitted": refitted, "frame": frame, "X": X, "target": target,
            "feature_set_version": fs.version}


def store_predictions(engine: Engine, model_id: int, rows: list[dict[str, Any]], feature_set_version: str,
                      as_of: datetime) -> int:
    with session_scope(engine) as s:
        for r in rows:
            s.add(Prediction(model_id=model_id, event_id=int(r["event_id"]), feature_set_version=feature_set_version,
                             as_of=as_of, probabilities=r["probabilities"], market_prices=r.get("market_prices"),
                             edge=r.get("edge"), stake=r.get("stake"), selection=r.get("selection"),
                             tier=r.get("tier")))
    return len(rows)
