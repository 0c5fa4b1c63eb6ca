"""F1's own commands (``formguide f1 ...``): the season pipeline. Ingest, train, backtest and predict are the
core's commands (``formguide train --sport f1``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

f1_app = typer.Typer(help="Formula 1: season predictions, scenarios and championship simulations.",
                     no_args_is_help=True)


@f1_app.callback()
def _f1_group() -> None:
    """Formula 1 commands (a group, so that ``formguide f1 season`` keeps its name with one command)."""


# ------------------------------------------------------------------------------------------------ season
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
    simulations: Annotated[int, typer.Option("--simulations", "--n", help="Monte Carlo races per scenario.")] = 5000,
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
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store (FORMGUIDE_DB_URL).",
                                           show_default=False)] = None,
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
                      f"{entry['failed']} failed in {entry['duration_s']:.1f} s -> {output} (log {log_path(output)})",
                      soft_wrap=True)
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
