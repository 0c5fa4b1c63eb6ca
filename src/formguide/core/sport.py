"""The contract a sport implements to plug into the core, and the registry of sport plug-ins.

The core never imports a sport. Sports are found through the ``formguide.sports`` entry point group
(``pyproject.toml``) or registered in code with :func:`register_sport`, so adding a sport is a new package
plus one line of packaging metadata, and the core's orchestrators (``core.training``, ``core.backtest``,
``core.serving``) run it like every other.

A sport supplies what is its own: its data (ingest, the canonical frame, which rows have an outcome), its
features and models, how a forecast is scored over a window (its metrics and their headline for
promotion), how a forecast becomes what a user reads (prediction rows, tables), and its own options and
commands. The core owns everything else: fingerprints, validation, walk-forward, fitting, registering,
promoting, the store and the artifacts.

Two shapes of event build on :class:`Sport`: :class:`formguide.core.match.MatchSport` (one row per event and a
fixed set of outcome classes, e.g. home/draw/away) and :class:`formguide.core.fieldsport.FieldSport` (one row
per entry of an event whose entrants are ranked, e.g. a race). Both implement the shape-level parts.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from formguide.core.errors import FormguideError
from formguide.core.options import SportOptions, UseCaseOptions
from formguide.core.walkforward import Cadence

if TYPE_CHECKING:
    import typer
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from formguide.core.estimators import Estimator
    from formguide.core.features.engine import FeatureSet
    from formguide.core.ratings import RatingsOutput
    from formguide.core.serving import ServedModel
    from formguide.core.store.models import ModelRecord
    from formguide.core.views import TableView

__all__ = [
    "FileReport",
    "ForecastRow",
    "IngestReport",
    "PredictionBatch",
    "RaceNotFoundError",
    "RaceReferenceError",
    "SimulationOutput",
    "Sport",
    "available_sports",
    "get_sport",
    "register_sport",
    "sport_names",
]


class RaceReferenceError(FormguideError):
    """A race named in a form the sport does not read (see :attr:`Sport.race_reference`)."""


class RaceNotFoundError(RaceReferenceError):
    """A well-formed race reference that names no stored race; the message gives the stored range."""


# ------------------------------------------------------------------------------------------ ingest
@dataclass
class FileReport:
    """What the import of one file (or one unit, e.g. a race folder) did."""

    path: str
    status: str  # "ok" | "rejected"
    #: What the sport found the file to be (e.g. F1's "ergast", "fastf1-laps"), when it tells.
    found: str | None = None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    new_teams: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    #: What the sport found among the paths (e.g. F1's "ergast", "laps", "race folders"), if it tells.
    layout: str | None = None

    def total(self, key: str) -> int:
        return sum(getattr(f, key) for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "inserted": self.total("inserted"),
            "updated": self.total("updated"),
            "unchanged": self.total("unchanged"),
            "rejected": self.total("rejected"),
            "files_rejected": sum(f.status == "rejected" for f in self.files),
            "new_teams": sorted({t for f in self.files for t in f.new_teams}),
            "files": [f.__dict__ for f in self.files],
        }


# -------------------------------------------------------------------------------------- predictions
@dataclass
class ForecastRow:
    """One row of the ``predictions`` table: one market of an event, or of one entry of it."""

    event_id: int
    market: str
    probabilities: dict[str, float]
    entry_id: int = 0
    line: float | None = None
    market_prices: dict[str, float | None] | None = None
    edge: dict[str, float | None] | None = None
    stake: float | None = None
    selection: str | None = None
    tier: str | None = None


@dataclass
class PredictionBatch:
    """A sport's predictions of a window: rows for people and scripts, rows for the store, a table."""

    events: list[dict[str, Any]]
    stored: list[ForecastRow]
    view: TableView


@dataclass
class SimulationOutput:
    data: dict[str, Any]
    view: TableView


