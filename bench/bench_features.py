"""Speed of the football feature set over every match in the football-data copy (61,770 matches).

Parsing the 170 CSV files is timed once and reported separately; the feature build (all 42
columns), the Elo pass alone and the latest-state lookup are timed ``--repeat`` times and reported
by their median. Target: the full build in under 5 s.

    python bench/bench_features.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import format_table, median, time_calls  # noqa: E402
from formguide.football.features import football_feature_set, latest_team_state  # noqa: E402
from formguide.football.parse import attach_wide_odds, iter_csv_files, parse_file  # noqa: E402
from formguide.football.ratings import elo_ratings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BUILD_LIMIT_S = 5.0


def data_dir() -> Path:
    return Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data")) / "football_data"


def load_all(folder: Path) -> pd.DataFrame:
    """Every CSV in ``folder`` as one canonical frame with wide odds, sorted by kick-off."""
    parts = []
    for path in iter_csv_files(folder):
        parsed = parse_file(path)
        parts.append(attach_wide_odds(parsed.matches, parsed.odds))
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values("kickoff", kind="stable").reset_index(drop=True)


def run(repeat: int = 3) -> list[dict[str, Any]]:
    folder = data_dir()
    if not folder.is_dir():
        raise SystemExit(f"football data not found at {folder} (set FORMGUIDE_DATA)")
    t0 = time.perf_counter()
    frame = load_all(folder)
    parse_s = time.perf_counter() - t0
    n = len(frame)
    fs = football_feature_set()
    as_of = frame["kickoff"].max() + pd.Timedelta(days=1)

    build_times, features = time_calls(lambda: fs.build(frame), repeat)
    elo_times, _ = time_calls(lambda: elo_ratings(frame), repeat)
    state_times, state = time_calls(lambda: latest_team_state(frame, as_of), repeat)
    per_definition = []
    for d in fs.definitions:
        times, _ = time_calls(lambda d=d: d.compute(frame), repeat)
        per_definition.append(
            {"step": f"  {d.name}", "matches": n, "median_s": median(times), "repeat": repeat}
        )

    build_s = median(build_times)
    rows: list[dict[str, Any]] = [
        {"step": "parse 170 files + wide odds", "matches": n, "median_s": parse_s, "repeat": 1},
        {"step": f"build {fs.version} ({len(features.columns)} cols)", "matches": n, "median_s": build_s,
         "repeat": repeat},
        *per_definition,
        {"step": "elo_ratings alone", "matches": n, "median_s": median(elo_times), "repeat": repeat},
        {"step": f"latest_team_state ({len(state)} teams)", "matches": n, "median_s": median(state_times),
         "repeat": repeat},
    ]
    for r in rows:
        r["target_s"] = BUILD_LIMIT_S if r["step"].startswith("build") else ""
        r["ok"] = (r["median_s"] < BUILD_LIMIT_S) if r["step"].startswith("build") else ""
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(format_table(run(args.repeat)))


if __name__ == "__main__":
    main()
