"""Football's own commands (``formguide football ...``): fetching the public files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

football_app = typer.Typer(help="Football: fetch football-data.co.uk files.", no_args_is_help=True)


@football_app.command("download")
def download(
    leagues: Annotated[str, typer.Option(help="Comma-separated league codes, e.g. E0,SP1.")],
    seasons: Annotated[str, typer.Option(help="Comma-separated season codes, e.g. 2324,2425.")],
    dest: Annotated[Path | None, typer.Option(help="Folder to write <LEAGUE>_<SEASON>.csv into (default: "
                                                   "<data>/football_data).", show_default=False)] = None,
    base_url: Annotated[str, typer.Option("--base-url", help="Mirror of football-data.co.uk's mmz4281 tree.")] =
        "https://www.football-data.co.uk/mmz4281",
) -> None:
    """Fetch public football-data.co.uk files (for users with internet); ingest them with `formguide ingest`."""
    from formguide.cli.render import out
    from formguide.core.settings import load_settings
    from formguide.football.download import download_football

    target = dest if dest is not None else load_settings().data / "football_data"
    written = download_football([s.strip() for s in leagues.split(",") if s.strip()],
                                [s.strip() for s in seasons.split(",") if s.strip()], target, base_url=base_url)
    for p in written:
        out.print(f"wrote {p}")
