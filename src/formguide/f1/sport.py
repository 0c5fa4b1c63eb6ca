"""Formula 1's plug-in for the core: entry frame, features, field models, training and race predictions.

A race is a *field*: the unit of prediction is a (race, driver) entry and a race's win probabilities sum
to 1. :class:`F1Sport` implements the core's ``FieldSport`` contract (``outcome`` is the finishing
position, there is no odds market in the data) and adds the field-specific steps the F1 commands run:

* :func:`train` — features -> walk-forward evaluation on the latest seasons (model and baselines) -> fit
  -> register (model card, reliability diagram) -> promote when it beats the champion re-run on the
  same window by win log loss. Every run is recorded, failures included.
* :func:`predict_race` — one race as known on the morning of its day: the champion (refitted on the
  races before that day when it had seen later ones, or when the features changed), the same features.

Registry names are ``f1-<moment>`` (``f1-post-quali``, ``f1-pre-quali``): models of every type compete
for the champion of a moment.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core import registry
from formguide.core.errors import DataValidationError, FormguideError, ModelNotFoundError
from formguide.core.features.engine import FeatureSet
from formguide.core.pipeline import training_fingerprint
from formguide.core.sport import FieldSport, IngestReport
from formguide.core.store.db import session_scope
from formguide.f1 import evaluate
from formguide.f1.features import MOMENTS, f1_feature_set
from formguide.f1.models import BASELINE_TYPES, MODEL_TYPES, make_model, model_from_dict

__all__ = ["F1Sport", "TrainResult", "find_race", "model_name", "predict_race", "train"]

log = logging.getLogger("formguide.f1")
Progress = Callable[[int, int], None]
_RACE_REF = re.compile(r"^\s*(\d{4})\s*[-/ ]\s*(\d{1,2})\s*$")


def model_name(moment: str) -> str:
    """Registry name of a moment's champion line."""
    return f"f1-{moment}"


def _check_moment(moment: str) -> None:
    if moment not in MOMENTS:
        raise FormguideError(f"unknown prediction moment {moment!r}; choose one of {', '.join(MOMENTS)}")


