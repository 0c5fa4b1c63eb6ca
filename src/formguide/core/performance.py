"""Performance of a model once results arrive: its stored predictions scored in chunks against a band from its
own walk-forward evaluation, and an alert when the latest chunk leaves the band.

**Chunks** are consecutive groups of ``chunk_size`` scored events in kick-off order (not calendar weeks: a
week holds 10 football matches in one league but 16 NFL games, and a chunk's noise depends on its size, so the
reference and the current chunks must hold the same number of events). Each chunk's Brier score, log loss and
RPS are the means over its events (``core.metrics`` formulas, row by row); a trailing incomplete chunk is
reported as ``pending`` events and never alerts.

**The reference** is the model's own walk-forward evaluation: the out-of-sample forecasts its training scored.
Training keeps only their summary (``metrics.evaluation``), not the per-event forecasts, so
:func:`walk_forward_reference` re-runs the model's stored configuration walk-forward over the evaluation window
training chose (``core.training.evaluation_window``: its latest ``eval_seasons`` seasons), with the cadence the
training used, on the store's data (results after the model's ``until`` hidden, as in training), through the same
``core.training.walk_forward_forecast``; on unchanged data it scores what the training scored. Re-running, rather than scoring the
final fit on its own training rows, keeps the reference out-of-sample like the predictions it is compared
with; an in-sample band would be too narrow and too good. The caller caches it per model (it costs one
walk-forward, seconds).

**The band** of a metric is mean ± 3σ of its reference chunk values (σ with ddof=1; at least two reference
chunks). The state is ``alert`` when any metric of the latest complete chunk lies outside its band (above: worse
than the walk-forward promised; below: better, which is still a change worth a look), ``ok`` inside,
``no_results`` before one chunk of scored predictions exists and ``no_reference`` when the evaluation window
holds fewer than two chunks.

Sport-agnostic: which forecasts are scored comes from the sport contract. A match sport
(:class:`formguide.core.match.MatchSport`) stores its outcome classes as the ``main_market`` rows of
``predictions`` (probabilities keyed by ``outcome_labels``) and says each event's class with ``outcome``; a
sport of another shape (a field sport's per-entry strengths) is reported as not scored, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from formguide.core.metrics import LOG_LOSS_EPS

__all__ = ["METRICS", "Band", "ChunkScores", "Forecasts", "PerformanceReport", "bands", "chunk_scores",
           "event_scores", "performance_report", "scored_predictions", "walk_forward_reference"]

METRICS = ("brier", "log_loss", "rps")
CHUNK_SIZE = 50
SIGMAS = 3.0


@dataclass
class Forecasts:
    """Scored forecasts in time order: ``(n, k)`` probabilities, the class that happened, and when."""

    probs: NDArray[np.float64]
    outcome: NDArray[np.intp]
    times: NDArray[Any]
    event_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.outcome.shape[0])


def event_scores(probs: NDArray[np.float64], outcome: NDArray[np.intp]) -> dict[str, NDArray[np.float64]]:
    """Brier, log loss and RPS of every event (their means are ``core.metrics.brier`` etc.)."""
    n, k = probs.shape
    y = np.zeros((n, k))
    y[np.arange(n), outcome] = 1.0
    d = probs - y
    cum = np.cumsum(d, axis=1)[:, :-1]
    p_true = np.clip(probs[np.arange(n), outcome], LOG_LOSS_EPS, 1.0)
    return {"brier": np.sum(d * d, axis=1), "log_loss": -np.log(p_true),
            "rps": np.sum(cum * cum, axis=1) / (k - 1)}


@dataclass
class ChunkScores:
    """Per complete chunk: its events, first and last time, and each metric's mean; events left over."""

    size: int
    n: list[int]
    first: list[str]
    last: list[str]
    values: dict[str, list[float]]
    pending: int

    @property
    def count(self) -> int:
        return len(self.n)


def chunk_scores(f: Forecasts, chunk_size: int = CHUNK_SIZE) -> ChunkScores:
    """Metrics of consecutive chunks of ``chunk_size`` events (vectorised: one reshape per metric)."""
    if chunk_size < 2:
        raise ValueError(f"chunk_size must be at least 2, got {chunk_size}")
    full = len(f) // chunk_size
    used = full * chunk_size
    scores = event_scores(f.probs, f.outcome) if len(f) else {m: np.zeros(0) for m in METRICS}
    values = {m: scores[m][:used].reshape(full, chunk_size).mean(axis=1).tolist() for m in METRICS}
    times = pd.to_datetime(pd.Series(f.times[:used]))
    first = [t.isoformat() for t in times.iloc[::chunk_size]] if used else []
    last = [t.isoformat() for t in times.iloc[chunk_size - 1::chunk_size]] if used else []
    return ChunkScores(chunk_size, [chunk_size] * full, first, last, values, len(f) - used)


@dataclass
class Band:
    """mean ± sigmas·σ of one metric over the reference chunks."""

    metric: str
    mean: float
    sd: float
    lower: float
    upper: float
    n_chunks: int


def bands(reference: ChunkScores, sigmas: float = SIGMAS) -> dict[str, Band] | None:
    """The band of every metric; None with fewer than two reference chunks (no σ to speak of)."""
    if reference.count < 2:
        return None
    out = {}
    for m in METRICS:
        v = np.asarray(reference.values[m])
        mean, sd = float(v.mean()), float(v.std(ddof=1))
        out[m] = Band(m, mean, sd, mean - sigmas * sd, mean + sigmas * sd, reference.count)
    return out


