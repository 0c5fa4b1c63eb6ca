"""Monitoring of a model version: feature drift since its training window, and its stored predictions scored
against the band of its own walk-forward evaluation (``GET /api/v1/monitoring/{model_id}``, ``/metrics``).

**Reference** = the model's training window: the feature rows training stored (``feature_values`` of its
feature-set version, the rows it was fitted on) for its competition's events from ``metrics.data.date_from`` to
``date_to``. **Current** = the events after the training window (played or upcoming, up to ``current_to``):
the events the version is served on once it is champion, whether or not a prediction was stored for each (a
day's predictions are stored only when someone asks for that day, so they would be a thin and biased sample).
Their rows are read from ``feature_values`` where a later training stored them, else built now with the same
feature set (the parity tests show the served row equals the stored one). A version trained up to the store's
latest event has no such events; the report then compares its **last training season** with the seasons before
it (``basis: last_training_season``), which says how far the latest season moved from the history the model
learnt. ``current_from``/``current_to`` choose another window (reference: the training window before it).

Drift is ``core.drift`` (PSI/JS on the reference's fixed bins, the 0.1/0.25 states, the permutation false-alarm
rates); performance is ``core.performance`` (chunks of ``chunk_size`` events; the walk-forward reference re-run
from the stored configuration, computed only once a chunk of scored predictions exists or when ``with_band`` is
asked, and kept per model version and store data in this process and in the store's served-result cache, so a
restart does not redo it).

Reports are kept per store and model for ``/metrics`` (:func:`cached_reports`); a scrape reads them and never
computes (:func:`refresh_champions` recomputes in the background at most once per ``REPORT_TTL_S``).
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import select

from formguide.app.champions import _line
from formguide.app.context import Context
from formguide.core import drift, performance, registry, resultcache
from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.sport import Sport, get_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import (
    Competition,
    Event,
    FeatureSetRecord,
    FeatureValue,
    ModelRecord,
    Prediction,
)
from formguide.core.store.models import Season as SeasonRecord

__all__ = ["DriftRow", "MonitoringReport", "PerformanceBlock", "REPORT_TTL_S", "cached_reports", "monitor_model",
           "refresh_champions"]

#: How long a report stays fresh for ``/metrics`` (a background refresh at most this often per model).
REPORT_TTL_S = 60.0


class Window(BaseModel):
    """One side of the comparison: which events, their time span and how many feature rows."""

    basis: str = Field(description="training_window, after_training, last_training_season, before_current or "
                       "requested.")
    date_from: datetime | None
    date_to: datetime | None
    events: int
    rows: int
    stored_rows: int = Field(description="Rows read from feature_values (the rest were built with the feature set).")


class DriftRow(BaseModel):
    """One feature's drift (``core.drift.FeatureDrift``)."""

    feature: str
    psi: float
    js: float = Field(description="Jensen–Shannon distance, base 2, in [0, 1].")
    n_ref: int
    n_cur: int
    state: str = Field(description="ok (PSI < 0.1), warn (< 0.25) or alert.")
    binning: str = Field(description="quantile (reference deciles, open ends) or categorical (by value).")
    n_bins: int
    missing_ref: float = Field(description="Share of reference rows where the feature is missing.")
    missing_cur: float = Field(description="Share of current rows where the feature is missing.")
    false_alarm_warn: float | None = Field(description="Share of shuffles of unchanged data with PSI > 0.1.")
    false_alarm_alert: float | None = Field(description="Share of shuffles of unchanged data with PSI > 0.25.")
    p_value: float | None = Field(description="Permutation p-value of the observed PSI.")
    psi_null_median: float | None
    psi_null_p95: float | None


class BandOut(BaseModel):
    mean: float
    sd: float
    lower: float
    upper: float
    n_chunks: int


class ChunkOut(BaseModel):
    first: str
    last: str
    n: int
    values: dict[str, float]
    position: dict[str, str] = Field(default_factory=dict, description="in, above (worse) or below the band.")


class PerformanceBlock(BaseModel):
    """Stored predictions with results, scored in chunks against the walk-forward band."""

    state: str = Field(description="ok, alert, no_results, no_reference or not_scored.")
    message: str
    market: str | None
    chunk_size: int
    sigmas: float
    scored_predictions: int
    pending: int = Field(description="Scored predictions not yet in a complete chunk.")
    band: dict[str, BandOut] | None
    chunks: list[ChunkOut]
    reference_chunks: list[ChunkOut]


