"""One race of a season run, point in time: win temperature and weekend updater fitted on earlier races,
posterior strengths, analyst weights, retirement probabilities, a simulation per scenario, the actual
result and, for run races and the next one, the championship before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.field_forecast import fit_temperature
from formguide.core.jsonio import to_jsonable
from formguide.f1.points import points_system
from formguide.f1.season.championship import championship_before
from formguide.f1.season.config import SeasonConfig, logger
from formguide.f1.season.document import rounded
from formguide.f1.season.fits import BlockFit
from formguide.f1.simulate import (
    WeekendUpdater,
    apply_weights,
    estimate_dnf_prob,
    estimate_scenario_effects,
    estimate_strength_drift,
    simulate_race,
)

__all__ = ["Calibration", "calibrate", "compute_races", "predict_race", "race_status"]


@dataclass
class Calibration:
    """What a race is predicted with that depends only on the results before it (cached per result set)."""

    scale: float
    n_races: int
    updater: WeekendUpdater | None
    updater_error: str | None
    drift: float
    drift_pairs: int


def calibrate(frame: pd.DataFrame, U: np.ndarray, rows: np.ndarray) -> Calibration:
    """Win temperature and weekend updater on out-of-sample utilities of ``rows`` (earlier races)."""
    hist = frame.iloc[np.flatnonzero(rows)].reset_index(drop=True)
    u = U[rows]
    won = hist["position"].to_numpy(dtype=np.float64, na_value=np.nan) == 1
    try:
        scale = fit_temperature(u, hist["race_id"].to_numpy(), won)
    except ValueError as exc:
        raise DataValidationError("no earlier race with out-of-sample model strengths to calibrate on") from exc
    n_races = int(pd.unique(hist.loc[won, "race_id"]).size)
    try:
        updater, err = WeekendUpdater().fit(hist, scale * u), None
    except (DataValidationError, FormguideError) as exc:
        updater, err = None, str(exc)
    drift, pairs = estimate_strength_drift(hist, scale * u)
    return Calibration(float(scale), int(n_races), updater, err, drift, pairs)


def race_status(race: pd.DataFrame) -> str:
    if race["position"].notna().any():
        return "completed"
    if race["grid"].notna().any():
        return "qualified"
    return "scheduled"


def predict_race(frame: pd.DataFrame, idx: np.ndarray, season: int, config: SeasonConfig, U: np.ndarray,
                 cal: Calibration, effects: dict, effect_errors: dict, fit: BlockFit | None,
                 championship: bool) -> dict:
    """One race's entry of the document (``idx``: its rows of ``frame``), with ``championship_before`` when
    ``championship``."""
    race = frame.iloc[idx].reset_index(drop=True)
    u = U[idx]
    if not np.isfinite(u).all():
        raise DataValidationError("the model gave no strength for some entrants (too little history before "
                                  "this race?)")
    first = race.iloc[0]
    drivers = race["driver"].astype(str).tolist()
    codes = [str(c) if isinstance(c, str) and c else d for c, d in zip(race["driver_code"], drivers, strict=True)]
    teams = race["constructor"].astype(str).tolist()
    prior = cal.scale * u
    if cal.updater is not None:
        post = cal.updater.update(race, prior)
        posterior, sessions = post.posterior_mean, list(post.sessions)
        prior_var, post_var = post.prior_var, post.posterior_var
    else:
        posterior, sessions, prior_var, post_var = prior.copy(), [], None, None
    # weights were checked against the whole season; a weighted driver or team may miss this race
    present = set(drivers) | set(codes)
    log_w = apply_weights(np.zeros(len(race)), drivers, teams,
                          {k: w for k, w in config.driver_weights.items() if k in present},
                          {k: w for k, w in config.team_weights.items() if k in set(teams)}, driver_aliases=codes)
    strength = posterior + log_w
    history = frame[frame["date"] < race["date"].iloc[0]]
    dnf = estimate_dnf_prob(history, race, window_days=config.dnf_window_days)
    ps = points_system(season)
    scen_out: dict[str, Any] = {}
    for i, name in enumerate(config.scenarios):
        if name not in effects:
            scen_out[name] = {"available": False, "reason": effect_errors.get(name, "not estimated")}
            continue
        sim = simulate_race(drivers, teams, strength, dnf, config.simulations, scenario=name,
                            scenario_effects=effects, points=ps,
                            rng=np.random.default_rng([config.seed, season, int(first["round"]), i]))
        rows = []
        for j in range(len(race)):
            rows.append({
                "driver": drivers[j], "code": codes[j], "constructor": teams[j], "win": rounded(sim.win[j]),
                "podium": rounded(sim.podium[j]), "points": rounded(sim.points_prob[j]),
                "expected_points": rounded(sim.expected_points[j]), "expected_position": rounded(sim.expected_position[j]),
                "dnf": rounded(sim.retired[j]),
                "position_distribution": [rounded(p) for p in sim.position_probs[j]],
            })
        rows.sort(key=lambda r: r["expected_position"])
        scen_out[name] = {"available": True, "effect": effects[name].to_dict(), "drivers": rows}
    actual = None
    if race["position"].notna().any():
        actual = [{"driver": d, "code": c, "position": to_jsonable(p), "points": to_jsonable(pt), "status": to_jsonable(s)}
                  for d, c, p, pt, s in zip(drivers, codes, race["position"], race["points"], race["status"],
                                            strict=True)]
        actual.sort(key=lambda r: (r["position"] is None, r["position"]))
    out: dict[str, Any] = {
        "metadata": {
            "race_id": int(first["race_id"]), "season": int(first["season"]), "round": int(first["round"]),
            "race_name": str(first["race_name"]), "circuit": str(first["circuit"]),
            "circuit_type": to_jsonable(first["circuit_type"]), "date": pd.Timestamp(first["date"]).isoformat(),
            "has_sprint": bool(first["has_sprint"]), "status": race_status(race)},
        "model": None if fit is None else {
            "block_from": fit.anchor, "trained_until": fit.trained_until, "training_races": fit.training_races,
            "fingerprint": fit.fingerprint, "source": fit.source},
        "calibration": {"temperature": cal.scale,
                        "calibration_races": cal.n_races, "strength_drift": cal.drift,
                        "strength_drift_pairs": cal.drift_pairs},
        "weekend_update": {
            "sessions_used": sessions, "prior_var": prior_var, "posterior_var": post_var,
            "fitted": None if cal.updater is None else cal.updater.to_dict(), "error": cal.updater_error},
        "strengths": [{"driver": d, "code": c, "constructor": t, "prior": rounded(p), "posterior": rounded(q),
                       "log_weight": rounded(w), "dnf_prob": rounded(x)}
                      for d, c, t, p, q, w, x in zip(drivers, codes, teams, prior, posterior, log_w, dnf, strict=True)],
        "scenarios": scen_out,
        "actual": actual,
    }
    if championship:
        out["championship_before"] = championship_before(frame, season, race, prior + log_w, dnf,
                                                           config.simulations, config.seed, cal.drift)
    return out


def compute_races(frame: pd.DataFrame, season: int, config: SeasonConfig, U: np.ndarray, fits: dict,
                  todo: pd.DataFrame) -> tuple[dict[str, dict], list[dict]]:
    """Predict the races of ``todo`` (see :func:`predict_race`); calibrations and scenario effects are
    shared by races with the same earlier results. Returns the predictions by race key and the failures."""
    rows_of = pd.Series(np.arange(len(frame))).groupby(frame["race_id"].to_numpy(), sort=False).indices
    dates = frame["date"].to_numpy()
    seasons_col = frame["season"].to_numpy()
    has_result = frame["position"].notna().to_numpy()
    season_races = frame[frame["season"] == season].drop_duplicates("race_id").sort_values(["date", "round"])
    unrun = season_races[~season_races["race_id"].isin(frame.loc[has_result, "race_id"])]
    next_race = unrun["race_id"].iloc[0] if len(unrun) else None
    cal_cache: dict[int, Calibration] = {}
    eff_cache: dict[int, tuple[dict, dict]] = {}
    computed: dict[str, dict] = {}
    failed: list[dict] = []
    for key, rid in zip(todo["race_key"], todo["race_id"], strict=True):
        idx = np.asarray(rows_of[rid])
        day = dates[idx[0]]
        before = has_result & (dates < day)
        n_before = int(before.sum())  # the set of earlier results, the same for all races after the last run one
        try:
            if n_before not in cal_cache:
                rows = before & (seasons_col >= season - config.calibration_seasons) & np.isfinite(U)
                cal_cache[n_before] = calibrate(frame, U, rows)
            if n_before not in eff_cache:
                hist = frame[before & (seasons_col >= season - config.scenario_seasons)]
                effects, errors = {}, {}
                for name in config.scenarios:
                    try:
                        effects |= estimate_scenario_effects(hist, [name])
                    except (DataValidationError, FormguideError) as exc:
                        errors[name] = str(exc)
                eff_cache[n_before] = (effects, errors)
            effects, errors = eff_cache[n_before]
            champ = bool(has_result[idx].any()) or rid == next_race
            computed[key] = predict_race(frame, idx, season, config, U, cal_cache[n_before], effects, errors,
                                         fits.get(int(rid)), champ)
            logger.debug("race %s computed", key)
        except (FormguideError, ValueError) as exc:
            logger.error("race %s failed: %s", key, exc)
            failed.append({"race_key": key, "error": str(exc)})
    return computed, failed
