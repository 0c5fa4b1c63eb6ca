"""Field sports: events whose entrants are ranked (a race). The frame has one row per (event, entrant).

:class:`FieldSport` implements the shape-level half of the sport contract: walk-forward groups are events,
a model's forecast is one log-strength per entry, and every forecast is scored through the one probability
layer (:mod:`formguide.core.field_forecast`): win log loss, top-1 accuracy (realised and expected), podium
Brier, the calibration error of win probabilities, and reliability tables of the podium and points
probabilities, all on the same events for the model and every reference. A field sport supplies its
entries, retirement probabilities and display details.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from formguide.core.days import day_numbers
from formguide.core.errors import DataValidationError
from formguide.core.field_forecast import field_probabilities
from formguide.core.field_metrics import (
    binary_ece,
    binary_reliability,
    expected_top1_accuracy,
    podium_brier,
    top1_accuracy,
    win_ece,
    win_log_loss,
)
from formguide.core.options import SportOptions
from formguide.core.sport import ForecastRow, PredictionBatch, Sport
from formguide.core.views import Column, TableView

if TYPE_CHECKING:
    from formguide.core.serving import ServedModel

__all__ = ["EntryPrediction", "FieldPredictOptions", "FieldSport", "field_metrics"]


class FieldPredictOptions(SportOptions):
    """Monte Carlo size and seed of a field prediction's podium, points and position probabilities."""

    simulations: int = Field(20000, ge=100, le=1_000_000, description="Simulated races per prediction.")
    seed: int = Field(0, ge=0, description="Random seed (the same seed gives the same probabilities).")
    positions: bool = Field(False, description="Also each entry's finishing-position distribution (P(finish k-th) "
                            "for k = 1..field size; retired entrants are placed behind the finishers).")


class EntryPrediction(BaseModel):
    entry: str
    label: str
    team: str | None = None
    start: int | None = None
    p_win: float
    p_podium: float
    p_points: float
    p_retire: float
    expected_position: float
    actual_position: int | None = None
    #: P(finish 1st), P(2nd), ... over the event's field size (only when the ``positions`` option is on).
    positions: list[float] | None = None


class FieldEventPrediction(BaseModel):
    """One event of a field sport's prediction (the ``events`` of ``formguide predict --json``)."""

    event_id: int
    date: str
    name: str
    details: dict[str, Any] = {}
    entries: list[EntryPrediction]


def field_metrics(p_win: np.ndarray, p_podium: np.ndarray, position: np.ndarray, event: np.ndarray) -> dict[str, Any]:
    """Headline field metrics over the given entries (every entry of every event scored)."""
    return {
        "races": int(pd.unique(np.asarray(event)).size),
        "entries": int(len(position)),
        "win_log_loss": win_log_loss(p_win, position, event),
        "top1_accuracy": top1_accuracy(p_win, position, event),
        "expected_top1_accuracy": expected_top1_accuracy(p_win, position, event),
        "podium_brier": podium_brier(p_podium, position),
        "win_ece": win_ece(p_win, position),
    }