class MonitoringReport(BaseModel):
    """Drift per feature and the performance band of one model version."""

    model_id: int
    name: str
    version: int
    sport: str
    competition: str | None
    bet_type: str | None
    status: str
    feature_set_version: str | None
    reference: Window
    current: Window
    drift_state: str = Field(description="alert / warn when any feature is, else ok; no_current without rows.")
    drift: list[DriftRow] = Field(description="Features, the largest PSI first.")
    thresholds: dict[str, float]
    performance: PerformanceBlock
    computed_at: datetime
    seconds: float = Field(description="Time this report took to compute.")
    messages: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------ feature rows
def _feature_rows(ctx: Context, fs_id: int, competition: str, sport: str) -> pd.DataFrame:
    """Every stored feature row of the feature set for the competition's events: ids, kickoff, season, values."""
    stmt = (select(FeatureValue.event_id, FeatureValue.entry_id, Event.kickoff, SeasonRecord.code, FeatureValue.values)
            .join(Event, Event.id == FeatureValue.event_id).join(SeasonRecord, SeasonRecord.id == Event.season_id)
            .join(Competition, Competition.id == Event.competition_id)
            .where(FeatureValue.feature_set_id == fs_id, Competition.code == competition, Competition.sport == sport))
    with ctx.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    meta = pd.DataFrame([r[:4] for r in rows], columns=["event_id", "entry_id", "kickoff", "season"])
    values = pd.DataFrame.from_records([r[4] for r in rows])
    return pd.concat([meta, values], axis=1)


def _events_after(ctx: Context, competition: str, sport: str, after: datetime, until: datetime | None) -> int:
    stmt = (select(Event.id).join(Competition, Competition.id == Event.competition_id)
            .where(Competition.code == competition, Competition.sport == sport, Event.kickoff > after))
    if until is not None:
        stmt = stmt.where(Event.kickoff <= until)
    with ctx.engine.connect() as conn:
        return len(conn.execute(stmt).all())


def _built_rows(ctx: Context, view: Sport, record: ModelRecord, competition: str, frame: pd.DataFrame,
                lo: datetime, hi: datetime | None) -> pd.DataFrame:
    """Feature rows of the frame's events in ``(lo, hi]`` built now with the model's feature set (point in time)."""
    fs = view.feature_set(**((record.config or {}).get("feature_options") or {}))
    if record.feature_set_version and fs.version != record.feature_set_version:
        raise DataValidationError(f"{record.name} v{record.version} was trained on feature set "
                                  f"{record.feature_set_version}; this code builds {fs.version}, so its rows "
                                  "cannot be compared")
    times = frame[view.time_column]
    keep = (times > pd.Timestamp(lo)).to_numpy()
    if hi is not None:
        keep &= (times <= pd.Timestamp(hi)).to_numpy()
    if not keep.any():
        return pd.DataFrame()
    X = fs.build(frame).reset_index(drop=True)
    with session_scope(ctx.engine) as s:
        entries = np.asarray(view.entry_ids(s, frame), dtype=np.int64)
    meta = pd.DataFrame({"event_id": frame[view.event_column].to_numpy(), "entry_id": entries,
                         "kickoff": times.to_numpy(), "season": frame["season"].astype(str).to_numpy()})
    return pd.concat([meta[keep].reset_index(drop=True), X[keep].reset_index(drop=True)], axis=1)


def _window(rows: pd.DataFrame, basis: str, stored: int) -> Window:
    if rows.empty:
        return Window(basis=basis, date_from=None, date_to=None, events=0, rows=0, stored_rows=0)
    k = pd.to_datetime(rows["kickoff"])
    return Window(basis=basis, date_from=k.min().to_pydatetime(), date_to=k.max().to_pydatetime(),
                  events=int(rows["event_id"].nunique()), rows=len(rows), stored_rows=stored)


class _Frame:
    """The competition's frame, loaded once and only when needed (it is the slow part: seconds)."""

    def __init__(self, ctx: Context, view: Sport, competition: str) -> None:
        self._args, self._frame = (ctx, view, competition), None

    def __call__(self) -> pd.DataFrame:
        if self._frame is None:
            ctx, view, competition = self._args
            self._frame = view.load_frame(ctx.engine, [competition]).reset_index(drop=True)
        return self._frame


