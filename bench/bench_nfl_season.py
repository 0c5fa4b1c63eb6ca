"""Speed of the NFL season Monte Carlo on the real 2024 schedule (target from the NFL issue: 20,000 < 1 s).

Rows:

* ``full_season``: every one of the 272 regular-season games of 2024 drawn, 20,000 seasons, standings
  ranked with the tie-breakers (divisions, seeds 1-7);
* ``from_week_10``: the same with the real results of weeks 1-9 kept (fewer draws, as many tie-breaks).

Each game's P(home win) is its de-vigged closing moneyline (home/away prices of games.csv; 0.5 where a
price is missing) and P(tie) the share of ties in the regular seasons 1999-2023, scaled out of both sides.
Median and min wall-clock seconds over ``repeat`` calls, and the median CPU seconds of the process (the
wall clock also counts waiting for a busy machine's cores).

    python bench/bench_nfl_season.py --repeat 7
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import format_table, median  # noqa: E402
from formguide.core.markets import american_to_decimal  # noqa: E402
from formguide.nfl.season_sim import UNPLAYED, NFLSchedule, simulate_season  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEASON = 2024
N = 20_000


def games_csv() -> Path:
    path = Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data")) / "nfl_games" / "games.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (set FORMGUIDE_DATA to the folder holding nfl_games/)")
    return path


def schedules() -> dict[str, NFLSchedule]:
    """The 2024 schedule with market probabilities: all games open, and open from week 10."""
    games = pd.read_csv(games_csv())
    reg = games[games["game_type"] == "REG"]
    past = reg[reg["season"] < SEASON]
    p_tie = float((past["home_score"] == past["away_score"]).mean())
    season = reg[reg["season"] == SEASON].reset_index(drop=True)
    inv = [1.0 / np.asarray(american_to_decimal(season[c].to_numpy(dtype=np.float64)), dtype=np.float64)
           for c in ("home_moneyline", "away_moneyline")]
    p_home = np.nan_to_num(inv[0] / (inv[0] + inv[1]), nan=0.5) * (1.0 - p_tie)
    full = NFLSchedule.from_frame(season, SEASON)
    out = {}
    for name, first_open_week in (("full_season", 1), ("from_week_10", 10)):
        result = np.where(season["week"].to_numpy() < first_open_week, full.result, UNPLAYED).astype(np.int8)
        out[name] = NFLSchedule(SEASON, full.home, full.away, result, p_home, np.full(len(season), p_tie))
    return out


def run(repeat: int = 7) -> list[dict[str, Any]]:
    rows = []
    for name, schedule in schedules().items():
        simulate_season(schedule, n=2_000, seed=0)  # warm-up: imports, thread pools
        wall, cpu = [], []
        for k in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            sim = simulate_season(schedule, n=N, seed=k)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        rows.append({"case": name, "games_drawn": int((~schedule.played).sum()), "seasons": N,
                     "median_s": median(wall), "min_s": min(wall), "median_cpu_s": median(cpu),
                     "target_s": 1.0, "p_playoffs_sum": float(sim.p_playoffs.sum())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(format_table(run(args.repeat)))


if __name__ == "__main__":
    main()
