"""The ``formguide`` command line end to end, run in-process through ``cli.main`` as the console script runs it.

Most tests work on a copy of one module-wide SQLite store (three real Premier League seasons and a trained
Dixon-Coles champion); the registry round trips also run against PostgreSQL when it is configured.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import JSON, bindparam, func, select, text
from tests.helpers import E0_SEASONS, copy_sqlite, e0_files, ingest_e0, run_cli

from formguide.app.schemas import PredictResult
from formguide.core import registry
from formguide.core.match import MatchPrediction
from formguide.core.sport import get_sport
from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import ModelRecord, Prediction
from formguide.core.training import TrainPlan, train
from formguide.football.sport import FootballBacktestOptions, FootballTrainOptions

SPORT = get_sport("football")
METRIC_KEYS = {"n", "rps", "brier", "log_loss", "accuracy", "draw_accuracy", "ece"}
BET_KEYS = {"bets", "staked", "profit", "roi", "yield", "max_drawdown"}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def base_store(tmp_path_factory, football_dir):
    """Path of a SQLite store with E0 2022/23-2024/25 and a Dixon-Coles champion, built once."""
    tmp = tmp_path_factory.mktemp("cli-base")
    path = tmp / "base.sqlite"
    engine = open_store(f"sqlite:///{path}")
    ingest_e0(engine, football_dir, E0_SEASONS)
    train(engine, SPORT, TrainPlan("E0", "football-E0", "dixon-coles", cadence=SPORT.train_cadence),
          artifacts_dir=tmp / "artifacts")
    engine.dispose()
    return path


@pytest.fixture
def db(base_store, tmp_path):
    """A private copy of the base store (SQLite's backup API: consistent even with a WAL)."""
    return f"sqlite:///{copy_sqlite(base_store, tmp_path / 'cli.sqlite')}"


def _json(result) -> dict | list:
    assert result.code == 0, result.text
    return json.loads(result.out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def _error(result, code: int = 2) -> str:
    assert result.code == code, f"exit {result.code}: {result.text}"
    assert "Traceback" not in result.err
    assert result.text.startswith("error:") or " error: " in f" {result.text}", result.text
    return result.text


def _tamper(engine, model_id: int) -> None:
    """Edit a stored model's parameters behind the registry's back (raw SQL, as an attacker would)."""
    with session_scope(engine) as s:
        params = s.get(ModelRecord, model_id).parameters
    params["model"]["fitted"]["home_advantage"] += 0.5  # every home side suddenly far stronger
    stmt = text("UPDATE models SET parameters = :p WHERE id = :id").bindparams(bindparam("p", type_=JSON))
    with engine.begin() as conn:
        assert conn.execute(stmt, {"p": params, "id": model_id}).rowcount == 1


# --------------------------------------------------------------------------------------------------
# ingest, train, registry, tampering: on every backend
# --------------------------------------------------------------------------------------------------


def test_ingest_train_registry_and_a_tampered_model(db_url, football_dir, tmp_path, capsys):
    files = e0_files(football_dir, E0_SEASONS)
    first = _json(run_cli(["ingest", "football", *files, "--db", db_url, "--json", "-"], capsys))
    assert (first["inserted"], first["files_rejected"]) == (1140, 0)
    again = _json(run_cli(["ingest", "football", *files, "--db", db_url, "--json", "-"], capsys))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 1140)

    trained = _json(run_cli(["train", "--league", "E0", "--db", db_url, "--json", "-"], capsys, cwd=tmp_path))
    assert (trained["status"], trained["version"], trained["promoted"]) == ("registered", 1, True)
    assert set(trained["metrics"]["evaluation"]["model"]) == METRIC_KEYS
    assert Path(trained["model_card"]).is_file()
    if db_url.startswith("sqlite"):  # cards belong to their store: beside its file
        assert Path(trained["model_card"]).is_relative_to(tmp_path / "store-artifacts")
    skipped = run_cli(["train", "--league", "E0", "--db", db_url], capsys, cwd=tmp_path)
    assert skipped.code == 0 and "skipped: data and configuration unchanged" in skipped.text

    models = _json(run_cli(["models", "list", "--db", db_url, "--json", "-"], capsys))
    assert [(m["name"], m["version"], m["model_type"], m["status"]) for m in models] == \
        [("football-E0", 1, "dixon-coles", "champion")]
    assert models[0]["headline_metric"] == "log_loss"
    assert models[0]["headline"] == trained["metrics"]["evaluation"]["model"]["log_loss"]
    runs = _json(run_cli(["runs", "list", "--db", db_url, "--json", "-"], capsys))
    assert [(r["run_type"], r["status"]) for r in runs] == [("train", "skipped"), ("promotion", "succeeded"),
                                                        ("train", "succeeded")]
    shown = _json(run_cli(["models", "show", "football-E0@champion", "--db", db_url, "--json", "-"], capsys))
    assert re.fullmatch(r"[0-9a-f]{64}", shown["artifact_sha256"])
    assert shown["feature_set_version"].startswith("football-core@")
    card = run_cli(["models", "show", "football-E0:1", "--db", db_url], capsys)
    assert card.code == 0 and "football-E0" in card.out

    engine = open_store(db_url)
    try:
        _tamper(engine, trained["model_id"])
        for args in (["predict", "--league", "E0", "--date", "2025-05-18"], ["models", "promote", "football-E0:1"],
                     ["models", "export", str(tmp_path / "out.json")]):
            message = _error(run_cli([*args, "--db", db_url], capsys))
            assert "football-E0:1 (id 1) fails its integrity check" in message, args
            assert "refusing to load it" in message
        assert not (tmp_path / "out.json").exists()
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(Prediction)) == 0
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------------
# Bad input: a clear message and exit code 2, never a traceback
# --------------------------------------------------------------------------------------------------


