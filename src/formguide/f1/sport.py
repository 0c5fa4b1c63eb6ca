"""Formula 1's plug-in for the core: the entry frame, features, field models, retirements and race predictions.

A race is a *field*: the unit of prediction is a (race, driver) entry and a race's win probabilities sum to
1. :class:`F1Sport` is a core ``FieldSport``; the core trains, backtests and serves it like every sport. What
is F1's own: two prediction *moments* (``pre-quali`` without the grid, ``post-quali`` with it), each its own
champion line (``f1-pre-quali``, ``f1-post-quali``: models of every type compete within a moment), the
retirement probability of each entry from its constructor's record before the race, the points places of
each season, and races named ``SEASON-ROUND`` (``--race 2024-22``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from sqlalchemy import Engine, select

from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.features.engine import FeatureSet
from formguide.core.fieldsport import FieldPredictOptions, FieldSport
from formguide.core.options import SportOptions, UseCaseOptions
from formguide.core.sport import IngestReport, RaceNotFoundError, RaceReferenceError
from formguide.core.walkforward import Cadence
from formguide.f1.features import MOMENTS, f1_feature_set

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from formguide.core.store.models import ModelRecord

__all__ = ["F1Sport", "find_race"]

_RACE_REF = re.compile(r"^\s*(\d{4})\s*[-/ ]\s*(\d{1,2})\s*$")
#: How a race is written (``F1Sport.race_reference``; the race-field endpoint's and ``--race``'s messages).
RACE_REFERENCE = "SEASON-ROUND, e.g. 2024-22"
Moment = Literal["pre-quali", "post-quali"]


class F1TrainOptions(SportOptions):
    moment: Moment = Field("post-quali", description="F1 prediction moment: pre-quali (no grid) or post-quali.")


class F1BacktestOptions(F1TrainOptions):
    pass


class F1PredictOptions(F1TrainOptions, FieldPredictOptions):
    race: str | None = Field(None, description="F1 race as SEASON-ROUND, e.g. 2024-22 (instead of --date).")


def _moment(options: SportOptions) -> str:
    return options.moment if isinstance(options, F1TrainOptions) else "post-quali"


def _stored_races(frame: pd.DataFrame) -> str:
    """The first and last stored race, e.g. ``2018-01 to 2024-24`` (``none`` for an empty store)."""
    if frame.empty:
        return "none"
    keys = frame[["season", "round"]].astype(int).drop_duplicates().sort_values(["season", "round"])
    (s0, r0), (s1, r1) = keys.iloc[0], keys.iloc[-1]
    return f"{s0}-{r0:02d} to {s1}-{r1:02d}"


def find_race(frame: pd.DataFrame, race: str) -> np.ndarray:
    """Row mask of the race ``"<season>-<round>"`` (e.g. ``"2024-22"``); a clear error when it is not stored."""
    m = _RACE_REF.match(str(race))
    if m is None:
        raise RaceReferenceError(f"race must look like 2024-22 (season-round), got {race!r}")
    season, rnd = int(m.group(1)), int(m.group(2))
    mask = (frame["season"].to_numpy() == season) & (frame["round"].to_numpy() == rnd)
    if not mask.any():
        rounds = frame.loc[frame["season"] == season, "round"]
        stored = f"races are written {RACE_REFERENCE}; stored races: {_stored_races(frame)}"
        if rounds.empty:
            seasons = sorted(int(s) for s in frame["season"].unique())
            span = f"{seasons[0]}-{seasons[-1]}" if seasons else "none"
            raise RaceNotFoundError(f"no F1 season {season} in the store (stored seasons: {span}; {stored}); "
                                    "ingest it first")
        raise RaceNotFoundError(f"season {season} has no round {rnd} in the store (rounds {int(rounds.min())}-"
                                f"{int(rounds.max())}; {stored})")
    return mask


class F1Sport(FieldSport):
    #: One model of the whole finishing order, from which win, podium and points are read.
    bet_types = ("race",)
    """The F1 plug-in: ``load_frame`` gives the canonical entry frame (one row per race and driver)."""

    name = "f1"
    default_competition = "WC"
    race_reference = RACE_REFERENCE
    train_cadence = Cadence(groups=5)
    backtest_cadence = Cadence(groups=1)
    baseline_cadence = Cadence(groups=1)
    options = UseCaseOptions(train=F1TrainOptions, backtest=F1BacktestOptions, predict=F1PredictOptions)
    simulation_note = (": `formguide f1 season --data FOLDER --output FILE` simulates every race of a season and "
                       "the championship")

    @property
    def model_types(self) -> tuple[str, ...]:  # type: ignore[override]
        from formguide.f1.models import MODEL_TYPES

        return tuple(MODEL_TYPES)

    # ------------------------------------------------------------------------------------ data
    def ingest(self, engine: Engine, paths: Sequence[Path], *, progress: Callable[[int], None] | None = None
               ) -> IngestReport:
        from formguide.f1.store_io import ingest_f1

        layout, report = ingest_f1(engine, list(paths), progress=progress)
        report.layout = layout
        return report

    def load_frame(self, engine: Engine, competitions: Sequence[str] | None = None) -> pd.DataFrame:
        """Every stored race entry (F1 is one championship, ``WC``)."""
        from formguide.f1.store_io import load_entries

        unknown = [c for c in (competitions or []) if c != self.default_competition]
        if unknown:
            raise FormguideError(f"F1 has one competition, {self.default_competition}; got {', '.join(unknown)}")
        return load_entries(engine)

    def entry_ids(self, session: Session, frame: pd.DataFrame) -> np.ndarray:
        """Store id of each entry's driver (``teams`` row of kind ``driver``)."""
        from formguide.core.store.models import Team

        ids = {name: int(i) for name, i in session.execute(
            select(Team.name, Team.id).where(Team.sport == self.name, Team.kind == "driver"))}
        return frame["driver"].map(ids).fillna(0).to_numpy(dtype=np.int64)

    def retirement_probabilities(self, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """Each entry's retirement probability from its constructor's record in the year before the race."""
        from formguide.f1.simulate import estimate_dnf_prob

        out = np.zeros(len(frame))
        dates = frame["date"].to_numpy()
        target = frame[rows]
        for _, race in target.groupby("race_id", sort=False):
            history = frame[dates < race["date"].to_numpy()[0]]
            try:
                out[frame.index.get_indexer(race.index)] = estimate_dnf_prob(history, race)
            except DataValidationError:  # the very first races: nobody has a record yet
                continue
        return out[rows]

    def scoring_places(self, frame: pd.DataFrame) -> np.ndarray:
        from formguide.f1.points import points_system

        places = {int(s): int(np.count_nonzero(points_system(int(s)).race)) for s in pd.unique(frame["season"])}
        return frame["season"].map(places).to_numpy(dtype=np.int64)

    def entry_view(self, rows: pd.DataFrame) -> pd.DataFrame:
        codes = rows["driver_code"].where(rows["driver_code"].notna() & (rows["driver_code"].astype(str) != ""),
                                          rows["driver"])
        grid = rows["grid"].where(rows["grid"].notna(), None)
        return pd.DataFrame({"entry": rows["driver"], "label": codes, "team": rows["constructor"], "start": grid},
                            index=rows.index)

    def event_details(self, rows: pd.DataFrame) -> tuple[str, dict[str, Any]]:
        first = rows.iloc[0]
        return (f"{int(first['season'])} R{int(first['round'])} {first['race_name']}",
                {"season": int(first["season"]), "round": int(first["round"]), "race_name": str(first["race_name"]),
                 "circuit": str(first["circuit"]), "has_sprint": bool(first["has_sprint"])})

    # ----------------------------------------------------------------------- lines and options
    def line_name(self, competition: str, options: SportOptions) -> str:
        return f"f1-{_moment(options)}"

    def feature_options(self, options: SportOptions) -> dict[str, Any]:
        return {"moment": _moment(options)}

    def report_extras(self, options: SportOptions) -> dict[str, Any]:
        moment = _moment(options)
        out: dict[str, Any] = {"moment": moment}
        if moment == "pre-quali":
            out["notes"] = ["the grid and pole baselines use the starting grid, which a pre-qualifying forecast does "
                            "not have: they are a post-qualifying reference"]
        return out

    # ------------------------------------------------------------------------- features, models
    def feature_set(self, moment: str = "post-quali", **options: Any) -> FeatureSet:
        if moment not in MOMENTS:
            raise FormguideError(f"unknown prediction moment {moment!r}; choose one of {', '.join(MOMENTS)}")
        return f1_feature_set(moment, **options)

    def make_model(self, model_type: str, **params: Any):
        from formguide.f1.models import make_model

        return make_model(model_type, **params)

    def model_from_dict(self, data: dict[str, Any]):
        from formguide.f1.models import model_from_dict

        return model_from_dict(data)

    def baselines(self) -> dict[str, Callable[[], Any]]:
        from formguide.f1.baselines import BASELINE_TYPES

        return dict(BASELINE_TYPES)

    def model_facts(self, model: Any) -> dict[str, Any]:
        return {k: getattr(model, a) for k, a in (("temperature", "temperature_"), ("calibrated_on", "calibrated_on_"),
                                                   ("fitted_races", "n_races_")) if hasattr(model, a)}

    def card_notes(self, record: ModelRecord) -> str:
        window = ((record.metrics or {}).get("evaluation") or {}).get("window") or {}
        facts = (record.metrics or {}).get("model") or {}
        text = (
            "## Reading the F1 scores\n\n"
            f"A race is a field: `races` counts races ({window.get('races')} races, {window.get('entries')} "
            "entries). `win_log_loss` is the mean over races of -log p(winner), `top1_accuracy` the share of races "
            "the favourite won (`expected_top1_accuracy`: what the forecasts expected), `podium_brier` the mean "
            "over entries of (p_podium - podium)^2 and `win_ece` the calibration error of every entry's win "
            "probability. Podium and points probabilities include each constructor's retirement risk. Baselines: "
            "`grid` = P(win | grid slot) from earlier seasons, `pole` = the pole-sitter gets the historical pole "
            "win rate, `leader` = the championship leader gets the historical leader win rate. There is no odds "
            "market in the F1 data.\n")
        if facts.get("temperature") is not None:
            text += (f"\nWin probabilities are `softmax({facts['temperature']:.3f} x utility)` per race; the "
                     f"temperature was fitted on out-of-sample utilities of the latest {facts.get('calibrated_on')} "
                     "training races.\n")
        return text

    # -------------------------------------------------------------------------------- serving
    def prediction_window(self, frame: pd.DataFrame, as_of: pd.Timestamp | None, days: int,
                          options: SportOptions) -> tuple[pd.Timestamp, np.ndarray]:
        """``--race SEASON-ROUND`` or the races in ``[as_of, as_of + days)``; a post-qualifying prediction of
        a race whose grid is not known yet is refused (before any model is loaded)."""
        race = options.race if isinstance(options, F1PredictOptions) else None
        if race is None:
            start, target = super().prediction_window(frame, as_of, days, options)
        else:
            target = find_race(frame, race)
            start = pd.Timestamp(frame.loc[target, "date"].min()).normalize()
        if _moment(options) == "post-quali" and target.any():
            rows = frame[target]
            no_grid = rows.groupby("race_id", sort=False)["grid"].apply(lambda g: g.isna().all())
            if no_grid.any():
                first = rows[rows["race_id"] == no_grid[no_grid].index[0]].iloc[0]
                raise FormguideError(
                    f"{first['season']} round {first['round']} ({first['race_name']}) has no qualifying result in "
                    "the store yet: a post-qualifying prediction needs the starting grid. Use --moment pre-quali, or "
                    "ingest the qualifying results first.")
        return start, target

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        from formguide.f1.season import season_json_schema

        return {"f1-season": season_json_schema()}

    def cli(self):
        from formguide.f1.cli import f1_app

        return f1_app
