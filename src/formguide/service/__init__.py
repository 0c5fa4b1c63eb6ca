"""The HTTP service: a FastAPI app over the application layer (``formguide serve``)."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from formguide.service.api import create_app

        return create_app
    raise AttributeError(f"module 'formguide.service' has no attribute {name!r}")