# ---------------------------------------------------------------------------------------- the contract
class Sport(ABC):
    """One sport's plug-in. Implementations live in ``formguide.<sport>``; see the module docstring."""

    #: Plug-in name, as users type it (``--sport football``).
    name: ClassVar[str]
    #: Model types ``make_model`` accepts; the first is the default.
    model_types: ClassVar[tuple[str, ...]]
    #: Column of the frame holding each row's time (the point-in-time rule works on its calendar day).
    time_column: ClassVar[str] = "kickoff"
    #: Column naming the event a row belongs to.
    event_column: ClassVar[str] = "event_id"
    #: Bet types (markets) the sport trains models for, each with its own champion line; the first is the default.
    bet_types: ClassVar[tuple[str, ...]] = ("result",)
    #: Competition used when a request names none (a sport with one championship); None: it must be given.
    default_competition: ClassVar[str | None] = None
    #: Metric that decides promotion by default (lower is better) and those a user may choose instead.
    headline_metric: ClassVar[str]
    promotion_metrics: ClassVar[tuple[str, ...]]
    #: Columns of the sport's metric tables (CLI, model cards) and which of them are "lower is better".
    metric_columns: ClassVar[tuple[str, ...]]
    lower_is_better: ClassVar[frozenset[str]] = frozenset()
    #: Width of a forecast row (classes of a match sport; 1 strength per entry of a field sport).
    n_outputs: ClassVar[int]
    #: How the walk-forward groups rows, and refits, when training evaluates and when a backtest runs.
    train_cadence: ClassVar[Cadence]
    backtest_cadence: ClassVar[Cadence]
    #: Baselines refit at this cadence (None: as the model).
    baseline_cadence: ClassVar[Cadence | None] = None
    #: A walk-forward predicts a group once this many trainable rows (or whole groups) precede it.
    min_train: ClassVar[int] = 1
    min_train_groups: ClassVar[bool] = False
    #: The sport's options per use case (validated against every request).
    options: ClassVar[UseCaseOptions] = UseCaseOptions()
    #: Whether :meth:`simulate` is implemented, and what to say to a user asking for it otherwise.
    can_simulate: ClassVar[bool] = False
    simulation_note: ClassVar[str] = ""
    #: Whether :meth:`ratings` is implemented (``formguide ratings``: each participant's ratings as of a date).
    can_rate: ClassVar[bool] = False
    #: The pydantic model of one event of a prediction (set by the event shapes, MatchSport and FieldSport).
    prediction_model: ClassVar[Any] = None
    #: Race fields: how one race is written when a single race's field can be asked for (e.g. ``"SEASON-ROUND,
    #: e.g. 2024-22"``), None when the sport has none (a match is not a field). A sport that sets it takes
    #: ``race`` (and, with prediction moments, ``moment``) among its predict options, and its predict options
    #: derive from ``FieldPredictOptions`` (``positions``: the finishing-position distribution). The service's
    #: race-field endpoint, the UI's race page and their error messages follow this, never the sport's name.
    race_reference: ClassVar[str | None] = None

    @property
    def has_race_fields(self) -> bool:
        return self.race_reference is not None

    # -------------------------------------------------------------------------------------- data
    @abstractmethod
    def ingest(self, engine: Engine, paths: Sequence[Path], *, progress: Callable[[int], None] | None = None
               ) -> IngestReport: ...

    def count_ingest_units(self, paths: Sequence[Path]) -> int | None:
        """How many units (files) an ingest of ``paths`` will report, for a progress bar; None: unknown."""
        return None

    @abstractmethod
    def load_frame(self, engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
        """All rows of the competitions (played and upcoming), sorted by time, with the event column."""

    @abstractmethod
    def trainable(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows whose outcome is known (they can be learnt from and scored)."""

    def groups(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Event group of each row for the walk-forward (None: calendar periods of the cadence)."""
        return None

    def entry_ids(self, session: Session, frame: pd.DataFrame) -> np.ndarray:
        """Store id of the participant each row is about; 0 when a row is the event as a whole."""
        return np.zeros(len(frame), dtype=np.int64)

    @abstractmethod
    def check_history(self, frame: pd.DataFrame, trainable: np.ndarray, competition: str) -> None:
        """Refuse (``DataValidationError``) to train on too little history."""

    def default_backtest_start(self, frame: pd.DataFrame, trainable: np.ndarray) -> int:
        """First day a backtest predicts when the request names none (a day number)."""
        from formguide.core.days import day_numbers

        days = day_numbers(frame[self.time_column])
        first = frame["season"].iloc[0]
        return int(days[(frame["season"] == first).to_numpy()].max()) + 1

    # ------------------------------------------------------------------------------ bet types
    @property
    def bet_type(self) -> str:
        """The bet type this instance trains and serves (a sport with one: its only one)."""
        return self.bet_types[0]

    def for_bet_type(self, bet_type: str | None) -> Sport:
        """The sport as trained, backtested and served for one of its bet types (None: the default).

        A sport with one bet type is its own view; a sport with several returns one view per bet type
        from :meth:`bet_type_view` (its outcome classes, markets and champion line are the bet type's).
        """
        wanted = self.bet_types[0] if bet_type is None else bet_type.strip().lower()
        if wanted not in self.bet_types:
            raise FormguideError(f"{self.name} offers no bet type {bet_type!r}; it offers "
                                 f"{', '.join(self.bet_types)}")
        return self if wanted == self.bet_type else self.bet_type_view(wanted)

    def bet_type_view(self, bet_type: str) -> Sport:
        """The sport for another of its ``bet_types`` (only called for a sport that declares several)."""
        raise FormguideError(f"{self.name} has no view for bet type {bet_type!r}")

    # ----------------------------------------------------------------------- lines and options
    def line_name(self, competition: str, options: SportOptions) -> str:
        """Registry name of the champion line a training joins: models of every type compete under it."""
        return f"{self.name}-{competition}"

    def model_params(self, model_type: str, options: SportOptions) -> dict[str, Any]:
        """Estimator parameters a use case's options set (the estimator's defaults apply to the rest)."""
        return {}

    def feature_options(self, options: SportOptions) -> dict[str, Any]:
        """Feature-set options a use case's options set."""
        return {}

    # ------------------------------------------------------------------------- features and models
    @abstractmethod
    def feature_set(self, **options: Any) -> FeatureSet: ...

    @abstractmethod
    def make_model(self, model_type: str, **params: Any) -> Estimator: ...

    @abstractmethod
    def model_from_dict(self, data: dict[str, Any]) -> Estimator: ...

    def baselines(self) -> dict[str, Callable[[], Estimator]]:
        """Naive models evaluated walk-forward next to every model (name -> factory)."""
        return {}

    @abstractmethod
    def forecast(self, model: Estimator, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        """The ``(n, n_outputs)`` forecast of a fitted model that :meth:`evaluate` scores."""

    def model_facts(self, model: Estimator) -> dict[str, Any]:
        """Facts about a fitted model worth keeping with its version (e.g. a fitted temperature)."""
        return {}

    def report_extras(self, options: SportOptions) -> dict[str, Any]:
        """Keys a sport adds to its backtest report (e.g. the prediction moment)."""
        return {}

    # ------------------------------------------------------------------------------ evaluation
    @abstractmethod
    def evaluate(self, frame: pd.DataFrame, forecasts: dict[str, np.ndarray], window: np.ndarray
                 ) -> dict[str, Any]:
        """Metrics of every forecast over the rows of ``window``, all scored on the same events.

        ``forecasts["model"]`` is the forecast under test; the others are references (baselines, the
        champion). Returns ``{"window": {...}, "model": {...}, "market": {...} | None, "baselines": {name:
        {...}}}`` plus anything the sport adds; every metric block holds the sport's ``metric_columns``.
        """

    @abstractmethod
    def evaluated_events(self, frame: pd.DataFrame, forecast: np.ndarray, window: np.ndarray) -> np.ndarray:
        """Rows of ``window`` the model's forecast scored (the rows :meth:`evaluate` counts)."""

    @abstractmethod
    def reliability_plot(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, path: Path,
                         title: str) -> Path:
        """Reliability diagram of the forecast on ``rows``; returns the PNG path."""

    def betting(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, options: SportOptions
                ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Betting on ``rows`` at the prices a bettor could take: (report, bankroll curves); None: no market."""
        return None

    def market_backtests(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, options: SportOptions, *,
                         model_type: str, params: dict[str, Any], cadence: Cadence, start_day: int
                         ) -> dict[str, Any]:
        """Further markets a backtest scores and bets on ``rows`` beside :meth:`betting` (report key -> block, e.g.
        football's ``asian_handicap``), for the configuration and cadence the forecast came from; default none."""
        return {}

    def backtest_views(self, report: dict[str, Any]) -> list[TableView]:
        """Tables of the blocks :meth:`market_backtests` added to a backtest report; default none."""
        return []

    def card_notes(self, record: ModelRecord) -> str:
        """Sport-specific Markdown appended to a model card (how to read its metrics)."""
        return ""

    # -------------------------------------------------------------------------------- serving
    def prediction_window(self, frame: pd.DataFrame, as_of: pd.Timestamp | None, days: int,
                          options: SportOptions) -> tuple[pd.Timestamp, np.ndarray]:
        """The moment predictions are made as of, and the rows to predict (default: ``[as_of, as_of + days)``)."""
        if as_of is None:
            as_of = pd.Timestamp.now().normalize()
        start = pd.Timestamp(as_of).normalize()
        times = frame[self.time_column]
        target = ((times >= start) & (times < start + pd.Timedelta(days=days))).to_numpy()
        return start, target

    @abstractmethod
    def predictions(self, served: ServedModel, target: np.ndarray, options: SportOptions) -> PredictionBatch:
        """What a user reads and the store keeps about the target rows, from the served model."""

    def simulate(self, engine: Engine, competition: str, season: str, date_from: pd.Timestamp | None,
                 n: int, seed: int, options: SportOptions, serve: Callable[..., ServedModel]
                 ) -> SimulationOutput:
        """Monte Carlo of the rest of a season (``serve(as_of, frame=None)`` gives the champion as of a date,
        on the given frame when the sport has loaded it already). Only called when ``can_simulate``."""
        raise FormguideError(f"simulate is not available for {self.name}{self.simulation_note}")

    def ratings(self, engine: Engine, competition: str, as_of: pd.Timestamp, frame: pd.DataFrame | None = None
                ) -> RatingsOutput:
        """Each participant's ratings as known before ``as_of``'s day (results from that day on unseen): rows of
        named numbers, the headline column, optional scatter axes (``core.ratings``); the title names the
        model and the data window. ``frame`` is the competition's frame when already loaded. Only called when
        ``can_rate``."""
        raise FormguideError(f"ratings are not available for {self.name}")

    # ---------------------------------------------------------------------------- front ends
    def cli(self) -> typer.Typer | None:
        """The sport's own sub-commands (``formguide <sport> ...``), if any."""
        return None

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """JSON Schemas of the sport's own outputs (e.g. a season file), by name, for the documentation."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What the sport offers, for ``formguide info`` and the service."""
        return {"name": self.name, "model_types": list(self.model_types), "bet_types": list(self.bet_types),
                "default_competition": self.default_competition, "headline_metric": self.headline_metric,
                "promotion_metrics": list(self.promotion_metrics), "metric_columns": list(self.metric_columns)}


# ---------------------------------------------------------------------------------------- registry
_registered: dict[str, Callable[[], Sport]] = {}
_instances: dict[str, Sport] = {}


def register_sport(name: str, factory: Callable[[], Sport]) -> None:
    """Make a sport available under ``name`` without packaging metadata (tests, notebooks, plug-in hosts)."""
    _registered[name] = factory
    _instances.pop(name, None)


def unregister_sport(name: str) -> None:
    _registered.pop(name, None)
    _instances.pop(name, None)


@functools.cache
def _installed_sports() -> tuple[Any, ...]:
    """The ``formguide.sports`` entry points, read once per process: scanning every installed distribution's
    metadata costs about 1.7 ms, and the service asked on every request (a sport installed later needs a
    restart, as its code does)."""
    return tuple(entry_points(group="formguide.sports"))


def available_sports() -> dict[str, Callable[[], Sport]]:
    """Every installed or registered sport: name -> factory."""
    found: dict[str, Callable[[], Sport]] = {ep.name: (lambda ep=ep: ep.load()()) for ep in _installed_sports()}
    found.update(_registered)
    return found


def sport_names() -> list[str]:
    return sorted(available_sports())


def get_sport(name: str) -> Sport:
    """The plug-in of ``name`` (one instance per process)."""
    if name in _instances:
        return _instances[name]
    sports = available_sports()
    if name not in sports:
        known = ", ".join(sorted(sports)) or "none installed"
        raise FormguideError(f"unknown sport {name!r}; known sports: {known}")
    sport = sports[name]()
    _instances[name] = sport
    return sport
