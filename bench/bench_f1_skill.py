"""F1 skill: walk-forward race by race over 2014-2024, the Plackett-Luce model against three baselines.

For each prediction moment (post-qualifying, pre-qualifying) every race from 2014 on is predicted by a
model fitted only on races run before its day (features use the whole history before that day, back to
1950), refitted every ``--refit`` races; the temperature of the win probabilities is fitted on
out-of-sample utilities of earlier races only. The baselines are refitted before every race. Rows report
2014-2024 and the 2022-2024 part of the same forecasts.

Usage: ``python bench/bench_f1_skill.py [--refit 1] [--moments post-quali,pre-quali]``. Reads the Ergast
folder under ``$FORMGUIDE_DATA`` (default ``<repo>/../shared/data``); no store needed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import format_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data"))
TARGETS = {  # (moment, metric) -> (comparison, threshold), checked on 2014-2024
    ("post-quali", "win_log_loss"): ("<=", 1.35),
    ("post-quali", "top1_accuracy"): (">=", 0.58),
    ("post-quali", "win_ece"): ("<", 0.02),
    ("pre-quali", "top1_accuracy"): (">=", 0.50),
    ("pre-quali", "win_ece"): ("<", 0.02),
}
COLUMNS = ["moment", "window", "forecast", "races", "win_log_loss", "top1_accuracy", "expected_top1_accuracy",
           "podium_brier", "win_ece", "targets"]


def _targets(moment: str, metrics: dict) -> str:
    out = []
    for (m, key), (op, value) in TARGETS.items():
        if m != moment:
            continue
        x = metrics[key]
        ok = x <= value if op == "<=" else x >= value if op == ">=" else x < value
        out.append(f"{key}{op}{value}:{'met' if ok else 'MISSED'}")
    return " ".join(out)


def run(refit_every: int = 1, moments: tuple[str, ...] = ("post-quali", "pre-quali"),
        date_from: str = "2014-01-01", date_to: str = "2024-12-31", recent_from: int = 2022) -> list[dict]:
    """One row per (moment, window, forecast) with the four field metrics; the model rows of 2014-2024 say
    which targets were met."""
    from formguide.f1.ergast import load_ergast_entries
    from formguide.f1.evaluate import field_metrics, run_backtest

    frame = load_ergast_entries(DATA / "f1_ergast")
    rows: list[dict] = []
    for moment in moments:
        t0 = time.perf_counter()
        bt = run_backtest(frame, moment=moment, date_from=date_from, date_to=date_to, refit_every=refit_every,
                          n_sims=10000, by_season=False)
        seconds = time.perf_counter() - t0
        scored = bt.frame.loc[bt.mask]
        pos = scored["position"].to_numpy(dtype=np.float64)
        race = scored["race_id"].to_numpy()
        recent = scored["season"].to_numpy() >= recent_from
        for name in ["model", *bt.report["baselines"]]:
            p_win = bt.probs[f"{name}_p_win"].to_numpy()
            p_pod = bt.probs[f"{name}_p_podium"].to_numpy()
            label = f"model ({bt.report['model']['type']}, refit {refit_every}, {seconds:.0f} s)" if name == "model" \
                else f"baseline: {name}"
            for window, m in ((f"{date_from[:4]}-{date_to[:4]}", np.ones_like(recent)),
                              (f"{recent_from}-{date_to[:4]}", recent)):
                metrics = field_metrics(p_win[m], p_pod[m], pos[m], race[m])
                rows.append({"moment": moment, "window": window, "forecast": label, **metrics,
                             "targets": _targets(moment, metrics) if name == "model" and m.all() else ""})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refit", type=int, default=1, help="refit the model every N races (default 1)")
    parser.add_argument("--moments", default="post-quali,pre-quali")
    args = parser.parse_args()
    rows = run(refit_every=args.refit, moments=tuple(m.strip() for m in args.moments.split(",")))
    print(format_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
