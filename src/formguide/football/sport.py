"""Football's plug-in for the core: ingest, canonical frame, features, markets, models, options and simulation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator
from sqlalchemy import Engine

from formguide.core.match import MatchSport
from formguide.core.options import (
    BacktestBettingOptions,
    PredictBettingOptions,
    SportOptions,
    UseCaseOptions,
)
from formguide.core.sport import IngestReport, SimulationOutput
from formguide.core.walkforward import Cadence

Overround = Literal["multiplicative", "additive", "power", "shin"]


class DixonColesOptions(SportOptions):
    """Dixon-Coles settings a user may override (the estimator's defaults apply otherwise)."""

    xi: float | None = Field(None, ge=0, le=0.1, allow_inf_nan=False, description="Dixon-Coles time decay per day.")
    shots_weight: float | None = Field(None, ge=0, le=1, allow_inf_nan=False, description=(
        "Dixon-Coles: weight of the shots-on-target fit in the expected goals (0 = goals only; default 0.2)."))
    red_card_weight: float | None = Field(None, ge=0, le=10, allow_inf_nan=False, description=(
        "Dixon-Coles: weight of matches with a sending-off (1 = like any other; default 0.5)."))
    stacker: Literal["logistic", "lightgbm"] = Field("logistic", description="Blend stacker: logistic or lightgbm.")


class FootballTrainOptions(DixonColesOptions):
    calibration: Literal["isotonic", "platt", "none"] = Field("isotonic", description=(
        "Blend calibration: isotonic, platt or none."))
    overround: Overround = Field("multiplicative", description=(
        "Overround removal of the market inputs: multiplicative, additive, power or shin."))


class FootballSimulateOptions(SportOptions):
    deduction: list[str] = Field(default_factory=list, description=(
        "Points deducted from a team: TEAM=POINTS, e.g. --deduction Everton=8."))

    @field_validator("deduction")
    @classmethod
    def _team_equals_points(cls, value: list[str]) -> list[str]:
        from formguide.football.predict import parse_deduction

        for item in value:
            parse_deduction(item)  # a malformed value or non-integer points: one line naming the flag
        return value


class FootballBacktestOptions(DixonColesOptions, BacktestBettingOptions):
    bankroll: float = Field(100.0, gt=0, allow_inf_nan=False, description="Starting bankroll of the betting simulation.")


def _handicap_market(matrices: np.ndarray, rows: pd.DataFrame):
    """The Asian handicap at each match's stored line (closing if recorded, else opening) with its best prices."""
    from formguide.football.handicap import prediction_market

    if "ah_line_best" not in rows.columns:
        return prediction_market(matrices, np.full(len(rows), np.nan), np.full((len(rows), 2), np.nan))
    return prediction_market(matrices, rows["ah_line_best"].to_numpy(dtype=float, na_value=np.nan),
                             rows[["odds_best_ah_home", "odds_best_ah_away"]].to_numpy(dtype=float, na_value=np.nan))


def _estimators():
    """Imported on first use: scikit-learn and SciPy cost seconds at start-up that ingest never needs."""
    from formguide.football.models import estimators

    return estimators


class FootballSport(MatchSport):
    name = "football"
    race_reference = None  # matches, not race fields
    outcome_labels = ("H", "D", "A")
    selection_names = {"H": "home", "D": "draw", "A": "away"}
    main_market = "1x2"
    bet_types = ("1x2",)
    draw_index = 1
    model_types = ("dixon-coles", "poisson", "elo", "blend")
    can_simulate = True
    can_rate = True
    train_cadence = Cadence(period="month")
    backtest_cadence = Cadence(period="week")
    options = UseCaseOptions(train=FootballTrainOptions, backtest=FootballBacktestOptions,
                             predict=PredictBettingOptions, simulate=FootballSimulateOptions)

    # ------------------------------------------------------------------------------------ data
    def ingest(self, engine: Engine, paths: Sequence[Path], *, progress: Callable[[int], None] | None = None
               ) -> IngestReport:
        from formguide.football import store_io

        return store_io.ingest_files(engine, paths, progress=progress)

    def count_ingest_units(self, paths: Sequence[Path]) -> int | None:
        from formguide.core.errors import FormguideError
        from formguide.football.parse import iter_csv_files

        try:
            return len(iter_csv_files(paths))
        except FormguideError:  # a missing path: ingest rejects and records it, the others still go in
            return len(paths)

    def load_frame(self, engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
        from formguide.football import store_io

        return store_io.load_frame(engine, competitions)

    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        return _estimators().outcome_index(frame)

    def actual_results(self, frame: pd.DataFrame) -> dict[int, str]:
        played = frame[frame["home_goals"].notna()]
        return {int(r.event_id): f"{int(r.home_goals)}-{int(r.away_goals)} {r.result}" for r in played.itertuples()}

    # -------------------------------------------------------------------------------- markets
    def market_probabilities(self, frame: pd.DataFrame, *, which: str = "close",
                             method: str = "multiplicative") -> np.ndarray:
        from formguide.football import markets

        return markets.market_probabilities(frame, which, method)

    def best_odds(self, frame: pd.DataFrame) -> np.ndarray:
        from formguide.football import markets

        return markets.odds_matrix(frame, "best")

    def prices_before_kickoff(self, frame: pd.DataFrame) -> np.ndarray:
        """Best price known before kick-off: best closing if recorded, else best opening."""
        return self._prices_before_kickoff(frame, ("H", "D", "A"))

    @staticmethod
    def _prices_before_kickoff(frame: pd.DataFrame, selections: tuple[str, ...]) -> np.ndarray:
        from formguide.football import markets

        best = markets.odds_matrix(frame, "best", selections)
        return np.where(np.isnan(best), markets.odds_matrix(frame, "open", selections), best)

    def closing_prices(self, frame: pd.DataFrame) -> np.ndarray:
        """The closing reference prices of the 1X2 (Pinnacle closing, else the market average closing)."""
        from formguide.football import markets

        return markets.odds_matrix(frame, "close")

    def extra_markets(self, model: Any, rows: pd.DataFrame) -> list:
        from formguide.football.models import score_markets
        from formguide.football.models.estimators import ScoreDistribution

        if not isinstance(model, ScoreDistribution):
            return []
        matrices = model.score_matrix(rows)
        over = score_markets.over_under(matrices)[:, 0]
        prices = self._prices_before_kickoff(rows, ("over", "under"))
        return [("total", 2.5, "2.5", {"over": over, "under": 1.0 - over},
                 {"over": prices[:, 0], "under": prices[:, 1]}), _handicap_market(matrices, rows)]

    def market_backtests(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, options: SportOptions, *,
                         model_type: str, params: dict[str, Any], cadence: Cadence, start_day: int
                         ) -> dict[str, Any]:
        """The Asian handicap at the closing line, priced from the same score model and fits (``football.handicap``)."""
        from formguide.football import handicap

        if not isinstance(options, BacktestBettingOptions):
            return {}
        how = handicap.score_walk_forward(self.make_model(model_type, **params),
                                          lambda: self.make_model(model_type, **params), frame, start_day=start_day,
                                          cadence=cadence, min_train=self.min_train)
        return {"asian_handicap": handicap.backtest_block(
            frame, forecast, rows, how, cadence, min_edge=options.min_edge, kelly=options.kelly,
            kelly_cap=options.kelly_cap, bankroll=options.bankroll)}

    def backtest_views(self, report: dict[str, Any]) -> list:
        from formguide.football.handicap import backtest_views

        return backtest_views(report.get("asian_handicap"))

    # ------------------------------------------------------------------------- features, models
    def feature_set(self, **options: Any):
        from formguide.football.features import football_feature_set

        return football_feature_set(**options)

    def make_model(self, model_type: str, **params: Any):
        return _estimators().make_estimator(model_type, **params)

    def model_from_dict(self, data: dict[str, Any]):
        return _estimators().estimator_from_dict(data)

    def baselines(self) -> dict[str, Callable[[], Any]]:
        return {**super().baselines(), "elo": _estimators().EloEstimator}

    def model_params(self, model_type: str, options: SportOptions) -> dict[str, Any]:
        """The Dixon-Coles options given go to a Dixon-Coles/Poisson model, or to a blend's base model."""
        dc = {k: float(getattr(options, k)) for k in ("xi", "shots_weight", "red_card_weight")
              if getattr(options, k, None) is not None}
        if model_type == "blend":
            blend: dict[str, Any] = {"stacker": getattr(options, "stacker", "logistic")}
            if isinstance(options, FootballTrainOptions):
                blend |= {"calibration": None if options.calibration == "none" else options.calibration,
                          "market_method": options.overround}
            return {**blend, **({"base_params": dc} if dc else {})}
        return dc if model_type in ("dixon-coles", "poisson") else {}

    def feature_options(self, options: SportOptions) -> dict[str, Any]:
        if isinstance(options, FootballTrainOptions):
            return {"overround_method": options.overround}
        return {}

    # ------------------------------------------------------------------------------ simulation
    def simulate(self, engine: Engine, competition: str, season: str, date_from: pd.Timestamp | None, n: int,
                 seed: int, options: SportOptions, serve: Callable[..., Any]) -> SimulationOutput:
        from formguide.football.predict import simulate_remaining

        return simulate_remaining(self, engine, competition, season, date_from, n=n, seed=seed, serve=serve,
                                  deductions=getattr(options, "deduction", ()))

    def ratings(self, engine: Engine, competition: str, as_of: pd.Timestamp, frame: pd.DataFrame | None = None):
        """Dixon-Coles attack/defence, home advantage and Elo per team as of a date (``football.ratings_view``)."""
        from formguide.football.ratings_view import football_ratings

        if frame is None:
            frame = self.load_frame(engine, [competition])
        return football_ratings(frame, competition, as_of)

    def cli(self):
        from formguide.football.cli import football_app

        return football_app