@dataclass
class PerformanceReport:
    """Current chunks against the reference band, each chunk's place in it, and the state of the latest one."""

    state: str
    message: str
    chunk_size: int
    sigmas: float
    reference: ChunkScores
    current: ChunkScores
    band: dict[str, Band] | None
    #: Per current chunk and metric: "in", "above" (worse) or "below" (better) the band.
    position: list[dict[str, str]]


def performance_report(current: Forecasts, reference: Forecasts, *, chunk_size: int = CHUNK_SIZE,
                       sigmas: float = SIGMAS) -> PerformanceReport:
    """Score ``current`` in chunks against the band of ``reference`` chunks of the same size (module docstring)."""
    ref, cur = chunk_scores(reference, chunk_size), chunk_scores(current, chunk_size)
    band = bands(ref, sigmas)
    position: list[dict[str, str]] = []
    if band is not None:
        for i in range(cur.count):
            position.append({m: ("above" if cur.values[m][i] > band[m].upper else
                                 "below" if cur.values[m][i] < band[m].lower else "in") for m in METRICS})
    if band is None:
        state = "no_reference"
        message = (f"the walk-forward evaluation holds {len(reference)} scored events, fewer than two chunks of "
                   f"{chunk_size}: no band")
    elif cur.count == 0:
        state = "no_results"
        message = (f"{len(current)} stored predictions have results; the first chunk needs {chunk_size}")
    else:
        outside = {m: p for m, p in position[-1].items() if p != "in"}
        state = "alert" if outside else "ok"
        message = ("latest chunk outside the band: " + ", ".join(f"{m} {p}" for m, p in outside.items())
                   if outside else f"latest chunk of {chunk_size} events inside the band on every metric")
    return PerformanceReport(state, message, chunk_size, sigmas, ref, cur, band, position)


def scored_predictions(sport: Any, frame: pd.DataFrame, rows: Sequence[tuple[int, dict[str, float], Any]]
                       ) -> Forecasts | str:
    """The stored forecasts of a sport's outcome classes that have a result, in kick-off order.

    ``rows`` are ``(event_id, probabilities, as_of)`` of the sport's ``main_market`` predictions, already the one
    kept per event; ``frame`` is the sport's frame (results included). Returns the reason instead when the sport's
    forecasts are not scored by class (a sport not of the match shape)."""
    from formguide.core.match import MatchSport

    if not isinstance(sport, MatchSport):
        return (f"{sport.name} forecasts are not fixed outcome classes (not a match sport): no Brier/log loss/RPS "
                "of stored predictions")
    labels = list(sport.outcome_labels)
    by_event = frame.drop_duplicates(sport.event_column).set_index(sport.event_column)
    ids = np.array([int(r[0]) for r in rows if int(r[0]) in by_event.index], dtype=np.int64)
    probs = np.array([[float(r[1].get(lab, np.nan)) for lab in labels] for r in rows if int(r[0]) in by_event.index],
                     dtype=np.float64).reshape(len(ids), len(labels))
    played = by_event.loc[ids].reset_index()
    y = sport.outcome(played) if len(ids) else np.zeros(0, dtype=np.intp)
    ok = (y >= 0) & np.isfinite(probs).all(axis=1)
    times = played[sport.time_column].to_numpy() if len(ids) else np.zeros(0, dtype="datetime64[ns]")
    order = np.argsort(times[ok], kind="stable")
    return Forecasts(probs[ok][order], y[ok].astype(np.intp)[order], times[ok][order], ids[ok][order])


def walk_forward_reference(engine: Any, sport: Any, record: Any, frame: pd.DataFrame | None = None
                           ) -> Forecasts | str:
    """The model's walk-forward evaluation forecasts, re-run from its stored configuration (module docstring)."""
    from formguide.core.days import day_numbers
    from formguide.core.match import MatchSport
    from formguide.core.training import _config_cadence, evaluation_window, prepare, walk_forward_forecast

    if not isinstance(sport, MatchSport):
        return f"{sport.name} forecasts are not fixed outcome classes (not a match sport): no reference band"
    cfg = record.config or {}
    until = cfg.get("until")
    prep = prepare(engine, sport, cfg.get("competition") or record.training_competitions[0],
                   until=pd.Timestamp(until).to_pydatetime() if until else None, seasons=cfg.get("seasons"),
                   feature_options=cfg.get("feature_options") or {}, frame=frame)
    days = day_numbers(prep.frame[sport.time_column])
    start, end = evaluation_window(sport, prep.frame, prep.trainable, int(cfg.get("eval_seasons", 2)))
    forecast = walk_forward_forecast(sport, prep.frame, prep.X, prep.trainable, cfg.get("model_type", record.model_type),
                                     cfg.get("params") or {}, start_day=start, end_day=end,
                                     cadence=_config_cadence(cfg, sport.train_cadence))
    rows = sport.evaluated_events(prep.frame, forecast, (days >= start) & (days < end))
    y = sport.outcome(prep.frame)
    return Forecasts(forecast[rows], y[rows].astype(np.intp), prep.frame.loc[rows, sport.time_column].to_numpy(),
                     prep.frame.loc[rows, sport.event_column].to_numpy(dtype=np.int64))
