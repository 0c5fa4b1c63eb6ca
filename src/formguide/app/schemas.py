"""Typed requests and results of the use cases: the edges every front end (CLI, API, worker, UI) meets.

Requests are validated at construction (unknown fields refused, ranges checked, ``date_from <= date_to``);
sport-specific settings travel in ``options`` and are validated against the chosen sport's option model
by the use case. Results are plain data (``model_dump(mode="json")`` is the JSON a script reads; their
JSON Schemas are generated from these models, see ``docs/json-schemas``) and carry the tables a front end
shows (``views``, left out of the JSON).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from formguide.core.ratings import RatingsOutput
from formguide.core.sport import FileReport
from formguide.core.views import TableView

__all__ = [
    "BacktestRequest",
    "BacktestResult",
    "NotRun",
    "PredictAllRequest",
    "PredictBatchResult",
    "PredictSection",
    "TrainAllRequest",
    "TrainBatchResult",
    "TrainSection",
    "CompetitionSummary",
    "ExportResult",
    "ImportResult",
    "InfoResult",
    "IngestRequest",
    "IngestResult",
    "ModelDetail",
    "ModelSummary",
    "PredictRequest",
    "PredictResult",
    "RaceFieldEntry",
    "RaceFieldRequest",
    "RaceFieldResult",
    "RatingsRequest",
    "RatingsResult",
    "RunSummary",
    "SeasonSummary",
    "SimulateRequest",
    "SimulateResult",
    "TrainRequest",
    "TrainResult",
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sport: str = Field("football", description="Sport plug-in, e.g. football or f1.")
    options: dict[str, Any] = Field(default_factory=dict, description="The sport's own options for this use case.")


MAX_RUNTIME_DESCRIPTION = ("Stop the run after this many seconds (> 0); a training run that reaches it is recorded "
                           "as failed with the reason.")
BET_TYPE_DESCRIPTION = "Bet type the model is for, e.g. the NFL's moneyline, spread or total (default: the sport's first)."
ALL_BET_TYPES_DESCRIPTION = "Every bet type the sport offers, each its own champion line (not with bet_type)."


def _check_bet_types(bet_type: str | None, all_bet_types: bool) -> None:
    if all_bet_types and bet_type is not None:
        raise ValueError("--bet-type and --all-bet-types cannot be used together")


class Result(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    views: list[TableView] = Field(default_factory=list, exclude=True)
    messages: list[str] = Field(default_factory=list, description="What a person should read first.")

    def json_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"views"})


def _check_range(date_from: Any, date_to: Any, what: str = "--from") -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValueError(f"{what} {date_from} is after --to {date_to}")


# ------------------------------------------------------------------------------------------ ingest
class IngestRequest(Request):
    paths: list[Path] = Field(min_length=1, description="Files or folders to import.")


class IngestResult(Result):
    sport: str
    layout: str | None = None
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    files_rejected: int
    new_teams: list[str]
    warnings: int
    files: list[FileReport]


# ------------------------------------------------------------------------------------------ training
class TrainRequest(Request):
    bet_type: str | None = Field(None, description=BET_TYPE_DESCRIPTION)
    competition: str | None = Field(None, description="Competition (league) code; the sport's default if it has one.")
    model_type: str | None = Field(None, description="Model type (default: the sport's first).")
    until: datetime | None = Field(None, description="Train as of this moment (later results are hidden).")
    date_from: datetime | None = Field(None, description=(
        "Leave out events before this moment: neither trained on nor used as feature history (default: none "
        "left out)."))
    seasons: list[str] | None = Field(None, min_length=1, description="Seasons to use (default: all).")
    eval_seasons: int = Field(2, ge=1, le=50, description="Latest seasons evaluated walk-forward.")
    metric: str | None = Field(None, description="Promotion metric (default: the sport's headline metric).")
    force: bool = Field(False, description="Retrain even when data and configuration are unchanged.")
    max_runtime: float | None = Field(None, gt=0, allow_inf_nan=False, description=MAX_RUNTIME_DESCRIPTION)
    all_bet_types: bool = Field(False, description=ALL_BET_TYPES_DESCRIPTION)

    @model_validator(mode="after")
    def _one_bet_type(self) -> TrainRequest:
        _check_bet_types(self.bet_type, self.all_bet_types)
        if self.date_from is not None and self.until is not None and self.date_from >= self.until:
            raise ValueError(f"date_from {self.date_from} is not before until {self.until}")
        return self


class TrainResult(Result):
    sport: str
    bet_type: str
    competition: str
    status: Literal["registered", "skipped"]
    run_id: int
    name: str
    model_id: int | None
    version: int | None
    promoted: bool
    message: str
    model_card: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)


class BacktestRequest(Request):
    bet_type: str | None = Field(None, description=BET_TYPE_DESCRIPTION)
    competition: str | None = None
    model_type: str | None = None
    date_from: date | None = Field(None, description="First day predicted (default: the sport's).")
    date_to: date | None = Field(None, description="Last day predicted (default: the last result).")
    refit: str | None = Field(None, description="daily, weekly, monthly or a number of event groups.")
    max_runtime: float | None = Field(None, gt=0, allow_inf_nan=False, description=MAX_RUNTIME_DESCRIPTION)
    plots: Path | None = Field(None, description="Folder for the PNGs (default: the artifacts' plots folder).")
    ledger: Path | None = Field(None, description="Write the bet ledger (one row per bet) to this .csv or .json file.")

    @field_validator("ledger")
    @classmethod
    def _ledger_format(cls, value: Path | None) -> Path | None:
        from formguide.core.ledger import LEDGER_FORMATS

        if value is not None and value.suffix.lower() not in LEDGER_FORMATS:
            raise ValueError("a ledger file must end in .csv or .json")
        return value

    @model_validator(mode="after")
    def _range(self) -> BacktestRequest:
        _check_range(self.date_from, self.date_to)
        return self


class BacktestResult(Result):
    sport: str
    bet_type: str
    competition: str
    report: dict[str, Any]


# ------------------------------------------------------------------------------------------ serving
class PredictRequest(Request):
    bet_type: str | None = Field(None, description=BET_TYPE_DESCRIPTION)
    competition: str | None = None
    date: datetime | None = Field(None, description="Predict as of this day (default: today).")
    days: int = Field(7, ge=1, le=366, description="Events from the date up to date + days.")
    all_bet_types: bool = Field(False, description=ALL_BET_TYPES_DESCRIPTION)

    @model_validator(mode="after")
    def _one_bet_type(self) -> PredictRequest:
        _check_bet_types(self.bet_type, self.all_bet_types)
        return self


class PredictResult(Result):
    sport: str
    bet_type: str
    competition: str
    as_of: str
    model: str
    model_id: int
    refitted: str | None
    feature_set_version: str
    stored: int
    events: list[dict[str, Any]]


class SimulateRequest(Request):
    bet_type: str | None = Field(None, description=BET_TYPE_DESCRIPTION)
    competition: str | None = None
    season: str = Field(min_length=1, description="Season code, e.g. 2425.")
    date_from: date | None = Field(None, description="Simulate from this day (default: after the last result).")
    simulations: int = Field(20000, ge=1, le=5_000_000, description="Simulated seasons.")
    seed: int = Field(0, ge=0, description="Random seed (the same seed gives the same numbers).")


class SimulateResult(Result):
    sport: str
    bet_type: str
    competition: str
    season: str
    data: dict[str, Any]


class RaceFieldRequest(Request):
    """One race's field (``GET /api/v1/{sport}/races/{race}/field``): ``predict`` of that race with positions."""

    race: str = Field(min_length=1, description="The race, written as the sport names races (F1: 2024-22).")
    moment: str | None = Field(None, description="Prediction moment (F1: pre-quali or post-quali; default the "
                               "sport's).")
    simulations: int = Field(20000, ge=100, le=1_000_000, description="Simulated races behind podium, points and "
                             "positions.")
    seed: int = Field(0, ge=0, description="Random seed (the same seed gives the same probabilities).")


