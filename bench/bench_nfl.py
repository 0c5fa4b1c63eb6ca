"""NFL skill and speed: walk-forward backtests of the three bet types through the application layer.

Skill: every game from 2009-08-01 to the last result (2024 season and its playoffs) predicted week by week by a
model refitted on games of earlier weeks only, with and without the market features (closing spread, total
and moneyline), next to the de-vigged closing price on the same games (paired Brier difference model - market
with its 95 % bootstrap interval) and, for the moneyline, the baselines (538-style Elo, nfelo's blend, home
rate, coin). Spread and total add the record of the model's picks: hit rate with its Wilson 95 % interval
against break-even at the real closing prices (-110 where missing) and the ROI with its interval; an edge is
claimed only where the whole hit-rate interval is above break-even. The data has closing lines only (no
opening lines, no line movement), so the model and the betting use closing prices only.

Speed: the full walk-forward from 1999-09-01 (the earliest date) of each bet type, weekly refits, the default
framework, timed in-process around ``formguide.app.backtest`` (process start-up and imports not counted: the
skill runs come first in the same process), median of ``--repeat`` calls, per bet type and summed. The
model's stage-1 walk-forward always starts at the beginning of the history (its outcome distribution is fitted
on earlier out-of-sample forecasts), so a skill run from 2009 costs about as much as the full one.
Frameworks: the moneyline skill and seconds with lightgbm and xgboost.

Usage: ``python bench/bench_nfl.py [--repeat 3] [--parts skill,speed,frameworks]``. Ingests the three NFL
folders under ``$FORMGUIDE_DATA`` (default ``<repo>/../shared/data``) into a temporary store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import format_table, median  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data"))
FOLDERS = ("nfl_games", "nfl_team_stats", "nfl_injuries")
BET_TYPES = ("moneyline", "spread", "total")
SKILL_FROM = date(2009, 8, 1)
SPEED_FROM = date(1999, 9, 1)
#: The issue's moneyline targets: Brier with / without market features, and the model's ECE.
BRIER_TARGET = {True: 0.2100, False: 0.2150}
ECE_TARGET = 0.02
SPEED_TARGET_S = 60.0
BASELINES = ("elo", "nfelo_blend", "home_rate", "coin")


def _interval(block: dict[str, Any] | None, key: str = "mean", lo: str = "lo", hi: str = "hi") -> str:
    """A value with its 95 % interval as one cell, e.g. ``+0.00037 [-0.00054, +0.00134]``."""
    if not block:
        return ""
    return f"{block[key]:+.5f} [{block[lo]:+.5f}, {block[hi]:+.5f}]"


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _log(what: str, wall: float, *rows: dict[str, Any]) -> None:
    """Progress on stderr, with each finished row, so a long run that is stopped still leaves its numbers."""
    print(f"[bench_nfl] {what}: {wall:.1f} s, load {_loadavg()}", file=sys.stderr, flush=True)
    for row in rows:
        print(f"[bench_nfl]   {json.dumps(row, default=str)}", file=sys.stderr, flush=True)


class Bench:
    """One temporary store with the NFL data, and the backtests run against it."""

    def __init__(self, folder: Path) -> None:
        from formguide.app import Context, IngestRequest, ingest
        from formguide.core.settings import load_settings

        missing = [str(DATA / f) for f in FOLDERS if not (DATA / f).is_dir()]
        if missing:
            raise SystemExit(f"bench_nfl: data folder not found: {', '.join(missing)} (set FORMGUIDE_DATA)")
        self.plots = folder / "plots"
        self.ctx = Context(load_settings(home=folder, db_url=f"sqlite:///{folder}/bench.sqlite",
                                         artifacts_dir=folder / "artifacts"))
        result = ingest(self.ctx, IngestRequest(sport="nfl", paths=[DATA / f for f in FOLDERS]))
        if result.files_rejected:
            raise SystemExit(f"bench_nfl: ingest rejected files: {result.messages}")

    def backtest(self, bet_type: str, date_from: date, **options: Any) -> tuple[dict[str, Any], float, float]:
        """The report, the wall and the CPU seconds of one ``app.backtest`` call (weekly refits: the default)."""
        from formguide.app import BacktestRequest, backtest

        request = BacktestRequest(sport="nfl", bet_type=bet_type, date_from=date_from, options=options,
                                  plots=self.plots)
        t0, c0 = time.perf_counter(), time.process_time()
        result = backtest(self.ctx, request)
        return result.report, time.perf_counter() - t0, time.process_time() - c0


def _skill_row(bet_type: str, market: bool, report: dict[str, Any], wall: float) -> dict[str, Any]:
    m, mk = report["model"], report.get("market") or {}
    same = mk.get("model_on_same_events") or {}
    row: dict[str, Any] = {"bet_type": bet_type, "market_features": "yes" if market else "no", "n": m["n"],
                           "brier": m["brier"], "log_loss": m["log_loss"], "accuracy": m["accuracy"],
                           "ece": m["ece"], "market_n": mk.get("n"), "model_brier_same": same.get("brier"),
                           "market_brier": mk.get("brier"), "market_log_loss": mk.get("log_loss"),
                           "model_minus_market": _interval(report.get("vs_market")), "seconds": wall}
    if bet_type == "moneyline":
        target = BRIER_TARGET[market]
        row["targets"] = (f"brier<={target:.4f}:{_mark(m['brier'] <= target)} "
                          f"ece<{ECE_TARGET}:{_mark(m['ece'] < ECE_TARGET)}")
    else:
        row["targets"] = "(no threshold; see picks)"
    return row


def _baseline_rows(market: bool, report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in BASELINES:
        b = report["baselines"].get(name)
        if b is None:
            continue
        rows.append({"market_features": "yes" if market else "no", "baseline": name, "n": b["n"],
                     "brier": b["brier"], "log_loss": b["log_loss"], "accuracy": b["accuracy"], "ece": b["ece"],
                     "model_minus_baseline": _interval(b.get("vs_model"))})
    return rows


def _pick_row(bet_type: str, market: bool, report: dict[str, Any]) -> dict[str, Any]:
    p = report["picks"]
    wilson_above = p["hit_rate_lo"] > p["break_even"]
    return {"bet_type": bet_type, "market_features": "yes" if market else "no", "decided": p["decided"],
            "pushes": p["pushes"], "hit_rate": p["hit_rate"],
            "wilson_95": f"[{p['hit_rate_lo']:.4f}, {p['hit_rate_hi']:.4f}]", "break_even": p["break_even"],
            "roi": _interval(p, "roi", "roi_lo", "roi_hi"), "edge_claimed": "yes" if p["edge_claimed"] else "no",
            "rule_check": _mark(p["edge_claimed"] == wilson_above)}


def skill(bench: Bench, date_from: date = SKILL_FROM, bet_types: Sequence[str] = BET_TYPES
          ) -> dict[str, list[dict[str, Any]]]:
    """Each bet type with and without market features over ``date_from``..the last result (sklearn)."""
    tables: dict[str, list[dict[str, Any]]] = {"skill": [], "baselines": [], "picks": []}
    for bet_type in bet_types:
        for market in (True, False):
            report, wall, _ = bench.backtest(bet_type, date_from, market_features=market)
            tables["skill"].append(_skill_row(bet_type, market, report, wall))
            tables["picks"].append(_pick_row(bet_type, market, report))
            if bet_type == "moneyline":
                tables["baselines"] += _baseline_rows(market, report)
            _log(f"skill {bet_type} market={market}", wall, tables["skill"][-1], tables["picks"][-1],
                 *tables["baselines"][-len(BASELINES):] if bet_type == "moneyline" else [])
    return tables


def speed(bench: Bench, repeat: int, date_from: date = SPEED_FROM) -> tuple[list[dict[str, Any]], list[str]]:
    """Wall seconds of the full walk-forward of every bet type (median of ``repeat``) and their sum; the load
    averages before and after each round."""
    walls: dict[str, list[float]] = {b: [] for b in BET_TYPES}
    cpus: dict[str, list[float]] = {b: [] for b in BET_TYPES}
    inner: dict[str, list[float]] = {b: [] for b in BET_TYPES}
    n: dict[str, int] = {}
    loads = [_loadavg()]
    for _ in range(repeat):  # rounds of the three, so changing load hits each alike
        for bet_type in BET_TYPES:
            report, wall, cpu = bench.backtest(bet_type, date_from)
            walls[bet_type].append(wall)
            cpus[bet_type].append(cpu)
            inner[bet_type].append(report["seconds"])
            n[bet_type] = report["model"]["n"]
            _log(f"speed {bet_type}", wall, {"cpu_s": cpu, "walk_forward_s": report["seconds"]})
        loads.append(_loadavg())
    rows = [{"case": f"{b} {date_from}..end", "games": n[b], "repeats": repeat, "median_s": median(walls[b]),
             "min_s": min(walls[b]), "median_cpu_s": median(cpus[b]), "walk_forward_s": median(inner[b]),
             "target": ""} for b in BET_TYPES]
    total = sum(r["median_s"] for r in rows)
    rows.append({"case": "all three bet types", "games": sum(n.values()), "repeats": repeat, "median_s": total,
                 "min_s": sum(r["min_s"] for r in rows), "median_cpu_s": sum(r["median_cpu_s"] for r in rows),
                 "walk_forward_s": sum(r["walk_forward_s"] for r in rows),
                 "target": f"< {SPEED_TARGET_S:.0f} s: {_mark(total < SPEED_TARGET_S)}"})
    return rows, loads


def frameworks(bench: Bench, sklearn_row: dict[str, Any] | None,
               names: Sequence[str] = ("lightgbm", "xgboost"), date_from: date = SKILL_FROM) -> list[dict[str, Any]]:
    """Moneyline with market features per regression framework (the sklearn row is the skill table's)."""
    keys = ("n", "brier", "log_loss", "accuracy", "ece", "market_brier", "model_minus_market", "seconds")
    rows = []
    if sklearn_row is not None:
        rows.append({"framework": "sklearn (default)", **{k: sklearn_row[k] for k in keys}})
    for name in names:
        report, wall, _ = bench.backtest("moneyline", date_from, framework=name)
        row = _skill_row("moneyline", True, report, wall)
        rows.append({"framework": name, **{k: row[k] for k in keys}})
        _log(f"framework {name}", wall, rows[-1])
    return rows


def run(repeat: int = 3, parts: Sequence[str] = ("skill", "speed", "frameworks"),
        bet_types: Sequence[str] = BET_TYPES) -> tuple[list[dict], ...]:
    """Skill rows first, then the baselines, picks, speed and framework tables (those asked for; the skill
    table of ``bet_types``)."""
    unknown = set(parts) - {"skill", "speed", "frameworks"}
    if unknown:
        raise SystemExit(f"bench_nfl: unknown --parts {', '.join(sorted(unknown))} (skill, speed, frameworks)")
    if set(bet_types) - set(BET_TYPES):
        raise SystemExit(f"bench_nfl: --bet-types must be among {', '.join(BET_TYPES)}, got {', '.join(bet_types)}")
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        try:
            tables = skill(bench, bet_types=bet_types) if "skill" in parts else {"skill": [], "baselines": [], "picks": []}
            speed_rows, loads = speed(bench, repeat) if "speed" in parts else ([], [])
            ml = next((r for r in tables["skill"] if r["bet_type"] == "moneyline" and r["market_features"] == "yes"),
                      None)
            framework_rows = frameworks(bench, ml) if "frameworks" in parts else []
        finally:
            bench.ctx.close()
    machine = [{"cores": os.cpu_count(), "load_average_speed_rounds": " | ".join(loads) or "n/a",
                "load_average_at_end": _loadavg()}]
    return tables["skill"], tables["baselines"], tables["picks"], speed_rows, framework_rows, machine


def _names(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats of the speed runs (median; default 3)")
    parser.add_argument("--parts", default="skill,speed,frameworks", help="comma-separated: skill,speed,frameworks")
    parser.add_argument("--bet-types", default=",".join(BET_TYPES), help="bet types of the skill part")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    print(f"load average at start: {_loadavg()} ({os.cpu_count()} cores)")
    titles = ["Skill, walk-forward by week 2009-08-01..end (sklearn)",
              "Moneyline baselines on the same games (model - baseline Brier, 95 % bootstrap)",
              "Picks: the likelier side of every game at the closing price (-110 where missing)",
              "Speed: full walk-forward from 1999-09-01, weekly refits, sklearn, in-process (app.backtest)",
              "Frameworks: moneyline with market features, 2009-08-01..end", "Machine"]
    tables = run(args.repeat, _names(args.parts), _names(args.bet_types))
    for title, table in zip(titles, tables, strict=True):
        if table:
            print(f"\n{title}")
            print(format_table(table))


if __name__ == "__main__":
    main()
