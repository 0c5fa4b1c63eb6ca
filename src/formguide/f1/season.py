"""The self-updating season pipeline behind ``formguide f1 season``: every race of a season, every scenario, one JSON.

One run:

1. **Ingest** the data folder (an Ergast folder, a race folder or a folder of race folders) into the store
   with :func:`formguide.f1.store_io.ingest_f1` (idempotent; a rejected file is reported, the rest is used)
   and read the canonical entry frame back from the store, history included.
2. **Fingerprint** every race of the season: ``sha256(settings, upstream, race, calendar)``, where *race* hashes
   the race's own rows (entrants, grid, qualifying, sprint, results, conditions), *upstream* chains the hashes
   of every earlier race (``upstream_r = sha256(upstream_{r-1} + race_{r-1})``, from 1950 on) and *calendar*
   hashes the season's rounds and sprint flags (the championship simulation depends on what is left).
   Because of the chain, a change to an early race (a corrected result, a disqualification) changes the
   upstream of every later race, and all of them are recomputed; a race before it keeps its fingerprint and
   is reused. Settings include the code version, so changed code recomputes everything.
3. **Predict** each race whose fingerprint changed, point in time (as of the race's day):

   * prior strengths from the Plackett–Luce model (:mod:`formguide.f1.models`) on the pre-qualifying
     features (:func:`formguide.f1.features.f1_feature_set`), refitted every ``refit_every`` races on races run
     before the block's first race (fits are cached in the model registry by the fingerprint of their
     training data, so an unchanged fit is loaded, not retrained);
   * the model's utilities are scaled by a *temperature* fitted, like every F1 model's, on the winners of
     races before the race (out-of-sample utilities of the ``calibration_seasons`` seasons before it), because
     the probability layer (:mod:`formguide.core.field_forecast`, shared with race predictions) reads
     win probabilities as ``softmax(strength)`` and draws retirements given not winning; out-of-sample
     utilities of the ``calibration_seasons`` seasons before the race;
   * the weekend update (:class:`~formguide.f1.simulate.WeekendUpdater`, fitted on the same out-of-sample
     races) turns the prior into a posterior with the grid and the sprint result when they exist;
   * analyst weights, retirement probabilities from each constructor's record, scenario effects estimated
     on the ``scenario_seasons`` seasons before the race, ``simulations`` Monte Carlo races per scenario;
   * the championship as it stood before the race (run races and the next one): title probabilities from the
     standings plus every remaining race of the calendar, sprints included, with the season's points.
4. **Write** the JSON atomically (temporary file in the same folder, then ``os.replace``): a reader sees the
   old or the new file, never half of one. A log file sits beside it (``<output stem>.log``).

``watch_season`` keeps the JSON current: a watchdog observer on the data folder, a debounce after the last
change, one background worker (never two runs at once), failures reported and retried at the next change, a
clean stop on Ctrl+C / SIGTERM.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.field_forecast import fit_temperature
from formguide.core.jsonio import to_jsonable, write_json
from formguide.f1.points import points_system
from formguide.f1.simulate import (
    SCENARIOS,
    RaceInput,
    WeekendUpdater,
    apply_weights,
    check_weights,
    estimate_dnf_prob,
    estimate_scenario_effects,
    estimate_strength_drift,
    simulate_championship,
    simulate_race,
)

__all__ = [
    "FORMAT_VERSION",
    "SeasonConfig",
    "check_output_path",
    "log_path",
    "parse_weights",
    "race_fingerprints",
    "run_season",
    "watch_season",
    "write_json_atomic",
]

FORMAT_VERSION = 3  # 2: each race's facts in a `metadata` object; 3: win temperature, one probability layer
SPORT = "f1"
logger = logging.getLogger("formguide.f1.season")
_PROB_DIGITS = 6


# ----------------------------------------------------------------------------------------- configuration
@dataclass
class SeasonConfig:
    """Settings of a season run. Everything that changes a prediction is part of ``settings()``."""

    data: Path
    output: Path
    season: int | None = None
    simulations: int = 5000
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    driver_weights: dict[str, float] = field(default_factory=dict)
    team_weights: dict[str, float] = field(default_factory=dict)
    force_retrain: bool = False
    db: str | None = None
    seed: int = 0
    model_type: str = "plackett-luce"
    #: Passed to the model; ``calibration`` is always None here (the season's own temperature replaces it).
    model_params: dict[str, Any] = field(default_factory=lambda: {"max_age_days": 3652})
    refit_every: int = 4
    calibration_seasons: int = 2
    scenario_seasons: int = 10
    dnf_window_days: int = 365
    verbose: bool = False

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.output = Path(self.output)
        self.scenarios = tuple(self.scenarios)

    def validate(self) -> None:
        """Check everything that can be checked before any work: counts, scenarios, weights, the output path."""
        n = self.simulations
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 1:
            raise FormguideError(f"--simulations must be a positive integer, got {n!r}")
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        if unknown:
            raise FormguideError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        if not self.scenarios:
            raise FormguideError("at least one scenario is needed")
        for name, value in (("refit_every", self.refit_every), ("calibration_seasons", self.calibration_seasons),
                            ("scenario_seasons", self.scenario_seasons), ("dnf_window_days", self.dnf_window_days)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise FormguideError(f"{name} must be a positive integer, got {value!r}")
        _check_weight_values(self.driver_weights, "driver")
        _check_weight_values(self.team_weights, "team")
        if not self.data.exists():
            raise FormguideError(f"data folder {self.data} does not exist")
        check_output_path(self.output)

    def settings(self) -> dict[str, Any]:
        return {
            "season": self.season, "simulations": int(self.simulations), "scenarios": list(self.scenarios),
            "seed": self.seed, "model_type": self.model_type, "model_params": self._model_params(),
            "refit_every": self.refit_every, "calibration_seasons": self.calibration_seasons,
            "scenario_seasons": self.scenario_seasons, "dnf_window_days": self.dnf_window_days,
            "driver_weights": dict(sorted(self.driver_weights.items())),
            "team_weights": dict(sorted(self.team_weights.items())),
        }

    def _model_params(self) -> dict[str, Any]:
        return {**self.model_params, "calibration": None}


def _check_weight_values(weights: Mapping[str, Any], what: str) -> None:
    if not isinstance(weights, Mapping):
        raise FormguideError(f"{what} weights must be a JSON object like {{\"VER\": 1.2}}, got {weights!r}")
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise FormguideError(f"{what} weight for {k!r} must be a positive number, got {v!r}")


def parse_weights(text: str | None, option: str = "--driver-weights") -> dict[str, float]:
    """Weights from a JSON object given inline (``'{"VER": 1.2}'``) or as a path to a JSON file."""
    if text is None or not str(text).strip():
        return {}
    raw = str(text).strip()
    source = "value"
    if not raw.startswith("{") and Path(raw).is_file():
        source = f"file {raw}"
        raw = Path(raw).read_text(encoding="utf-8")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FormguideError(f"{option} {source} is not valid JSON ({exc.msg} at line {exc.lineno} column "
                             f"{exc.colno}); expected an object like '{{\"VER\": 1.2}}', got {text!r}") from exc
    if not isinstance(data, dict):
        raise FormguideError(f"{option} must be a JSON object like '{{\"VER\": 1.2}}', got {type(data).__name__}")
    what = "driver" if "driver" in option else "team"
    _check_weight_values(data, what)
    return {str(k): float(v) for k, v in data.items()}


def check_output_path(path: Path | str) -> None:
    """Fail early, before any work, when ``path`` cannot be written (and its log beside it)."""
    path = Path(path)
    if path.is_dir():
        raise FormguideError(f"output {path} is a folder; give a file name such as {path / 'season.json'}")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FormguideError(f"cannot write the output {path}: cannot create folder {parent} ({exc.strerror})") from exc
    if path.exists() and not os.access(path, os.W_OK):
        raise FormguideError(f"cannot write the output {path}: the file is not writable")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".check"):
            pass
    except OSError as exc:
        raise FormguideError(f"cannot write the output {path}: folder {parent} is not writable ({exc.strerror})") from exc


def log_path(output: Path | str) -> Path:
    """The log file beside the output: ``season.json`` -> ``season.log``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.log")


