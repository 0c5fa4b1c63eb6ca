"""The ``formguide`` command line: flags become a typed request, the application layer does the work, the
result is rendered as a table (fitted to the terminal; ``--wide`` for all columns) or as JSON (``--json FILE``,
``-`` for stdout).

The store, artifacts folder, data folder and log level come from the settings (``formguide info`` shows
them): ``--db``/``FORMGUIDE_DB_URL``, ``--artifacts``/``FORMGUIDE_ARTIFACTS``, ``--data``/``FORMGUIDE_DATA``,
``--log-level``/``FORMGUIDE_LOG_LEVEL``. Every sport plugs in its own options (shown under "Sport options")
and its own sub-commands (``formguide <sport> --help``).
"""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from formguide.app.context import Context
from formguide.app.schemas import (
    BacktestRequest,
    IngestRequest,
    NotRun,
    PredictAllRequest,
    PredictRequest,
    SimulateRequest,
    TrainAllRequest,
    TrainRequest,
)
from formguide.cli.options import with_sport_options
from formguide.cli.render import check_output, emit_json, err, out, print_messages, progress_bar, render_view
from formguide.core.errors import FormguideError
from formguide.core.sport import available_sports, get_sport

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  rich_markup_mode=None)
models_app = typer.Typer(help="The model registry: list, show, promote, export and import model versions.",
                         no_args_is_help=True)
