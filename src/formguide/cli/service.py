"""``formguide serve``: the HTTP API (FastAPI, run by uvicorn) over the same store the other commands use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from formguide.cli import ArtifactsOpt, DbOpt, app, context
from formguide.cli.render import out
from formguide.core.errors import FormguideError


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=0, help=(
        "Job workers run inside the server (threads, like `formguide worker`): they train what POST "
        "/api/v1/models/train queues. 0: none (run `formguide worker` separately)."))] = 1,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Serve the HTTP API under /api/v1 (OpenAPI at /docs, health at /health). Reads are open; writes (train, promote, cancel)
    need FORMGUIDE_API_TOKEN set here and sent as `Authorization: Bearer <token>`."""
    try:
        import uvicorn

        from formguide.service.api import create_app
    except ImportError as exc:  # pragma: no cover - both are dependencies of the package
        raise FormguideError(f"the service needs fastapi and uvicorn ({exc.name} is missing): "
                             "pip install fastapi uvicorn") from None
    ctx = context(db, artifacts)
    ctx.engine  # noqa: B018 - an unreachable store is one clear line now, not at the first request
    settings = ctx.settings
    writes = "on (token set)" if settings.api_token is not None else "off (set FORMGUIDE_API_TOKEN to allow)"
    out.print(f"formguide API on http://{host}:{port}/api/v1 (docs: /docs), store {_store(settings.store_url)}, "
              f"writes {writes}, {workers} in-process worker(s)", markup=False, highlight=False)
    uvicorn.run(create_app(settings, context_factory=lambda: ctx, workers=workers), host=host, port=port,
                log_level=settings.log_level.lower())


def _store(url: str) -> str:
    from formguide.core.store.db import redact_url

    return redact_url(url) if not url.startswith("sqlite") else str(Path(url.split("///", 1)[-1]))