class RaceFieldEntry(BaseModel):
    entry: str = Field(description="The entrant's key (F1: the driver).")
    label: str = Field(description="The entrant as shown (F1: the driver's name).")
    team: str | None = Field(None, description="Whom it races for (F1: the constructor).")
    start: int | None = Field(None, description="Starting position when known (F1: the grid; none before "
                              "qualifying).")
    p_win: float
    p_podium: float
    p_points: float
    p_retire: float
    expected_position: float
    actual_position: int | None = Field(None, description="The result, once the race has run.")


class RaceFieldResult(Result):
    sport: str
    race: str
    event_id: int
    name: str
    date: str
    details: dict[str, Any] = Field(default_factory=dict)
    moment: str | None = Field(description="The prediction moment served (None: the sport has none).")
    model: str = Field(description="The champion served, e.g. f1-post-quali v3 (plackett-luce).")
    model_id: int
    model_version: int
    feature_set_version: str
    as_of: str
    refitted: str | None
    simulations: int
    seed: int
    entries: list[RaceFieldEntry] = Field(description="The field, most likely winner first.")
    positions: list[list[float]] = Field(description=(
        "Finishing-position distribution: row i is entries[i], column k is P(finish k+1-th) for k = 0..field "
        "size-1 (retired entrants placed behind the finishers); every row and every column sums to 1."))