class FieldSport(Sport):
    """Events where many entrants are ranked (a race)."""

    time_column = "date"
    event_column = "race_id"
    #: Column holding the finishing position (the ranking target), NaN before the event.
    position_column: ClassVar[str] = "position"
    n_outputs = 1
    min_train = 1
    min_train_groups = True
    headline_metric = "win_log_loss"
    promotion_metrics = ("win_log_loss", "podium_brier")
    metric_columns = ("races", "win_log_loss", "top1_accuracy", "expected_top1_accuracy", "podium_brier",
                      "win_ece")
    lower_is_better = frozenset({"win_log_loss", "podium_brier", "win_ece"})
    #: Events with results needed before a model is trained; events run before a backtest's default start.
    min_history: ClassVar[int] = 60
    default_backtest_history: ClassVar[int] = 100
    #: Simulated orders per event when a forecast is scored.
    evaluation_simulations: ClassVar[int] = 10000
    #: Shape of one event of ``formguide predict --json`` (its JSON Schema is documented in docs/).
    prediction_model: ClassVar[type[BaseModel]] = FieldEventPrediction

    # ---------------------------------------------------------------------------- sport supplies
    def retirement_probabilities(self, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray | None:
        """Point-in-time retirement probability of each entry of ``rows`` (None: nobody retires)."""
        return None

    def scoring_places(self, frame: pd.DataFrame) -> np.ndarray:
        """Number of places that score points, per row (constant within an event)."""
        return np.full(len(frame), 10, dtype=np.int64)

    def entry_view(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Columns ``entry``, ``label``, ``team``, ``start`` of each row (who, shown how, for whom, from where)."""
        name = rows["driver"].astype(str) if "driver" in rows else rows.index.astype(str)
        return pd.DataFrame({"entry": name, "label": name, "team": None, "start": None}, index=rows.index)

    def event_details(self, rows: pd.DataFrame) -> tuple[str, dict[str, Any]]:
        """Name and facts of the event ``rows`` belong to."""
        first = rows.iloc[0]
        return str(first.get("race_name", first[self.event_column])), {}

    # -------------------------------------------------------------------------- shape-level parts
    def trainable(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[self.position_column].notna().to_numpy()

    def groups(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[self.event_column].to_numpy()

    def check_history(self, frame: pd.DataFrame, trainable: np.ndarray, competition: str) -> None:
        n = int(frame.loc[trainable, self.event_column].nunique())
        if n < self.min_history:
            raise DataValidationError(f"only {n} {self.name} events with results; training needs "
                                      f"{self.min_history}+")

    def default_backtest_start(self, frame: pd.DataFrame, trainable: np.ndarray) -> int:
        days = np.unique(day_numbers(frame.loc[trainable, self.time_column]))
        if days.size == 0:
            raise DataValidationError(f"no {self.name} event with a result")
        return int(days[min(self.default_backtest_history, days.size - 1)])

    def forecast(self, model: Any, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict_strength(frame, X), dtype=np.float64)[:, None]

    def _scored(self, frame: pd.DataFrame, forecasts: list[np.ndarray], window: np.ndarray) -> np.ndarray:
        """Entries of events every forecast covers whole, with a result and exactly one winner."""
        event = frame[self.event_column].to_numpy()
        pos = frame[self.position_column].to_numpy(dtype=np.float64, na_value=np.nan)
        ok = window & np.isfinite(pos)
        for u in forecasts:
            ok &= np.isfinite(np.asarray(u, dtype=np.float64).reshape(len(frame), -1)[:, 0])
        whole = pd.Series(ok).groupby(event, sort=False).transform("all").to_numpy()
        one_winner = pd.Series(pos == 1).groupby(event, sort=False).transform("sum").to_numpy() == 1
        in_window = pd.Series(window).groupby(event, sort=False).transform("any").to_numpy()
        return whole & one_winner & in_window

    def evaluated_events(self, frame: pd.DataFrame, forecast: np.ndarray, window: np.ndarray) -> np.ndarray:
        return self._scored(frame, [forecast], window)

    def field_forecasts(self, frame: pd.DataFrame, forecasts: dict[str, np.ndarray], rows: np.ndarray, *,
                        seed: int = 0) -> dict[str, pd.DataFrame]:
        """Each forecast through the probability layer on ``rows`` (same retirement risks for all)."""
        dnf = self.retirement_probabilities(frame, rows)
        places = self.scoring_places(frame)[rows]
        event = frame[self.event_column].to_numpy()[rows]
        return {name: field_probabilities(np.asarray(u, dtype=np.float64).reshape(len(frame), -1)[rows, 0], event,
                                          dnf_prob=dnf, points=places, n_sims=self.evaluation_simulations,
                                          seed=seed).frame for name, u in forecasts.items()}

    def evaluate(self, frame: pd.DataFrame, forecasts: dict[str, np.ndarray], window: np.ndarray) -> dict[str, Any]:
        rows = self._scored(frame, list(forecasts.values()), window)
        if not rows.any():
            raise DataValidationError("no event in the window has both a result and an out-of-sample forecast "
                                      "of every entry")
        probs = self.field_forecasts(frame, forecasts, rows)
        scored = frame.loc[rows]
        pos = scored[self.position_column].to_numpy(dtype=np.float64)
        event = scored[self.event_column].to_numpy()
        metrics = {name: field_metrics(p["p_win"].to_numpy(), p["p_podium"].to_numpy(), pos, event)
                   for name, p in probs.items()}
        model = probs["model"]
        places = self.scoring_places(frame)[rows]
        podium_hit, points_hit = (pos <= 3).astype(float), (pos <= places).astype(float)
        metrics["model"] |= {"podium_ece": binary_ece(model["p_podium"], podium_hit),
                             "points_brier": float(np.mean((model["p_points"].to_numpy() - points_hit) ** 2)),
                             "points_ece": binary_ece(model["p_points"], points_hit)}
        times = scored[self.time_column]
        report: dict[str, Any] = {
            "window": {"from": times.min().isoformat(), "to": times.max().isoformat(),
                       "n": metrics["model"]["races"], "races": metrics["model"]["races"],
                       "entries": metrics["model"]["entries"]},
            "model": metrics["model"],
            "market": None,
            "baselines": {name: m for name, m in metrics.items() if name != "model"},
            "reliability": {"podium": binary_reliability(model["p_podium"], podium_hit),
                            "points": binary_reliability(model["p_points"], points_hit)},
        }
        if "season" in scored:
            report["by_season"] = self._by_season(scored, probs, pos, event)
        return report

    @staticmethod
    def _by_season(scored: pd.DataFrame, probs: dict[str, pd.DataFrame], pos: np.ndarray, event: np.ndarray
                   ) -> dict[str, dict[str, dict[str, Any]]]:
        season = scored["season"].to_numpy()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for s in pd.unique(season):
            m = season == s
            out[str(s)] = {name: field_metrics(p["p_win"].to_numpy()[m], p["p_podium"].to_numpy()[m], pos[m], event[m])
                           for name, p in probs.items()}
        return out

    def reliability_plot(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, path: Path,
                         title: str) -> Path:
        """Reliability of the three-way split win / podium but no win / off the podium."""
        from formguide.core.plots import reliability_diagram

        rows = self._scored(frame, [forecast], rows)
        p = self.field_forecasts(frame, {"model": forecast}, rows)["model"]
        pos = frame.loc[rows, self.position_column].to_numpy(dtype=np.float64)
        p_win, p_pod = p["p_win"].to_numpy(), p["p_podium"].to_numpy()
        probs = np.column_stack([p_win, np.clip(p_pod - p_win, 0.0, 1.0), np.clip(1.0 - p_pod, 0.0, 1.0)])
        probs = probs / probs.sum(axis=1, keepdims=True)
        outcome = np.where(pos == 1, 0, np.where(pos <= 3, 1, 2))
        return Path(reliability_diagram(probs, outcome, ["win", "podium, no win", "off podium"], path, title=title))

    # ---------------------------------------------------------------------------------- serving
    def predictions(self, served: ServedModel, target: np.ndarray, options: SportOptions) -> PredictionBatch:
        opts = options if isinstance(options, FieldPredictOptions) else FieldPredictOptions()
        frame, X = served.frame, served.X
        events: list[dict[str, Any]] = []
        stored: list[ForecastRow] = []
        if target.any():
            u = self.forecast(served.estimator, frame[target], X[target])[:, 0]
            rows = frame[target]
            dnf = self.retirement_probabilities(frame, target)
            forecast = field_probabilities(u, rows[self.event_column].to_numpy(), dnf_prob=dnf,
                                           points=self.scoring_places(rows), n_sims=opts.simulations,
                                           seed=opts.seed, positions=opts.positions)
            probs = forecast.frame.set_axis(rows.index)
            places = None if forecast.positions is None else pd.DataFrame(forecast.positions, index=rows.index)
            actual = served.full_frame.set_index(served.full_frame.index)[self.position_column]
            who = self.entry_view(rows)
            entry_ids = served.entry_ids[target] if served.entry_ids is not None else np.zeros(len(rows), np.int64)
            id_of = dict(zip(rows.index, entry_ids, strict=True))
            for event_id, ev_rows in rows.groupby(self.event_column, sort=False):
                name, details = self.event_details(ev_rows)
                entries = []
                for i in probs.loc[ev_rows.index].sort_values("p_win", ascending=False, kind="stable").index:
                    p = probs.loc[i]
                    pos = actual.get(i)
                    entry = EntryPrediction(
                        entry=str(who.at[i, "entry"]), label=str(who.at[i, "label"]),
                        team=None if who.at[i, "team"] is None else str(who.at[i, "team"]),
                        start=None if pd.isna(who.at[i, "start"]) else int(who.at[i, "start"]),
                        p_win=float(p["p_win"]), p_podium=float(p["p_podium"]), p_points=float(p["p_points"]),
                        p_retire=float(p["p_retire"]), expected_position=float(p["expected_position"]),
                        actual_position=None if pos is None or pd.isna(pos) else int(pos),
                        positions=None if places is None else places.loc[i].to_numpy()[:len(ev_rows)].tolist())
                    entries.append(entry)
                    stored.append(ForecastRow(event_id=int(event_id), entry_id=int(id_of[i]), market="field",
                                              probabilities={"win": entry.p_win, "podium": entry.p_podium,
                                                             "points": entry.p_points, "retire": entry.p_retire}))
                events.append(FieldEventPrediction(
                    event_id=int(event_id), date=pd.Timestamp(ev_rows[self.time_column].iloc[0]).isoformat(),
                    name=name, details=details, entries=entries).model_dump(
                    exclude=None if opts.positions else {"entries": {"__all__": {"positions"}}}))
        return PredictionBatch(events=events, stored=stored, view=self.prediction_view(events))

    def prediction_view(self, events: list[dict[str, Any]]) -> TableView:
        cols = [Column(key="event", align="left", priority=1, max_width=24), Column(key="label", header="entry",
                align="left"), Column(key="team", align="left", priority=2, max_width=14),
                Column(key="start", priority=1), Column(key="p_win", header="P(win)", digits=3),
                Column(key="p_podium", header="P(podium)", digits=3),
                Column(key="p_points", header="P(points)", digits=3),
                Column(key="p_retire", header="P(retire)", digits=3, priority=1),
                Column(key="expected_position", header="exp. pos", digits=1),
                Column(key="actual_position", header="result", priority=1)]
        rows = [{"event": e["name"] if i == 0 else "", **entry}
                for e in events for i, entry in enumerate(e["entries"])]
        return TableView(columns=cols, rows=rows, empty="no events in that window")
