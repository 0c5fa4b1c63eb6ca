"""Speed of the F1 simulation and of the self-updating season pipeline, on the real Ergast data.

Rows (targets from the F1 issue in brackets):

* ``sample_orders``: 5,000 Plackett–Luce orders of a 20-driver field, retirements included [< 10 ms];
* ``simulate_race``: one race, 5,000 simulations, with positions, points and their distributions;
* ``season_sims``: the 24 races of 2024 x 3 scenarios x 5,000 simulations (real entry lists, strengths from
  the grid, scenario effects estimated on 2014-2023) [< 1 s];
* ``pipeline_empty_store``: ``formguide f1 season`` for 2024 from an empty SQLite store: import the Ergast
  folder, build features, fit the models, predict, simulate and write the JSON [< 60 s];
* ``pipeline_rerun``: the same command again, nothing changed (every race reused);
* ``watch_new_race``: the store holds 1950-2023 and 2024 up to round 17, the 2024 calendar is known; the
  results of round 18 land as a race folder while ``watch_season`` runs; the time from the end of the
  debounce to the JSON holding the result [< 5 s].

Median (and min) over ``repeat`` calls for the first three. The store and outputs live in a temporary
folder; nothing is written to the data folder.

    python bench/bench_f1_sim.py --repeat 15
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import format_table, median, time_calls  # noqa: E402
from formguide.core.field import sample_orders  # noqa: E402
from formguide.f1.points import points_system  # noqa: E402
from formguide.f1.simulate import estimate_scenario_effects, grid_slot, simulate_race  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEASON = 2024
LANDING_ROUND = 18
SCENARIOS = ("dry", "wet", "safety_car")


def data_dir() -> Path:
    return Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data")) / "f1_ergast"


def _entries() -> pd.DataFrame:
    from formguide.f1.ergast import load_ergast_entries

    folder = data_dir()
    if not (folder / "results.csv").is_file():
        raise FileNotFoundError(f"{folder} not found (set FORMGUIDE_DATA to the folder holding f1_ergast/)")
    return load_ergast_entries(folder)


def _row(name: str, seconds: list[float], target_s: float | None, **extra: Any) -> dict[str, Any]:
    med = median(seconds)
    return {"bench": name, "median_s": med, "min_s": float(min(seconds)), "repeat": len(seconds),
            "target_s": target_s if target_s is not None else "", "ok": "" if target_s is None else med < target_s,
            **extra}


def bench_sampling(repeat: int, n: int = 5000) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    u = np.sort(rng.normal(0, 1, 20))[::-1]
    q = np.full(20, 0.12)
    sample_orders(u, n, rng, dnf_prob=q)
    s1, _ = time_calls(lambda: sample_orders(u, n, rng, dnf_prob=q), repeat)
    drivers = [f"d{i}" for i in range(20)]
    teams = [f"t{i // 2}" for i in range(20)]
    ps = points_system(SEASON)
    s2, sim = time_calls(lambda: simulate_race(drivers, teams, u, q, n, rng=rng, points=ps), repeat)
    return [_row("sample_orders", s1, 0.010, n=n, drivers=20),
            _row("simulate_race", s2, None, n=n, drivers=20, p_win_favourite=float(sim.win[0]))]


def bench_season_sims(frame: pd.DataFrame, repeat: int, n: int = 5000) -> dict[str, Any]:
    hist = frame[(frame["season"] >= SEASON - 10) & (frame["season"] < SEASON)]
    effects = estimate_scenario_effects(hist, SCENARIOS)
    season = frame[frame["season"] == SEASON]
    races = []
    for _, race in season.groupby("round", sort=True):
        races.append((race["driver"].tolist(), race["constructor"].tolist(),
                      -np.log(np.nan_to_num(grid_slot(race), nan=len(race)))))
    ps = points_system(SEASON)

    def one_season() -> int:
        count = 0
        for i, (drivers, teams, u) in enumerate(races):
            for j, scen in enumerate(SCENARIOS):
                simulate_race(drivers, teams, u, 0.1, n, scenario=scen, scenario_effects=effects, points=ps,
                              rng=np.random.default_rng([i, j]))
                count += 1
        return count

    one_season()
    seconds, count = time_calls(one_season, repeat)
    return _row("season_sims", seconds, 1.0, n=n, races=len(races), scenarios=len(SCENARIOS), simulations=count)


def bench_pipeline(tmp: Path) -> list[dict[str, Any]]:
    from formguide.f1.season import SeasonConfig, run_season

    cfg = SeasonConfig(data=data_dir(), output=tmp / "full" / "season.json", season=SEASON,
                       db=f"sqlite:///{tmp / 'full.sqlite'}")
    t0 = time.perf_counter()
    first = run_season(cfg)
    full = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = run_season(cfg)
    rerun = time.perf_counter() - t0
    return [_row("pipeline_empty_store", [full], 60.0, races=first["succeeded"], models=first["models_trained"],
                 size_mb=round(cfg.output.stat().st_size / 1e6, 2)),
            _row("pipeline_rerun", [rerun], None, races=again["races_reused"], recomputed=again["races_processed"])]


# --------------------------------------------------------------------------------- race folders for watch
def _q_time(ms: float) -> str:
    if not np.isfinite(ms):
        return ""
    m, rest = divmod(ms / 1000.0, 60.0)
    return f"{int(m)}:{rest:06.3f}"


def _num(v: float) -> str:
    return "" if not np.isfinite(v) else f"{v:g}"


def write_race_folder(root: Path, race: pd.DataFrame, run: bool) -> Path:
    """One race folder from entry-frame rows: results when ``run``, else the entry list only."""
    first = race.iloc[0]
    folder = root / f"{int(first['season'])}-{int(first['round']):02d}-{first['circuit'].replace('_', '-')}"
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"season": int(first["season"]), "round": int(first["round"]), "name": first["race_name"],
                            "circuit": first["circuit"], "date": pd.Timestamp(first["date"]).isoformat() + "Z",
                            "has_sprint": bool(first["has_sprint"])}
    who = [f"{d},{c},{k if isinstance(k, str) else ''}"
           for d, c, k in zip(race["driver"], race["constructor"], race["driver_code"], strict=True)]
    head = "driver,constructor,driver_code"
    if not run:
        (folder / "race.csv").write_text("\n".join([head] + who) + "\n")
        if first["has_sprint"]:
            (folder / "sprint.csv").write_text("\n".join([head] + who) + "\n")
        (folder / "race.json").write_text(json.dumps(meta))
        return folder
    meta |= {k: int(first[k]) for k in ("wet", "safety_car") if np.isfinite(first[k])}
    q = [f"{w},{_num(p)},{_q_time(ms)}" for w, p, ms in zip(who, race["quali_position"], race["quali_best_ms"],
                                                               strict=True) if np.isfinite(p)]
    (folder / "qualifying.csv").write_text("\n".join([head + ",position,q1"] + q) + "\n")
    r = [f"{w},{_num(g)},{_num(p)},{_num(pt)},{s},{_num(lp)}"
         for w, g, p, pt, s, lp in zip(who, race["grid"], race["position"], race["points"], race["status"],
                                       race["laps"], strict=True)]
    (folder / "race.csv").write_text("\n".join([head + ",grid,position,points,status,laps"] + r) + "\n")
    (folder / "race.json").write_text(json.dumps(meta))
    return folder


def bench_watch(frame: pd.DataFrame, tmp: Path, debounce_s: float = 1.0) -> dict[str, Any]:
    from formguide.core.store.db import open_store
    from formguide.f1.season import SeasonConfig, watch_season
    from formguide.f1.store_io import ingest_f1

    db = f"sqlite:///{tmp / 'watch.sqlite'}"
    engine = open_store(db)
    ingest_f1(engine, [data_dir()])  # 1950-2024; the 2024 rounds from LANDING_ROUND on are blanked below
    engine.dispose()
    data = tmp / "season2024"
    season = frame[frame["season"] == SEASON]
    for rnd, race in season.groupby("round", sort=True):
        write_race_folder(data, race, run=rnd < LANDING_ROUND)
    cfg = SeasonConfig(data=data, output=tmp / "watch" / "season.json", season=SEASON, db=db)
    stop = threading.Event()
    runs: list[tuple[float, dict | None, BaseException | None]] = []
    thread = threading.Thread(target=watch_season, args=(cfg, stop),
                              kwargs={"debounce_s": debounce_s,
                                      "on_run": lambda e, exc: runs.append((time.perf_counter(), e, exc))})
    thread.start()
    try:
        while not runs:
            time.sleep(0.05)
        if runs[0][2] is not None:
            raise RuntimeError(f"initial watch run failed: {runs[0][2]}")
        staging = tmp / "staging"
        folder = write_race_folder(staging, season[season["round"] == LANDING_ROUND], run=True)
        target = data / folder.name
        landed = time.perf_counter()
        for name in ("qualifying.csv", "race.csv", "race.json"):  # each file replaced atomically
            os.replace(folder / name, target / name)
        while len(runs) < 2:
            time.sleep(0.02)
        done, entry, exc = runs[1]
        if exc is not None:
            raise RuntimeError(f"watch run failed: {exc}")
        doc = json.loads(cfg.output.read_text())
        status = next(p["metadata"]["status"] for p in doc["predictions"] if p["metadata"]["round"] == LANDING_ROUND)
    finally:
        stop.set()
        thread.join()
    latency = done - landed - debounce_s
    return _row("watch_new_race", [latency], 5.0, debounce_s=debounce_s, recomputed=entry["races_processed"],
                models=entry["models_trained"], race_status=status, run_s=entry["duration_s"])


def run(repeat: int = 15, n: int = 5000, pipeline: bool = True) -> list[dict[str, Any]]:
    """Every benchmark row (see the module docstring)."""
    rows = bench_sampling(repeat, n)
    frame = _entries()
    rows.append(bench_season_sims(frame, max(3, repeat // 3), n))
    if pipeline:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_pipeline(Path(tmp))
            rows.append(bench_watch(frame, Path(tmp)))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed calls of the fast benchmarks")
    parser.add_argument("--n", type=int, default=5000, help="simulations per race")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the pipeline and watch benchmarks")
    args = parser.parse_args(argv)
    rows = run(repeat=args.repeat, n=args.n, pipeline=not args.no_pipeline)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    print(format_table(rows, columns))


if __name__ == "__main__":
    main()
