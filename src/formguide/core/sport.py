"""The contract a sport implements to plug into the core, and the plugin registry.

The core never imports a sport: sports are found through the ``formguide.sports`` entry point group
(``pyproject.toml``), so adding a sport is a new package plus one line of packaging metadata.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from formguide.core.errors import FormguideError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from formguide.core.features.engine import FeatureSet


class ProbabilisticModel(Protocol):
    """What the pipeline needs from a model: scikit-learn style, over the sport's event frame.

    ``frame`` holds the sport's canonical event rows, ``X`` the feature rows aligned with it.
    """

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> ProbabilisticModel: ...

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class FileReport:
    path: str
    status: str  # "ok" | "rejected"
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

    def total(self, key: str) -> int:
        return sum(getattr(f, key) for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.total("inserted"),
            "updated": self.total("updated"),
            "unchanged": self.total("unchanged"),
            "rejected": self.total("rejected"),
            "files_rejected": sum(f.status == "rejected" for f in self.files),
            "new_teams": sorted({t for f in self.files for t in f.new_teams}),
            "files": [f.__dict__ for f in self.files],
        }


class Sport(ABC):
    """One sport's plug-in. Implementations live in ``formguide.<sport>``.

    Common to every sport: ingest into the store, the canonical event frame, the feature set and the
    models. Two shapes of outcome build on it: :class:`MatchSport` (a fixed set of classes per event,
    e.g. home/draw/away) and :class:`FieldSport` (a ranking of many entrants, e.g. a race).
    """

    name: str
    #: Model types ``make_model`` accepts; the first is the default.
    model_types: tuple[str, ...]

    @abstractmethod
    def ingest(self, engine: Engine, paths: Sequence[Path], *, progress: Callable[[int], None] | None = None
               ) -> IngestReport: ...

    @abstractmethod
    def load_frame(self, engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
        """All events of the competitions (played and upcoming), sorted by time, with ``event_id``."""

    @abstractmethod
    def feature_set(self, **options: Any) -> FeatureSet: ...

    @abstractmethod
    def make_model(self, model_type: str, **params: Any) -> ProbabilisticModel: ...

    @abstractmethod
    def model_from_dict(self, data: dict[str, Any]) -> ProbabilisticModel: ...


class MatchSport(Sport):
    """Events with a fixed set of outcome classes (football's H/D/A, a two-way NFL result)."""

    #: Class labels of the main market in the order of ``predict_proba`` columns (ordinal for RPS).
    outcome_labels: tuple[str, ...]

    @abstractmethod
    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        """Class index per event in ``outcome_labels`` order; -1 where the event has no result yet."""

    @abstractmethod
    def market_probabilities(self, frame: pd.DataFrame, *, which: str = "close",
                             method: str = "multiplicative") -> np.ndarray:
        """De-margined market probabilities (n, k); NaN rows where no prices exist."""

    @abstractmethod
    def best_odds(self, frame: pd.DataFrame) -> np.ndarray:
        """Best decimal price per outcome (n, k) a bettor could have taken; NaN where none."""

    def baselines(self) -> dict[str, Callable[[], ProbabilisticModel]]:
        """Naive models evaluated next to every model (name -> factory)."""
        return {}


class FieldSport(Sport):
    """Events where many entrants are ranked (a race): the frame has one row per (event, entrant).

    Models give each entrant a strength; win probabilities sum to 1 within an event, and the full
    finishing-position distribution comes from ``formguide.core.field``.
    """

    #: Column of the frame that identifies the event an entry belongs to.
    event_column: str = "race_id"
    #: Column holding the finishing position (the ranking target), NaN before the event.
    position_column: str = "position"


def available_sports() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="formguide.sports")}


def get_sport(name: str) -> Any:
    eps = available_sports()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise FormguideError(f"unknown sport {name!r}; known sports: {known}")
    return eps[name].load()()