class F1Sport(FieldSport):
    """The F1 plug-in: ``load_frame`` gives the canonical entry frame (one row per race and driver)."""

    name = "f1"
    #: A field has no fixed outcome classes; ``outcome`` is the finishing position (1 = winner).
    outcome_labels: tuple[str, ...] = ()
    model_types = tuple(MODEL_TYPES)

    def ingest(self, engine: Engine, paths: Sequence[Path], *, progress: Callable[[int], None] | None = None
               ) -> IngestReport:
        from formguide.f1.store_io import ingest_f1

        return ingest_f1(engine, list(paths), progress=progress)[1]

    def load_frame(self, engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
        """Every stored race entry (``competitions`` is ignored: F1 is one championship)."""
        from formguide.f1.store_io import load_entries

        return load_entries(engine)

    def feature_set(self, moment: str = "post-quali", **options: Any) -> FeatureSet:
        _check_moment(moment)
        return f1_feature_set(moment, **options)

    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        """Finishing position of each entry (1 = winner); -1 where the race has not been run."""
        pos = frame["position"].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(np.isnan(pos), -1, pos).astype(np.int64)

    def market_probabilities(self, frame: pd.DataFrame, *, which: str = "close",
                             method: str = "multiplicative") -> np.ndarray:
        """The F1 data holds no odds: NaN for every entry."""
        return np.full((len(frame), 1), np.nan)

    def best_odds(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full((len(frame), 1), np.nan)

    def make_model(self, model_type: str, **params: Any):
        return make_model(model_type, **params)

    def model_from_dict(self, data: dict[str, Any]):
        return model_from_dict(data)

    def baselines(self) -> dict[str, Callable[[], Any]]:
        return dict(BASELINE_TYPES)


# --------------------------------------------------------------------------------------------------
# Races
# --------------------------------------------------------------------------------------------------


def find_race(frame: pd.DataFrame, race: str) -> np.ndarray:
    """Row mask of the race ``"<season>-<round>"`` (e.g. ``"2024-22"``); a clear error when it is not stored."""
    m = _RACE_REF.match(str(race))
    if m is None:
        raise FormguideError(f"race must look like 2024-22 (season-round), got {race!r}")
    season, rnd = int(m.group(1)), int(m.group(2))
    mask = (frame["season"].to_numpy() == season) & (frame["round"].to_numpy() == rnd)
    if not mask.any():
        rounds = frame.loc[frame["season"] == season, "round"]
        if rounds.empty:
            seasons = sorted(int(s) for s in frame["season"].unique())
            span = f"{seasons[0]}-{seasons[-1]}" if seasons else "none"
            raise FormguideError(f"no F1 season {season} in the store (stored seasons: {span}); ingest it first")
        raise FormguideError(f"season {season} has no round {rnd} in the store (rounds {int(rounds.min())}-"
                             f"{int(rounds.max())})")
    return mask


def _check_moment_data(frame: pd.DataFrame, mask: np.ndarray, moment: str) -> None:
    if moment == "post-quali" and frame.loc[mask, "grid"].isna().all():
        row = frame.loc[mask].iloc[0]
        raise FormguideError(
            f"{row['season']} round {row['round']} ({row['race_name']}) has no qualifying result in the store "
            "yet: a post-qualifying prediction needs the starting grid. Use --moment pre-quali, or ingest the "
            "qualifying results first."
        )


def _champion(engine: Engine, moment: str):
    name = model_name(moment)
    with session_scope(engine) as s:
        champ = registry.champion(s, name)
        if champ is None:
            raise ModelNotFoundError(
                f"no trained F1 {moment} model; run `formguide train --sport f1 --moment {moment}` first")
        params = registry.verified_parameters(champ)
        s.expunge(champ)
    return champ, params


def predict_race(engine: Engine, race: str, moment: str = "post-quali", *, frame: pd.DataFrame | None = None,
                 n_sims: int = 20000, seed: int = 0) -> dict[str, Any]:
    """The champion's field for one race as known on the morning of its day.

    Refuses a post-qualifying prediction for a race whose grid is not known. The champion is used as
    stored unless it was trained on results from that day or later, or on another feature-set version:
    then its configuration is refitted on the races run before the day (``refitted`` says why).
    """
    _check_moment(moment)
    frame = (F1Sport().load_frame(engine) if frame is None else frame).reset_index(drop=True)
    if frame.empty:
        raise DataValidationError("no F1 races in the store; run `formguide ingest f1 FOLDER` first")
    mask = find_race(frame, race)
    _check_moment_data(frame, mask, moment)
    champ, params = _champion(engine, moment)
    fs = f1_feature_set(moment)
    day = frame.loc[mask, "date"].min().normalize()
    known = fs.hide_outcomes(frame, day)
    X = fs.build(known)
    trained_to = (champ.metrics or {}).get("data", {}).get("date_to")
    reason = None
    if champ.feature_set_version != fs.version:
        reason = f"feature set changed ({champ.feature_set_version} -> {fs.version})"
    elif trained_to is None or pd.Timestamp(trained_to).normalize() >= day:
        reason = f"champion was trained on results up to {trained_to}, on or after {day.date()}"
    if reason is None:
        est = model_from_dict(params)
    else:
        cfg = champ.config or {}
        train_rows = known["position"].notna().to_numpy()
        est = make_model(cfg.get("model_type", champ.model_type), **cfg.get("params", {}))
        est.fit(known[train_rows], X[train_rows])
    rows = known.loc[mask]
    field = est.predict_field(rows, X.loc[mask], n_sims=n_sims, seed=seed)
    actual = frame.loc[mask, "position"]
    table = []
    for i in np.argsort(-field["p_win"].to_numpy(), kind="stable"):
        r = rows.iloc[i]
        f = field.iloc[i]
        grid = r["grid"]
        table.append({
            "driver": r["driver"], "driver_code": r["driver_code"] if isinstance(r["driver_code"], str) else None,
            "team": r["constructor"], "grid": None if pd.isna(grid) else int(grid),
            "p_win": float(f["p_win"]), "p_podium": float(f["p_podium"]), "p_points": float(f["p_points"]),
            "expected_position": float(f["expected_position"]),
            "actual_position": None if pd.isna(actual.iloc[i]) else int(actual.iloc[i]),
        })
    first = rows.iloc[0]
    return {
        "race": {"season": int(first["season"]), "round": int(first["round"]), "name": first["race_name"],
                 "circuit": first["circuit"], "date": pd.Timestamp(first["date"]).isoformat()},
        "moment": moment, "model": f"{champ.name} v{champ.version} ({champ.model_type})", "model_id": champ.id,
        "refitted": reason, "feature_set_version": fs.version, "n_sims": n_sims, "entries": table,
    }


# --------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------


class TrainResult(dict):
    """The outcome of :func:`train` as a plain dict (status, run_id, model_id, version, promoted, metrics...)."""


def _eval_window(frame: pd.DataFrame, eval_seasons: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    run = frame[frame["position"].notna()]
    seasons = sorted(run["season"].unique())
    if len(seasons) < 2:
        raise DataValidationError("training needs results of at least two seasons (one to learn, one to evaluate)")
    chosen = seasons[-min(eval_seasons, len(seasons) - 1):]
    dates = run.loc[run["season"].isin(chosen), "date"]
    return dates.min(), dates.max()


def train(engine: Engine, *, model_type: str = "plackett-luce", params: dict[str, Any] | None = None,
          moment: str = "post-quali", until: datetime | None = None, force: bool = False, eval_seasons: int = 2,
          refit_every: int = 5, artifacts_dir: Path | str = "var/models", frame: pd.DataFrame | None = None,
          progress: Progress | None = None) -> TrainResult:
    """Evaluate walk-forward on the latest ``eval_seasons`` seasons, fit on everything, register, maybe promote."""
    _check_moment(moment)
    if model_type not in MODEL_TYPES:
        raise FormguideError(f"unknown F1 model {model_type!r}; choose one of {', '.join(MODEL_TYPES)}")
    params = dict(params or {})
    name = model_name(moment)
    config = {"model_type": model_type, "params": params, "moment": moment,
              "until": until.isoformat() if until else None, "eval_seasons": eval_seasons,
              "refit_every": refit_every}
    run_id = registry.start_run(engine, sport="f1", run_type="train", model_name=name, config=config)
    logs: list[dict[str, Any]] = []

    def step(msg: str, **extra: Any) -> None:
        logs.append({"at": datetime.now().isoformat(timespec="seconds"), "step": msg, **extra})
        log.info(msg)

    started = time.perf_counter()
    try:
        frame = (F1Sport().load_frame(engine) if frame is None else frame).reset_index(drop=True)
        if frame.empty:
            raise DataValidationError("no F1 races in the store; run `formguide ingest f1 FOLDER` first")
        fs = f1_feature_set(moment)
        if until is not None:
            frame = fs.hide_outcomes(frame, pd.Timestamp(until))
        run = frame["position"].notna().to_numpy()
        n_races = int(frame.loc[run, "race_id"].nunique())
        if n_races < 60:
            raise DataValidationError(f"only {n_races} F1 races with results; training needs 60+")
        step("validated", entries=len(frame), races=n_races)
        fingerprint = training_fingerprint(frame[run], fs.version, config, id_column="race_id")
        with session_scope(engine) as s:
            same = registry.find_by_fingerprint(s, name, fingerprint, config)
            same_info = (same.id, same.version, same.metrics or {}) if same is not None else None
        if same_info is not None and not force:
            msg = (f"skipped: data and configuration unchanged since {name} v{same_info[1]} "
                   f"(fingerprint {fingerprint[:12]}); use --force to retrain")
            registry.finish_run(engine, run_id, status="skipped", model_id=same_info[0],
                                data_fingerprint=fingerprint, logs=logs + [{"step": msg}])
            return TrainResult(status="skipped", run_id=run_id, model_id=same_info[0], version=same_info[1],
                               promoted=False, metrics=same_info[2], message=msg, model_card=None)
        X = fs.build(frame)
        date_from, date_to = _eval_window(frame, eval_seasons)
        step("walk-forward evaluation", date_from=date_from.isoformat(), date_to=date_to.isoformat())
        out_dir = Path(artifacts_dir)
        bt = evaluate.run_backtest(frame, moment=moment, model_type=model_type, params=params, date_from=date_from,
                                   date_to=date_to, refit_every=refit_every, X=X, n_sims=5000, by_season=True,
                                   progress=progress)
        report = bt.report
        step("fit final model")
        est = make_model(model_type, **params).fit(frame[run], X[run])
        importance = est.feature_importance() if hasattr(est, "feature_importance") else None
        score = float(report["model"]["win_log_loss"])
        champion_score, champion_id, same_config = _champion_score(engine, name, frame, X, moment, date_from,
                                                                   date_to, refit_every, config)
        promote = champion_score is None or score < champion_score or (same_config and score <= champion_score)
        model_scores = {k: v for k, v in report["model"].items() if k not in ("type", "params", "refit_every")}
        evaluation = {
            "window": {"from": report["window"]["from"], "to": report["window"]["to"],
                       "n": report["window"]["races"], "entries": report["window"]["entries"]},
            "model": evaluate.card_scores(model_scores),
            "market": None,
            "baselines": {k: evaluate.card_scores(v) for k, v in report["baselines"].items()},
            "by_season": report.get("by_season"),
        }
        metrics = {
            "evaluation": evaluation,
            "data": {"n_events": n_races, "n_entries": int(run.sum()),
                     "date_from": frame.loc[run, "date"].min().isoformat(),
                     "date_to": frame.loc[run, "date"].max().isoformat(),
                     "seasons": [str(int(s)) for s in sorted(frame.loc[run, "season"].unique())]},
            "feature_importance": importance,
            "temperature": getattr(est, "temperature_", None),
            "fitted_races": getattr(est, "n_races_", None),
            "duration_s": round(time.perf_counter() - started, 2),
            "promotion": {"metric": "win_log_loss", "candidate": score, "champion": champion_score,
                          "champion_id": champion_id, "promoted": bool(promote)},
        }
        seasons = metrics["data"]["seasons"]
        with session_scope(engine) as s:
            record = registry.register_model(
                s, sport="f1", name=name, model_type=model_type, parameters=est.to_dict(), metrics=metrics,
                config=config, feature_set_version=fs.version, data_fingerprint=fingerprint,
                training_competitions=["WC"], training_seasons=seasons)
            if promote:
                versus = "none" if champion_score is None else f"{champion_score:.5f}"
                registry.promote(s, record.id, reason=f"win log loss {score:.5f} vs {versus}")
            card_path = _write_card(record, bt, out_dir, importance, est)
            record.model_card = Path(card_path).read_text()
            model_id, version = record.id, record.version
        step("registered", model_id=model_id, version=version, promoted=bool(promote))
        registry.finish_run(engine, run_id, status="succeeded", model_id=model_id,
                            event_count=int(report["window"]["races"]),
                            date_from=pd.Timestamp(report["window"]["from"]).to_pydatetime(),
                            date_to=pd.Timestamp(report["window"]["to"]).to_pydatetime(),
                            metrics=evaluation["model"], data_fingerprint=fingerprint, logs=logs)
        verdict = "promoted to champion" if promote else "kept as candidate (the champion is better)"
        return TrainResult(status="registered", run_id=run_id, model_id=model_id, version=version,
                           promoted=bool(promote), metrics=metrics,
                           message=f"{name} v{version} ({model_type}) {verdict}", model_card=card_path)
    except BaseException as exc:
        registry.finish_run(engine, run_id, status="failed", error_message=f"{type(exc).__name__}: {exc}", logs=logs)
        raise


def _champion_score(engine: Engine, name: str, frame: pd.DataFrame, X: pd.DataFrame, moment: str,
                    date_from: pd.Timestamp, date_to: pd.Timestamp, refit_every: int, config: dict[str, Any]
                    ) -> tuple[float | None, int | None, bool]:
    """The champion configuration's win log loss re-run on the candidate's window (same races)."""
    with session_scope(engine) as s:
        champ = registry.champion(s, name)
        if champ is None:
            return None, None, False
        cfg = dict(champ.config or {})
        champ_id = champ.id
    same = registry.canonical_json({k: v for k, v in cfg.items() if k != "until"}) == registry.canonical_json(
        {k: v for k, v in config.items() if k != "until"})
    report = evaluate.backtest(frame, moment=moment, model_type=cfg.get("model_type", "plackett-luce"),
                               params=cfg.get("params", {}), date_from=date_from, date_to=date_to,
                               refit_every=int(cfg.get("refit_every", refit_every)), X=X, baselines=(),
                               n_sims=1000, by_season=False)
    return float(report["model"]["win_log_loss"]), champ_id, same


def _write_card(record, bt: evaluate.BacktestRun, out_dir: Path, importance: dict[str, float] | None, est) -> str:
    """Model card (Markdown) and walk-forward reliability diagram in ``<out_dir>/<name>-v<version>/``."""
    from formguide.core.model_card import render_model_card

    folder = out_dir / f"{record.name}-v{record.version}"
    folder.mkdir(parents=True, exist_ok=True)
    window = bt.report["window"]
    png = bt.reliability_plot(folder / "reliability.png",
                              title=f"{record.name} v{record.version}: walk-forward reliability")
    card = render_model_card(record, reliability_png=Path(png).name, feature_importance=importance)
    card += (
        "\n## Reading the F1 scores\n\n"
        f"A race is a field: `n` counts races ({window['races']} races, {window['entries']} entries, "
        f"days {window['from'][:10]} to {window['to'][:10]}). `log_loss` is the win log loss (mean over races of "
        "-log p(winner)), `accuracy` the top-1 accuracy (the favourite won), `brier` the podium Brier score "
        "(mean over entries of (p_podium - podium)^2) and `ece` the calibration error of every entry's win "
        "probability. Baselines: `grid` = P(win | grid slot) from earlier seasons, `pole` = the pole-sitter "
        "gets the historical pole win rate, `leader` = the championship leader gets the historical leader win "
        "rate. There is no odds market in the F1 data.\n"
    )
    if getattr(est, "temperature_", None) is not None:
        card += (f"\nWin probabilities are `softmax({est.temperature_:.3f} x utility)` per race; the temperature "
                 f"was fitted on out-of-sample utilities of the latest {est.calibrated_on_} training races.\n")
    path = folder / "MODEL_CARD.md"
    path.write_text(card)
    return str(path)
