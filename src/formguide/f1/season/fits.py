"""The prior model of a season run, fitted in blocks of races and cached by the fingerprint of its training
data (:mod:`formguide.core.fitcache`): an unchanged fit is loaded, not retrained."""

from __future__ import annotations

import hashlib
import inspect
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from formguide.f1.season.config import SPORT, SeasonConfig, logger
from formguide.f1.season.fingerprints import canonical, chain, sha

__all__ = ["BlockFit", "prior_utilities", "run_name"]


@dataclass
class BlockFit:
    """The model one block of races was predicted with, as the JSON reports it."""

    anchor: str
    trained_until: str
    training_races: int
    fingerprint: str
    source: str  # "trained" | "loaded" (from the fit cache)
    seconds: float


def run_name(model_type: str) -> str:
    """Name the season runs are recorded under in ``training_runs`` (not a registry line)."""
    return f"f1-season-{model_type}"


def prior_utilities(frame: pd.DataFrame, X: pd.DataFrame, season: int, config: SeasonConfig, engine,
                    races: pd.DataFrame, feature_version: str, stats: dict
                    ) -> tuple[np.ndarray, dict[int, BlockFit]]:
    """Pre-weekend utilities of every entry of the calibration seasons and ``season``, out of sample.

    Races are taken in blocks of ``refit_every`` rounds within each season; the model for a block is fitted
    on every race run before the block's first race (and loaded from the registry when that training data
    and configuration were fitted before).
    """
    from formguide.core import fitcache
    from formguide.f1 import models
    from formguide.f1.models import make_model, model_from_dict

    U = np.full(len(frame), np.nan)
    fits: dict[int, BlockFit] = {}
    window = races[(races["season"] >= season - config.calibration_seasons) & (races["season"] <= season)]
    run_races = races[races["run"]].reset_index(drop=True)
    # run_chain[k]: hash of the first k run races (the training data of a fit that sees k races)
    run_chain = chain(run_races["race_hash"].tolist() + ["end"])
    run_dates = run_races["date"].to_numpy()
    rows_of = pd.Series(np.arange(len(frame))).groupby(frame["race_id"].to_numpy(), sort=False).indices
    dates = frame["date"].to_numpy()
    has_result = frame["position"].notna().to_numpy()
    params = config._model_params()
    model_code = hashlib.sha256(inspect.getsource(models).encode()).hexdigest()[:12]
    model_config = {"model_type": config.model_type, "params": params, "feature_set": feature_version,
                    "model_code": model_code}
    for _, block in window.groupby("season", sort=True):
        block = block.sort_values(["date", "round"]).reset_index(drop=True)
        for start in range(0, len(block), config.refit_every):
            part = block.iloc[start:start + config.refit_every]
            anchor_date = part["date"].iloc[0]
            n_before = int(np.searchsorted(run_dates, anchor_date, side="left"))
            fp = sha(canonical(model_config), run_chain[n_before])
            fit_rows = has_result & (dates < anchor_date)
            anchor_key = f"{int(part['season'].iloc[0])}-{int(part['round'].iloc[0]):02d}"
            if n_before == 0:
                continue
            t0 = time.perf_counter()
            model, source = None, "trained"
            cached = None if config.force_retrain else fitcache.get(engine, fp)
            if cached is not None:
                model, source = model_from_dict(cached), "loaded"
            if model is None:
                try:
                    model = make_model(config.model_type, **params).fit(frame.loc[fit_rows], X.loc[fit_rows])
                except ValueError as exc:
                    logger.warning("no model for block from %s: %s", anchor_key, exc)
                    continue
                fitcache.put(engine, fp, sport=SPORT, model_type=config.model_type, parameters=model.to_dict())
                stats["models_trained"] += 1
            else:
                stats["models_loaded"] += 1
            seconds = time.perf_counter() - t0
            fit = BlockFit(anchor_key, str(pd.Timestamp(anchor_date).date()), n_before, fp, source, seconds)
            for rid in part["race_id"]:
                idx = np.asarray(rows_of[rid])
                U[idx] = model.predict_strength(frame.iloc[idx], X.iloc[idx])
                fits[int(rid)] = fit
            logger.debug("model for %s (%d races) %s in %.2f s", anchor_key, len(part), source, seconds)
    return U, fits
