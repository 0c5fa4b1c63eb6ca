"""The ``formguide`` command line: ingest, download, train, models, backtest, predict, simulate.

Every command takes the store from ``--db URL`` or ``FORMGUIDE_DB_URL`` (default: the embedded SQLite
file ``var/formguide.sqlite``) and prints a table, or JSON with ``--json`` for scripts.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from formguide.core.errors import FormguideError

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
models_app = typer.Typer(help="The model registry: list, show, promote, export and import model versions.",
                         no_args_is_help=True)
runs_app = typer.Typer(help="Training run history (failures included).", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _add_f1_commands() -> None:
    from formguide.f1.cli import f1_app

    app.add_typer(f1_app, name="f1")


_add_f1_commands()
app.add_typer(runs_app, name="runs")
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

DbOpt = Annotated[str | None, typer.Option("--db", envvar="FORMGUIDE_DB_URL",
                                           help="SQLAlchemy database URL (default: sqlite:///var/formguide.sqlite).")]
SportOpt = Annotated[str, typer.Option("--sport", help="Sport plug-in (football).")]
LeagueOpt = Annotated[str | None, typer.Option("--league", help="Football competition code, e.g. E0, SP1, D1, I1, F1.")]
MomentOpt = Annotated[str, typer.Option("--moment", help="F1 prediction moment: pre-quali or post-quali.")]
XiOpt = Annotated[float | None, typer.Option(help="Dixon-Coles time decay per day.")]
ShotsWeightOpt = Annotated[float | None, typer.Option(
    help="Dixon-Coles: weight of the shots-on-target fit in the expected goals (0 = goals only; default 0.2).")]
RedCardWeightOpt = Annotated[float | None, typer.Option(
    help="Dixon-Coles: weight of matches with a sending-off (1 = like any other; default 0.5).")]


def _need_league(league: str | None, sport: str) -> str:
    if not league:
        raise FormguideError(f"--league is required for {sport} (e.g. --league E0)")
    return league


def _f1():
    from formguide.f1 import cli as f1_cli

    return f1_cli


def _engine(db: str | None):
    from formguide.core.store.db import open_store

    return open_store(db)


def _sport(name: str):
    from formguide.core.sport import get_sport

    return get_sport(name)


def _date(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormguideError(f"{what} must be a date like 2024-05-19, got {value!r}") from exc


def _progress(description: str) -> Progress:
    return Progress(TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def _write_json(data: Any, target: str | None) -> None:
    text = json.dumps(_jsonable(data), indent=2)
    if target in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text + "\n")
        err.print(f"wrote {target}")


# ---------------------------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    sport: Annotated[str, typer.Argument(help="Sport of the files (football).")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (folders: every *.csv inside).")],
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print counts as JSON.")] = False,
) -> None:
    """Import source files; each file is one transaction, a bad file is rejected whole and reported.

    football: football-data.co.uk CSVs. f1: an Ergast folder, FastF1 lap files, or race data folders.
    """
    if sport == "f1":
        data = _f1().ingest_command(paths, db, as_json)
        if data.get("files_rejected"):
            raise typer.Exit(1)
        return
    plugin = _sport(sport)
    engine = _engine(db)
    from formguide.football.parse import iter_csv_files

    try:
        total = len(iter_csv_files(paths))
    except FormguideError:  # a missing path: ingest rejects and records it, the others still go in
        total = len(paths)
    with _progress(f"ingest {sport}") as bar:
        task = bar.add_task("files", total=total)
        report = plugin.ingest(engine, paths, progress=lambda n: bar.advance(task, n))
    data = report.to_dict()
    if as_json:
        _write_json(data, None)
    else:
        table = Table(title=f"ingest {sport}")
        for col in ("file", "status", "inserted", "updated", "unchanged", "rejected", "new teams"):
            table.add_column(col)
        for f in report.files:
            table.add_row(Path(f.path).name, f.status, str(f.inserted), str(f.updated), str(f.unchanged),
                          str(f.rejected), str(len(f.new_teams)))
        if len(report.files) <= 40:
            console.print(table)
        console.print(f"matches: inserted {data['inserted']}, updated {data['updated']}, unchanged "
                      f"{data['unchanged']}, rejected {data['rejected']} ({data['files_rejected']} files rejected)")
        for f in report.files:
            if f.error:
                err.print(f"[red]rejected[/red] {f.error}")
    if data["files_rejected"]:
        raise typer.Exit(1)


# -------------------------------------------------------------------------------------------- download
@app.command()
def download(
    sport: Annotated[str, typer.Argument(help="football")],
    leagues: Annotated[str, typer.Option(help="Comma-separated league codes, e.g. E0,SP1.")],
    seasons: Annotated[str, typer.Option(help="Comma-separated season codes, e.g. 2324,2425.")],
    dest: Annotated[Path, typer.Option(help="Folder to write <LEAGUE>_<SEASON>.csv into.")] = Path("var/downloads"),
    base_url: Annotated[str, typer.Option("--base-url", help="Mirror of football-data.co.uk's mmz4281 tree.")] =
        "https://www.football-data.co.uk/mmz4281",
) -> None:
    """Fetch public football-data.co.uk files (for users with internet)."""
    if sport != "football":
        raise FormguideError(f"download supports football only, got {sport!r}")
    from formguide.football.download import download_football

    written = download_football([s.strip() for s in leagues.split(",") if s.strip()],
                                [s.strip() for s in seasons.split(",") if s.strip()], dest, base_url=base_url)
    for p in written:
        console.print(f"wrote {p}")


# ----------------------------------------------------------------------------------------------- train
def _model_params(model: str, blend: dict[str, Any], **dixon_coles: float | None) -> dict[str, Any]:
    """Estimator parameters from the command line: the Dixon-Coles options given (the estimator's defaults
    apply to the others) go to a Dixon-Coles/Poisson model, or to a blend's base model beside ``blend``."""
    dc = {name: float(v) for name, v in dixon_coles.items() if v is not None}
    if model == "blend":
        return {**blend, **({"base_params": dc} if dc else {})}
    return dc if model in ("dixon-coles", "poisson") else {}