def _current_after(ctx: Context, view: Sport, record: ModelRecord, competition: str, stored: pd.DataFrame,
                   frame: _Frame, lo: datetime, hi: datetime | None) -> tuple[pd.DataFrame, int]:
    """Rows of the events in ``(lo, hi]``: stored ones, plus rows built now for events training never stored."""
    k = pd.to_datetime(stored["kickoff"])
    have = stored[(k > pd.Timestamp(lo)) & ((k <= pd.Timestamp(hi)) if hi is not None else True)]
    n_events = _events_after(ctx, competition, view.name, lo, hi)
    if have["event_id"].nunique() >= n_events:
        return have, len(have)
    built = _built_rows(ctx, view, record, competition, frame(), lo, hi)
    built = built[~built["event_id"].isin(have["event_id"])] if not built.empty else built
    return pd.concat([have, built], ignore_index=True), len(have)


def _split(ctx: Context, view: Sport, record: ModelRecord, competition: str, stored: pd.DataFrame, frame: _Frame,
           current_from: date | None, current_to: date | None) -> tuple[pd.DataFrame, Window, pd.DataFrame, Window]:
    """(reference rows, window, current rows, window) by the rule of the module docstring."""
    data = (record.metrics or {}).get("data") or {}
    if not data.get("date_from") or not data.get("date_to"):
        raise DataValidationError(f"{record.name} v{record.version} does not say its training window")
    t_from, t_to = pd.Timestamp(data["date_from"]), pd.Timestamp(data["date_to"])
    k = pd.to_datetime(stored["kickoff"])
    train = stored[(k >= t_from) & (k <= t_to)]
    tk = pd.to_datetime(train["kickoff"])
    if current_from is not None:
        tick = pd.Timedelta(microseconds=1)
        lo = pd.Timestamp(current_from)
        hi = pd.Timestamp(current_to) + pd.Timedelta(days=1) - tick if current_to is not None else None
        ref = train[tk < lo]
        if ref.empty:
            raise DataValidationError(f"no training rows of {record.name} v{record.version} before {current_from} "
                                      f"(it trained from {t_from.date()}): the reference would be empty")
        cur, n_stored = _current_after(ctx, view, record, competition, stored, frame, (lo - tick).to_pydatetime(),
                                       None if hi is None else hi.to_pydatetime())
        return ref, _window(ref, "before_current", len(ref)), cur, _window(cur, "requested", n_stored)
    if _events_after(ctx, competition, view.name, t_to.to_pydatetime(), None):
        cur, n_stored = _current_after(ctx, view, record, competition, stored, frame, t_to.to_pydatetime(), None)
        return train, _window(train, "training_window", len(train)), cur, _window(cur, "after_training", n_stored)
    seasons = list(dict.fromkeys(train.sort_values("kickoff")["season"]))
    if len(seasons) < 2:
        raise DataValidationError(f"{record.name} v{record.version} has no events after its training window and "
                                  "one training season: nothing to compare")
    last = train["season"] == seasons[-1]
    ref, cur = train[~last], train[last]
    return ref, _window(ref, "before_current", len(ref)), cur, _window(cur, "last_training_season", len(cur))


# ------------------------------------------------------------------------------------------ performance
_references: dict[str, performance.Forecasts | str] = {}
_references_lock = threading.Lock()


def _stored_predictions(ctx: Context, model_id: int, market: str) -> list[tuple[int, dict[str, float], Any]]:
    """The model's predictions of ``market``, the latest one per event (by ``as_of``, then by id)."""
    stmt = (select(Prediction.event_id, Prediction.probabilities, Prediction.as_of, Prediction.id)
            .where(Prediction.model_id == model_id, Prediction.market == market)
            .order_by(Prediction.event_id, Prediction.as_of, Prediction.id))
    with ctx.engine.connect() as conn:
        latest = {int(r[0]): (int(r[0]), dict(r[1] or {}), r[2]) for r in conn.execute(stmt)}
    return list(latest.values())


