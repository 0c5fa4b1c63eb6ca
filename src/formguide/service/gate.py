"""The service's one :class:`~formguide.app.Context`: opened on first use, opened again after the store failed.

Every request shares the context (its engine pools connections across the server's threads); when the store
cannot be reached the context is closed, the request answers 503, and a later request tries again, so the
service recovers by itself once the store is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import Request

from formguide.app.context import Context
from formguide.core.errors import StoreError
from formguide.core.store.db import redact_url

__all__ = ["StoreGate", "context"]


class StoreGate:
    """Hands out the context, opening (and migrating) its store under a lock the first time."""

    def __init__(self, factory: Callable[[], Context]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._ctx: Context | None = None

    def context(self) -> Context:
        with self._lock:
            if self._ctx is None:
                self._ctx = self._factory()
            ctx = self._ctx
            try:
                ctx.engine  # noqa: B018 - opens and migrates the store once
            except StoreError:
                self._close()
                raise
            except OSError as exc:  # e.g. a SQLite file whose folder cannot be made
                self._close()
                raise StoreError(f"cannot open the store {redact_url(ctx.settings.store_url)}: {exc}") from None
            return ctx

    def reset(self) -> None:
        """Forget the open store (it failed): the next request opens it again."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()

    def close(self) -> None:
        self.reset()


def context(request: Request) -> Context:
    """FastAPI dependency: the application layer's context for this request."""
    return request.app.state.gate.context()
