"""The season JSON: its shape as pydantic models (:class:`Document` and the classes it is made of), the
document built from a run's predictions, validated when written (a shape change fails the run instead of
reaching readers) and written atomically; the previous document read back for reuse.

:func:`season_json_schema` gives the JSON Schema of the file. Field names are the file's keys; the models
only check, the document written is the dictionary built here.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from formguide.core.errors import FormguideError
from formguide.core.jsonio import write_json
from formguide.f1.points import points_system
from formguide.f1.season.config import SeasonConfig, log_path, logger

__all__ = [
    "FORMAT_VERSION",
    "ActualResult",
    "Championship",
    "ChampionshipBefore",
    "Document",
    "Metadata",
    "RacePrediction",
    "ScenarioDriver",
    "ScenarioPrediction",
    "build_document",
    "read_previous",
    "rounded",
    "season_json_schema",
    "validate_document",
    "write_document",
    "write_json_atomic",
]

FORMAT_VERSION = 3  # 2: each race's facts in a `metadata` object; 3: win temperature, one probability layer
PROB_DIGITS = 6

Prob = float | None  # a probability or estimate rounded to PROB_DIGITS; null when it is not finite


def rounded(x: float) -> float | None:
    """A number as the document holds it: ``PROB_DIGITS`` decimals, None when not finite."""
    x = float(x)
    return round(x, PROB_DIGITS) if math.isfinite(x) else None


# ------------------------------------------------------------------------------------------ the shape
class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Weights(_Shape):
    """Analyst multipliers of the run, by driver (ref or code) and by constructor ref."""

    drivers: dict[str, float]
    teams: dict[str, float]


class HistoryEntry(BaseModel):
    """One run of the pipeline (manual or watch); failed runs carry ``error`` and fewer counts."""

    model_config = ConfigDict(extra="allow")

    timestamp: str
    trigger: str
    status: Literal["running", "ok", "partial", "failed"]
    configuration: dict[str, Any]
    changes: list[str]


class Metadata(_Shape):
    """Facts of the document: what was run, on what, with which settings, and every run so far."""

    format_version: int
    generated_at: str
    season: int
    data: str
    training_time: float
    num_simulations: int
    settings: dict[str, Any]
    weights: Weights
    scenarios: dict[str, dict[str, Any]] = Field(
        description="per scenario: its estimated effect as of the latest race predicted (as_of_race), or "
                    "available false and the reason")
    points_system: dict[str, Any]
    fingerprint: str | None
    log_file: str
    training_history: list[HistoryEntry]


class RaceMetadata(_Shape):
    race_id: int
    season: int
    round: int
    race_name: str
    circuit: str
    circuit_type: str | None
    date: str
    has_sprint: bool
    status: Literal["completed", "qualified", "scheduled"]


class ModelFit(_Shape):
    """The prior model of the race's block of rounds."""

    block_from: str
    trained_until: str
    training_races: int
    fingerprint: str
    source: Literal["trained", "loaded"]


class CalibrationFacts(_Shape):
    temperature: float
    calibration_races: int
    strength_drift: float
    strength_drift_pairs: int


class WeekendUpdate(_Shape):
    sessions_used: list[str]
    prior_var: float | None
    posterior_var: float | None
    fitted: dict[str, Any] | None
    error: str | None


class Strength(_Shape):
    driver: str
    code: str
    constructor: str
    prior: Prob
    posterior: Prob
    log_weight: Prob
    dnf_prob: Prob


class ScenarioDriver(_Shape):
    """One driver's simulated outcome in one scenario."""

    driver: str
    code: str
    constructor: str
    win: Prob
    podium: Prob
    points: Prob = Field(description="probability of scoring points")
    expected_points: Prob
    expected_position: Prob
    dnf: Prob
    position_distribution: list[Prob] = Field(description="P(finishing 1st), P(2nd), ...; retirements at the back")


class ScenarioPrediction(_Shape):
    """A scenario of a race: its effect and the drivers by expected position, or why it is not available."""

    available: bool
    effect: dict[str, Any] | None = None
    drivers: list[ScenarioDriver] | None = None
    reason: str | None = None


class ActualResult(_Shape):
    driver: str
    code: str
    position: float | None
    points: float | None
    status: str | None


class DriverStanding(_Shape):
    driver: str
    title: Prob
    expected_points: Prob
    current_points: float


class ConstructorStanding(_Shape):
    constructor: str
    title: Prob
    expected_points: Prob
    current_points: float


class ChampionshipBefore(_Shape):
    """Title probabilities from the standings plus every race left."""

    n_simulations: int
    remaining_races: int
    remaining_sprints: int
    strength_drift: float
    notes: list[str]
    drivers: list[DriverStanding]
    constructors: list[ConstructorStanding]
    standings_after_round: int = Field(
        description="the last round whose results are in the standings (current_points); 0 before the first")


class Championship(ChampionshipBefore):
    """The championship the document leads with: before the first race without a result, else final."""

    as_of_race: str | None = Field(description="race_key of the race it is the championship before; "
                                               "null for the final table")
    final: bool = Field(False, description="present (true) when no race of the season in the data is left")


class RacePrediction(_Shape):
    """One race: its facts, the model and calibration used, strengths, scenarios, the result when run."""

    metadata: RaceMetadata
    model: ModelFit | None
    calibration: CalibrationFacts
    weekend_update: WeekendUpdate
    strengths: list[Strength]
    scenarios: dict[str, ScenarioPrediction]
    actual: list[ActualResult] | None
    championship_before: ChampionshipBefore | None = Field(
        None, description="for run races and the next one only")
    race_key: str
    fingerprint: str
    upstream_fingerprint: str


class Document(_Shape):
    """The season JSON written by ``formguide f1 season``."""

    metadata: Metadata
    championship: Championship | None
    predictions: list[RacePrediction]


def season_json_schema() -> dict:
    """JSON Schema of the season JSON."""
    return Document.model_json_schema()


# ------------------------------------------------------------------------------------- build and write
def build_document(config: SeasonConfig, settings: dict, season: int, predictions: list[dict],
                   championship: dict | None, history: list[dict], fit_seconds: float, entry: dict) -> dict:
    scen_meta: dict[str, Any] = {}
    # what each scenario changes, as estimated for the latest race predicted
    for p in reversed(predictions):
        for name, s in p.get("scenarios", {}).items():
            if name not in scen_meta:
                scen_meta[name] = ({"as_of_race": p["race_key"], **s["effect"]} if s.get("available")
                                   else {"as_of_race": p["race_key"], "available": False, "reason": s.get("reason")})
        if len(scen_meta) == len(config.scenarios):
            break
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
        "championship": championship,
        "predictions": predictions,
    }


def validate_document(document: dict) -> None:
    """Raise :class:`FormguideError` when ``document`` does not have the shape of :class:`Document`."""
    try:
        Document.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FormguideError(f"the season JSON does not match its schema ({exc.error_count()} error(s); "
                             f"first at {where}: {first['msg']})") from exc


def write_json_atomic(path: Path | str, data: Any) -> None:
    """The season JSON, written atomically by the core (readers never see half a file, a failed write keeps the
    previous one)."""
    write_json(path, data, indent=1)


def write_document(path: Path | str, document: dict) -> None:
    """Validate ``document`` (:func:`validate_document`), then write it atomically."""
    validate_document(document)
    write_json_atomic(path, document)


def read_previous(path: Path) -> dict | None:
    """The document a previous run wrote, when readable and of this format (its races can be reused)."""
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
