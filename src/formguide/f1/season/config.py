"""Settings of a season run (:class:`SeasonConfig`), checked before any work, and the paths it writes."""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from formguide.core.errors import FormguideError
from formguide.f1.simulate import SCENARIOS

__all__ = ["SPORT", "SeasonConfig", "check_output_path", "log_path", "logger", "parse_weights"]

SPORT = "f1"
#: One logger for the whole pipeline: the run's log file and ``--verbose`` attach to it.
logger = logging.getLogger("formguide.f1.season")


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