runs_app = typer.Typer(help="Training run history (failures, skips and promotions included).", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(runs_app, name="runs")

_state: dict[str, Any] = {}

SportOpt = Annotated[str, typer.Option("--sport", help="Sport plug-in (formguide info lists them).")]
LeagueOpt = Annotated[str | None, typer.Option("--league", "--competition",
                                               help="Competition code, e.g. E0 (case does not matter).")]
BetTypeOpt = Annotated[str | None, typer.Option("--bet-type", help="Bet type the model is for (formguide info lists "
                                              "each sport's; default: its first, e.g. nfl moneyline).")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model type (default: the sport's first).")]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store (FORMGUIDE_DB_URL).",
                                           show_default=False)]
ArtifactsOpt = Annotated[Path | None, typer.Option("--artifacts", help="Folder for model cards and plots.",
                                                   show_default=False)]
JsonOpt = Annotated[str | None, typer.Option("--json", metavar="FILE",
                                             help="Write the result as JSON to FILE ('-' = stdout).")]
MlflowOpt = Annotated[str | None, typer.Option("--mlflow-uri", metavar="URI", show_default=False, help=(
    "Mirror to this MLflow tracking URI, e.g. sqlite:///mlflow.db (FORMGUIDE_MLFLOW_URI; needs the [mlflow] "
    "extra)."))]
MaxRuntimeOpt = Annotated[float | None, typer.Option("--max-runtime", metavar="SECONDS", help=(
    "Stop after this many seconds (> 0); a training run that reaches it is recorded as failed."))]
WideOpt = Annotated[bool, typer.Option("--wide", help="Show every column, however wide the table gets.")]
AllBetTypesOpt = Annotated[bool, typer.Option("--all-bet-types", help=(
    "Every bet type the sport offers, each its own champion line (not with --bet-type)."))]
AllSportsOpt = Annotated[bool, typer.Option("--all", help=(
    "Every installed sport: its default competition (else each stored one), every bet type, its defaults; a "
    "sport with nothing stored is listed as skipped."))]
SportOrAllOpt = Annotated[str | None, typer.Option("--sport", help="Sport plug-in (formguide info lists them; "
                                                   "default football).", show_default=False)]


def _refuse_with_all(**given: Any) -> None:
    """``--all`` chooses sports, competitions and bet types itself: one line naming a flag that would pick one."""
    named = [f"--{k.replace('_', '-')}" for k, v in given.items() if v not in (None, False)]
    if named:
        raise FormguideError(f"--all runs every sport with its defaults; leave out {', '.join(named)} (or use "
                             "--sport without --all)")


def _one_bet_type(bet_type: str | None, all_bet_types: bool) -> None:
    if bet_type is not None and all_bet_types:
        raise FormguideError("--bet-type and --all-bet-types cannot be used together")


def _batch_failed(result: Any) -> bool:
    return any(isinstance(r, NotRun) and r.status == "failed" for s in result.sports.values()
               for by_bt in s.competitions.values() for r in by_bt.values())


def _version(value: bool) -> None:
    if value:
        from formguide import __version__

        out.print(f"formguide {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
    data: Annotated[Path | None, typer.Option("--data", help="Folder of the source data sets (FORMGUIDE_DATA).",
                                              show_default=False)] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING (default), ERROR.",
                                                  show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Global settings (each command also takes --db and --artifacts)."""
    _state.update(db_url=db, artifacts_dir=artifacts, data_dir=data, log_level=log_level)
    level = Context.from_options(log_level=log_level).settings.log_level
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)


def context(db: str | None = None, artifacts: Path | None = None, mlflow_uri: str | None = None) -> Context:
    """The use cases' context from the global flags, a command's own --db/--artifacts/--mlflow-uri winning."""
    overrides = dict(_state)
    if db is not None:
        overrides["db_url"] = db
    if artifacts is not None:
        overrides["artifacts_dir"] = artifacts
    if mlflow_uri is not None:
        overrides["mlflow_uri"] = mlflow_uri
    return Context.from_options(**overrides)


def parse_date(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise FormguideError(f"{what} must be a date like 2024-05-19, got {value!r}") from None


def show(result: Any, json_target: str | None, wide: bool = False, data: Any = None) -> None:
    """JSON when asked for (``data`` or the result's), else the result's messages and tables."""
    if json_target:
        emit_json(result.json_data() if data is None else data, json_target)
        if json_target == "-":
            return
    for view in result.views:
        render_view(view, wide=wide)
    print_messages(result.messages)


def show_list(items: list[Any], view: Any, json_target: str | None, wide: bool) -> None:
    """A list result: JSON of its items, or its table."""
    if json_target:
        emit_json([item.model_dump(mode="json") for item in items], json_target)
        if json_target == "-":
            return
    render_view(view, wide=wide)


# ---------------------------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    sport: Annotated[str, typer.Argument(help="Sport of the files.")],
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the sport's folder "
                                                       "under --data).", show_default=False)] = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
) -> None:
    """Import source files: each file is one transaction, a bad file is rejected whole and reported with file,
    row and column; re-importing is idempotent and corrected rows are updated."""
    check_output(json_target)
    ctx = context(db)
    if not paths:
        default = ctx.settings.data / {"football": "football_data"}.get(sport, sport)
        paths = [default]
    with ctx, progress_bar(f"ingest {sport}") as progress:
        from formguide.app import ingest as run

        result = run(ctx, IngestRequest(sport=sport, paths=paths), progress)
    show(result, json_target, wide)
    if result.files_rejected:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------------------------- train
@app.command()
@with_sport_options("train")
def train(
    sport: SportOrAllOpt = None,
    league: LeagueOpt = None,
    bet_type: BetTypeOpt = None,
    all_bet_types: AllBetTypesOpt = False,
    all_sports: AllSportsOpt = False,
    model: ModelOpt = None,
    until: Annotated[str | None, typer.Option(help="Train as of this date (later results are hidden).")] = None,
    seasons: Annotated[str | None, typer.Option(help="Comma-separated seasons to use (default: all).")] = None,
    eval_seasons: Annotated[int, typer.Option(help="Latest seasons evaluated walk-forward.", min=1)] = 2,
    metric: Annotated[str | None, typer.Option(help="Promotion metric (default: the sport's headline, e.g. "
                                                    "log_loss; f1: win_log_loss).")] = None,
    force: Annotated[bool, typer.Option(help="Retrain even when data and configuration are unchanged.")] = False,
    max_runtime: MaxRuntimeOpt = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
    mlflow_uri: MlflowOpt = None,
    options: dict | None = None,
) -> None:
    """Validate, build features, evaluate walk-forward next to the baselines, fit, register, promote if better.
    --all-bet-types: each of the sport's bet types; --all: every sport (one summary table)."""
    from formguide import app as use_cases

    check_output(json_target)
    if all_sports:
        _refuse_with_all(sport=sport, league=league, bet_type=bet_type, model=model, seasons=seasons, metric=metric)
        batch = TrainAllRequest(until=parse_date(until, "--until"), eval_seasons=eval_seasons, force=force,
                                max_runtime=max_runtime, options=options or {})
        with context(db, artifacts, mlflow_uri) as ctx, progress_bar("train --all") as progress:
            result = use_cases.train_all(ctx, batch, progress)
    else:
        sport = sport or "football"
        _one_bet_type(bet_type, all_bet_types)
        request = TrainRequest(sport=sport, bet_type=bet_type, competition=league, model_type=model,
                               until=parse_date(until, "--until"),
                               seasons=[s.strip() for s in seasons.split(",") if s.strip()] if seasons else None,
                               eval_seasons=eval_seasons, metric=metric, force=force, max_runtime=max_runtime,
                               options=options or {}, all_bet_types=all_bet_types)
        run = use_cases.train_bet_types if all_bet_types else use_cases.train
        with context(db, artifacts, mlflow_uri) as ctx, progress_bar(f"train {sport}") as progress:
            result = run(ctx, request, progress)
    show(result, json_target, wide)
    if hasattr(result, "sports") and _batch_failed(result):
        raise typer.Exit(1)


# -------------------------------------------------------------------------------------------- backtest
@app.command()
@with_sport_options("backtest")
def backtest(
    sport: SportOpt = "football",
    league: LeagueOpt = None,
    bet_type: BetTypeOpt = None,
    model: ModelOpt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First date predicted (default: the sport's).")]
        = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last date predicted (default: the last result).")]
        = None,
    refit: Annotated[str | None, typer.Option(help="Refit daily, weekly or monthly (football), or every N events "
                                                   "(f1: 1 = before every race).")] = None,
    plots: Annotated[Path | None, typer.Option(help="Folder for the PNGs (default: the artifacts' plots).")] = None,
    max_runtime: MaxRuntimeOpt = None,
    ledger: Annotated[Path | None, typer.Option("--ledger", metavar="FILE", show_default=False, help=(
        "Write one row per bet (price, stake, settlement, profit, closing price, CLV) to FILE: .csv or .json."))]
        = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
    options: dict | None = None,
) -> None:
    """Walk-forward backtest: metrics next to the closing market and baselines, plus betting where priced."""
    from formguide.app import backtest as run

    check_output(json_target)
    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if plots is not None:
        check_output(str(plots / "reliability.png"))
    if ledger is not None:
        from formguide.core.ledger import check_ledger_path

        check_output(str(check_ledger_path(ledger)))
    request = BacktestRequest(sport=sport, bet_type=bet_type, competition=league, model_type=model,
                              date_from=start.date() if start else None, date_to=end.date() if end else None,
                              refit=refit, plots=plots, max_runtime=max_runtime, ledger=ledger, options=options or {})
    with context(db, artifacts) as ctx, progress_bar(f"backtest {sport}") as progress:
        result = run(ctx, request, progress)
    show(result, json_target, wide, data=result.report)


# --------------------------------------------------------------------------------------------- predict
@app.command()
@with_sport_options("predict")
def predict(
    sport: SportOrAllOpt = None,
    league: LeagueOpt = None,
    bet_type: BetTypeOpt = None,
    all_bet_types: AllBetTypesOpt = False,
    all_sports: AllSportsOpt = False,
    date: Annotated[str | None, typer.Option(help="Predict as of this date (default: today).")] = None,
    days: Annotated[int | None, typer.Option(help="Events from DATE up to DATE + DAYS (default 7; with --all 1: "
                                                  "that day).", min=1, max=366, show_default=False)] = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
    options: dict | None = None,
) -> None:
    """Champion probabilities, fair odds, edge against the best price, Kelly stake and tier (football); the
    field's win, podium, points and retirement probabilities (f1). A past date is predicted as of that day.
    --all-bet-types: each of the sport's bet types; --all: every sport's events, one JSON section per sport."""
    from formguide import app as use_cases

    check_output(json_target)
    if all_sports:
        _refuse_with_all(sport=sport, league=league, bet_type=bet_type)
        batch = PredictAllRequest(date=parse_date(date, "--date"), days=days or 1, options=options or {})
        with context(db, artifacts) as ctx, progress_bar("predict --all") as progress:
            result = use_cases.predict_all(ctx, batch, progress)
    else:
        sport = sport or "football"
        _one_bet_type(bet_type, all_bet_types)
        request = PredictRequest(sport=sport, bet_type=bet_type, competition=league, date=parse_date(date, "--date"),
                                 days=days or 7, options=options or {}, all_bet_types=all_bet_types)
        run = use_cases.predict_bet_types if all_bet_types else use_cases.predict
        with context(db, artifacts) as ctx, progress_bar(f"predict {sport}") as progress:
            result = run(ctx, request, progress)
    show(result, json_target, wide)
    if hasattr(result, "sports") and _batch_failed(result):
        raise typer.Exit(1)


# -------------------------------------------------------------------------------------------- simulate
@app.command()
@with_sport_options("simulate")
def simulate(
    season: Annotated[str, typer.Option(help="Season code, e.g. 2425.")],
    sport: SportOpt = "football",
    league: LeagueOpt = None,
    bet_type: BetTypeOpt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Simulate from this date (later results are "
                                                  "hidden); default: after the last result.")] = None,
    simulations: Annotated[int, typer.Option("--simulations", "--n", help="Number of simulated seasons.")] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same numbers).")] = 0,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
    options: dict | None = None,
) -> None:
    """Monte Carlo of the remaining fixtures: title, top-4, relegation and final-position odds."""
    from formguide.app import simulate as run

    check_output(json_target)
    start = parse_date(date_from, "--from")
    request = SimulateRequest(sport=sport, bet_type=bet_type, competition=league, season=season, date_from=start.date() if start else None,
                              simulations=simulations, seed=seed, options=options or {})
    with context(db, artifacts) as ctx, progress_bar(f"simulate {sport}") as progress:
        result = run(ctx, request, progress)
    show(result, json_target, wide, data=result.data)


# --------------------------------------------------------------------------------------------- ratings
@app.command()
def ratings(
    sport: SportOpt = "football",
    league: LeagueOpt = None,
    date: Annotated[str | None, typer.Option(help="Ratings as known before this date (default: today).")] = None,
    png: Annotated[Path | None, typer.Option("--png", metavar="FILE", help="Also draw the ratings into this PNG.",
                                             show_default=False)] = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
) -> None:
    """Each team's ratings as of a date from results strictly before it (football: Dixon-Coles attack, defence
    and home advantage, Elo), sorted by the sport's headline rating; --png draws them."""
    from formguide.app import ratings as run
    from formguide.app.schemas import RatingsRequest

    check_output(json_target)
    if png is not None:
        check_output(str(png))
    request = RatingsRequest(sport=sport, competition=league, date=parse_date(date, "--date"), png=png)
    with context(db) as ctx, progress_bar(f"ratings {sport}") as progress:
        result = run(ctx, request, progress)
    show(result, json_target, wide)


# ---------------------------------------------------------------------------------- store and settings
@app.command()
def competitions(
    sport: Annotated[str | None, typer.Option(help="Only this sport.")] = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
) -> None:
    """Competitions in the store with their seasons, dates and event counts."""
    from formguide.app import competitions as run
    from formguide.app.data import competitions_view

    check_output(json_target)
    with context(db) as ctx:
        items = run(ctx, sport)
    show_list(items, competitions_view(items), json_target, wide)


@app.command()
def info(json_target: JsonOpt = None, db: DbOpt = None, artifacts: ArtifactsOpt = None) -> None:
    """The version, the store, artifacts and data folders in use, the schema revision and row counts."""
    from formguide.app import info as run

    check_output(json_target)
    with context(db, artifacts) as ctx:
        result = run(ctx)
    show(result, json_target)


# ---------------------------------------------------------------------------------------------- models
@models_app.command("list")
def models_list(
    sport: Annotated[str | None, typer.Option(help="Only this sport.")] = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
) -> None:
    """Every registered model version, newest first."""
    from formguide.app import list_models
    from formguide.app.registry import models_view

    check_output(json_target)
    with context(db) as ctx:
        items = list_models(ctx, sport)
    show_list(items, models_view(items), json_target, wide)


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="id, name (newest), name:version or name@champion")],
    json_target: JsonOpt = None,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """One model version: its card (status as it is now, metrics next to market and baselines), or JSON."""
    from formguide.app import show_model

    check_output(json_target)
    with context(db, artifacts) as ctx:
        detail = show_model(ctx, ref)
    if json_target:
        emit_json(detail.json_data(), json_target)
        if json_target == "-":
            return
    out.print(detail.card, markup=False, highlight=False)


