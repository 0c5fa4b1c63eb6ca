"""The web UI: server-rendered pages (Jinja2) over the application layer, mounted at ``/`` beside the API.

``mount(app)`` adds the pages, their static files (``/static``: our own CSS and script, nothing from the
internet) and the handler that shows a user's mistake as a page. A page module is a router listed in
``PAGES`` with its navigation entry in ``render.NAV``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from formguide.service.ui import actions, pages, serving_pages, training
from formguide.service.ui.common import UiError, error_page

__all__ = ["PAGES", "mount"]

#: Page routers, in the order they are matched.
PAGES = (pages.router, training.router, actions.router, serving_pages.router)


def mount(app: FastAPI) -> None:
    """Serve the UI from ``app`` (call after the API's routers, so ``/api/v1`` is matched first)."""
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="ui_static")
    for router in PAGES:
        app.include_router(router, include_in_schema=False)

    @app.exception_handler(UiError)
    async def _ui_error(request: Request, exc: UiError) -> HTMLResponse:
        return error_page(request, exc)
