"""What every UI route shares: the application layer's context, and errors shown as a page, not JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import OperationalError

from formguide.app.context import Context
from formguide.core.errors import FormguideError
from formguide.core.tasks import TaskNotFound, TaskStateError
from formguide.service.errors import ApiError, status_of
from formguide.service.ui.render import page

__all__ = ["UiError", "app_context", "error_page", "shown"]

log = logging.getLogger("formguide.service.ui")
T = TypeVar("T")


class UiError(Exception):
    """A user's mistake or an unavailable store, carried to the page as a status and a sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def app_context(request: Request) -> Context:
    return request.app.state.gate.context()


def shown(request: Request, use_case: Callable[[Context], T]) -> T:
    """Run ``use_case`` on the context; a formguide error or an unreachable store becomes a :class:`UiError`."""
    try:
        return use_case(app_context(request))
    except TaskNotFound as exc:
        raise UiError(404, str(exc)) from None
    except TaskStateError as exc:  # e.g. cancelling a finished task
        raise UiError(409, str(exc)) from None
    except ApiError as exc:
        raise UiError(exc.status, exc.message) from None
    except FormguideError as exc:
        status, _ = status_of(exc)
        if status == 503:
            request.app.state.gate.reset()
        raise UiError(status, str(exc)) from None
    except OperationalError as exc:
        request.app.state.gate.reset()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise UiError(503, f"the store cannot be used right now: {reason}") from None


def error_page(request: Request, exc: UiError) -> HTMLResponse:
    return page(request, "error.html", title="Error", status_code=exc.status, status=exc.status,
                message=exc.message)
