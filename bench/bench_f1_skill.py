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

import pandas as pd

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
           "podium_brier", "win_ece", "podium_ece", "points_ece", "targets"]


def _targets(moment: str, metrics: dict) -> str:
    out = []
    for (m, key), (op, value) in TARGETS.items():
        if m != moment:
            continue
        x = metrics[key]
        ok = x <= value if op == "<=" else x >= value if op == ">=" else x < value
        out.append(f"{key}{op}{value}:{'met' if ok else 'MISSED'}")
    return " ".join(out)


def _backtest(frame, moment: str, date_from: str, date_to: str, refit_every: int) -> tuple[dict, float]:
    from formguide.core.backtest import backtest
    from formguide.core.walkforward import Cadence
    from formguide.f1.sport import F1BacktestOptions, F1Sport

    sport = F1Sport()
    options = F1BacktestOptions(moment=moment)
    t0 = time.perf_counter()
    report = backtest(None, sport, "WC", model_type="plackett-luce", feature_options=sport.feature_options(options),
                      options=options, date_from=pd.Timestamp(date_from), date_to=pd.Timestamp(date_to),
                      cadence=Cadence(groups=refit_every), frame=frame)
    return report, time.perf_counter() - t0


def run(refit_every: int = 1, moments: tuple[str, ...] = ("post-quali", "pre-quali"),
        date_from: str = "2014-01-01", date_to: str = "2024-12-31", recent_from: int = 2022
        ) -> tuple[list[dict], list[dict]]:
    """One row per (moment, window, forecast) with the field metrics (the model rows of 2014-2024 say which
    targets were met), and the model's podium and points reliability tables per moment. Each window is its
    own walk-forward backtest through the core (forecasts of a race do not depend on where the window starts)."""
    from formguide.f1.ergast import load_ergast_entries

    frame = load_ergast_entries(DATA / "f1_ergast")
    rows: list[dict] = []
    reliability: list[dict] = []
    for moment in moments:
        for start in (date_from, f"{recent_from}-01-01"):
            report, seconds = _backtest(frame, moment, start, date_to, refit_every)
            window = f"{start[:4]}-{date_to[:4]}"
            full = start == date_from
            for name, metrics in [("model", report["model"]), *report["baselines"].items()]:
                label = f"model ({report['model']['type']}, refit {refit_every}, {seconds:.0f} s)" \
                    if name == "model" else f"baseline: {name}"
                scores = {k: v for k, v in metrics.items() if k not in ("type", "params", "refit")}
                rows.append({"moment": moment, "window": window, "forecast": label, **scores,
                             "targets": _targets(moment, metrics) if name == "model" and full else ""})
            if full:
                for kind in ("podium", "points"):
                    for b in report["reliability"][kind]:
                        reliability.append({"moment": moment, "probability": kind, "bin": f"{b['from']:.1f}-{b['to']:.1f}",
                                            "n": b["n"], "mean_forecast": b["mean_forecast"],
                                            "observed": b["observed"]})
    return rows, reliability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refit", type=int, default=1, help="refit the model every N races (default 1)")
    parser.add_argument("--moments", default="post-quali,pre-quali")
    args = parser.parse_args()
    rows, reliability = run(refit_every=args.refit, moments=tuple(m.strip() for m in args.moments.split(",")))
    print(format_table(rows, COLUMNS))
    print()
    print("Reliability of the model's podium and points probabilities (2014-2024, retirements included):")
    print(format_table(reliability))


if __name__ == "__main__":
    main()