@app.command()
def train(
    league: LeagueOpt = None,
    sport: SportOpt = "football",
    model: Annotated[str, typer.Option(help="dixon-coles | poisson | elo | blend")] = "dixon-coles",
    until: Annotated[str | None, typer.Option(help="Train as of this date (later results are hidden).")] = None,
    seasons: Annotated[str | None, typer.Option(help="Comma-separated seasons to use (default: all).")] = None,
    eval_seasons: Annotated[int, typer.Option(help="Most recent seasons used for walk-forward evaluation.")] = 2,
    metric: Annotated[str, typer.Option(help="Promotion metric: log_loss or rps.")] = "log_loss",
    stacker: Annotated[str, typer.Option(help="Blend stacker: logistic or lightgbm.")] = "logistic",
    calibration: Annotated[str, typer.Option(help="Blend calibration: isotonic, platt or none.")] = "isotonic",
    xi: XiOpt = None,
    shots_weight: ShotsWeightOpt = None,
    red_card_weight: RedCardWeightOpt = None,
    overround: Annotated[str, typer.Option(help="Overround removal: multiplicative, additive, power, shin.")] =
        "multiplicative",
    force: Annotated[bool, typer.Option(help="Retrain even when data and configuration are unchanged.")] = False,
    moment: MomentOpt = "post-quali",
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Validate, build features, evaluate walk-forward, fit, register and promote if better."""
    if sport == "f1":
        f1_model = "plackett-luce" if model == "dixon-coles" else model
        _f1().train_command(db, model=f1_model, moment=moment, until=until, force=force, as_json=as_json)
        return
    league = _need_league(league, sport)
    from formguide.core.pipeline import TrainConfig
    from formguide.core.pipeline import train as run_train

    if metric not in ("log_loss", "rps"):
        raise FormguideError(f"--metric must be log_loss or rps, got {metric!r}")
    plugin = _sport(sport)
    if model not in plugin.model_types:
        raise FormguideError(f"unknown model {model!r}; choose one of {', '.join(plugin.model_types)}")
    blend = {"stacker": stacker, "calibration": None if calibration == "none" else calibration,
             "market_method": overround}
    params = _model_params(model, blend, xi=xi, shots_weight=shots_weight, red_card_weight=red_card_weight)
    cfg = TrainConfig(competition=league, model_type=model, params=params, until=_date(until, "--until"),
                      seasons=[s.strip() for s in seasons.split(",")] if seasons else None,
                      eval_seasons=eval_seasons, promote_metric=metric,
                      feature_options={"overround_method": overround})
    engine = _engine(db)
    with _progress(f"train {league} {model}") as bar:
        task = bar.add_task("walk-forward", total=None)
        outcome = run_train(engine, plugin, cfg, force=force,
                            progress=lambda i, n: bar.update(task, completed=i, total=n))
    if as_json:
        _write_json({"status": outcome.status, "run_id": outcome.run_id, "model_id": outcome.model_id,
                     "version": outcome.version, "promoted": outcome.promoted, "message": outcome.message,
                     "metrics": outcome.metrics, "model_card": outcome.card_path}, None)
        return
    console.print(outcome.message)
    ev = (outcome.metrics or {}).get("evaluation")
    if ev:
        console.print(_metrics_table(f"walk-forward evaluation {ev['window']['from'][:10]} .. "
                                     f"{ev['window']['to'][:10]}", ev))
    if outcome.card_path:
        console.print(f"model card: {outcome.card_path}")


def _metrics_table(title: str, ev: dict[str, Any]) -> Table:
    table = Table(title=title)
    cols = ("n", "rps", "brier", "log_loss", "accuracy", "draw_accuracy", "ece")
    table.add_column("forecast")
    for c in cols:
        table.add_column(c, justify="right")
    rows: list[tuple[str, dict | None]] = [("model", ev.get("model"))]
    if ev.get("market"):
        rows.append(("model (events with closing odds)", ev["market"].get("model_on_same_events")))
        rows.append(("market (closing, de-margined)", ev["market"]))
    rows += [(f"baseline: {k}", v) for k, v in (ev.get("baselines") or {}).items()]
    for name, m in rows:
        if m:
            table.add_row(name, *[_fmt(m.get(c)) for c in cols])
    return table


# ---------------------------------------------------------------------------------------------- models
@models_app.command("list")
def models_list(db: DbOpt = None, sport: Annotated[str | None, typer.Option()] = None,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every registered model version, newest first."""
    from formguide.core import registry
    from formguide.core.store.db import session_scope

    with session_scope(_engine(db)) as s:
        rows = [{"id": m.id, "name": m.name, "version": m.version, "type": m.model_type, "status": m.status,
                 "created": m.created_at, "log_loss": ((m.metrics or {}).get("evaluation") or {}).get("model", {})
                 .get("log_loss"), "rps": ((m.metrics or {}).get("evaluation") or {}).get("model", {}).get("rps")}
                for m in registry.list_models(s, sport=sport)]
    if as_json:
        _write_json(rows, None)
        return
    table = Table(title="models")
    for c in ("id", "name", "version", "type", "status", "rps", "log_loss", "created"):
        table.add_column(c)
    for r in rows:
        table.add_row(*[_fmt(r[c]) if c in ("rps", "log_loss") else str(r[c])[:19] for c in
                        ("id", "name", "version", "type", "status", "rps", "log_loss", "created")])
    console.print(table)


@models_app.command("show")
def models_show(ref: Annotated[str, typer.Argument(help="id, name, name:version or name@champion")],
                db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One model version: its card (metrics next to market and baselines), or JSON."""
    from formguide.core import registry
    from formguide.core.store.db import session_scope

    with session_scope(_engine(db)) as s:
        m = registry.get_model(s, ref)
        data = {"id": m.id, "name": m.name, "version": m.version, "type": m.model_type, "status": m.status,
                "created": m.created_at, "feature_set_version": m.feature_set_version,
                "data_fingerprint": m.data_fingerprint, "config": m.config, "metrics": m.metrics,
                "artifact_sha256": m.artifact_sha256}
        card = m.model_card
    if as_json:
        _write_json(data, None)
    else:
        console.print(card or json.dumps(_jsonable(data), indent=2))


@models_app.command("promote")
def models_promote(ref: Annotated[str, typer.Argument(help="id, name:version")], db: DbOpt = None) -> None:
    """Make a model version the champion of its name (the previous champion is retired)."""
    from formguide.core import registry
    from formguide.core.store.db import session_scope

    with session_scope(_engine(db)) as s:
        m = registry.get_model(s, ref)
        registry.verified_parameters(m)
        registry.promote(s, m.id, reason="manual")
        console.print(f"{m.name} v{m.version} is now champion")


@models_app.command("export")
def models_export(path: Path, refs: Annotated[list[str] | None, typer.Argument()] = None, db: DbOpt = None) -> None:
    """Write model versions (all, or the given refs) with their runs to one portable JSON file."""
    from formguide.core import registry
    from formguide.core.store.db import session_scope

    with session_scope(_engine(db)) as s:
        n = registry.export_models(s, path, refs or None)
    console.print(f"exported {n} model(s) to {path}")


@models_app.command("import")
def models_import(path: Path, db: DbOpt = None) -> None:
    """Read a file written by ``models export``; every hash is checked before anything is written."""
    from formguide.core import registry
    from formguide.core.store.db import session_scope

    with session_scope(_engine(db)) as s:
        records = registry.import_models(s, path)
        names = [f"{r.name} v{r.version} ({r.status})" for r in records]
    console.print(f"imported {len(names)} model(s)" + (": " + ", ".join(names) if names else ""))


@runs_app.command("list")
def runs_list(db: DbOpt = None, limit: int = 20, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Recent training runs, failed and skipped ones included."""
    from formguide.core import registry
    from formguide.core.store.db import session_scope

    with session_scope(_engine(db)) as s:
        rows = [{"id": r.id, "model": r.model_name, "type": r.run_type, "status": r.status, "started": r.started_at,
                 "events": r.event_count, "rps": r.rps, "log_loss": r.log_loss, "error": r.error_message}
                for r in registry.list_runs(s, limit=limit)]
    if as_json:
        _write_json(rows, None)
        return
    table = Table(title="training runs")
    for c in ("id", "model", "type", "status", "started", "events", "rps", "log_loss", "error"):
        table.add_column(c)
    for r in rows:
        table.add_row(str(r["id"]), str(r["model"]), r["type"], r["status"], str(r["started"])[:19],
                      _fmt(r["events"]), _fmt(r["rps"]), _fmt(r["log_loss"]), (r["error"] or "")[:60])
    console.print(table)


# -------------------------------------------------------------------------------------------- backtest
@app.command()
def backtest(
    league: LeagueOpt = None,
    sport: SportOpt = "football",
    model: Annotated[str, typer.Option(help="dixon-coles | poisson | elo | blend")] = "dixon-coles",
    date_from: Annotated[str | None, typer.Option("--from", help="First date predicted (default: 2nd season).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last date predicted (default: last result).")] = None,
    refit: Annotated[str, typer.Option(help="Refit the model every day, week or month (daily|weekly|monthly).")] = "weekly",
    min_edge: Annotated[float, typer.Option(help="Minimum edge to place a bet.")] = 0.02,
    stacker: Annotated[str, typer.Option(help="Blend stacker: logistic or lightgbm.")] = "logistic",
    xi: XiOpt = None,
    shots_weight: ShotsWeightOpt = None,
    red_card_weight: RedCardWeightOpt = None,
    json_path: Annotated[str | None, typer.Option("--json", help="Write the report as JSON to FILE ('-' = stdout).")]
        = None,
    plots: Annotated[Path, typer.Option(help="Folder for the bankroll and reliability PNGs.")] = Path("var/plots"),
    moment: MomentOpt = "post-quali",
    db: DbOpt = None,
) -> None:
    """Walk-forward backtest: metrics next to the closing market and baselines, plus betting ROI."""
    from formguide.core.pipeline import backtest as run_backtest

    if sport == "f1":
        f1_model = "plackett-luce" if model == "dixon-coles" else model
        _f1().backtest_command(db, date_from=date_from, date_to=date_to, moment=moment, json_path=json_path,
                               model=f1_model, plots=str(plots))
        return
    league = _need_league(league, sport)

    refit = {"daily": "day", "weekly": "week", "monthly": "month"}.get(refit, refit)
    if refit not in ("day", "week", "month"):
        raise FormguideError(f"--refit must be daily, weekly or monthly, got {refit!r}")
    plugin = _sport(sport)
    if model not in plugin.model_types:
        raise FormguideError(f"unknown model {model!r}; choose one of {', '.join(plugin.model_types)}")
    params = _model_params(model, {"stacker": stacker}, xi=xi, shots_weight=shots_weight,
                           red_card_weight=red_card_weight)
    with _progress(f"backtest {league} {model}") as bar:
        task = bar.add_task("periods", total=None)
        result = run_backtest(_engine(db), plugin, league, model_type=model, params=params,
                              date_from=_date(date_from, "--from"), date_to=_date(date_to, "--to"), refit=refit,
                              min_edge=min_edge, plots_dir=plots,
                              progress=lambda i, n: bar.update(task, completed=i, total=n))
    if json_path:
        _write_json(result, json_path)
        if json_path == "-":
            return
    ev = {"model": result["model"], "market": result["market"], "baselines": result["baselines"]}
    console.print(_metrics_table(f"{league} {model} walk-forward {result['window']['from'][:10]} .. "
                                 f"{result['window']['to'][:10]} ({result['seconds']} s)", ev))
    bt = Table(title=f"betting vs {result['betting']['odds']}, min edge {min_edge}")
    for c in ("staking", "bets", "staked", "profit", "roi", "max_drawdown", "final_bankroll"):
        bt.add_column(c, justify="right")
    for staking in ("flat", "kelly"):
        b = result["betting"][staking]
        bt.add_row(staking, str(b["bets"]), _fmt(b["staked"], 2), _fmt(b["profit"], 2), _fmt(b["roi"], 4),
                   _fmt(b["max_drawdown"], 3), _fmt(b["final_bankroll"], 2))
    console.print(bt)
    if result.get("bankroll_png"):
        console.print(f"bankroll curve: {result['bankroll_png']}\nreliability: {result['reliability_png']}")


# --------------------------------------------------------------------------------------------- predict
@app.command()
def predict(
    league: LeagueOpt = None,
    date: Annotated[str | None, typer.Option(help="Predict as of this date (default: today).")] = None,
    sport: SportOpt = "football",
    days: Annotated[int, typer.Option(help="Fixtures from DATE up to DATE + DAYS.")] = 7,
    min_edge: Annotated[float | None, typer.Option(help="Only rows whose best edge is at least this.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only rows of this signal tier or better (A, B, C, D).")] = None,
    bankroll: Annotated[float, typer.Option(help="Bankroll for Kelly stakes.")] = 1000.0,
    kelly: Annotated[float, typer.Option(help="Kelly fraction.")] = 0.25,
    kelly_cap: Annotated[float, typer.Option(help="Largest stake as a share of bankroll.")] = 0.05,
    json_path: Annotated[str | None, typer.Option("--json", help="Write rows as JSON to FILE ('-' = stdout).")] = None,
    race: Annotated[str | None, typer.Option(help="F1 race as SEASON-ROUND, e.g. 2024-22.")] = None,
    moment: MomentOpt = "post-quali",
    db: DbOpt = None,
) -> None:
    """Champion-model probabilities, fair odds, edge vs the best price, Kelly stake and signal tier.

    For F1 (--sport f1 --race 2024-22): the field table (win, podium, points, expected position).
    """
    from formguide.football.predict import predict_fixtures

    if sport == "f1":
        if not race:
            raise FormguideError("--race SEASON-ROUND is required for f1, e.g. --race 2024-22")
        data = _f1().predict_command(db, race, moment=moment, as_json=json_path == "-")
        if json_path and json_path != "-":
            _write_json(data, json_path)
        return
    league = _need_league(league, sport)

    if tier is not None and tier.upper() not in ("A", "B", "C", "D"):
        raise FormguideError(f"--tier must be one of A, B, C, D, got {tier!r}")
    as_of = _date(date, "--date") or datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    plugin = _sport(sport)
    result = predict_fixtures(_engine(db), plugin, league, as_of, days=days, min_edge=min_edge,
                              tier=tier.upper() if tier else None, bankroll=bankroll, kelly_fraction=kelly,
                              kelly_cap=kelly_cap)
    if json_path:
        _write_json(result, json_path)
        if json_path == "-":
            return
    rows = result["predictions"]
    note = " (champion refitted on data known at that date)" if result["refitted"] else ""
    table = Table(title=f"{league} from {as_of.date()} ({result['model']}){note}")
    for c in ("date", "match", "H", "D", "A", ">2.5", "fair H/D/A", "best H/D/A", "bet", "edge", "stake", "tier",
              "result"):
        table.add_column(c, justify="right" if c not in ("match", "date") else "left")
    for r in rows:
        p = r["probabilities"]
        fair = "/".join(_fmt(1 / p[k], 2) for k in ("H", "D", "A"))
        best = "/".join(_fmt(r["market_prices"].get(k), 2) for k in ("H", "D", "A"))
        table.add_row(r["kickoff"][:10], f"{r['home_team']} v {r['away_team']}", _fmt(p["H"], 3), _fmt(p["D"], 3),
                      _fmt(p["A"], 3), _fmt(p.get("over_2.5"), 3), fair, best, r.get("selection") or "-",
                      _fmt(r.get("best_edge"), 3), _fmt(r.get("stake"), 2), r.get("tier") or "-",
                      r.get("actual") or "")
    console.print(table)
    if not rows:
        console.print("no fixtures in that window" + (" match the filters" if (min_edge or tier) else ""))


# -------------------------------------------------------------------------------------------- simulate
@app.command()
def simulate(
    league: LeagueOpt,
    season: Annotated[str, typer.Option(help="Season code, e.g. 2425.")],
    date_from: Annotated[str | None, typer.Option("--from", help="Simulate from this date (results on/after it are "
                                                  "hidden); default: after the last result.")] = None,
    n: Annotated[int, typer.Option("--n", help="Number of simulated seasons.")] = 20000,
    seed: Annotated[int | None, typer.Option(help="Random seed for reproducible runs.")] = None,
    sport: SportOpt = "football",
    json_path: Annotated[str | None, typer.Option("--json", help="Write JSON to FILE ('-' = stdout).")] = None,
    db: DbOpt = None,
) -> None:
    """Monte Carlo of the remaining fixtures: title, top-4, relegation and final-position odds."""
    from formguide.football.predict import simulate_remaining

    league = _need_league(league, sport)
    if n <= 0:
        raise FormguideError(f"--n must be positive, got {n}")
    result = simulate_remaining(_engine(db), _sport(sport), league, season, _date(date_from, "--from"), n=n, seed=seed)
    if json_path:
        _write_json(result, json_path)
        if json_path == "-":
            return
    table = Table(title=f"{league} {season}: {result['n_simulations']} simulations of {result['n_fixtures']} "
                        f"fixtures from {result['from']} ({result['model']})")
    for c in ("team", "pts now", "exp pts", "exp pos", "title", "top 4", "relegation"):
        table.add_column(c, justify="right" if c != "team" else "left")
    for r in result["table"]:
        table.add_row(r["team"], _fmt(r["current_points"], 0), _fmt(r["expected_points"], 1),
                      _fmt(r["expected_position"], 1), _fmt(r["title"], 3), _fmt(r["top_n"], 3),
                      _fmt(r["relegation"], 3))
    console.print(table)


def main() -> None:
    level = os.environ.get("FORMGUIDE_LOG", "WARNING").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # loggers that log INFO to their own files stay quiet here
        handler.setLevel(level)
    try:
        app()
    except FormguideError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
