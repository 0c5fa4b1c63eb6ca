"""A time limit on a long use case (``--max-runtime``), honoured by every loop that fits models.

The use case opens :func:`time_limit`; the walk-forward engine and any estimator with a long loop call
:func:`check` between fits, and a framework with its own budget (H2O AutoML) asks for :func:`remaining`.
A run that reaches the limit stops at the next check with :class:`TimeLimitExceeded`, which the training
orchestrator records as a failed run with the reason, leaving the registry as it was.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from formguide.core.errors import FormguideError

__all__ = ["TimeLimitExceeded", "check", "remaining", "time_limit"]

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("formguide_deadline", default=None)


class TimeLimitExceeded(FormguideError):
    """The run reached its ``--max-runtime``."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Limit the enclosed work to ``seconds`` of wall time (None: no limit; an outer, earlier limit stays)."""
    if seconds is None:
        yield
        return
    if not seconds > 0:
        raise FormguideError(f"--max-runtime must be a positive number of seconds, got {seconds!r}")
    now = time.monotonic()
    outer = _deadline.get()
    limit = (now + float(seconds), float(seconds))
    token = _deadline.set(limit if outer is None or limit[0] < outer[0] else outer)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left under the current limit (None: no limit)."""
    limit = _deadline.get()
    return None if limit is None else max(limit[0] - time.monotonic(), 0.0)


def check(what: str = "the run") -> None:
    """Raise :class:`TimeLimitExceeded` when the current limit has passed."""
    limit = _deadline.get()
    if limit is not None and time.monotonic() >= limit[0]:
        raise TimeLimitExceeded(f"{what} stopped at its --max-runtime of {limit[1]:g} s")
