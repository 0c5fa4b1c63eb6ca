"""Serving: the champion of a line as known at a moment, with the same feature code as training.

:func:`serve` loads the champion (hash-checked), builds the point-in-time features of the store as it was
known ``as_of`` (every outcome from that moment on hidden), and uses the stored model unless it cannot
speak for that moment honestly: when it was trained on results of ``as_of``'s day or later, or on another
feature-set version, its configuration is refitted on what was known then. Such a refit is kept in the fit
cache, keyed by the configuration and a fingerprint of the training rows, so asking again is a lookup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core import fitcache, registry
from formguide.core.errors import DataValidationError, ModelNotFoundError
from formguide.core.fingerprint import training_fingerprint
from formguide.core.sport import ForecastRow, Sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import ModelRecord, Prediction

__all__ = ["ServedModel", "load_champion", "serve", "store_predictions"]

log = logging.getLogger("formguide.serving")


@dataclass
class ServedModel:
    """A champion ready to predict as of a moment: its record, the estimator, the frames and features."""

    record: ModelRecord
    estimator: Any
    #: Why the champion was refitted as of the moment (None: the stored model was used).
    refitted: str | None
    #: The store's rows as they are now (results included) and as known at ``as_of``, aligned.
    full_frame: pd.DataFrame
    frame: pd.DataFrame
    X: pd.DataFrame
    feature_set_version: str
    as_of: pd.Timestamp
    entry_ids: np.ndarray | None = None
    #: Where the refitted model came from: "cache" or "fit" (None when not refitted).
    refit_source: str | None = None

    @property
    def label(self) -> str:
        return f"{self.record.name} v{self.record.version} ({self.record.model_type})"


def load_champion(engine: Engine, sport: Sport, line: str, competition: str) -> tuple[ModelRecord, dict]:
    """The champion of ``line`` (detached) and its verified parameters; a clear error when there is none."""
    with session_scope(engine) as s:
        champ = registry.champion(s, line)
        if champ is None:
            known = sorted({m.name for m in registry.list_models(s, sport=sport.name)})
            hint = f" (models exist for: {', '.join(known)})" if known else ""
            league = "" if sport.default_competition == competition else f" --league {competition}"
            raise ModelNotFoundError(f"no trained model for {line}{hint}; run `formguide train --sport {sport.name}"
                                     f"{league}` first")
        params = registry.verified_parameters(champ)
        s.expunge(champ)
    return champ, params


def _refit_reason(record: ModelRecord, fs_version: str, as_of: pd.Timestamp) -> str | None:
    trained_to = ((record.metrics or {}).get("data") or {}).get("date_to")
    if record.feature_set_version and record.feature_set_version != fs_version:
        return f"feature set changed ({record.feature_set_version} -> {fs_version})"
    if trained_to is None:
        return "the champion does not say what it was trained on"
    if pd.Timestamp(trained_to).normalize() >= as_of.normalize():
        return f"the champion was trained on results up to {str(trained_to)[:10]}, on or after {as_of.date()}"
    return None


def serve(engine: Engine, sport: Sport, competition: str, line: str, as_of: datetime | pd.Timestamp, *,
          feature_options: dict[str, Any] | None = None, frame: pd.DataFrame | None = None) -> ServedModel:
    """The champion of ``line`` for ``competition`` as known at ``as_of`` (see the module docstring)."""
    record, params = load_champion(engine, sport, line, competition)
    cfg = record.config or {}
    options = {**(feature_options or {}), **(cfg.get("feature_options") or {})}
    full = sport.load_frame(engine, [competition]) if frame is None else frame
    if full.empty:
        raise DataValidationError(f"no {sport.name} events for {competition} in the store; run `formguide ingest`")
    full = full.reset_index(drop=True)
    fs = sport.feature_set(**options)
    when = pd.Timestamp(as_of)
    known = fs.hide_outcomes(full, when)
    X = fs.build(known)
    reason = _refit_reason(record, fs.version, when)
    source = None
    if reason is None:
        est = sport.model_from_dict(params)
    else:
        est, source = _refit(engine, sport, cfg, record, known, X, fs.version)
        log.info("%s v%s refitted as of %s (%s, %s)", record.name, record.version, when.date(), reason, source)
    with session_scope(engine) as s:
        entry_ids = sport.entry_ids(s, known)
    return ServedModel(record=record, estimator=est, refitted=reason, full_frame=full, frame=known, X=X,
                       feature_set_version=fs.version, as_of=when, entry_ids=entry_ids, refit_source=source)


def _refit(engine: Engine, sport: Sport, cfg: dict[str, Any], record: ModelRecord, known: pd.DataFrame,
           X: pd.DataFrame, fs_version: str) -> tuple[Any, str]:
    model_type = cfg.get("model_type", record.model_type)
    params = cfg.get("params", {})
    rows = sport.trainable(known)
    if not rows.any():
        raise DataValidationError(f"nothing was known before {known[sport.time_column].min()} to fit on")
    data = training_fingerprint(known[rows], fs_version, {"model_type": model_type, "params": params},
                                id_columns=(sport.event_column,))
    # a sport's bet types share model type, params and features but not what the model learns (the NFL's margin
    # for a spread, the total for a total): one bet type's refit must never serve another
    views = (sport.bet_type,) if len(sport.bet_types) > 1 else ()
    key = fitcache.cache_key("as-of-fit", sport.name, *views, model_type, params, fs_version, data)
    stored = fitcache.get(engine, key)
    if stored is not None:
        return sport.model_from_dict(stored), "cache"
    est = sport.make_model(model_type, **params).fit(known[rows], X[rows])
    fitcache.put(engine, key, sport=sport.name, model_type=model_type, parameters=est.to_dict())
    return est, "fit"


def store_predictions(engine: Engine, model_id: int, rows: list[ForecastRow], feature_set_version: str,
                      as_of: datetime | pd.Timestamp) -> int:
    """Keep served forecasts in ``predictions`` (with model and feature-set version); returns the count."""
    when = pd.Timestamp(as_of).to_pydatetime()
    with session_scope(engine) as s:
        s.add_all([Prediction(model_id=model_id, event_id=int(r.event_id), entry_id=int(r.entry_id),
                              market=r.market, line=r.line, feature_set_version=feature_set_version, as_of=when,
                              probabilities=r.probabilities, market_prices=r.market_prices, edge=r.edge,
                              stake=r.stake, selection=r.selection, tier=r.tier) for r in rows])
    return len(rows)
