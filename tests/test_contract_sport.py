"""The contract test: a third sport, defined only here and registered in code, runs through the core and the
application layer (and the CLI) with no change to anything under ``src/``.

"Duel" is a two-outcome game: two sides meet, one wins. Each side has a hidden strength; the feature is each
side's win rate over its earlier duels (point in time); the model is a logistic regression on the difference;
the extra baseline says "the home side always has a 60% chance". Its files are CSVs ``day,home,away,winner``
(winner empty for a duel not played yet).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select
from tests.helpers import run_cli

from formguide import app
from formguide.core.errors import IngestError
from formguide.core.estimators import BaseEstimator, check_is_fitted
from formguide.core.features.engine import FeatureDefinition, FeatureSet, rolling_before
from formguide.core.match import MatchSport
from formguide.core.sport import FileReport, IngestReport, register_sport, unregister_sport
from formguide.core.store.db import session_scope
from formguide.core.store.models import Competition, Event, Prediction, Result, Season, Team
from formguide.core.walkforward import Cadence


def form(frame: pd.DataFrame) -> pd.DataFrame:
    """Win rate of each side over its last 20 duels before the day (NaN before its first)."""
    played = frame[frame["winner"].notna()]
    sides = pd.concat([pd.DataFrame({"side": played["home"], "day": played["kickoff"],
                                     "won": (played["winner"] == "H").astype(float)}),
                       pd.DataFrame({"side": played["away"], "day": played["kickoff"],
                                     "won": (played["winner"] == "A").astype(float)})]).sort_values("day", kind="stable")
    rate = {s: rolling_before(frame.assign(side=frame[s]), sides, "side", "kickoff", ["won"], 20, history_on="day")
            for s in ("home", "away")}
    return pd.DataFrame({"form_diff": rate["home"]["won"] - rate["away"]["won"]}, index=frame.index)


class DuelModel(BaseEstimator):
    model_type = "logit"

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, frame: pd.DataFrame, X: pd.DataFrame) -> DuelModel:
        y = (frame["winner"] == "A").to_numpy(int)
        self.lr_ = LogisticRegression(C=self.C).fit(X[["form_diff"]].fillna(0.0).to_numpy(), y)
        return self

    def predict_proba(self, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "lr_")
        return self.lr_.predict_proba(X[["form_diff"]].fillna(0.0).to_numpy())

    def to_dict(self) -> dict[str, Any]:
        return {"C": self.C, "coef": self.lr_.coef_.tolist(), "intercept": self.lr_.intercept_.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DuelModel:
        m = cls(d["C"])
        m.lr_ = LogisticRegression(C=d["C"])
        m.lr_.classes_, m.lr_.coef_, m.lr_.intercept_ = np.array([0, 1]), np.array(d["coef"]), np.array(d["intercept"])
        return m


class HomeSixty(DuelModel):
    def fit(self, frame, X):
        self.lr_ = True
        return self

    def predict_proba(self, frame, X):
        return np.tile([0.6, 0.4], (len(frame), 1))


class DuelSport(MatchSport):
    name = "duel"
    outcome_labels = ("H", "A")
    model_types = ("logit",)
    default_competition = "DL"
    train_cadence = Cadence(period="month")
    backtest_cadence = Cadence(period="week")
    min_history = 50

    def ingest(self, engine, paths: Sequence[Path], *, progress=None) -> IngestReport:
        report = IngestReport()
        for path in paths:
            rows = pd.read_csv(path, dtype=str, keep_default_na=False)
            bad = rows.index[~rows["winner"].isin(["H", "A", ""])]
            if len(bad):
                report.files.append(FileReport(str(path), "rejected", error=str(IngestError(
                    path, int(bad[0]) + 2, "winner", f"winner must be H, A or empty, got {rows['winner'][bad[0]]!r}"))))
                continue
            with session_scope(engine) as s:
                comp = s.scalar(select(Competition).where(Competition.code == "DL")) or Competition(
                    sport=self.name, code="DL", name="Duel league")
                s.add(comp)
                s.flush()
                season = s.scalar(select(Season).where(Season.code == "all")) or Season(competition_id=comp.id,
                                                                                     code="all")
                s.add(season)
                s.flush()
                teams = {t.name: t for t in s.scalars(select(Team).where(Team.sport == self.name))}
                n = 0
                for i, r in rows.iterrows():
                    for side in (r["home"], r["away"]):
                        if side not in teams:
                            teams[side] = Team(sport=self.name, name=side)
                            s.add(teams[side])
                    s.flush()
                    key = f"{path.name}:{i}"
                    if s.scalar(select(Event.id).where(Event.external_key == key)) is not None:
                        continue
                    ev = Event(sport=self.name, competition_id=comp.id, season_id=season.id, external_key=key,
                               kickoff=pd.Timestamp(r["day"]).to_pydatetime(), home_team_id=teams[r["home"]].id,
                               away_team_id=teams[r["away"]].id, status="finished" if r["winner"] else "scheduled")
                    s.add(ev)
                    s.flush()
                    if r["winner"]:
                        s.add(Result(event_id=ev.id, outcome=r["winner"]))
                    n += 1
            report.files.append(FileReport(str(path), "ok", inserted=n, unchanged=len(rows) - n))
        return report

    def load_frame(self, engine, competitions=None) -> pd.DataFrame:
        with session_scope(engine) as s:
            rows = s.execute(select(Event.id, Event.kickoff, Season.code, Event.home_team_id, Event.away_team_id,
                                    Result.outcome).join(Season, Season.id == Event.season_id)
                             .outerjoin(Result, Result.event_id == Event.id).where(Event.sport == self.name)).all()
            names = dict(s.execute(select(Team.id, Team.name).where(Team.sport == self.name)).all())
        frame = pd.DataFrame(rows, columns=["event_id", "kickoff", "season", "home", "away", "winner"])
        frame["home_team"], frame["away_team"] = frame["home"].map(names), frame["away"].map(names)
        frame["home"], frame["away"] = frame["home_team"], frame["away_team"]
        frame["season"] = pd.to_datetime(frame["kickoff"]).dt.year.astype(str)  # a season per year
        return frame.sort_values(["kickoff", "event_id"]).reset_index(drop=True)

    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["winner"].map({"H": 0, "A": 1}).fillna(-1).to_numpy(np.int64)

    def feature_set(self, **options: Any) -> FeatureSet:
        return FeatureSet("duel", [FeatureDefinition("form", form, ("form_diff",), requires=("home", "away"))],
                          outcome_columns=("winner",))

    def make_model(self, model_type: str, **params: Any):
        return DuelModel(**params)

    def model_from_dict(self, data: dict[str, Any]):
        return DuelModel.from_dict(data)

    def baselines(self):
        return {**super().baselines(), "home_sixty": HomeSixty}


def write_duels(path: Path, n_days: int = 400, seed: int = 0, unplayed_days: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    strength = dict(zip("ABCDEFGH", np.linspace(1.5, -1.5, 8), strict=True))
    rows = []
    for d in range(n_days):
        home, away = rng.choice(list(strength), size=2, replace=False)
        p_home = 1 / (1 + np.exp(-(strength[home] - strength[away] + 0.3)))
        winner = ("H" if rng.random() < p_home else "A") if d < n_days - unplayed_days else ""
        rows.append({"day": (pd.Timestamp("2022-01-03") + pd.Timedelta(days=d)).date().isoformat(),
                     "home": home, "away": away, "winner": winner})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def duel():
    register_sport("duel", DuelSport)
    yield
    unregister_sport("duel")


def test_a_sport_defined_outside_src_runs_through_the_core_and_the_application_layer(duel, db_url, tmp_path):
    source = write_duels(tmp_path / "duels.csv")
    ctx = app.Context.from_options(db_url=db_url, artifacts_dir=tmp_path / "artifacts")
    with ctx:
        ingested = app.ingest(ctx, app.IngestRequest(sport="duel", paths=[source]))
        assert (ingested.inserted, ingested.files_rejected) == (400, 0)
        assert app.ingest(ctx, app.IngestRequest(sport="duel", paths=[source])).unchanged == 400  # idempotent

        trained = app.train(ctx, app.TrainRequest(sport="duel"))
        assert trained.status == "registered" and trained.promoted and trained.name == "duel-DL"
        evaluation = trained.metrics["evaluation"]
        assert set(evaluation["baselines"]) == {"base_rates", "home_sixty"}
        # a real signal: the form feature beats the naive baselines out of sample
        assert evaluation["model"]["log_loss"] < evaluation["baselines"]["base_rates"]["log_loss"]
        assert Path(trained.model_card).is_file()

        report = app.backtest(ctx, app.BacktestRequest(sport="duel", date_from="2022-06-01")).report
        assert report["model"]["n"] > 200 and report["market"] is None and "betting" not in report  # no prices

        predicted = app.predict(ctx, app.PredictRequest(sport="duel", date="2023-02-04", days=3))
        assert len(predicted.events) == 3 and predicted.stored == 3
        for event in predicted.events:
            assert sum(event["probabilities"].values()) == pytest.approx(1.0)
        models = app.list_models(ctx, "duel")
        assert [(m.name, m.version, m.status) for m in models] == [("duel-DL", 1, "champion")]
        with session_scope(ctx.engine) as s:
            assert s.scalar(select(Prediction.model_id).limit(1)) == models[0].id


def test_the_cli_serves_the_new_sport_and_refuses_its_bad_input_clearly(duel, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'duel.sqlite'}"
    assert run_cli(["ingest", "duel", write_duels(tmp_path / "duels.csv"), "--db", db], capsys).code == 0
    trained = run_cli(["train", "--sport", "duel", "--json", "-", "--db", db], capsys, cwd=tmp_path)
    assert trained.code == 0 and json.loads(trained.out)["status"] == "registered"
    table = run_cli(["predict", "--sport", "duel", "--date", "2023-02-04", "--db", db], capsys)
    assert table.code == 0 and "duel DL" in table.text
    wrong = run_cli(["train", "--sport", "duel", "--xi", "0.002", "--db", db], capsys)
    assert wrong.code == 2 and "--xi is not supported by duel train" in wrong.text
    bad = tmp_path / "bad.csv"
    bad.write_text("day,home,away,winner\n2023-03-01,A,B,X\n")
    rejected = run_cli(["ingest", "duel", bad, "--db", db], capsys)
    assert rejected.code == 1 and "bad.csv, row 2, column winner" in rejected.text