def _reference(ctx: Context, view: Sport, record: ModelRecord, competition: str, frame: _Frame
               ) -> performance.Forecasts | str:
    """The walk-forward reference (one walk-forward: seconds to minutes), kept per version, hash and store data in
    this process and in the store's served-result cache (``core.resultcache``), so a restart does not redo it."""
    signature = resultcache.data_signature(ctx.engine, view.name, competition)
    key = resultcache.key("monitoring-reference", {"model_id": record.id, "bet_type": view.bet_type},
                          (record.id, record.artifact_sha256), signature)
    with _references_lock:
        if key in _references:
            return _references[key]
    kept = resultcache.get(ctx.engine, key)
    if kept is not None:
        ref: performance.Forecasts | str = kept["reason"] if "reason" in kept else performance.Forecasts(
            np.asarray(kept["probs"], dtype=np.float64), np.asarray(kept["outcome"], dtype=np.intp),
            pd.to_datetime(pd.Series(kept["times"])).to_numpy(), np.asarray(kept["event_ids"], dtype=np.int64))
    else:
        ref = performance.walk_forward_reference(ctx.engine, view, record, frame=frame())
        data = {"reason": ref} if isinstance(ref, str) else {
            "probs": ref.probs.tolist(), "outcome": ref.outcome.tolist(), "event_ids": ref.event_ids.tolist(),
            "times": [pd.Timestamp(t).isoformat() for t in ref.times]}
        resultcache.put(ctx.engine, key, sport=view.name, use_case="monitoring-reference", data=data)
    with _references_lock:
        _references[key] = ref
    return ref


def _chunks(c: performance.ChunkScores, position: list[dict[str, str]] | None = None) -> list[ChunkOut]:
    return [ChunkOut(first=c.first[i], last=c.last[i], n=c.n[i],
                     values={m: c.values[m][i] for m in performance.METRICS},
                     position=(position[i] if position else {})) for i in range(c.count)]


def _performance(ctx: Context, view: Sport, record: ModelRecord, competition: str, frame: _Frame, chunk_size: int,
                 with_band: bool) -> PerformanceBlock:
    """Stored predictions with results against the walk-forward band (see ``core.performance``)."""
    market = getattr(view, "main_market", None)

    def block(state: str, message: str, **kw: Any) -> PerformanceBlock:
        base: dict[str, Any] = {"market": market, "chunk_size": chunk_size, "sigmas": performance.SIGMAS,
                                "scored_predictions": 0, "pending": 0, "band": None, "chunks": [],
                                "reference_chunks": []}
        return PerformanceBlock(state=state, message=message, **{**base, **kw})

    if market is None:
        return block("not_scored", f"{view.name} forecasts are not fixed outcome classes: not scored")
    rows = _stored_predictions(ctx, record.id, market)
    if len(rows) < chunk_size and not with_band:
        return block("no_results", f"{len(rows)} stored {market} predictions; the first chunk needs {chunk_size} "
                     "with results (ask with_band=true for the walk-forward band alone)")
    current = performance.scored_predictions(view, frame(), rows)
    if isinstance(current, str):
        return block("not_scored", current)
    if len(current) < chunk_size and not with_band:
        return block("no_results", f"{len(current)} stored {market} predictions have results; the first chunk needs "
                     f"{chunk_size}", scored_predictions=len(current), pending=len(current))
    reference = _reference(ctx, view, record, competition, frame)
    if isinstance(reference, str):
        return block("not_scored", reference, scored_predictions=len(current))
    rep = performance.performance_report(current, reference, chunk_size=chunk_size)
    band = {m: BandOut(mean=b.mean, sd=b.sd, lower=b.lower, upper=b.upper, n_chunks=b.n_chunks)
            for m, b in (rep.band or {}).items()} or None
    return block(rep.state, rep.message, scored_predictions=len(current), pending=rep.current.pending, band=band,
                 chunks=_chunks(rep.current, rep.position), reference_chunks=_chunks(rep.reference))


# ------------------------------------------------------------------------------------------ the use case
_reports: dict[tuple[str, int], tuple[float, MonitoringReport]] = {}
_reports_lock = threading.Lock()


def _drift_rows(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], permutations: int
                ) -> list[DriftRow]:
    ref = reference.reindex(columns=columns).astype(float).reset_index(drop=True)
    cur = current.reindex(columns=columns).astype(float).reset_index(drop=True)
    table = drift.drift_table(ref, cur, permutations=permutations)
    return sorted((DriftRow(**d.to_dict()) for d in table.values()), key=lambda r: -r.psi)


def _resolve(ctx: Context, model_id: int | str) -> tuple[ModelRecord, Sport, str, str | None, int, list[str]]:
    """The version (detached), its sport's bet-type view, competition, bet type and feature set (id, columns)."""
    with session_scope(ctx.engine) as s:
        record = registry.get_model(s, model_id)  # unknown id: ModelNotFoundError, as the registry answers it
        line = _line(record)
        fs = s.scalars(select(FeatureSetRecord).where(FeatureSetRecord.version == record.feature_set_version)).first()
        s.expunge(record)
        fs_id, columns = (fs.id, list(fs.columns)) if fs is not None else (None, [])
    if line.competition is None:
        raise DataValidationError(f"{record.name} v{record.version} does not say which competition it was trained on")
    if fs_id is None:
        raise DataValidationError(f"{record.name} v{record.version}: its feature set {record.feature_set_version} "
                                  "has no stored rows, so there is no reference to compare with")
    sport = get_sport(record.sport)
    view = sport.for_bet_type(line.bet_type) if line.bet_type else sport
    return record, view, line.competition, line.bet_type, fs_id, columns