@models_app.command("promote")
def models_promote(ref: Annotated[str, typer.Argument(help="id or name:version")], db: DbOpt = None,
                   artifacts: ArtifactsOpt = None, mlflow_uri: MlflowOpt = None) -> None:
    """Make a model version the champion of its line (the previous champion is retired)."""
    from formguide.app import promote_model

    with context(db, artifacts, mlflow_uri) as ctx:
        m = promote_model(ctx, ref)
    out.print(f"{m.name} v{m.version} is now champion")


@models_app.command("export")
def models_export(path: Path, refs: Annotated[list[str] | None, typer.Argument()] = None, db: DbOpt = None) -> None:
    """Write model versions (all, or the given refs) with their runs to one portable JSON file."""
    from formguide.app import export_models

    check_output(str(path))
    with context(db) as ctx:
        result = export_models(ctx, path, refs)
    print_messages(result.messages)


@models_app.command("import")
def models_import(path: Path, db: DbOpt = None) -> None:
    """Read a file written by ``models export``; every hash is checked before anything is written."""
    from formguide.app import import_models

    with context(db) as ctx:
        result = import_models(ctx, path)
    print_messages(result.messages)


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option(help="How many runs, newest first.", min=1)] = 20,
    sport: Annotated[str | None, typer.Option(help="Only this sport.")] = None,
    json_target: JsonOpt = None,
    wide: WideOpt = False,
    db: DbOpt = None,
) -> None:
    """Recent training runs, failed and skipped ones included."""
    from formguide.app import list_runs
    from formguide.app.registry import runs_view

    check_output(json_target)
    with context(db) as ctx:
        items = list_runs(ctx, limit, sport)
    show_list(items, runs_view(items), json_target, wide)