def write_json_atomic(path: Path | str, data: Any) -> None:
    """The season JSON, written atomically by the core (readers never see half a file, a failed write keeps the
    previous one)."""
    write_json(path, data, indent=1)


# ------------------------------------------------------------------------------------------ fingerprints
def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\x1f")
    return h.hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _race_hashes(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per race (date order): ``race_id, season, round, date, run, race_hash``.

    The hash covers every schema column except the store's ``race_id``, rows ordered by driver.
    """
    cols = [c for c in frame.columns if c != "race_id"]
    ordered = frame.sort_values(["date", "race_id", "driver"], kind="stable")
    row_hash = pd.util.hash_pandas_object(ordered[cols], index=False).to_numpy(dtype=np.uint64)
    race = ordered["race_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, race[1:] != race[:-1]])
    ends = np.r_[starts[1:], race.size]
    first = ordered.iloc[starts]
    hashes = [hashlib.sha256(row_hash[a:b].tobytes()).hexdigest() for a, b in zip(starts, ends, strict=True)]
    run = ordered["position"].notna().to_numpy()
    run_race = np.logical_or.reduceat(run, starts) if race.size else np.zeros(0, dtype=bool)
    return pd.DataFrame({"race_id": first["race_id"].to_numpy(), "season": first["season"].to_numpy(),
                         "round": first["round"].to_numpy(), "date": first["date"].to_numpy(),
                         "run": run_race, "race_hash": hashes})


def _chain(hashes: Sequence[str]) -> list[str]:
    """``out[i]`` = hash of everything before item ``i``."""
    out, acc = [], _sha("start")
    for h in hashes:
        out.append(acc)
        acc = _sha(acc, h)
    return out


def race_fingerprints(frame: pd.DataFrame, season: int, settings: Mapping[str, Any]) -> pd.DataFrame:
    """Per race of ``season``: ``race_key``, ``race_hash``, ``upstream`` and ``fingerprint`` (see the module doc)."""
    races = _race_hashes(frame)
    races["upstream"] = _chain(races["race_hash"].tolist())
    s = races[races["season"] == season].copy()
    calendar = _sha(_canonical([[int(r), str(d)] for r, d in zip(s["round"], s["date"], strict=True)]),
                    _canonical(frame.loc[frame["season"] == season].groupby("round")["has_sprint"].any()
                               .astype(bool).to_dict()))
    settings_hash = _sha(_canonical(dict(settings)))
    s["race_key"] = [f"{season}-{int(r):02d}" for r in s["round"]]
    s["fingerprint"] = [_sha(settings_hash, up, rh, calendar)
                        for up, rh in zip(s["upstream"], s["race_hash"], strict=True)]
    return s.reset_index(drop=True)


def _code_version() -> str:
    """Short hash of the code that turns data into this file's numbers: simulation, points, this pipeline,
    the model and the feature set (its own version hash), so that changed code recomputes every race."""
    import sys

    from formguide.core import field as core_field
    from formguide.f1 import models, points, simulate
    from formguide.f1.features import f1_feature_set

    src = "".join(inspect.getsource(m) for m in (core_field, points, simulate, models, sys.modules[__name__]))
    return hashlib.sha256((src + f1_feature_set("pre-quali").version).encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------------------- the model
@dataclass
class _Fit:
    anchor: str
    trained_until: str
    training_races: int
    fingerprint: str
    source: str  # "trained" | "loaded" (from the fit cache)
    seconds: float


def _run_name(model_type: str) -> str:
    """Name the season runs are recorded under in ``training_runs`` (not a registry line)."""
    return f"f1-season-{model_type}"


def _prior_utilities(frame: pd.DataFrame, X: pd.DataFrame, season: int, config: SeasonConfig, engine,
                     races: pd.DataFrame, feature_version: str, stats: dict
                     ) -> tuple[np.ndarray, dict[int, _Fit]]:
    """Pre-weekend utilities of every entry of the calibration seasons and ``season``, out of sample.

    Races are taken in blocks of ``refit_every`` rounds within each season; the model for a block is fitted
    on every race run before the block's first race (and loaded from the registry when that training data
    and configuration were fitted before).
    """
    from formguide.core import fitcache
    from formguide.f1 import models
    from formguide.f1.models import make_model, model_from_dict

    U = np.full(len(frame), np.nan)
    fits: dict[int, _Fit] = {}
    window = races[(races["season"] >= season - config.calibration_seasons) & (races["season"] <= season)]
    run_races = races[races["run"]].reset_index(drop=True)
    # run_chain[k]: hash of the first k run races (the training data of a fit that sees k races)
    run_chain = _chain(run_races["race_hash"].tolist() + ["end"])
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
            fp = _sha(_canonical(model_config), run_chain[n_before])
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
            fit = _Fit(anchor_key, str(pd.Timestamp(anchor_date).date()), n_before, fp, source, seconds)
            for rid in part["race_id"]:
                idx = np.asarray(rows_of[rid])
                U[idx] = model.predict_strength(frame.iloc[idx], X.iloc[idx])
                fits[int(rid)] = fit
            logger.debug("model for %s (%d races) %s in %.2f s", anchor_key, len(part), source, seconds)
    return U, fits


# ------------------------------------------------------------------------------------------ one race
@dataclass
class _Calibration:
    scale: float
    n_races: int
    updater: WeekendUpdater | None
    updater_error: str | None
    drift: float
    drift_pairs: int


def _calibrate(frame: pd.DataFrame, U: np.ndarray, rows: np.ndarray) -> _Calibration:
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
    return _Calibration(float(scale), int(n_races), updater, err, drift, pairs)


def _status(race: pd.DataFrame) -> str:
    if race["position"].notna().any():
        return "completed"
    if race["grid"].notna().any():
        return "qualified"
    return "scheduled"


def _r(x: float) -> float | None:
    x = float(x)
    return round(x, _PROB_DIGITS) if math.isfinite(x) else None


def _standings(season_rows: pd.DataFrame) -> tuple[dict, dict, dict, dict]:
    """Drivers' and constructors' points (race + sprint) and wins of the given run entries."""
    pts = season_rows["points"].fillna(0.0).to_numpy() + season_rows["sprint_points"].fillna(0.0).to_numpy()
    won = (season_rows["position"].to_numpy(dtype=np.float64, na_value=np.nan) == 1).astype(float)
    d = pd.DataFrame({"driver": season_rows["driver"].astype(str).to_numpy(),
                      "team": season_rows["constructor"].astype(str).to_numpy(), "pts": pts, "won": won})
    dp = d.groupby("driver")["pts"].sum().to_dict()
    tp = d.groupby("team")["pts"].sum().to_dict()
    dw = d.groupby("driver")["won"].sum().to_dict()
    tw = d.groupby("team")["won"].sum().to_dict()
    return dp, tp, dw, tw


def _championship_before(frame: pd.DataFrame, season: int, race: pd.DataFrame, strengths: np.ndarray,
                         dnf: np.ndarray, n: int, seed: int, drift: float) -> dict:
    """Title probabilities before ``race``: standings of the season's earlier races plus every race left,
    each run with this race's entrants from their pre-weekend strengths (what was known before the weekend),
    drifting as a random walk with the per-race variance estimated on earlier seasons."""
    day = pd.Timestamp(race["date"].iloc[0])
    in_season = frame[frame["season"] == season]
    done = in_season[(in_season["date"] < day) & in_season["position"].notna()]
    dp, tp, dw, tw = _standings(done)
    rest = in_season[in_season["date"] >= day].drop_duplicates("race_id").sort_values(["date", "round"])
    drivers = race["driver"].astype(str).tolist()
    teams = race["constructor"].astype(str).tolist()
    inputs = [RaceInput(drivers, teams, strengths, dnf, bool(h), int(r))
              for r, h in zip(rest["round"], rest["has_sprint"], strict=True)]
    n_rounds = int(in_season["round"].max())
    sim = simulate_championship(season, dp, tp, inputs, n,
                                rng=np.random.default_rng([seed, season, int(race["round"].iloc[0]), 7]),
                                driver_wins=dw, constructor_wins=tw, n_rounds=n_rounds, strength_drift=drift)
    out = sim.to_dict()
    out["standings_after_round"] = int(done["round"].max()) if len(done) else 0
    for row in out["drivers"] + out["constructors"]:
        row["title"] = _r(row["title"])
        row["expected_points"] = _r(row["expected_points"])
    return out


def _predict_race(frame: pd.DataFrame, idx: np.ndarray, season: int, config: SeasonConfig, U: np.ndarray,
                  cal: _Calibration, effects: dict, effect_errors: dict, fit: _Fit | None,
                  championship: bool) -> dict:
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
                "driver": drivers[j], "code": codes[j], "constructor": teams[j], "win": _r(sim.win[j]),
                "podium": _r(sim.podium[j]), "points": _r(sim.points_prob[j]),
                "expected_points": _r(sim.expected_points[j]), "expected_position": _r(sim.expected_position[j]),
                "dnf": _r(sim.retired[j]),
                "position_distribution": [_r(p) for p in sim.position_probs[j]],
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
            "has_sprint": bool(first["has_sprint"]), "status": _status(race)},
        "model": None if fit is None else {
            "block_from": fit.anchor, "trained_until": fit.trained_until, "training_races": fit.training_races,
            "fingerprint": fit.fingerprint, "source": fit.source},
        "calibration": {"temperature": cal.scale,
                        "calibration_races": cal.n_races, "strength_drift": cal.drift,
                        "strength_drift_pairs": cal.drift_pairs},
        "weekend_update": {
            "sessions_used": sessions, "prior_var": prior_var, "posterior_var": post_var,
            "fitted": None if cal.updater is None else cal.updater.to_dict(), "error": cal.updater_error},
        "strengths": [{"driver": d, "code": c, "constructor": t, "prior": _r(p), "posterior": _r(q),
                       "log_weight": _r(w), "dnf_prob": _r(x)}
                      for d, c, t, p, q, w, x in zip(drivers, codes, teams, prior, posterior, log_w, dnf, strict=True)],
        "scenarios": scen_out,
        "actual": actual,
    }
    if championship:
        out["championship_before"] = _championship_before(frame, season, race, prior + log_w, dnf,
                                                           config.simulations, config.seed, cal.drift)
    return out


# ------------------------------------------------------------------------------------------- the run
def _read_previous(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("previous output %s is unreadable (%s); every race is recomputed", path, exc)
        return None
    if not isinstance(data, dict) or data.get("metadata", {}).get("format_version") != FORMAT_VERSION:
        logger.warning("previous output %s has another format; every race is recomputed", path)
        return None
    return data


@contextlib.contextmanager
def _log_to_file(output: Path, verbose: bool) -> Iterator[None]:
    handler = logging.FileHandler(log_path(output), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(old)


def _ingest(engine, data: Path, paths: Sequence[Path] | None) -> dict:
    from formguide.f1.store_io import ingest_f1

    layout, report = ingest_f1(engine, [data] if paths is None else list(paths))
    d = report.to_dict()
    rejected = [{"file": f.path, "error": f.error} for f in report.files if f.status == "rejected"]
    for r in rejected:
        logger.error("rejected %s: %s (kept out; retried at the next run or change)", r["file"], r["error"])
    return {"layout": layout, "sources": "all" if paths is None else [str(p) for p in paths],
            "inserted": d["inserted"], "updated": d["updated"], "unchanged": d["unchanged"],
            "rejected_rows": d["rejected"], "rejected": rejected}


def _known(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    drivers = set(frame["driver"].dropna().astype(str)) | set(frame["driver_code"].dropna().astype(str))
    return sorted(drivers), sorted(set(frame["constructor"].dropna().astype(str)))


def run_season(config: SeasonConfig, *, trigger: str = "manual", changes: Sequence[str] = (),
               ingest_paths: Sequence[Path] | None = None) -> dict:
    """One pass of the pipeline (see the module docstring); returns the run's training-history entry.

    ``ingest_paths``: import only these sources (race folders that changed) instead of the whole data folder;
    the store keeps everything imported before. Errors in the configuration raise before any work. A failure
    later is recorded in the output's training history (when an output exists) and in the store's training
    runs, then raised.
    """
    config.validate()
    with _log_to_file(config.output, config.verbose):
        return _run(config, trigger, changes, ingest_paths)


def _run(config: SeasonConfig, trigger: str, changes: Sequence[str], ingest_paths: Sequence[Path] | None) -> dict:
    from formguide.core.registry import finish_run, start_run
    from formguide.core.store.db import open_store
    from formguide.f1.features import f1_feature_set
    from formguide.f1.store_io import load_entries

    started = time.perf_counter()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    settings = config.settings() | {"code_version": _code_version(), "format_version": FORMAT_VERSION}
    entry: dict[str, Any] = {"timestamp": stamp, "trigger": trigger, "status": "running", "configuration": settings,
                             "changes": list(changes)}
    for c in changes:
        logger.info("change: %s", c)
    previous = _read_previous(config.output)
    engine = open_store(config.db)
    run_id = start_run(engine, sport=SPORT, run_type="season", model_name=_run_name(config.model_type),
                       config=settings)
    logger.info("season run started (%s): data %s, output %s", trigger, config.data, config.output)
    try:
        entry["ingest"] = _ingest(engine, config.data, ingest_paths)
        frame = load_entries(engine).reset_index(drop=True)
        if frame.empty:
            raise DataValidationError(f"the store holds no F1 races after importing {config.data}")
        seasons = sorted(int(s) for s in frame["season"].unique())
        season = config.season if config.season is not None else seasons[-1]
        if season not in seasons:
            raise DataValidationError(f"season {season} is not in the data; seasons available: "
                                      f"{seasons[0]}-{seasons[-1]}")
        in_season = frame[frame["season"] == season]
        known_d, known_t = _known(in_season)
        check_weights(config.driver_weights, known_d, "driver")
        check_weights(config.team_weights, known_t, "team")
        settings["season"] = season
        fps = race_fingerprints(frame, season, settings)
        reuse: dict[str, dict] = {}
        if previous is not None and not config.force_retrain:
            old = {p.get("race_key"): p for p in previous.get("predictions", [])}
            for key, fp in zip(fps["race_key"], fps["fingerprint"], strict=True):
                if key in old and old[key].get("fingerprint") == fp:
                    reuse[key] = old[key]
        todo = fps[~fps["race_key"].isin(reuse)]
        logger.info("season %d: %d races, %d reused, %d to compute", season, len(fps), len(reuse), len(todo))
        stats = {"models_trained": 0, "models_loaded": 0}
        computed: dict[str, dict] = {}
        failed: list[dict] = []
        fit_seconds = 0.0
        if len(todo):
            t_fit = time.perf_counter()
            fs = f1_feature_set("pre-quali")
            X = fs.build(frame)
            races = _race_hashes(frame)
            U, fits = _prior_utilities(frame, X, season, config, engine, races, fs.version, stats)
            fit_seconds = time.perf_counter() - t_fit
            computed, failed = _compute_races(frame, season, config, U, fits, todo)
        predictions = []
        for key, fp, up in zip(fps["race_key"], fps["fingerprint"], fps["upstream"], strict=True):
            p = reuse.get(key) or computed.get(key)
            if p is None:
                continue
            predictions.append(p | {"race_key": key, "fingerprint": fp, "upstream_fingerprint": up})
        run_fp = _sha(_canonical(settings), *fps["fingerprint"].tolist())
        entry |= {
            "status": "failed" if failed and not computed and len(todo) else
                      ("partial" if failed or entry["ingest"]["rejected"] else "ok"),
            "season": season, "races_in_season": int(len(fps)), "races_processed": int(len(todo)),
            "races_reused": len(reuse), "succeeded": len(computed), "failed": len(failed), "failures": failed,
            "fingerprint": run_fp, "training_seconds": round(fit_seconds, 3), **stats,
        }
        entry["duration_s"] = round(time.perf_counter() - started, 3)
        history = (previous or {}).get("metadata", {}).get("training_history", []) + [entry]
        document = to_jsonable(_document(config, settings, season, predictions, frame, history, fit_seconds, entry))
        write_json_atomic(config.output, document)
        logger.info("wrote %s: %d races (%d computed, %d reused, %d failed) in %.2f s", config.output,
                    len(predictions), len(computed), len(reuse), len(failed), entry["duration_s"])
        finish_run(engine, run_id, status=entry["status"], event_count=len(todo), data_fingerprint=run_fp,
                   logs=[f"{f['race_key']}: {f['error']}" for f in failed])
        return entry
    except BaseException as exc:
        entry |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                  "duration_s": round(time.perf_counter() - started, 3)}
        logger.error("season run failed: %s", entry["error"])
        with contextlib.suppress(Exception):
            finish_run(engine, run_id, status="failed", error_message=entry["error"])
        if previous is not None:
            with contextlib.suppress(Exception):
                previous["metadata"]["training_history"] = previous["metadata"].get("training_history", []) + [entry]
                write_json_atomic(config.output, to_jsonable(previous))
        raise
    finally:
        engine.dispose()


def _compute_races(frame: pd.DataFrame, season: int, config: SeasonConfig, U: np.ndarray, fits: dict,
                   todo: pd.DataFrame) -> tuple[dict[str, dict], list[dict]]:
    rows_of = pd.Series(np.arange(len(frame))).groupby(frame["race_id"].to_numpy(), sort=False).indices
    dates = frame["date"].to_numpy()
    seasons_col = frame["season"].to_numpy()
    has_result = frame["position"].notna().to_numpy()
    season_races = frame[frame["season"] == season].drop_duplicates("race_id").sort_values(["date", "round"])
    unrun = season_races[~season_races["race_id"].isin(frame.loc[has_result, "race_id"])]
    next_race = unrun["race_id"].iloc[0] if len(unrun) else None
    cal_cache: dict[int, _Calibration] = {}
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
                cal_cache[n_before] = _calibrate(frame, U, rows)
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
            computed[key] = _predict_race(frame, idx, season, config, U, cal_cache[n_before], effects, errors,
                                          fits.get(int(rid)), champ)
            logger.debug("race %s computed", key)
        except (FormguideError, ValueError) as exc:
            logger.error("race %s failed: %s", key, exc)
            failed.append({"race_key": key, "error": str(exc)})
    return computed, failed


def _document(config: SeasonConfig, settings: dict, season: int, predictions: list[dict], frame: pd.DataFrame,
              history: list[dict], fit_seconds: float, entry: dict) -> dict:
    latest = predictions[-1] if predictions else None
    scen_meta: dict[str, Any] = {}
    # what each scenario changes, as estimated for the latest race predicted
    for p in reversed(predictions):
        for name, s in p.get("scenarios", {}).items():
            if name not in scen_meta:
                scen_meta[name] = ({"as_of_race": p["race_key"], **s["effect"]} if s.get("available")
                                   else {"as_of_race": p["race_key"], "available": False, "reason": s.get("reason")})
        if len(scen_meta) == len(config.scenarios):
            break
    current = None
    for p in predictions:
        if p["metadata"].get("status") != "completed" and "championship_before" in p:
            current = {"as_of_race": p["race_key"], **p["championship_before"]}
            break
    if current is None and latest is not None:
        current = _final_standings(frame, season, config)
    return {
        "metadata": {
            "format_version": FORMAT_VERSION,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "season": season,
            "data": str(config.data),
            "training_time": round(fit_seconds, 3),
            "num_simulations": int(config.simulations),
            "settings": settings,
            "weights": {"drivers": dict(config.driver_weights), "teams": dict(config.team_weights)},
            "scenarios": scen_meta,
            "points_system": points_system(season).to_dict(),
            "fingerprint": entry.get("fingerprint"),
            "log_file": str(log_path(config.output)),
            "training_history": history,
        },
        "championship": current,
        "predictions": predictions,
    }


def _final_standings(frame: pd.DataFrame, season: int, config: SeasonConfig) -> dict:
    """Title probabilities when no race is left: the final table (ties on points settled on wins)."""
    rows = frame[(frame["season"] == season) & frame["position"].notna()]
    dp, tp, dw, tw = _standings(rows)
    sim = simulate_championship(season, dp, tp, [], config.simulations,
                                rng=np.random.default_rng([config.seed, season, 0, 8]), driver_wins=dw,
                                constructor_wins=tw)
    out = {"as_of_race": None, "final": True, **sim.to_dict()}
    out["standings_after_round"] = int(rows["round"].max()) if len(rows) else 0
    return out


# ---------------------------------------------------------------------------------------------- watch
class _Changes:
    """Thread-safe record of file-system changes since the last run: (kind, path) pairs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[str, Path]] = []
        self.last = 0.0

    def add(self, kind: str, path: Path) -> None:
        with self.lock:
            self.items.append((kind, path))
            self.last = time.monotonic()

    def take_if_quiet(self, debounce_s: float) -> list[tuple[str, Path]] | None:
        with self.lock:
            if self.items and time.monotonic() - self.last >= debounce_s:
                items, self.items = self.items, []
                return items
            return None


