"""The NFL's plug-in for the core: nflverse games, team statistics and injuries; moneyline, spread and total.

Each bet type is a view of the sport (``Sport.for_bet_type``) with its own outcome classes
(``[side A, push, side B]``, :mod:`formguide.nfl.bettypes`), prices, settlement and champion line
(``nfl-NFL-<bet type>``); all three read one kind of model, a distribution of the home margin or the total
(:mod:`formguide.nfl.models.estimator`). The walk-forward predicts a week at a time and refits weekly
(``--refit N``: every N weeks); playoffs are included and flagged (``playoff``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from sqlalchemy import Engine

from formguide.core.match import MatchSport
from formguide.core.options import (
    BacktestBettingOptions,
    NoOptions,
    PredictBettingOptions,
    SportOptions,
    UseCaseOptions,
)
from formguide.core.sport import IngestReport
from formguide.core.walkforward import Cadence
from formguide.nfl.bettypes import BET_TYPES, BetType, week_ids

__all__ = ["NFLBacktestOptions", "NFLSport", "NFLTrainOptions"]

Framework = Literal["sklearn", "lightgbm", "xgboost", "h2o"]


class NFLModelOptions(SportOptions):
    framework: Framework = Field("sklearn", description=(
        "Regression framework of the mean margin/total: sklearn (ridge), lightgbm, xgboost or h2o (extra)."))
    calibration: Literal["isotonic", "platt", "none"] = Field("none", description=(
        "Calibration of the side probability by nested walk-forward: none (default, chosen on 2003-2008), "
        "isotonic or platt."))
    market_features: bool = Field(True, description=(
        "Use the closing spread, total and moneyline as features (--no-market-features: none of them)."))


class NFLTrainOptions(NFLModelOptions):
    pass


class NFLBacktestOptions(NFLModelOptions, BacktestBettingOptions):
    bankroll: float = Field(100.0, gt=0, allow_inf_nan=False, description="Starting bankroll of the betting simulation.")


#: Spread and total prices missing from the data are taken at the standard -110 (decimal 1.909).
STANDARD_PRICE = 1.0 + 100.0 / 110.0


def _decimal(american: pd.Series) -> np.ndarray:
    from formguide.core.markets import american_to_decimal

    return np.asarray(american_to_decimal(american.to_numpy(dtype=np.float64)), dtype=np.float64)


class NFLSport(MatchSport):
    name = "nfl"
    race_reference = None  # games, not race fields
    bet_types = tuple(BET_TYPES)
    default_competition = "NFL"
    model_types = ("distribution",)
    time_column = "kickoff"
    headline_metric = "brier"
    promotion_metrics = ("brier", "log_loss")
    metric_columns = ("n", "brier", "log_loss", "accuracy", "ece")
    lower_is_better = frozenset({"brier", "log_loss", "ece"})
    train_cadence = Cadence(groups=1)
    backtest_cadence = Cadence(groups=1)
    min_train = 250
    min_history = 500
    options = UseCaseOptions(train=NFLTrainOptions, backtest=NFLBacktestOptions, predict=PredictBettingOptions,
                             simulate=NoOptions)
    can_simulate = True
    can_rate = True
    #: Predictions quote American odds beside decimal ones.
    price_formats = ("american",)
    _views: ClassVar[dict[str, NFLSport]] = {}

    def __init__(self, bet_type: str = "moneyline") -> None:
        self._bet_type = bet_type
        bt = BET_TYPES[bet_type]
        self.outcome_labels = bt.labels
        self.main_market = bt.market
        self.selection_names = {bt.labels[0]: bt.labels[0], bt.labels[2]: bt.labels[2]}

    # ------------------------------------------------------------------------------ bet types
    @property
    def bet_type(self) -> str:
        return self._bet_type

    @cached_property
    def spec(self) -> BetType:
        return BET_TYPES[self._bet_type]

    def bet_type_view(self, bet_type: str) -> NFLSport:
        if bet_type not in self._views:
            self._views[bet_type] = NFLSport(bet_type)
        return self._views[bet_type]

    def line_name(self, competition: str, options: SportOptions) -> str:
        return f"{self.name}-{competition}-{self.bet_type}"

    # ------------------------------------------------------------------------------------ data
    def ingest(self, engine: Engine, paths: Sequence[Path], *, progress: Callable[[int], None] | None = None
               ) -> IngestReport:
        from formguide.nfl import store_io

        return store_io.ingest_files(engine, paths, progress=progress)

    def count_ingest_units(self, paths: Sequence[Path]) -> int | None:
        from formguide.nfl import store_io

        return store_io.count_units(paths)

    def load_frame(self, engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
        from formguide.nfl import store_io
        from formguide.nfl.frame import build_frame

        games = store_io.load_games(engine, competitions)
        frame = build_frame(games, store_io.load_team_stats(engine), store_io.load_injuries(engine))
        return frame.sort_values([self.time_column, "game_id"], kind="stable").reset_index(drop=True)

    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        return self.spec.outcome(frame)

    def groups(self, frame: pd.DataFrame) -> np.ndarray:
        return week_ids(frame)

    def actual_results(self, frame: pd.DataFrame) -> dict[int, str]:
        played = frame[frame["home_score"].notna()]
        y = self.spec.outcome(played)
        out = {}
        for (_, r), k in zip(played.iterrows(), y, strict=True):
            score = f"{int(r.home_score)}-{int(r.away_score)}"  # home first, as the match column reads
            out[int(r.event_id)] = f"{score} {self.outcome_labels[k] if k >= 0 else ''}".strip()
        return out

    def default_backtest_start(self, frame: pd.DataFrame, trainable: np.ndarray) -> int:
        from formguide.core.days import day_numbers

        seasons = frame["season"].astype(int)
        days = day_numbers(frame[self.time_column])
        return int(days[(seasons == seasons.min() + 1).to_numpy()].min())

    # -------------------------------------------------------------------------------- markets
    def market_probabilities(self, frame: pd.DataFrame, *, which: str = "close",
                             method: str = "multiplicative") -> np.ndarray:
        """De-vigged closing prices of the bet type as ``[side A, 0, side B]``; NaN where a price is missing."""
        from formguide.nfl.models.baselines import devig_pair

        a, b = self._price_columns
        p = devig_pair(frame[a].to_numpy(), frame[b].to_numpy())
        p[np.isnan(self.spec.line(frame))] = np.nan
        return np.column_stack([p, np.zeros_like(p), 1 - p])

    @property
    def _price_columns(self) -> tuple[str, str]:
        return {"moneyline": ("home_moneyline", "away_moneyline"), "spread": ("home_spread_odds", "away_spread_odds"),
                "total": ("over_odds", "under_odds")}[self.bet_type]

    def best_odds(self, frame: pd.DataFrame) -> np.ndarray:
        """Closing decimal prices ``[side A, NaN, side B]`` (spread/total: -110 where the price is missing)."""
        a, b = (_decimal(frame[c]) for c in self._price_columns)
        if self.bet_type != "moneyline":
            has_line = ~np.isnan(self.spec.line(frame))[:, None]
            pair = np.column_stack([a, b])
            pair = np.where(np.isnan(pair) & has_line, STANDARD_PRICE, pair)
            a, b = pair[:, 0], pair[:, 1]
        return np.column_stack([a, np.full(len(frame), np.nan), b])

    def closing_prices(self, frame: pd.DataFrame) -> np.ndarray:
        return self.best_odds(frame)

    def settlement(self, frame: pd.DataFrame) -> np.ndarray:
        """A bet on side A wins above the line, pushes on it (a moneyline tie too), loses below; side B mirrors."""
        d = np.sign(self.spec.value(frame) - self.spec.line(frame))
        return np.column_stack([d, np.full(len(frame), np.nan), -d])

    def bet_probabilities(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = np.asarray(forecast, dtype=np.float64)
        never = np.zeros(len(f))
        return (np.column_stack([f[:, 0], never, f[:, 2]]), np.column_stack([f[:, 2], never + 1, f[:, 0]]))

    def bet_lines(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self.bet_type == "moneyline":
            return None
        line = self.spec.line(frame)
        if self.bet_type == "spread":  # the side's own handicap
            return np.column_stack([-line, np.full_like(line, np.nan), line])
        return np.column_stack([line, np.full_like(line, np.nan), line])

    # ------------------------------------------------------------------------- features, models
    def feature_options(self, options: SportOptions) -> dict[str, Any]:
        return {"include_market": bool(getattr(options, "market_features", True))}

    def feature_set(self, **options: Any):
        from formguide.nfl.features import nfl_feature_set

        return nfl_feature_set(**options)

    def model_params(self, model_type: str, options: SportOptions) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if isinstance(options, NFLModelOptions):
            params["framework"] = options.framework
            params["calibration"] = None if options.calibration == "none" else options.calibration
        return params

    def make_model(self, model_type: str, **params: Any):
        from formguide.nfl.models.baselines import BASELINES
        from formguide.nfl.models.estimator import NFLDistributionEstimator
        from formguide.nfl.models.frameworks import require_framework

        if model_type in BASELINES:
            return BASELINES[model_type](bet_type=self.bet_type)
        if model_type != "distribution":
            from formguide.core.errors import FormguideError

            raise FormguideError(f"unknown nfl model {model_type!r}; choose one of {', '.join(self.model_types)}")
        require_framework(params.get("framework", "sklearn"))
        return NFLDistributionEstimator(bet_type=self.bet_type, **params)

    def model_from_dict(self, data: dict[str, Any]):
        from formguide.nfl.models.estimator import NFLDistributionEstimator

        return NFLDistributionEstimator.from_dict(data)

    def baselines(self) -> dict[str, Callable[[], Any]]:
        from formguide.nfl.models.baselines import CoinFlip, EloLine, NfeloBlend, SideRate

        bt = self.bet_type
        out: dict[str, Callable[[], Any]] = {"elo": lambda: EloLine(bt)}
        if bt == "moneyline":
            out["nfelo_blend"] = lambda: NfeloBlend(bt)
        out["over_rate" if bt == "total" else "home_rate"] = lambda: SideRate(bt)
        out["coin"] = lambda: CoinFlip(bt)
        return out

    def model_facts(self, model: Any) -> dict[str, Any]:
        facts = getattr(model, "model_facts", None)
        return facts() if callable(facts) else {}

    def report_extras(self, options: SportOptions) -> dict[str, Any]:
        return {"bet_type": self.bet_type, "market_features": bool(getattr(options, "market_features", True))}

    # ------------------------------------------------------------------------------ evaluation
    def evaluated_events(self, frame: pd.DataFrame, forecast: np.ndarray, window: np.ndarray) -> np.ndarray:
        return window & (self.outcome(frame) >= 0) & ~np.isnan(forecast).any(axis=1)

    def evaluate(self, frame: pd.DataFrame, forecasts: dict[str, np.ndarray], window: np.ndarray) -> dict[str, Any]:
        from formguide.nfl.report import evaluate_bet_type

        return evaluate_bet_type(self, frame, forecasts, window)

    def reliability_plot(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, path: Path,
                         title: str) -> Path:
        from formguide.core.plots import reliability_diagram
        from formguide.nfl.evaluate import side_probabilities

        p, y, ok = side_probabilities(forecast, self.outcome(frame))
        ok &= rows
        probs = np.column_stack([p[ok], 1 - p[ok]])
        return Path(reliability_diagram(probs, (1 - y[ok]).astype(int), list(self.spec.sides), path, title=title))

    def card_notes(self, record: Any) -> str:
        return ("Scores are of the side probability given no push (ties and pushes left out), binary Brier "
                "`mean((p - y)^2)`; the market is the de-vigged closing price of the same games.")

    # ------------------------------------------------------------------------------- simulation
    def simulate(self, engine: Engine, competition: str, season: str, date_from: pd.Timestamp | None, n: int,
                 seed: int, options: SportOptions, serve: Callable[..., Any]):
        from formguide.nfl.season import simulate_remaining

        return simulate_remaining(self, engine, competition, season, date_from, n=n, seed=seed, serve=serve)

    def ratings(self, engine: Engine, competition: str, as_of: pd.Timestamp, frame: pd.DataFrame | None = None):
        from formguide.nfl.ratings import nfl_ratings

        return nfl_ratings(self, engine, competition, as_of, frame)
