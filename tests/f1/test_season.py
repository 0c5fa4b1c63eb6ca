"""The season pipeline (formguide.f1.season) on small synthetic seasons written as race folders."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tests.helpers import run_cli
from typer.testing import CliRunner

from formguide.core.errors import FormguideError
from formguide.core.field import finishing_positions, sample_orders
from formguide.f1.points import race_points, sprint_points
from formguide.f1.season import (
    SeasonConfig,
    check_output_path,
    log_path,
    parse_weights,
    run_season,
    watch_season,
    write_json_atomic,
)

SEASONS = (2022, 2023)
ROUNDS = 6
N_DRIVERS = 10
CIRCUITS = ["bahrain", "jeddah", "albert_park", "suzuka", "monaco", "silverstone", "spa", "monza"]
SPRINT_ROUNDS = (2, 4, 5)
SIMS = 200


def _q_time(ms: float) -> str:
    m, rest = divmod(ms / 1000.0, 60.0)
    return f"{int(m)}:{rest:06.3f}"


def write_weekend(root: Path, season: int, rnd: int, rng: np.random.Generator, *, run: bool = True,
                  wet: bool | None = None) -> Path:
    """One race folder: qualifying, race (and a sprint on sprint rounds), Plackett–Luce on fixed strengths."""
    strength = np.linspace(1.2, -1.2, N_DRIVERS)
    drivers = [f"driver_{i:02d}" for i in range(N_DRIVERS)]
    codes = [f"D{i:02d}" for i in range(N_DRIVERS)]
    teams = [f"team_{i // 2}" for i in range(N_DRIVERS)]
    folder = root / f"{season}-{rnd:02d}-{CIRCUITS[rnd - 1]}"
    folder.mkdir(parents=True, exist_ok=True)
    wet = bool(rng.random() < 0.3) if wet is None else wet
    sc = bool(rng.random() < 0.5)
    meta = {"season": season, "round": rnd, "name": f"Round {rnd} Grand Prix", "circuit": CIRCUITS[rnd - 1],
            "date": f"{season}-{3 + rnd:02d}-10T14:00:00Z"}
    if run:
        meta |= {"wet": int(wet), "safety_car": int(sc), "safety_car_laps": 4 if sc else 0}
    (folder / "race.json").write_text(json.dumps(meta))
    if not run:
        lines = ["driver,constructor,driver_code"] + [f"{d},{t},{c}" for d, t, c in zip(drivers, teams, codes,
                                                                                      strict=True)]
        (folder / "race.csv").write_text("\n".join(lines) + "\n")
        return folder
    q_order = sample_orders(1.5 * strength, 1, rng)[0]
    q_pos = finishing_positions(q_order) + 1
    lines = ["driver,constructor,driver_code,position,q1"]
    lines += [f"{drivers[i]},{teams[i]},{codes[i]},{q_pos[i]},{_q_time(90000 + 150 * q_pos[i])}"
              for i in range(N_DRIVERS)]
    (folder / "qualifying.csv").write_text("\n".join(lines) + "\n")
    sessions = [("race", 0.25 if wet else 0.1, race_points)]
    if rnd in SPRINT_ROUNDS:
        sessions.append(("sprint", 0.05, sprint_points))
    for name, dnf, scorer in sessions:
        orders, retired = sample_orders((0.6 if wet else 1.0) * strength, 1, rng, dnf_prob=dnf, return_retired=True)
        pos = finishing_positions(orders)[0] + 1
        out = retired[0]
        pts = scorer(season, np.where(out, np.nan, pos)) if name == "sprint" else scorer(season, pos, classified=~out)
        lines = ["driver,constructor,driver_code,grid,position,points,status,laps"]
        lines += [f"{drivers[i]},{teams[i]},{codes[i]},{q_pos[i]},{pos[i]},{pts[i]:g},"
                  f"{'Engine' if out[i] else 'Finished'},{20 if out[i] else 57}" for i in range(N_DRIVERS)]
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("races")
    rng = np.random.default_rng(2024)
    for season in SEASONS:
        for rnd in range(1, ROUNDS + 1):
            write_weekend(root, season, rnd, rng, wet=(rnd in (2, 5)) if season < 2023 else None)
    return root


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _config(tmp_path: Path, data: Path, **kw) -> SeasonConfig:
    kw.setdefault("simulations", SIMS)
    kw.setdefault("season", 2023)
    return SeasonConfig(data=data, output=tmp_path / "out" / "season.json", db=f"sqlite:///{tmp_path / 'store.sqlite'}",
                        refit_every=3, calibration_seasons=1, **kw)


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------- one run
@pytest.fixture(scope="module")
def first_run(history, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    data = _copy(history, tmp / "data")
    cfg = _config(tmp, data)
    entry = run_season(cfg)
    return cfg, entry, _load(cfg.output)


def test_first_run_writes_every_race_and_scenario(first_run):
    cfg, entry, doc = first_run
    assert entry["status"] == "ok", entry
    assert entry["races_processed"] == ROUNDS and entry["succeeded"] == ROUNDS and entry["models_trained"] > 0
    meta = doc["metadata"]
    for key in ("generated_at", "training_time", "num_simulations", "settings", "weights", "scenarios",
                "training_history"):
        assert key in meta
    assert meta["num_simulations"] == SIMS
    assert set(meta["scenarios"]) == {"dry", "wet", "safety_car"}
    assert meta["scenarios"]["wet"]["n_races"] >= 2 and "scale" in meta["scenarios"]["wet"]
    hist = meta["training_history"][-1]
    for key in ("timestamp", "duration_s", "races_processed", "succeeded", "failed", "fingerprint", "configuration"):
        assert key in hist
    preds = doc["predictions"]
    assert [p["metadata"]["round"] for p in preds] == list(range(1, ROUNDS + 1))
    for p in preds:
        assert p["metadata"]["status"] == "completed" and p["actual"] is not None
        assert {s["driver"] for s in p["strengths"]} == {f"driver_{i:02d}" for i in range(N_DRIVERS)}
        for s in p["strengths"]:
            assert s["prior"] is not None and s["posterior"] is not None
        for name, scen in p["scenarios"].items():
            assert scen["available"], (p["race_key"], name)
            dist = np.array([d["position_distribution"] for d in scen["drivers"]])
            np.testing.assert_allclose(dist.sum(axis=0), 1.0, atol=1e-5)
            np.testing.assert_allclose(dist.sum(axis=1), 1.0, atol=1e-5)
            assert sum(d["win"] for d in scen["drivers"]) == pytest.approx(1.0, abs=1e-4)
        assert p["weekend_update"]["sessions_used"][0] == "grid"
        assert "championship_before" in p
    assert preds[4]["weekend_update"]["sessions_used"] == ["grid", "sprint"]  # 3+ earlier sprints with priors
    assert doc["championship"]["final"] is True
    assert log_path(cfg.output).read_text().count("wrote") == 1


def test_strongest_driver_is_the_favourite(first_run):
    _, _, doc = first_run
    wins = {}
    for p in doc["predictions"]:
        for d in p["scenarios"]["dry"]["drivers"]:
            wins[d["driver"]] = wins.get(d["driver"], 0.0) + d["win"]
    from scipy.stats import spearmanr

    drivers = sorted(wins)  # driver_00 is the strongest, driver_09 the weakest
    assert spearmanr(np.arange(len(drivers)), [-wins[d] for d in drivers]).statistic > 0.7
    dry = doc["predictions"][0]["scenarios"]["dry"]["drivers"][0]
    wet = next(d for d in doc["predictions"][0]["scenarios"]["wet"]["drivers"] if d["driver"] == dry["driver"])
    assert wet["win"] < dry["win"]  # the synthetic wet races are more random, and the estimate saw that


def test_second_run_recomputes_nothing_and_a_changed_race_recomputes_itself_and_later_ones(first_run, tmp_path):
    cfg, _, doc1 = first_run
    entry = run_season(cfg)
    assert entry["races_processed"] == 0 and entry["races_reused"] == ROUNDS
    doc2 = _load(cfg.output)
    assert [p["fingerprint"] for p in doc2["predictions"]] == [p["fingerprint"] for p in doc1["predictions"]]
    assert len(doc2["metadata"]["training_history"]) == 2

    # correct the result of round 4: swap the first two finishers
    race = next(cfg.data.glob("2023-04-*")) / "race.csv"
    lines = race.read_text().splitlines()
    rows = [ln.split(",") for ln in lines[1:]]
    a = next(r for r in rows if r[4] == "1")
    b = next(r for r in rows if r[4] == "2")
    a[4], b[4], a[5], b[5] = "2", "1", b[5], a[5]
    race.write_text("\n".join([lines[0]] + [",".join(r) for r in rows]) + "\n")
    entry = run_season(cfg)
    assert entry["races_processed"] == ROUNDS - 3 and entry["races_reused"] == 3
    doc3 = _load(cfg.output)
    changed = [p["metadata"]["round"] for p, q in zip(doc2["predictions"], doc3["predictions"], strict=True)
               if p["fingerprint"] != q["fingerprint"]]
    assert changed == [4, 5, 6]
    assert doc3["predictions"][0] == doc2["predictions"][0]


def test_force_retrain_recomputes_everything(first_run):
    cfg, _, _ = first_run
    cfg_force = SeasonConfig(**{**cfg.__dict__, "force_retrain": True})
    entry = run_season(cfg_force)
    assert entry["races_processed"] == ROUNDS and entry["models_loaded"] == 0 and entry["models_trained"] > 0


def test_overrides_change_the_favourite(first_run, tmp_path):
    cfg, _, _ = first_run
    out = tmp_path / "weighted.json"
    run_season(SeasonConfig(**{**cfg.__dict__, "output": out, "driver_weights": {"D05": 20.0},
                               "team_weights": {"team_0": 0.2}}))
    doc = _load(out)
    dry = doc["predictions"][-1]["scenarios"]["dry"]["drivers"]
    assert max(dry, key=lambda d: d["win"])["driver"] == "driver_05"
    assert doc["metadata"]["weights"] == {"drivers": {"D05": 20.0}, "teams": {"team_0": 0.2}}
    with pytest.raises(FormguideError, match=r"unknown driver\(s\) 'VER'.*known: D00"):
        run_season(SeasonConfig(**{**cfg.__dict__, "output": out, "driver_weights": {"VER": 1.2}}))


# ------------------------------------------------------------------------------------- bad settings
def test_bad_settings_fail_before_any_work(tmp_path, history):
    cfg = _config(tmp_path, history, simulations=0)
    with pytest.raises(FormguideError, match="positive integer"):
        run_season(cfg)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = _config(tmp_path, history)
    cfg.output = blocker / "season.json"
    with pytest.raises(FormguideError, match="cannot write the output"):
        run_season(cfg)
    with pytest.raises(FormguideError, match="is a folder"):
        check_output_path(tmp_path)
    with pytest.raises(FormguideError, match="unknown scenario"):
        run_season(_config(tmp_path, history, scenarios=("dry", "snow")))
    assert not (tmp_path / "store.sqlite").exists()  # nothing was started


def test_malformed_weights_give_a_clear_error(tmp_path):
    with pytest.raises(FormguideError, match=r"--driver-weights value is not valid JSON .*line 1 column 2"):
        parse_weights("{VER: 1.2}", "--driver-weights")
    with pytest.raises(FormguideError, match="JSON object"):
        parse_weights("[1, 2]", "--team-weights")
    with pytest.raises(FormguideError, match="positive number"):
        parse_weights('{"VER": -1}', "--driver-weights")
    f = tmp_path / "w.json"
    f.write_text('{"VER": 1.5}')
    assert parse_weights(str(f), "--driver-weights") == {"VER": 1.5}


def test_atomic_write_never_leaves_half_a_file(tmp_path, monkeypatch):
    target = tmp_path / "season.json"
    write_json_atomic(target, {"v": 1})
    calls = []
    real = os.replace

    def spy(src, dst):
        calls.append((Path(src).parent, Path(dst)))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_json_atomic(target, {"v": 2})
    assert calls == [(tmp_path, target)]  # written beside the target, then swapped in
    assert _load(target) == {"v": 2}

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(target, {"v": 3})
    assert _load(target) == {"v": 2}  # the old file is untouched
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    monkeypatch.setattr(os, "replace", real)
    write_json_atomic(target, {"v": float("nan")})  # the one encoder writes no NaN: an estimate that is not there
    assert _load(target) == {"v": None} and "NaN" not in target.read_text()
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # a normal file, not a private temporary one


def test_cli_season_command(first_run, tmp_path):
    from formguide.f1.cli import f1_app

    cfg, _, _ = first_run
    out = tmp_path / "cli.json"
    args = ["season", "--data", str(cfg.data), "--output", str(out), "--season", "2023", "--db", cfg.db,
            "--simulations", "200", "--scenarios", "dry", "wet"]
    result = CliRunner().invoke(f1_app, args)
    assert result.exit_code == 0, result.output
    doc = _load(out)
    assert doc["metadata"]["settings"]["scenarios"] == ["dry", "wet"]
    assert set(doc["predictions"][0]["scenarios"]) == {"dry", "wet"}
    bad = CliRunner().invoke(f1_app, args[:-3] + ["--simulations", "-1"])
    assert bad.exit_code != 0 and "positive integer" in str(bad.exception)


def test_main_cli_trains_backtests_and_predicts_f1_without_a_league(tmp_path, capsys):
    """The sport-wide commands take ``--sport f1`` alone (``--league`` is football's)."""
    rng = np.random.default_rng(7)
    for season in range(2013, 2024):  # 66 races: training needs 60+
        for rnd in range(1, ROUNDS + 1):
            write_weekend(tmp_path / "races", season, rnd, rng)
    db = ["--db", f"sqlite:///{tmp_path / 'cli.sqlite'}"]
    assert run_cli(["ingest", "f1", tmp_path / "races", "--json", "-", *db], capsys).code == 0
    trained = run_cli(["train", "--sport", "f1", "--moment", "pre-quali", "--json", "-", *db], capsys, cwd=tmp_path)
    assert trained.code == 0, trained.text
    assert json.loads(trained.out)["status"] == "registered"
    report = run_cli(["backtest", "--sport", "f1", "--moment", "pre-quali", "--from", "2023-01-01", "--json", "-",
                      "--plots", tmp_path, *db], capsys)
    assert report.code == 0, report.text
    data = json.loads(report.out)
    assert data["window"]["races"] == ROUNDS and set(data["baselines"]) == {"grid", "pole", "leader"}
    table = run_cli(["predict", "--sport", "f1", "--race", "2023-06", "--moment", "pre-quali", *db], capsys)
    assert table.code == 0 and "D00" in table.out, table.text
    football = run_cli(["train", "--model", "dixon-coles", *db], capsys)
    assert football.code == 2 and "--league is required for football" in football.text


# ---------------------------------------------------------------------------------------------- watch
def _wait(predicate, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_watch_mode_updates_reports_bad_files_and_stops_cleanly(history, tmp_path):
    data = _copy(history, tmp_path / "data")
    rng = np.random.default_rng(7)
    for rnd in (ROUNDS + 1, ROUNDS + 2):  # the calendar is known ahead: entry lists, no results yet
        write_weekend(data, 2023, rnd, rng, run=False)
    cfg = _config(tmp_path, data)
    stop = threading.Event()
    runs: list = []
    thread = threading.Thread(target=watch_season, args=(cfg, stop),
                              kwargs={"debounce_s": 0.3, "on_run": lambda e, exc: runs.append((e, exc))})
    thread.start()

    def status(rnd: int) -> str | None:
        return next((p["metadata"]["status"] for p in _load(cfg.output)["predictions"] if p["metadata"]["round"] == rnd), None)

    try:
        assert _wait(lambda: len(runs) >= 1), "initial run did not finish"
        assert runs[0][1] is None and len(_load(cfg.output)["predictions"]) == ROUNDS + 2
        assert status(ROUNDS + 1) == "scheduled"
        assert "championship_before" in _load(cfg.output)["predictions"][ROUNDS]  # the next race has title odds

        # results of the next race land: it and the race after it are recomputed, nothing before
        write_weekend(data, 2023, ROUNDS + 1, rng)
        assert _wait(lambda: len(runs) >= 2)
        assert status(ROUNDS + 1) == "completed"
        assert runs[1][0]["races_processed"] == 2 and runs[1][0]["races_reused"] == ROUNDS

        # a half-written file (race.json cut off mid-way: a parse error) is reported, the weekend is kept
        # out, and the next change retries it
        folder = next(data.glob(f"2023-{ROUNDS + 2:02d}-*"))
        staged = write_weekend(tmp_path / "staging", 2023, ROUNDS + 2, rng)
        meta = (staged / "race.json").read_text()
        n = len(runs)
        (folder / "race.json").write_text(meta[: len(meta) // 2])
        for name in ("qualifying.csv", "race.csv"):
            (folder / name).write_text((staged / name).read_text())
        assert _wait(lambda: len(runs) > n and any(r[0] and r[0]["ingest"]["rejected"] for r in runs[n:]))
        bad = next(r[0] for r in runs[n:] if r[0] and r[0]["ingest"]["rejected"])
        assert "race.json" in bad["ingest"]["rejected"][0]["error"] and bad["status"] == "partial"
        assert "rejected" in log_path(cfg.output).read_text()
        assert status(ROUNDS + 2) == "scheduled"
        n = len(runs)
        (folder / "race.json").write_text(meta)
        assert _wait(lambda: len(runs) > n and status(ROUNDS + 2) == "completed")

        # a deleted file is reported; what was imported from it stays in the store
        (next(data.glob("2023-01-*")) / "qualifying.csv").unlink()
        assert _wait(lambda: "deleted" in log_path(cfg.output).read_text())
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not thread.is_alive()
    doc = _load(cfg.output)  # valid, complete JSON after stopping
    assert len(doc["predictions"]) == ROUNDS + 2
    assert doc["metadata"]["training_history"][-1]["status"] in ("ok", "partial")
    assert all(exc is None for _, exc in runs)


# --------------------------------------------------------------------------------- shape and standings
def _points_until(root: Path, season: int, last_round: int) -> dict[str, float]:
    """Drivers' points (race + sprint) of ``season``'s rounds up to ``last_round``, from the race folders."""
    import pandas as pd

    total: dict[str, float] = {}
    for rnd in range(1, last_round + 1):
        folder = next(root.glob(f"{season}-{rnd:02d}-*"))
        for name in ("race.csv", "sprint.csv"):
            if (folder / name).is_file():
                for d, p in pd.read_csv(folder / name)[["driver", "points"]].itertuples(index=False):
                    total[d] = total.get(d, 0.0) + float(p)
    return total


def _current_points(block: dict) -> dict[str, float]:
    return {r["driver"]: r["current_points"] for r in block["drivers"]}


def test_the_written_json_has_the_documented_shape(first_run):
    import copy

    from formguide.f1.season import Document, season_json_schema, validate_document

    _, _, doc = first_run
    Document.model_validate(doc)  # what a run writes validates (it was checked before it was written, too)
    schema = season_json_schema()
    assert set(schema["properties"]) == {"metadata", "championship", "predictions"}
    defs = schema["$defs"]
    assert {"format_version", "generated_at", "num_simulations", "scenarios", "training_history"} <= set(
        defs["Metadata"]["properties"])
    assert {"metadata", "strengths", "scenarios", "actual", "championship_before", "race_key", "fingerprint"} <= set(
        defs["RacePrediction"]["properties"])
    assert {"win", "podium", "points", "expected_position", "position_distribution"} <= set(
        defs["ScenarioDriver"]["properties"])
    assert {"as_of_race", "final", "standings_after_round", "drivers", "constructors"} <= set(
        defs["Championship"]["properties"])
    changed = copy.deepcopy(doc)
    changed["predictions"][0]["scenarios"]["dry"]["drivers"][0]["wins"] = 0.5  # a key the shape does not know
    with pytest.raises(FormguideError, match=r"does not match its schema .*predictions\.0\.scenarios\.dry"):
        validate_document(changed)
    del changed["predictions"][0]["scenarios"]["dry"]["drivers"][0]["wins"]
    del changed["championship"]["standings_after_round"]
    with pytest.raises(FormguideError, match="championship.standings_after_round"):
        validate_document(changed)


def test_standings_after_round_is_the_last_round_counted_in_a_completed_season(first_run, history):
    _, _, doc = first_run
    champ = doc["championship"]
    assert champ["final"] is True and champ["as_of_race"] is None and champ["remaining_races"] == 0
    assert champ["standings_after_round"] == ROUNDS
    assert _current_points(champ) == pytest.approx(_points_until(history, 2023, ROUNDS))
    for p in doc["predictions"]:
        rnd = p["metadata"]["round"]
        before = p["championship_before"]
        assert before["standings_after_round"] == rnd - 1, p["race_key"]
        assert before["remaining_races"] == ROUNDS - rnd + 1
        expected = _points_until(history, 2023, rnd - 1)
        assert {d: v for d, v in _current_points(before).items() if v} == pytest.approx(
            {d: v for d, v in expected.items() if v})


def test_standings_after_round_in_a_season_under_way(history, tmp_path):
    data = _copy(history, tmp_path / "data")
    rng = np.random.default_rng(11)
    for rnd in (ROUNDS + 1, ROUNDS + 2):  # the rest of the calendar: entry lists, no results yet
        write_weekend(data, 2023, rnd, rng, run=False)
    cfg = _config(tmp_path, data, scenarios=("dry",))
    run_season(cfg)
    doc = _load(cfg.output)
    champ = doc["championship"]  # before the next race: the standings after the last one run
    assert champ["as_of_race"] == f"2023-{ROUNDS + 1:02d}" and not champ.get("final")
    assert champ["standings_after_round"] == ROUNDS and champ["remaining_races"] == 2
    assert _current_points(champ) == pytest.approx(_points_until(history, 2023, ROUNDS))
    by_round = {p["metadata"]["round"]: p for p in doc["predictions"]}
    assert by_round[1]["championship_before"]["standings_after_round"] == 0  # before the season's first race
    assert all(r["current_points"] == 0 for r in by_round[1]["championship_before"]["drivers"])
    assert by_round[4]["championship_before"]["standings_after_round"] == 3
    assert "championship_before" not in by_round[ROUNDS + 2]  # only run races and the next one have one


def test_watch_debounces_runs_one_at_a_time_ignores_its_own_files_and_stops_after_the_run(tmp_path, monkeypatch):
    """The watcher's timing with a stand-in for the pipeline (half a second per run, writing the output and
    its log like a real run)."""
    from formguide.f1.season import watch as watch_module

    data = tmp_path / "data"
    data.mkdir()
    cfg = SeasonConfig(data=data, output=data / "season.json", db=f"sqlite:///{tmp_path / 'unused.sqlite'}")
    runs: list[dict] = []
    lock = threading.Lock()

    def fake_run(config, *, trigger, changes, ingest_paths):
        with lock:
            run = {"start": time.monotonic(), "end": None, "changes": list(changes)}
            runs.append(run)
        config.output.write_text("{}")
        log_path(config.output).write_text("log")
        time.sleep(0.5)
        run["end"] = time.monotonic()
        return {"ingest": {"rejected": []}}

    monkeypatch.setattr(watch_module, "run_season", fake_run)
    stop = threading.Event()
    thread = threading.Thread(target=watch_season, args=(cfg, stop), kwargs={"debounce_s": 0.3})
    thread.start()
    try:
        assert _wait(lambda: len(runs) == 1)
        assert runs[0]["changes"] == ["initial run"]
        (data / "during.csv").write_text("x")  # a change during a run triggers the next one, after it
        assert _wait(lambda: len(runs) == 2)
        assert runs[1]["start"] >= runs[0]["end"] and any("during.csv" in c for c in runs[1]["changes"])
        assert _wait(lambda: runs[1]["end"] is not None)
        time.sleep(1.0)
        assert len(runs) == 2  # the runs' own output and log files trigger nothing
        for i in range(8):  # a burst of changes: one run, a debounce after the last of them
            time.sleep(0.1)
            (data / f"burst_{i}.csv").write_text("x")
            last_change = time.monotonic()
        assert _wait(lambda: len(runs) == 3)
        assert runs[2]["start"] - last_change >= 0.3
        assert {Path(c.split(" ", 1)[1]).name for c in runs[2]["changes"]} == {f"burst_{i}.csv" for i in range(8)}
        (data / "last.csv").write_text("x")
        assert _wait(lambda: len(runs) == 4)
        stop.set()  # during the run: it finishes, then watching ends
        thread.join(timeout=30)
        assert not thread.is_alive() and runs[3]["end"] is not None
    finally:
        stop.set()
        thread.join(timeout=30)
    assert len(runs) == 4
    assert all(b["start"] >= a["end"] for a, b in zip(runs, runs[1:], strict=False))  # never two at once


def test_block_fits_live_in_the_fit_cache_not_the_registry(history, tmp_path):
    from sqlalchemy import func, select

    from formguide.core.store.db import open_store, session_scope
    from formguide.core.store.models import FitCacheEntry, ModelRecord, TrainingRun

    cfg = _config(tmp_path, _copy(history, tmp_path / "data"))
    first = run_season(cfg)
    engine = open_store(cfg.db)
    try:
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(ModelRecord)) == 0  # `models list` shows no cache
            cached = s.scalar(select(func.count()).select_from(FitCacheEntry))
            assert cached == first["models_trained"] > 0
            assert s.scalar(select(TrainingRun.run_type).order_by(TrainingRun.id.desc()).limit(1)) == "season"
        cfg.output.unlink()  # no previous output: every race is recomputed, each fit comes from the cache
        again = run_season(cfg)
        assert again["races_processed"] == ROUNDS and again["models_trained"] == 0
        assert again["models_loaded"] == first["models_trained"]
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(FitCacheEntry)) == cached
    finally:
        engine.dispose()