def _changed_units(data: Path, paths: Sequence[Path]) -> list[Path] | None:
    """Race folders holding the changed paths, or None when the whole data folder must be imported again
    (an Ergast folder, lap files, or a change outside any race folder)."""
    from formguide.f1.racefolder import RACE_FILE

    data = data.resolve()
    if (data / RACE_FILE).is_file() or (data / "races.csv").is_file():
        return None
    units: set[Path] = set()
    for p in paths:
        q = p.resolve()
        q = q if q.is_dir() else q.parent
        while not (q / RACE_FILE).is_file():
            if q == data or data not in q.parents:
                return None
            q = q.parent
        units.add(q)
    return sorted(units)


def watch_season(config: SeasonConfig, stop: threading.Event, *, debounce_s: float = 5.0, poll_s: float = 0.05,
                 initial_run: bool = True, on_run: Callable[[dict | None, BaseException | None], None] | None = None
                 ) -> None:
    """Keep ``config.output`` current while ``stop`` is not set (blocking; run it in a thread or the main loop).

    Every create/modify/delete/move under ``config.data`` restarts a ``debounce_s`` timer; when it expires a
    run starts in one background worker (a change during a run waits for it and triggers the next one). Runs
    import only the race folders that changed, plus any rejected before. A file that fails to import (e.g.
    half-written) or a deleted one is reported in the log and the training history, and retried at the next
    change. Setting ``stop`` ends watching after the current run has written its file, so the JSON is always
    a complete one.
    """
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    config.validate()
    if debounce_s < 0:
        raise FormguideError(f"debounce must be >= 0 seconds, got {debounce_s}")
    changes = _Changes()
    own = {config.output.resolve(), log_path(config.output).resolve()}
    kinds = {"created", "modified", "deleted", "moved", "closed"}
    retry: set[Path] = set()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:  # noqa: ANN001 (watchdog's event classes)
            if event.event_type not in kinds:
                return
            path = Path(os.fsdecode(event.src_path))
            if path.resolve() in own or path.name.startswith(f".{config.output.name}."):
                return
            if event.is_directory and event.event_type == "modified":
                return
            if event.event_type == "deleted":
                logger.warning("deleted %s: what was imported from it stays in the store", path)
            changes.add(event.event_type, path)
            if event.event_type == "moved":
                changes.add("created", Path(os.fsdecode(event.dest_path)))

    def work(items: list[tuple[str, Path]] | None) -> None:
        try:
            units = None if items is None else _changed_units(config.data, [p for _, p in items])
            if units is not None:
                units = sorted(set(units) | {u for u in retry if u.exists()})
            described = ["initial run"] if items is None else [f"{k} {p}" for k, p in dict.fromkeys(items)]
            entry = run_season(config, trigger="watch", changes=described, ingest_paths=units)
            retry.clear()
            retry.update(Path(r["file"]).resolve() for r in entry["ingest"]["rejected"])
            if on_run:
                on_run(entry, None)
        except BaseException as exc:  # reported; the next change retries
            logger.error("watch run failed: %s", exc)
            if on_run:
                on_run(None, exc)

    observer = Observer()
    observer.schedule(Handler(), str(config.data), recursive=True)
    observer.start()
    worker: threading.Thread | None = None
    try:
        if initial_run:
            worker = threading.Thread(target=work, args=(None,), name="season-worker", daemon=True)
            worker.start()
        while not stop.wait(poll_s):
            if worker is not None and worker.is_alive():
                continue
            items = changes.take_if_quiet(debounce_s)
            if items is not None:
                worker = threading.Thread(target=work, args=(items,), name="season-worker", daemon=True)
                worker.start()
    finally:
        observer.stop()
        observer.join()
        if worker is not None:
            worker.join()
