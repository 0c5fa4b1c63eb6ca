"""Speed of the Monte Carlo season simulation on a real Premier League season.

Data: football-data.co.uk E0 2022/23 and 2023/24. Score matrices come from formguide's Dixon-Coles model
(decay xi = 0.0018 per day, promoted sides rated average minus 0.2 in log-rate, max 10 goals):

* ``full``: fitted on 2022/23, simulating all 380 fixtures of 2023/24 from scratch;
* ``half``: fitted on 2022/23 plus the first 190 matches of 2023/24 (by date), simulating the other 190
  from the real table after those 190.
* ``rules``: 2024/25 from 2025-03-01 (fitted on 2023/24 and 2024/25 before that day) ranked by the Premier
  League's rules (``rules.rules_for``: goal difference, goals, head-to-head, every place class).

Only ``simulate_season`` is timed (model fit and score matrices are built once beforehand). Columns: median
and min seconds over ``repeat`` calls, and a sanity check: the title favourite, its title probability and
the team that actually won the league.

    python bench/bench_simulate.py --repeat 7 --n 20000
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import format_table, median, time_calls  # noqa: E402
from formguide.football.models.dixon_coles import DixonColesModel  # noqa: E402
from formguide.football.rules import rules_for  # noqa: E402
from formguide.football.simulate import simulate_season  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DIVISION = "E0"
TRAIN_SEASON = "2223"
SIM_SEASON = "2324"
RULES_SEASON, RULES_FROM = "2425", "2025-03-01"


def data_dir() -> Path:
    return Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data")) / "football_data"


def load_season(season: str, division: str = DIVISION, root: Path | None = None) -> pd.DataFrame:
    """Played matches of one season as home_team, away_team, home_goals, away_goals, kickoff (sorted)."""
    path = (data_dir() if root is None else root) / f"{division}_{season}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (set FORMGUIDE_DATA to the folder holding football_data/)")
    df = pd.read_csv(path, encoding="utf-8-sig", usecols=["Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG"])
    df = df.dropna(subset=["HomeTeam"])
    out = pd.DataFrame(
        {
            "home_team": df["HomeTeam"].astype(str),
            "away_team": df["AwayTeam"].astype(str),
            "home_goals": df["FTHG"].astype(np.float64),
            "away_goals": df["FTAG"].astype(np.float64),
            "kickoff": pd.to_datetime(df["Date"], dayfirst=True, format="mixed"),
        }
    )
    return out.sort_values("kickoff", kind="stable").reset_index(drop=True)


def _model() -> DixonColesModel:
    return DixonColesModel(xi=0.0018, unknown="average", promoted_penalty=0.2, max_goals=10)


def _champion(season: pd.DataFrame) -> str:
    """Winner of a complete season on points, goal difference, goals (ties on all three are not expected)."""
    sim = simulate_season(season, season.iloc[:0], np.zeros((0, 1, 1)), n=1, seed=0)
    return sim.to_frame()["team"].iloc[0]


def scenarios() -> list[tuple[str, pd.DataFrame, pd.DataFrame, np.ndarray]]:
    """(name, played, fixtures, score_probs) for the full-season and half-season cases."""
    train = load_season(TRAIN_SEASON)
    season = load_season(SIM_SEASON)
    out = []
    full_model = _model().fit_frame(train)
    fixtures = season[["home_team", "away_team"]]
    out.append(
        (
            "full",
            season.iloc[:0],
            fixtures,
            full_model.score_matrix(fixtures["home_team"], fixtures["away_team"]),
        )
    )
    half = len(season) // 2
    played, rest = season.iloc[:half], season.iloc[half:][["home_team", "away_team"]]
    half_model = _model().fit_frame(pd.concat([train, played], ignore_index=True))
    out.append(("half", played, rest, half_model.score_matrix(rest["home_team"], rest["away_team"])))
    late = load_season(RULES_SEASON)
    before = late["kickoff"] < pd.Timestamp(RULES_FROM)
    played, rest = late[before], late[~before][["home_team", "away_team", "kickoff"]]
    late_model = _model().fit_frame(pd.concat([season, played], ignore_index=True))
    out.append(("rules", played, rest, late_model.score_matrix(rest["home_team"], rest["away_team"])))
    return out


def run(n: int = 20000, repeat: int = 7, seed: int = 0) -> list[dict[str, Any]]:
    """Time ``simulate_season`` on both scenarios; one result row per scenario."""
    champion = _champion(load_season(SIM_SEASON))
    rows = []
    for name, played, fixtures, probs in scenarios():
        rules = rules_for(DIVISION, RULES_SEASON) if name == "rules" else None
        simulate_season(played, fixtures, probs, n=n, seed=seed, rules=rules)  # warm-up
        seconds, sim = time_calls(
            lambda p=played, f=fixtures, s=probs, r=rules: simulate_season(p, f, s, n=n, seed=seed, rules=r), repeat
        )
        table = sim.to_frame()
        rows.append(
            {
                "scenario": name,
                "played": len(played),
                "fixtures": len(fixtures),
                "teams": len(sim.teams),
                "n": n,
                "repeat": repeat,
                "median_s": median(seconds),
                "min_s": float(min(seconds)),
                "favourite": table["team"].iloc[0],
                "p_title": float(table["title"].iloc[0]),
                "champion": champion if name != "rules" else _champion(load_season(RULES_SEASON)),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="simulated seasons per call")
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per scenario")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(format_table(run(n=args.n, repeat=args.repeat, seed=args.seed)))


if __name__ == "__main__":
    main()
