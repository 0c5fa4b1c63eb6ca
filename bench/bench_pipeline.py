"""End-to-end benchmarks through the real CLI: backtest speed, peak memory and skill (ingest: bench_ingest).

Each command runs in its own process so its peak resident memory can be read; the store is a fresh
SQLite file in a temporary folder. Usage: ``python bench/bench_pipeline.py [--leagues E0,SP1,D1,I1,F1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import format_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data"))
CLI = [sys.executable, "-m", "formguide.cli"]


#: (label, --model, extra options): the default Dixon-Coles, the same fitted on goals alone, the blend.
SKILL_MODELS = [
    ("dixon-coles", "dixon-coles", []),
    ("dixon-coles goals only", "dixon-coles", ["--shots-weight", "0", "--red-card-weight", "1"]),
    ("blend", "blend", []),
]


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the child, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(CLI + args, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024.0, proc.stdout


def run(leagues: list[str] | None = None, skill_from: str = "2012-08-01") -> list[dict]:
    leagues = leagues or ["E0", "SP1", "D1", "I1", "F1"]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FORMGUIDE_DB_URL=f"sqlite:///{tmp}/bench.sqlite", FORMGUIDE_HOME=tmp, MPLBACKEND="Agg")
        _run(["ingest", "football", str(DATA / "football_data"), "--json", "-"], env)  # timed in bench_ingest.py
        out = Path(tmp) / "bt.json"
        wall, peak, _ = _run(["backtest", "--league", "E0", "--model", "dixon-coles", "--refit", "week",
                              "--json", str(out), "--plots", tmp], env)
        rows.append({"benchmark": "backtest E0 2006/07-2024/25, Dixon-Coles, weekly refits", "seconds": wall,
                     "peak_MB": peak, "target": "< 60 s"})
        rows += _serving(env)
        skill: list[dict] = []
        for league in leagues:
            for label, model, extra in SKILL_MODELS:
                out = Path(tmp) / f"{league}-{label}.json"
                wall, peak, _ = _run(["backtest", "--league", league, "--model", model, "--from", skill_from,
                                      "--refit", "week", "--json", str(out), "--plots", tmp, *extra], env)
                r = json.loads(out.read_text())
                m, mk = r["model"], r["market"] or {}
                same = mk.get("model_on_same_events") or {}
                skill.append({"league": league, "model": label, "n": same.get("n"), "rps": same.get("rps"),
                              "market_rps": mk.get("rps"), "rps_gap": (same.get("rps") or 0) - (mk.get("rps") or 0),
                              "log_loss": same.get("log_loss"), "market_log_loss": mk.get("log_loss"),
                              "ece": m.get("ece"), "elo_rps": r["baselines"]["elo"]["rps"],
                              "base_rates_rps": r["baselines"]["base_rates"]["rps"],
                              "flat_roi": r["betting"]["flat"]["roi"], "seconds": wall, "peak_MB": peak})
        rows.append({"benchmark": "skill table", "seconds": None, "peak_MB": None, "target": "see below",
                     "skill": skill})
    return rows


def _serving(env: dict[str, str]) -> list[dict]:
    """The demo's store (every football file ingested, E0 Dixon-Coles then blend champion): how long predicting a
    past day and simulating the rest of a season take, the first time (the champion is refitted as of the day,
    with its nested walk-forward; the refit is kept in the fit cache) and again (the served result is kept for
    the same request on the same data and champion)."""
    rows = []
    for model in ("dixon-coles", "blend"):
        wall, peak, _ = _run(["train", "--league", "E0", "--model", model], env)
        rows.append({"benchmark": f"train E0 {model} (CLI)", "seconds": wall, "peak_MB": peak, "target": ""})
    commands = {"predict --league E0 --date 2025-05-18": ["predict", "--league", "E0", "--date", "2025-05-18"],
                "simulate --league E0 --season 2425 --from 2025-03-01": [
                    "simulate", "--league", "E0", "--season", "2425", "--from", "2025-03-01", "--simulations",
                    "20000", "--seed", "7"]}
    for label, args in commands.items():
        for attempt in ("first call (refit as of the day)", "again (kept result)"):
            wall, peak, _ = _run(args, env)
            rows.append({"benchmark": f"{label}, {attempt}", "seconds": wall, "peak_MB": peak,
                         "target": "< 3 s" if attempt.startswith("again") else ""})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--leagues", default="E0,SP1,D1,I1,F1")
    args = ap.parse_args()
    rows = run(args.leagues.split(","))
    skill = rows[-1].pop("skill")
    print(format_table(rows[:-1], ["benchmark", "seconds", "peak_MB", "target"]))
    print()
    print(format_table(skill))


if __name__ == "__main__":
    main()