class RatingsRequest(Request):
    competition: str | None = None
    date: datetime | None = Field(None, description="Ratings as known before this day (default: today).")
    png: Path | None = Field(None, description="Also draw the ratings into this PNG file.")


class RatingsResult(Result):
    sport: str
    competition: str
    as_of: str = Field(description="Ratings use only results of days strictly before this day.")
    png: str | None = Field(None, description="The PNG written, when one was asked for.")
    ratings: RatingsOutput


# ------------------------------------------------------------------------- every bet type, every sport
class AllRequest(BaseModel):
    """Every installed sport with its defaults (its default competition, else each stored one; its first model);
    ``options`` apply to the sports whose options have them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    options: dict[str, Any] = Field(default_factory=dict, description="Sport options, for the sports that take them.")


class TrainAllRequest(AllRequest):
    until: datetime | None = Field(None, description="Train as of this moment (later results are hidden).")
    eval_seasons: int = Field(2, ge=1, le=50, description="Latest seasons evaluated walk-forward.")
    force: bool = Field(False, description="Retrain even when data and configuration are unchanged.")
    max_runtime: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Limit of each training run in seconds (> 0); a run that reaches it is recorded as failed."))


class PredictAllRequest(AllRequest):
    date: datetime | None = Field(None, description="Predict as of this day (default: today).")
    days: int = Field(1, ge=1, le=366, description="Events from the date up to date + days (default: that day).")


class NotRun(BaseModel):
    """A (competition, bet type) of a batch that gave no result: ``failed`` (the run raised, e.g. it reached its
    --max-runtime) or ``skipped`` (nothing to do, e.g. no champion to predict with)."""

    status: Literal["failed", "skipped"]
    reason: str


class TrainSection(BaseModel):
    """One sport of ``train --all`` / ``--all-bet-types``: ``competitions[code][bet type]`` is its result."""

    status: Literal["done", "failed", "skipped"] = Field(description=(
        "done: every run gave a result; failed: at least one failed; skipped: no data in the store."))
    reason: str | None = None
    competitions: dict[str, dict[str, TrainResult | NotRun]] = Field(default_factory=dict)


class TrainBatchResult(Result):
    sports: dict[str, TrainSection]


class PredictSection(BaseModel):
    """One sport of ``predict --all`` / ``--all-bet-types``: ``competitions[code][bet type]`` is its result."""

    status: Literal["done", "no events", "failed", "skipped"] = Field(description=(
        "done: events predicted; no events: none in the window; failed: a prediction failed; skipped: no data "
        "or no champion."))
    reason: str | None = None
    competitions: dict[str, dict[str, PredictResult | NotRun]] = Field(default_factory=dict)


class PredictBatchResult(Result):
    date: str = Field(description="The first day of the window (ISO).")
    days: int
    sports: dict[str, PredictSection]


# ------------------------------------------------------------------------------------------ registry
class ModelSummary(BaseModel):
    id: int
    sport: str
    name: str
    version: int
    model_type: str
    status: str
    created_at: datetime | None
    promoted_at: datetime | None = None
    headline_metric: str | None = None
    headline: float | None = None
    metrics: dict[str, float | int | None] = Field(default_factory=dict)


class ModelDetail(Result):
    model: ModelSummary
    feature_set_version: str | None
    data_fingerprint: str | None
    artifact_sha256: str | None
    config: dict[str, Any] | None
    evaluation: dict[str, Any] | None
    card: str
    card_path: str | None


class RunSummary(BaseModel):
    id: int
    sport: str
    model: str | None
    run_type: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    events: int | None
    headline_metric: str | None
    headline: float | None
    metrics: dict[str, Any] | None
    error: str | None


class ExportResult(Result):
    path: str
    exported: int


class ImportResult(Result):
    path: str
    imported: list[str]
    skipped: list[str]


class SeasonSummary(BaseModel):
    code: str
    start: datetime | None
    end: datetime | None
    events: int
    played: int


class CompetitionSummary(BaseModel):
    sport: str
    code: str
    name: str | None
    seasons: list[SeasonSummary]

    @field_validator("seasons")
    @classmethod
    def _sorted(cls, value: list[SeasonSummary]) -> list[SeasonSummary]:
        return sorted(value, key=lambda s: (s.start or datetime.min, s.code))


class InfoResult(Result):
    version: str
    settings: dict[str, Any]
    schema_revision: str | None
    sports: list[dict[str, Any]]
    counts: dict[str, int]


# ------------------------------------------------------------------------------------- JSON Schemas
#: Results whose ``--json`` output is the model itself (a backtest writes its report, a simulation its data: the
#: sport's own shapes, documented in the README).
RESULTS: dict[str, type[BaseModel]] = {"ingest": IngestResult, "train": TrainResult, "predict": PredictResult,
                                       "ratings": RatingsResult, "models-show": ModelDetail,
                                       "train-all": TrainBatchResult, "predict-all": PredictBatchResult}


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every result (``formguide <command> --json``) and of each sport's prediction events."""
    from formguide.app.job_schemas import JOB_RESULTS
    from formguide.core.sport import available_sports, get_sport

    out = {name: model.model_json_schema(mode="serialization") for name, model in {**RESULTS, **JOB_RESULTS}.items()}
    for name in sorted(available_sports()):
        sport = get_sport(name)
        if sport.prediction_model is not None:
            schema = sport.prediction_model.model_json_schema(mode="serialization")
            schema["description"] = f"One element of `events` in `formguide predict --sport {name} --json`."
            out[f"predict-event-{name}"] = schema
        out.update(sport.json_schemas())
        for use_case in ("train", "backtest", "predict", "simulate"):
            model = sport.options.model(use_case)
            if model.model_fields:
                out[f"options-{name}-{use_case}"] = model.model_json_schema()
    return out


def write_json_schemas(folder: Path) -> list[Path]:
    """Write :func:`json_schemas` as ``<name>.schema.json`` files (``python -m formguide.app.schemas DIR``)."""
    from formguide.core.jsonio import write_json

    folder.mkdir(parents=True, exist_ok=True)
    return [write_json(folder / f"{name}.schema.json", schema) for name, schema in sorted(json_schemas().items())]


if __name__ == "__main__":  # pragma: no cover - the documentation's generator
    import sys

    for path in write_json_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/json-schemas")):
        print(path)
