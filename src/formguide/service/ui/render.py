"""Templates of the web UI: one Jinja2 environment, the navigation, number filters, and the page frame.

Every page extends ``templates/base.html`` and is rendered by :func:`page`, which adds what the frame needs
(the navigation with the current page marked, whether writes are possible, the signed-in state).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from formguide import __version__
from formguide.service.ui.markdown import render_markdown
from formguide.service.ui.session import signed_in, writes_configured

__all__ = ["NAV", "TEMPLATES", "page"]

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))

#: The navigation: (path, label). A page module adds its entry here (see /tmp/docs/ui-core.md, "adding a page").
NAV: list[tuple[str, str]] = [("/", "Dashboard"), ("/training", "Training"), ("/history", "History"),
                              ("/models", "Models"), ("/predictions", "Predictions"), ("/races", "Races"),
                              ("/simulations", "Simulations")]


def _num(value: Any, digits: int = 4) -> str:
    """A metric as people read it: fixed digits, an en dash for a missing or non-finite value."""
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else "–"
    return str(value)


def _pct(value: Any, digits: int = 0) -> str:
    return f"{float(value) * 100:.{digits}f}%" if isinstance(value, int | float) else "–"


def _when(value: Any) -> str:
    """A timestamp to the minute (UTC as stored), an ISO string cut the same way."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)[:16].replace("T", " ") if value else "–"


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


TEMPLATES.env.filters.update(num=_num, pct=_pct, when=_when, duration=_duration, markdown=render_markdown)
TEMPLATES.env.globals.update(version=__version__)


#: Every UI page: scripts, styles, images and form targets from this server only (inline style attributes
#: draw bar widths; no inline script exists), never framed, no type sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def page(request: Request, template: str, title: str, status_code: int = 200, **data: Any) -> HTMLResponse:
    """Render ``template`` inside the frame."""
    path = request.url.path
    current = max((p for p, _ in NAV if p == path or (p != "/" and path.startswith(p + "/"))), key=len,
                  default=path)
    context = {"title": title, "nav": NAV, "current": current, "writes": writes_configured(request),
               "signed_in": signed_in(request), **data}
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response