def monitor_model(ctx: Context, model_id: int | str, *, current_from: date | None = None,
                  current_to: date | None = None, chunk_size: int = performance.CHUNK_SIZE,
                  permutations: int = drift.PERMUTATIONS, with_band: bool = False) -> MonitoringReport:
    """Drift per feature and the performance band of one model version (module docstring for the windows)."""
    if current_to is not None and current_from is None:
        raise FormguideError("current_to needs current_from")
    if current_from is not None and current_to is not None and current_from > current_to:
        raise FormguideError(f"current_from {current_from} is after current_to {current_to}")
    if not 2 <= chunk_size <= 10_000:
        raise FormguideError(f"chunk_size must be between 2 and 10000, got {chunk_size}")
    if not 0 <= permutations <= 2_000:
        raise FormguideError(f"permutations must be between 0 and 2000, got {permutations}")
    started = time.perf_counter()
    record, view, competition, bet_type, fs_id, columns = _resolve(ctx, model_id)
    frame = _Frame(ctx, view, competition)
    stored = _feature_rows(ctx, fs_id, competition, record.sport)
    if stored.empty:
        raise DataValidationError(f"no stored feature rows of {record.feature_set_version} for {competition}")
    ref, ref_win, cur, cur_win = _split(ctx, view, record, competition, stored, frame, current_from, current_to)
    messages = [f"reference: {ref_win.basis} ({ref_win.rows} rows); current: {cur_win.basis} ({cur_win.rows} rows)"]
    rows = _drift_rows(ref, cur, columns, permutations) if not cur.empty and not ref.empty else []
    states = {r.state for r in rows}
    drift_state = "no_current" if not rows else "alert" if "alert" in states else "warn" if "warn" in states else "ok"
    if rows:
        messages.append(f"{sum(r.state == 'alert' for r in rows)} of {len(rows)} features alert, "
                        f"{sum(r.state == 'warn' for r in rows)} warn (PSI 0.25 / 0.1)")
    perf = _performance(ctx, view, record, competition, frame, chunk_size, with_band)
    messages.append(f"performance: {perf.state}: {perf.message}")
    report = MonitoringReport(
        model_id=record.id, name=record.name, version=record.version, sport=record.sport, competition=competition,
        bet_type=bet_type, status=record.status, feature_set_version=record.feature_set_version, reference=ref_win,
        current=cur_win, drift_state=drift_state, drift=rows,
        thresholds={"warn": drift.WARN, "alert": drift.ALERT, "eps": drift.EPS, "bins": drift.N_BINS,
                    "max_categories": drift.MAX_CATEGORIES, "permutations": permutations, "seed": drift.SEED},
        performance=perf, computed_at=registry.utc_now(), seconds=round(time.perf_counter() - started, 3),
        messages=messages)
    if current_from is None and permutations == drift.PERMUTATIONS and chunk_size == performance.CHUNK_SIZE:
        with _reports_lock:
            _reports[(ctx.settings.store_url, record.id)] = (time.monotonic(), report)
    return report


def cached_reports(ctx: Context) -> list[tuple[float, MonitoringReport]]:
    """The latest default report of each model of this store: (age in seconds, report); nothing is computed."""
    now = time.monotonic()
    with _reports_lock:
        return [(now - at, rep) for (url, _), (at, rep) in _reports.items() if url == ctx.settings.store_url]


def refresh_champions(ctx: Context, ttl: float = REPORT_TTL_S) -> int:
    """Recompute the report of every champion whose cached one is older than ``ttl`` (or missing); returns how
    many were computed. A champion that cannot be monitored (no stored rows...) is skipped."""
    with session_scope(ctx.engine) as s:
        ids = [m.id for m in s.scalars(select(ModelRecord).where(ModelRecord.status == "champion"))]
    fresh = {rep.model_id for age, rep in cached_reports(ctx) if age < ttl}
    done = 0
    for model_id in ids:
        if model_id in fresh:
            continue
        try:
            monitor_model(ctx, model_id)
            done += 1
        except FormguideError:
            continue
    return done
