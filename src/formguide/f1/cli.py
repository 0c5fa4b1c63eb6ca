"""F1 commands: plain functions the main CLI dispatches to (``formguide ingest f1 ...``, ``formguide f1 ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

f1_app = typer.Typer(help="Formula 1: season predictions, scenarios and championship simulations.",
                     no_args_is_help=True)


@f1_app.callback()
def _f1_group() -> None:
    """Formula 1 commands (a group, so that ``formguide f1 season`` keeps its name with one command)."""


def ingest_command(paths: list[Path], db: str | None, as_json: bool) -> dict:
    """Import F1 sources (Ergast folder, race folders, FastF1 lap files) and print what happened.

    Prints a table per imported unit (or JSON with ``as_json``) and returns the counts as a dict:
    ``layout``, ``inserted``, ``updated``, ``unchanged``, ``rejected``, ``files_rejected``, ``new_teams``,
    ``files``. The caller decides the exit code (non-zero when ``files_rejected``).
    """
    import json
    import sys

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from formguide.core.store.db import open_store
    from formguide.f1.store_io import ingest_f1

    engine = open_store(db)
    try:
        layout, report = ingest_f1(engine, [Path(p) for p in paths])
    finally:
        engine.dispose()
    data = {"layout": layout, **report.to_dict()}
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return data
    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"ingest f1 ({layout})")
    for col in ("source", "layout", "status", "inserted", "updated", "unchanged", "rejected", "new"):
        table.add_column(col)
    for f in report.files:
        found = next((w.removeprefix("layout: ") for w in f.warnings if w.startswith("layout: ")), "-")
        table.add_row(Path(f.path).name, found, f.status, str(f.inserted), str(f.updated), str(f.unchanged),
                      str(f.rejected), str(len(f.new_teams)))
    if len(report.files) <= 60:
        console.print(table)
    console.print(f"layout: {layout}; rows inserted {data['inserted']}, updated {data['updated']}, unchanged "
                  f"{data['unchanged']}, rejected {data['rejected']} ({data['files_rejected']} sources rejected); "
                  f"new drivers/constructors {len(data['new_teams'])}")
    for f in report.files:
        for w in f.warnings:
            if not w.startswith("layout: "):
                console.print(f"[yellow]warning[/yellow] {escape(Path(f.path).name)}: {escape(w)}")
        if f.error:
            console.print(f"[red]rejected[/red] {escape(f.error)}")
    return data


# ------------------------------------------------------------------- train / predict / backtest
def _print_json(data: dict) -> None:
    import json
    import math
    import sys

    def clean(obj):
        if isinstance(obj, dict):
            return {str(k): clean(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        if isinstance(obj, float) and not math.isfinite(obj):
            return None
        if hasattr(obj, "item") and not isinstance(obj, str):
            return clean(obj.item())
        return obj

    sys.stdout.write(json.dumps(clean(data), indent=2, default=str) + "\n")


def _field_metrics_table(title: str, report: dict):
    from rich.table import Table

    table = Table(title=title)
    cols = ("races", "win_log_loss", "top1_accuracy", "expected_top1_accuracy", "podium_brier", "win_ece")
    table.add_column("forecast")
    for c in cols:
        table.add_column(c, justify="right")
    rows = [("model", report.get("model"))] + [(f"baseline: {k}", v) for k, v in (report.get("baselines") or {}).items()]
    for label, m in rows:
        if m:
            table.add_row(label, *[str(m.get(c)) if c == "races" else f"{m.get(c, float('nan')):.4f}" for c in cols])
    return table


def train_command(db: str | None, model: str = "plackett-luce", moment: str = "post-quali", until: str | None = None,
                  force: bool = False, as_json: bool = False, *, eval_seasons: int = 2, refit_every: int = 5,
                  artifacts_dir: str = "var/models") -> dict:
    """Train an F1 field model for a moment, evaluate it walk-forward, register it, promote it if better.

    Prints the outcome and the evaluation table (or JSON) and returns the outcome as a dict.
    """
    import sys
    from datetime import datetime

    from rich.console import Console

    from formguide.core.errors import FormguideError
    from formguide.core.store.db import open_store
    from formguide.f1.sport import train

    try:
        until_dt = datetime.fromisoformat(until) if until else None
    except ValueError as exc:
        raise FormguideError(f"--until must be a date like 2024-05-19, got {until!r}") from exc
    engine = open_store(db)
    try:
        result = dict(train(engine, model_type=model, moment=moment, until=until_dt, force=force,
                            eval_seasons=eval_seasons, refit_every=refit_every, artifacts_dir=artifacts_dir))
    finally:
        engine.dispose()
    if as_json:
        _print_json(result)
        return result
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(result["message"])
    ev = (result.get("metrics") or {}).get("evaluation")
    if ev and result["status"] == "registered":
        console.print(_field_metrics_table(
            f"walk-forward evaluation {ev['window']['from'][:10]} .. {ev['window']['to'][:10]} ({moment})", ev))
    if result.get("model_card"):
        console.print(f"model card: {result['model_card']}")
    return result


def predict_command(db: str | None, race: str, moment: str = "post-quali", as_json: bool = False, *,
                    n_sims: int = 20000, seed: int = 0) -> dict:
    """The champion's probabilities for one race (``race`` = ``"2024-22"``): win, podium, points, expected
    position per driver. A post-qualifying prediction for a race without a known grid is refused."""
    import sys

    from rich.console import Console
    from rich.table import Table

    from formguide.core.store.db import open_store
    from formguide.f1.sport import predict_race

    engine = open_store(db)
    try:
        result = predict_race(engine, race, moment, n_sims=n_sims, seed=seed)
    finally:
        engine.dispose()
    if as_json:
        _print_json(result)
        return result
    console = Console(width=None if sys.stdout.isatty() else 160)
    info = result["race"]
    note = f" (refitted: {result['refitted']})" if result["refitted"] else ""
    table = Table(title=f"{info['season']} round {info['round']} {info['name']} ({info['date'][:10]}), {moment}, "
                        f"{result['model']}{note}")
    for c in ("driver", "team", "grid", "P(win)", "P(podium)", "P(points)", "exp. pos", "result"):
        table.add_column(c, justify="left" if c in ("driver", "team") else "right")
    for r in result["entries"]:
        grid = "-" if r["grid"] is None else ("pit" if r["grid"] == 0 else str(r["grid"]))
        table.add_row(r["driver_code"] or r["driver"], r["team"], grid,
                      f"{r['p_win']:.3f}", f"{r['p_podium']:.3f}", f"{r['p_points']:.3f}",
                      f"{r['expected_position']:.1f}",
                      "" if r["actual_position"] is None else str(r["actual_position"]))
    console.print(table)
    return result


def backtest_command(db: str | None, date_from: str | None = None, date_to: str | None = None,
                     moment: str = "post-quali", json_path: str | None = None, *, model: str = "plackett-luce",
                     refit_every: int = 1, plots: str | None = "var/plots") -> dict:
    """Walk-forward backtest race by race over ``[date_from, date_to]``: the model next to the grid, pole and
    championship-leader baselines. Writes JSON to ``json_path`` (``-`` = stdout), else prints a table."""
    import sys
    from datetime import datetime
    from pathlib import Path as _Path

    from rich.console import Console

    from formguide.core.errors import DataValidationError, FormguideError
    from formguide.core.store.db import open_store
    from formguide.f1.evaluate import backtest
    from formguide.f1.features import MOMENTS
    from formguide.f1.sport import F1Sport

    if moment not in MOMENTS:
        raise FormguideError(f"unknown prediction moment {moment!r}; choose one of {', '.join(MOMENTS)}")
    bounds = []
    for value, what in ((date_from, "--from"), (date_to, "--to")):
        try:
            bounds.append(datetime.fromisoformat(value) if value else None)
        except ValueError as exc:
            raise FormguideError(f"{what} must be a date like 2024-05-19, got {value!r}") from exc
    engine = open_store(db)
    try:
        frame = F1Sport().load_frame(engine)
    finally:
        engine.dispose()
    if frame.empty:
        raise DataValidationError("no F1 races in the store; run `formguide ingest f1 FOLDER` first")
    result = backtest(frame, moment=moment, model_type=model, date_from=bounds[0], date_to=bounds[1],
                      refit_every=refit_every, plots_dir=plots)
    if json_path:
        if json_path == "-":
            _print_json(result)
            return result
        import json

        _Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        _Path(json_path).write_text(json.dumps(result, indent=2, default=str) + "\n")
    console = Console(width=None if sys.stdout.isatty() else 160)
    w = result["window"]
    console.print(_field_metrics_table(f"F1 {moment} {model} walk-forward {w['from'][:10]} .. {w['to'][:10]} "
                                       f"({w['races']} races, {result['seconds']} s)", result))
    if result.get("reliability_png"):
        console.print(f"reliability: {result['reliability_png']}")
    return result


# ------------------------------------------------------------------------------------ season (engineer C)
def _scenario_list(values: list[str] | None, extra: list[str]) -> tuple[str, ...] | None:
    """``--scenarios dry wet`` (extra words), ``--scenarios dry --scenarios wet`` or ``--scenarios dry,wet``."""
    from formguide.core.errors import FormguideError

    if not values:
        if extra:
            raise FormguideError(f"unexpected argument(s) {' '.join(extra)}")
        return None
    out: list[str] = []
    for v in [*values, *extra]:
        out += [w for w in v.replace(",", " ").split() if w]
    return tuple(dict.fromkeys(out))


@f1_app.command("season", context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def season_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option("--data", help="Ergast folder, race folder or folder of race folders.")],
    output: Annotated[Path, typer.Option("--output", help="JSON file to write (atomically); a .log beside it.")],
    season: Annotated[int | None, typer.Option("--season", help="Season to predict (default: the latest).")] = None,
    simulations: Annotated[int, typer.Option("--simulations", help="Monte Carlo races per scenario.")] = 5000,
    scenarios: Annotated[list[str] | None, typer.Option(
        "--scenarios", help="Scenarios: dry wet safety_car (space- or comma-separated, or repeated).")] = None,
    driver_weights: Annotated[str | None, typer.Option(
        "--driver-weights", help='Analyst multipliers, JSON object or file: \'{"VER": 1.2}\'.')] = None,
    team_weights: Annotated[str | None, typer.Option(
        "--team-weights", help='Team multipliers by constructor ref: \'{"ferrari": 1.1}\'.')] = None,
    force_retrain: Annotated[bool, typer.Option("--force-retrain", help="Refit every model, recompute every race.")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Keep the JSON current as files change (Ctrl+C stops).")] = False,
    debounce: Annotated[float, typer.Option("--debounce", help="Watch: seconds of quiet before a run.")] = 5.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the simulations.")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", help="Debug detail in the log and on the console.")] = False,
    db: Annotated[str | None, typer.Option("--db", envvar="FORMGUIDE_DB_URL",
                                           help="SQLAlchemy database URL (default: sqlite:///var/formguide.sqlite).")] = None,
) -> None:
    """Predict every race of a season under each scenario, with title odds; incremental, optionally watching."""
    result = season_run_command(data=data, output=output, season=season, simulations=simulations,
                                scenarios=_scenario_list(scenarios, list(ctx.args)), driver_weights=driver_weights,
                                team_weights=team_weights, force_retrain=force_retrain, watch=watch,
                                debounce=debounce, seed=seed, verbose=verbose, db=db)
    if result is not None and result.get("status") == "failed":
        raise typer.Exit(1)


def season_run_command(*, data: Path, output: Path, season: int | None = None, simulations: int = 5000,
                       scenarios: tuple[str, ...] | None = None, driver_weights: str | None = None,
                       team_weights: str | None = None, force_retrain: bool = False, watch: bool = False,
                       debounce: float = 5.0, seed: int = 0, verbose: bool = False, db: str | None = None
                       ) -> dict | None:
    """``formguide f1 season`` as a plain function: one run (returns its history entry) or watch until stopped."""
    import logging
    import signal
    import sys
    import threading

    from rich.console import Console

    from formguide.f1.season import SeasonConfig, log_path, parse_weights, run_season, watch_season
    from formguide.f1.simulate import SCENARIOS

    err = Console(stderr=True)
    config = SeasonConfig(data=data, output=output, season=season, simulations=simulations,
                          scenarios=scenarios if scenarios else tuple(SCENARIOS),
                          driver_weights=parse_weights(driver_weights, "--driver-weights"),
                          team_weights=parse_weights(team_weights, "--team-weights"),
                          force_retrain=force_retrain, db=db, seed=seed, verbose=verbose)
    config.validate()
    console_handler = None
    if verbose:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logging.getLogger("formguide.f1.season").addHandler(console_handler)
    try:
        if not watch:
            entry = run_season(config)
            err.print(f"season {entry['season']}: {entry['succeeded']} races computed, {entry['races_reused']} reused, "
                      f"{entry['failed']} failed in {entry['duration_s']:.1f} s -> {output} (log {log_path(output)})")
            for f in entry.get("failures", []):
                err.print(f"[red]failed[/red] {f['race_key']}: {f['error']}")
            for r in entry.get("ingest", {}).get("rejected", []):
                err.print(f"[red]rejected[/red] {r['file']}: {r['error']}")
            return entry
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        err.print(f"watching {data} (debounce {debounce:g} s); Ctrl+C stops. Writing {output}, log {log_path(output)}")
        try:
            watch_season(config, stop, debounce_s=debounce,
                         on_run=lambda e, exc: err.print(
                             f"updated {output}: {e['succeeded']} computed, {e['races_reused']} reused" if e
                             else f"[red]run failed[/red]: {exc}"))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        err.print("stopped; the output is complete")
        return None
    finally:
        if console_handler is not None:
            logging.getLogger("formguide.f1.season").removeHandler(console_handler)