from formguide.cli import materialise as _materialise  # noqa: E402, F401 - registers `formguide materialise`
from formguide.cli import service as _service  # noqa: E402, F401 - registers `formguide serve`


# ------------------------------------------------------------------------------------ sport commands
def _add_sport_commands() -> None:
    for name in sorted(available_sports()):
        sub = get_sport(name).cli()
        if sub is not None:
            app.add_typer(sub, name=name)


_add_sport_commands()
app.command("worker")(__import__("formguide.cli.worker", fromlist=["worker"]).worker)  # formguide worker
app.add_typer(__import__("formguide.cli.schedule", fromlist=["schedule_app"]).schedule_app,  # formguide schedule
              name="schedule")


def _log_path() -> Path:
    try:
        home = Context.from_options().settings.home
    except FormguideError:
        home = Path.home()
    folder = home / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "formguide-errors.log"


def main() -> None:
    """The console script: one-line errors for everything a user can cause, never a traceback."""
    try:
        level = Context.from_options().settings.log_level
    except FormguideError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Abort:
        err.print("interrupted")
        sys.exit(130)
    except FormguideError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except ValueError as exc:  # a request or option that pydantic or a model refused
        from pydantic import ValidationError

        from formguide.core.options import validation_message

        if isinstance(exc, ValidationError):
            msg = validation_message(exc)
        else:
            msg = str(exc)
            _log_traceback()
        err.print(f"[red]error:[/red] {escape(msg)}", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a defect: say so in one line, keep the traceback in the log
        if _usage_error(exc):
            sys.exit(2 if type(exc).__name__ != "NoArgsIsHelpError" else 0)
        path = _log_traceback()
        err.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {escape(str(exc))} (this is a bug; the "
                  f"traceback is in {escape(str(path))})", soft_wrap=True)
        sys.exit(3)


def _usage_error(exc: Exception) -> bool:
    """Show a flag or argument the command-line parser refused as one line (and where to look); False when
    ``exc`` is no such error. (Typer's parser errors carry ``format_message`` and ``exit_code``.)"""
    if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
        return False
    if type(exc).__name__ == "NoArgsIsHelpError":  # a group called without a command: its help, as asked
        exc.show()  # type: ignore[attr-defined]
        return True
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", "formguide") or "formguide"
    where = "formguide" + (" " + path.split(" ", 1)[1] if " " in path else "")
    err.print(f"[red]error:[/red] {escape(exc.format_message())} (see `{escape(where)} --help`)", soft_wrap=True)
    return True


def _log_traceback() -> Path:
    path = _log_path()
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"--- {datetime.now().isoformat(timespec='seconds')} formguide {' '.join(sys.argv[1:])}\n")
        fh.write(traceback.format_exc())
    return path