def test_predict_for_a_league_without_a_model_says_how_to_train_one(db, football_dir, tmp_path, capsys):
    message = _error(run_cli(["predict", "--league", "SP1", "--date", "2025-05-18", "--db", db], capsys))
    assert "unknown football league 'SP1'; stored: E0" in message
    assert run_cli(["ingest", "football", football_dir / "SP1_2425.csv", "--db", db], capsys).code == 0
    message = _error(run_cli(["predict", "--league", "sp1", "--date", "2025-05-18", "--db", db], capsys))
    assert "no trained model for football-SP1 (models exist for: football-E0)" in message
    assert "run `formguide train --sport football --league SP1` first" in message
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    message = _error(run_cli(["predict", "--league", "E0", "--db", empty], capsys))
    assert "no football competitions in the store yet" in message


@pytest.mark.parametrize("args", [["predict", "--league", "E0"], ["models", "list"], ["runs", "list"],
                                  ["ingest", "football", "nowhere.csv"]])
def test_an_unreachable_database_is_named_without_its_password(args, capsys):
    message = _error(run_cli([*args, "--db", "postgresql://nobody:s3cret@127.0.0.1:1/none"], capsys))
    assert "cannot reach database postgresql+psycopg://nobody:***@127.0.0.1:1/none" in message
    assert "s3cret" not in message


def test_the_database_url_also_comes_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("FORMGUIDE_DB_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert "cannot reach database" in _error(run_cli(["models", "list"], capsys))


@pytest.mark.parametrize("command", ["train", "backtest"])
def test_an_unknown_model_type_lists_the_known_ones(db, command, tmp_path, capsys):
    message = _error(run_cli([command, "--league", "E0", "--model", "xgb", "--db", db,
                              "--plots", tmp_path] if command == "backtest" else
                             [command, "--league", "E0", "--model", "xgb", "--db", db], capsys, cwd=tmp_path))
    assert "unknown football model 'xgb'" in message
    assert "dixon-coles, poisson, elo, blend" in message


@pytest.mark.parametrize(("args", "expected"), [
    (["predict", "--league", "E0", "--date", "2025-13-01"], "--date must be a date like 2024-05-19, got '2025-13-01'"),
    (["predict", "--league", "E0", "--date", "18/05/2025"], "--date must be a date like 2024-05-19, got '18/05/2025'"),
    (["simulate", "--league", "E0", "--season", "2425", "--from", "soon"], "--from must be a date like"),
    (["backtest", "--league", "E0", "--to", "2025-02-30"], "--to must be a date like"),
    (["train", "--league", "E0", "--until", "tomorrow"], "--until must be a date like"),
    (["simulate", "--league", "E0", "--season", "2425", "--n", "0"], "--simulations: Input should be greater than or "
     "equal to 1 (got 0)"),
    (["simulate", "--league", "E0", "--season", "2425", "--simulations", "-5"], "--simulations: Input should be "
     "greater than or equal to 1 (got -5)"),
    (["simulate", "--league", "E0", "--season", "1999", "--n", "10"],
     "no events for E0 season 1999; seasons in the store: 2223, 2324, 2425"),
    (["predict", "--league", "E0", "--tier", "Z"], "football predict: --tier: Input should be 'A', 'B', 'C' or 'D' "
     "(got 'Z')"),
    (["backtest", "--league", "E0", "--refit", "year"], "--refit: refit must be daily, weekly, monthly or a whole "
     "number of event groups"),
    (["backtest", "--league", "E0", "--refit", "3"], "--refit for football is daily, weekly or monthly; got '3'"),
    (["train", "--league", "E0", "--metric", "accuracy"], "--metric for football must be one of log_loss, rps, brier, "
     "got 'accuracy'"),
    (["predict", "--league", "E0", "--sport", "cricket"], "unknown sport 'cricket'; known sports:"),
])
def test_bad_arguments_are_refused_clearly(db, tmp_path, args, expected, capsys):
    extra = ["--plots", str(tmp_path)] if args[0] == "backtest" else []
    message = _error(run_cli([*args, *extra, "--db", db], capsys, cwd=tmp_path))
    assert expected in message


# --------------------------------------------------------------------------------------------------
# backtest, predict, simulate
# --------------------------------------------------------------------------------------------------


def test_backtest_dixon_coles_options_reach_the_model_and_change_its_forecasts(db, tmp_path, capsys):
    def run(*extra):
        return _json(run_cli(["backtest", "--league", "E0", "--refit", "monthly", "--json", "-", "--plots",
                              tmp_path, "--db", db, *extra], capsys))["model"]

    goals_only = run("--shots-weight", "0", "--red-card-weight", "1")
    default = run()
    assert goals_only["params"] == {"shots_weight": 0.0, "red_card_weight": 1.0} and default["params"] == {}
    assert goals_only["rps"] != default["rps"]
    assert SPORT.model_params("blend", FootballBacktestOptions(shots_weight=0)) == {
        "stacker": "logistic", "base_params": {"shots_weight": 0.0}}
    assert SPORT.model_params("blend", FootballTrainOptions(calibration="none", overround="shin")) == {
        "stacker": "logistic", "calibration": None, "market_method": "shin"}
    assert SPORT.model_params("elo", FootballBacktestOptions(shots_weight=0.3)) == {}


def test_backtest_without_any_forecast_in_the_window_says_why(db, tmp_path, capsys):
    # two seasons in the store: the blend's warm-up of Dixon-Coles forecasts leaves nothing to score
    text = _error(run_cli(["backtest", "--league", "E0", "--model", "blend", "--refit", "monthly",
                           "--from", "2024-08-01", "--plots", tmp_path, "--db", db], capsys))
    assert "no out-of-sample forecast" in text and "--from" in text


def test_backtest_json_has_the_documented_shape_and_writes_plots(db, tmp_path, capsys):
    plots = tmp_path / "plots"
    report = _json(run_cli(["backtest", "--league", "E0", "--model", "dixon-coles", "--refit", "monthly",
                            "--json", "-", "--plots", plots, "--db", db], capsys))
    assert {"model", "market", "baselines", "betting"} <= set(report)
    assert report["model"]["type"] == "dixon-coles" and report["model"]["refit"] == "monthly"
    blocks = {"model": report["model"], "market": report["market"],
              "model_on_same_events": report["market"]["model_on_same_events"],
              **{f"baseline {k}": v for k, v in report["baselines"].items()}}
    assert set(report["baselines"]) == {"base_rates", "elo"}
    for name, block in blocks.items():
        assert METRIC_KEYS <= set(block), name
        assert block["n"] == 760, name  # 2023/24 and 2024/25, every match priced at the close
        assert 0 < block["rps"] < block["brier"] < block["log_loss"], name
        assert 0 <= block["accuracy"] <= 1 and 0 <= block["ece"] <= 1, name
    assert report["window"]["n"] == 760 and report["window"]["from"].startswith("2023-08-11")
    for staking in ("flat", "kelly"):
        bets = report["betting"][staking]
        assert BET_KEYS <= set(bets), staking
        assert 0 < bets["bets"] <= 760 and bets["staked"] > 0
        assert bets["roi"] == pytest.approx(bets["profit"] / bets["staked"])
        assert 0 <= bets["max_drawdown"] <= 1
    assert report["betting"]["flat"]["staked"] == report["betting"]["flat"]["bets"]  # one unit a bet
    for key in ("bankroll_png", "reliability_png"):
        path = plots / report[key].rsplit("/", 1)[-1]
        assert str(path) == report[key] and path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def _predict(db, capsys, *extra) -> dict:
    return _json(run_cli(["predict", "--league", "E0", "--date", "2025-05-18", "--db", db, "--json", "-", *extra],
                         capsys))


def test_predict_a_past_date_with_results_and_stored_predictions(db, capsys):
    res = _predict(db, capsys)
    assert {"competition", "as_of", "model", "model_id", "refitted", "feature_set_version", "events"} <= set(res)
    assert res["as_of"] == "2025-05-18T00:00:00" and "2025-05-18" in res["refitted"]
    rows = res["events"]
    PredictResult.model_validate(res)  # the documented shapes (docs/json-schemas)
    for r in rows:
        MatchPrediction.model_validate(r)
    assert len(rows) == 8  # 18, 19 and 20 May 2025; the next matchday (25 May) is outside the 7 days
    engine = open_store(db)
    try:
        frame = SPORT.load_frame(engine, ["E0"]).set_index("event_id")
        for r in rows:
            p = r["probabilities"]
            assert set(p) == {"H", "D", "A"}
            assert all(v >= 0 for v in p.values())
            assert p["H"] + p["D"] + p["A"] == pytest.approx(1.0, abs=1e-9)
            total = next(m for m in r["markets"] if "over" in m["probabilities"])
            handicap = next(m for m in r["markets"] if m["market"] == "asian_handicap")
            assert sum(handicap["probabilities"].values()) <= 1.0 + 1e-9  # a push takes the rest
            assert total["probabilities"]["over"] + total["probabilities"]["under"] == pytest.approx(1.0, abs=1e-9)
            assert r["fair_odds"]["H"] == pytest.approx(1 / p["H"])
            assert {"event_id", "kickoff", "home_team", "away_team", "market_prices", "edge", "selection",
                    "best_edge", "stake", "tier", "actual"} <= set(r)
            match = frame.loc[r["event_id"]]
            assert (r["home_team"], r["away_team"]) == (match["home_team"], match["away_team"])
            assert r["actual"] == f"{int(match['home_goals'])}-{int(match['away_goals'])} {match['result']}"
            assert "2025-05-18" <= r["kickoff"] < "2025-05-25"
            assert r["tier"] in "ABCD"
            label = {"home": "H", "draw": "D", "away": "A"}.get(r["selection"])
            edge = r["edge"][label] if r["selection"] else None
            assert edge is None or (edge == r["best_edge"] and edge > 0 and r["stake"] > 0)
        with session_scope(engine) as s:
            champion = registry.champion(s, "football-E0")
            stored = s.execute(select(Prediction.event_id, Prediction.model_id, Prediction.feature_set_version,
                                      Prediction.probabilities, Prediction.as_of)
                               .where(Prediction.market == "1x2")).all()
    finally:
        engine.dispose()
    assert res["model_id"] == champion.id and res["feature_set_version"] == champion.feature_set_version
    assert sorted(s.event_id for s in stored) == sorted(r["event_id"] for r in rows)
    by_event = {r["event_id"]: r for r in rows}
    for s in stored:
        assert (s.model_id, s.feature_set_version) == (champion.id, champion.feature_set_version)
        assert s.probabilities == pytest.approx(by_event[s.event_id]["probabilities"])
        assert s.as_of == pd.Timestamp("2025-05-18")

    table = run_cli(["predict", "--league", "E0", "--date", "2025-05-18", "--db", db], capsys)
    assert table.code == 0 and "refitted as of that day" in table.text
    wide = run_cli(["predict", "--league", "E0", "--date", "2025-05-18", "--wide", "--db", db], capsys)
    for r in rows:  # each match printed with its actual result beside the prediction (all columns: --wide)
        line = next(line for line in wide.out.splitlines() if f"{r['home_team']} v {r['away_team']}" in line)
        assert r["actual"] in line and f"{r['probabilities']['H']:.2f}" in line


def test_predict_filters_by_edge_and_tier(db, capsys):
    rows = _predict(db, capsys)["events"]
    edged = _predict(db, capsys, "--min-edge", "0.1")["events"]
    assert [r["event_id"] for r in edged] == [r["event_id"] for r in rows if r["best_edge"] >= 0.1]
    assert 0 < len(edged) < len(rows)
    for tier, allowed in (("A", {"A"}), ("b", {"A", "B"})):
        kept = _predict(db, capsys, "--tier", tier)["events"]
        assert [r["event_id"] for r in kept] == [r["event_id"] for r in rows if r["tier"] in allowed]
    assert {r["tier"] for r in rows} >= {"A", "B"}  # both filters did remove something
    text_out = run_cli(["predict", "--league", "E0", "--date", "2025-05-18", "--min-edge", "5", "--db", db], capsys)
    assert "no events in that window match the filters" in text_out.text


def _points_before(frame: pd.DataFrame, season: str, day: str) -> dict[str, int]:
    played = frame[(frame["season"] == season) & (frame["kickoff"] < pd.Timestamp(day))]
    home = played["result"].map({"H": 3, "D": 1, "A": 0})
    away = played["result"].map({"H": 0, "D": 1, "A": 3})
    pts = pd.concat([home.groupby(played["home_team"]).sum(), away.groupby(played["away_team"]).sum()])
    return pts.groupby(level=0).sum().astype(int).to_dict()


def test_simulate_gives_consistent_table_probabilities(db, capsys):
    args = ["simulate", "--league", "E0", "--season", "2425", "--from", "2025-03-01", "--n", "2000", "--seed", "1",
            "--db", db, "--json", "-"]
    res = _json(run_cli(args, capsys))
    assert {"competition", "season", "from", "model", "refitted", "n_simulations", "n_fixtures", "table",
            "simulation"} <= set(res)
    assert (res["season"], res["from"], res["n_simulations"]) == ("2425", "2025-03-01", 2000)
    assert "2025-03-01" in res["refitted"]
    engine = open_store(db)
    try:
        frame = SPORT.load_frame(engine, ["E0"])
    finally:
        engine.dispose()
    season = frame[frame["season"] == "2425"]
    assert res["n_fixtures"] == int((season["kickoff"] >= pd.Timestamp("2025-03-01")).sum())
    table = pd.DataFrame(res["table"]).set_index("team")
    assert len(table) == 20
    pos = table[[f"pos_{k}" for k in range(1, 21)]].to_numpy()
    np.testing.assert_allclose(pos.sum(axis=1), 1.0, atol=1e-9)  # every team finishes somewhere
    np.testing.assert_allclose(pos.sum(axis=0), 1.0, atol=1e-9)  # every place is taken by someone
    assert table["title"].sum() == pytest.approx(1.0, abs=1e-9)
    n_top, n_rel = res["simulation"]["n_top"], res["simulation"]["n_relegation"]
    assert table["top_n"].sum() == pytest.approx(n_top) and table["relegation"].sum() == pytest.approx(n_rel)
    np.testing.assert_allclose(table["title"], pos[:, 0])
    np.testing.assert_allclose(table["top_n"], pos[:, :n_top].sum(axis=1))
    np.testing.assert_allclose(table["relegation"], pos[:, 20 - n_rel:].sum(axis=1))
    np.testing.assert_allclose(table["expected_position"], pos @ np.arange(1, 21))
    assert table["current_points"].to_dict() == _points_before(frame, "2425", "2025-03-01")
    remaining = season[season["kickoff"] >= pd.Timestamp("2025-03-01")]
    left = pd.concat([remaining["home_team"], remaining["away_team"]]).value_counts()
    assert (table["expected_points"] >= table["current_points"]).all()
    assert (table["expected_points"] <= table["current_points"] + 3 * left.reindex(table.index)).all()
    assert list(table["expected_points"]) == sorted(table["expected_points"], reverse=True)
    assert _json(run_cli(args, capsys)) == res  # a seed makes the run reproducible


def test_simulate_deductions_count_and_an_unknown_team_is_refused(db, capsys):
    args = ["simulate", "--league", "E0", "--season", "2324", "--n", "200", "--db", db, "--json", "-"]
    res = _json(run_cli([*args, "--deduction", "Everton=8", "--deduction", "nott'm forest=4"], capsys))
    table = pd.DataFrame(res["table"]).set_index("team")
    assert res["n_fixtures"] == 0 and res["deductions"] == {"Everton": 8, "Nott'm Forest": 4}
    assert table.loc["Everton", "current_points"] == 40 and table.loc["Nott'm Forest", "current_points"] == 32
    assert table.loc["Everton", "pos_15"] == 1.0 and table.loc["Nott'm Forest", "pos_17"] == 1.0  # as it ended
    assert {"cl", "el", "ecl", "relegation"} <= set(table.columns) and table["cl"].sum() == pytest.approx(4)
    assert res["simulation"]["rules"]["tiebreak"][:3] == ["points", "goal_difference", "goals_for"]
    message = _error(run_cli([*args, "--deduction", "Evrton=8"], capsys))
    assert "--deduction: no team 'Evrton' in E0 2023/24; did you mean Everton?" in message


def test_simulate_refuses_a_champion_without_score_distributions(db, tmp_path, capsys):
    trained = _json(run_cli(["train", "--league", "E0", "--model", "elo", "--db", db, "--json", "-"], capsys, cwd=tmp_path))
    promoted = run_cli(["models", "promote", f"football-E0:{trained['version']}", "--db", db], capsys)
    assert promoted.code == 0 and "is now champion" in promoted.text
    message = _error(run_cli(["simulate", "--league", "E0", "--season", "2425", "--n", "100", "--db", db], capsys))
    assert f"football-E0 v{trained['version']} is a elo model without score distributions" in message
    assert "simulate needs a goal model" in message


# --------------------------------------------------------------------------------------------------
# models export -> import into a fresh database
# --------------------------------------------------------------------------------------------------


def test_models_export_then_import_into_a_fresh_database(db, db_url, tmp_path, capsys):
    export = tmp_path / "export" / "models.json"
    out = run_cli(["models", "export", export, "--db", db], capsys)
    assert out.code == 0 and "exported 1 model(s)" in out.text
    imported = run_cli(["models", "import", export, "--db", db_url], capsys)
    assert imported.code == 0 and "imported 1 model(s): football-E0 v1 (champion)" in imported.text
    again = run_cli(["models", "import", export, "--db", db_url], capsys)
    assert again.code == 0 and "imported 0 model(s)" in again.text

    keys = ("name", "version", "model_type", "status", "headline", "metrics")
    src_list = _json(run_cli(["models", "list", "--db", db, "--json", "-"], capsys))
    dst_list = _json(run_cli(["models", "list", "--db", db_url, "--json", "-"], capsys))
    assert [{k: m[k] for k in keys} for m in dst_list] == [{k: m[k] for k in keys} for m in src_list]
    src_show = _json(run_cli(["models", "show", "football-E0@champion", "--db", db, "--json", "-"], capsys))
    dst_show = _json(run_cli(["models", "show", "football-E0@champion", "--db", db_url, "--json", "-"], capsys))
    for key in ("artifact_sha256", "evaluation", "config", "feature_set_version", "data_fingerprint", "model"):
        assert dst_show[key] == src_show[key] if key != "model" else \
            {**dst_show[key], "id": 0} == {**src_show[key], "id": 0}, key

    src, dst = open_store(db), open_store(db_url)
    try:
        with session_scope(src) as s:
            src_params = registry.verified_parameters(registry.champion(s, "football-E0"))
        with session_scope(dst) as s:
            dst_params = registry.verified_parameters(registry.champion(s, "football-E0"))
            runs = [r.run_type for r in registry.list_runs(s)]
        assert "train" in runs  # the model's training history travelled with it
        frame = SPORT.load_frame(src, ["E0"]).tail(30)
        X = SPORT.feature_set().build(frame)
        np.testing.assert_array_equal(SPORT.model_from_dict(dst_params).predict_proba(frame, X),
                                      SPORT.model_from_dict(src_params).predict_proba(frame, X))
    finally:
        src.dispose()
        dst.dispose()

    doc = json.loads(export.read_text())
    doc["models"][0]["parameters"]["params"]["xi"] = 0.5
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    message = _error(run_cli(["models", "import", forged, "--db", fresh], capsys))
    assert "forged.json, model 0 (football-E0:1)" in message and "nothing imported" in message
    assert _json(run_cli(["models", "list", "--db", fresh, "--json", "-"], capsys)) == []


# --------------------------------------------------------------------------------------------------
# bet ledger, closing-line value, priced further markets
# --------------------------------------------------------------------------------------------------


def test_backtest_ledger_csv_and_json_one_row_per_bet_with_clv(db, tmp_path, capsys):
    args = ["backtest", "--league", "E0", "--model", "dixon-coles", "--refit", "monthly", "--from", "2024-08-01",
            "--plots", tmp_path, "--db", db]
    csv_path, json_path = tmp_path / "out" / "bets.csv", tmp_path / "bets.json"
    report = _json(run_cli([*args, "--ledger", csv_path, "--json", "-"], capsys))
    assert report["ledger"] == str(csv_path) and "ledger" not in report["betting"]
    ledger = pd.read_csv(csv_path)
    flat, kelly = report["betting"]["flat"], report["betting"]["kelly"]
    assert len(ledger) == flat["bets"] == kelly["bets"] > 0
    assert {"event_id", "date", "home_team", "away_team", "selection", "price", "stake", "settlement", "profit",
            "closing_price", "clv"} <= set(ledger.columns)
    assert set(ledger["selection"]) <= {"home", "draw", "away"} and set(ledger["settlement"]) <= {"win", "loss"}
    assert ledger["profit"].sum() == pytest.approx(flat["profit"]) and ledger["stake"].sum() == flat["staked"]
    assert ledger["kelly_profit"].sum() == pytest.approx(kelly["profit"])
    won = ledger["settlement"] == "win"
    np.testing.assert_allclose(ledger.loc[won, "profit"], ledger.loc[won, "price"] - 1)
    # CLV: price taken x de-margined closing probability - 1; every 2024/25 match has closing prices
    assert ledger["clv"].notna().all() and ledger["closing_price"].notna().all()
    np.testing.assert_allclose(ledger["clv"], ledger["price"] * ledger["closing_probability"] - 1)
    assert flat["clv"] == pytest.approx(ledger["clv"].mean()) and flat["clv_bets"] == len(ledger)
    assert flat["clv_positive"] == pytest.approx((ledger["clv"] > 0).mean())
    assert flat["pushes"] == 0 and flat["half_results"] == 0  # 1X2 never pushes
    engine = open_store(db)
    try:
        frame = SPORT.load_frame(engine, ["E0"]).set_index("event_id")
    finally:
        engine.dispose()
    row = ledger.iloc[0]
    label = {"home": "H", "draw": "D", "away": "A"}[row["selection"]]
    assert row["closing_price"] == frame.loc[row["event_id"], f"odds_close_{label}"]
    assert row["settlement"] == ("win" if frame.loc[row["event_id"], "result"] == label else "loss")

    table = run_cli([*args, "--ledger", json_path, "--wide"], capsys)
    assert table.code == 0 and f"ledger: {json_path}" in table.text
    assert "clv" in table.out and "pushes" in table.out
    rows = json.loads(json_path.read_text())
    assert len(rows) == len(ledger) and rows[0]["event_id"] == int(ledger["event_id"].iloc[0])


@pytest.mark.parametrize("name", ["bets.txt", "bets"])
def test_backtest_ledger_with_a_bad_extension_is_one_line_before_any_work(db, tmp_path, capsys, name):
    text = _error(run_cli(["backtest", "--league", "E0", "--ledger", tmp_path / name, "--db", db], capsys))
    assert "must end in .csv or .json" in text and name in text and len(text.strip().splitlines()) == 1
    assert not (tmp_path / name).exists()


def test_predict_shows_priced_further_markets_and_never_a_tier_letter_as_the_bet(db, capsys):
    rows = _predict(db, capsys)["events"]
    engine = open_store(db)
    try:
        frame = SPORT.load_frame(engine, ["E0"]).set_index("event_id")
    finally:
        engine.dispose()
    for r in rows:
        total = next(m for m in r["markets"] if "over" in m["probabilities"])
        match = frame.loc[r["event_id"]]
        for sel in ("over", "under"):  # the stored best prices of over/under 2.5, with the edge at them
            assert total["price"][sel] == match[f"odds_best_{sel}"]
            assert total["edge"][sel] == pytest.approx(total["probabilities"][sel] * total["price"][sel] - 1)
        assert r["selection"] in (None, "home", "draw", "away")
    wide = run_cli(["predict", "--league", "E0", "--date", "2025-05-18", "--wide", "--db", db], capsys)
    assert wide.code == 0
    header = next(line for line in wide.out.splitlines() if "match" in line and "tier" in line)
    cells = [c.strip() for c in re.split(r"[┃│]", header)]
    assert {"home", "draw", "away", "bet", "tier", "total 2.5"} <= set(cells)
    for r in rows:
        line = next(line for line in wide.out.splitlines() if f"{r['home_team']} v {r['away_team']}" in line)
        cells = [c.strip() for c in re.split(r"[┃│]", line)]
        bet = cells[[c.strip() for c in re.split(r"[┃│]", header)].index("bet")]
        assert bet in ("-", "home", "draw", "away")  # a word, never H/D/A next to the tier letters
        total = next(m for m in r["markets"] if "over" in m["probabilities"])
        best = max(total["edge"], key=total["edge"].get)
        assert (f"{best} {total['probabilities'][best]:.2f} @{total['price'][best]:.2f} "
                f"{total['edge'][best]:+.3f}") in line
