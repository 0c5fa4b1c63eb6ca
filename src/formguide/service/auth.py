"""Bearer-token check of the write endpoints (reads are open).

The token is the ``api_token`` setting (``FORMGUIDE_API_TOKEN``). With none configured every write is refused
with 403 and how to set one; a missing or wrong token is 401.
"""

from __future__ import annotations

import secrets

from fastapi import Request

from formguide.service.errors import ApiError

__all__ = ["require_token"]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require_token(request: Request) -> None:
    """FastAPI dependency of every write endpoint."""
    configured = request.app.state.settings.api_token
    expected = configured.get_secret_value() if configured is not None else ""
    if not expected:
        raise ApiError(403, "forbidden", "writes are disabled: no API token is configured; set FORMGUIDE_API_TOKEN "
                       "(e.g. `export FORMGUIDE_API_TOKEN=$(openssl rand -hex 32)`) and restart `formguide serve`, "
                       "then send `Authorization: Bearer <token>`")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if not header:
        raise ApiError(401, "unauthorized", "this endpoint needs `Authorization: Bearer <token>` "
                       "(the FORMGUIDE_API_TOKEN the server was started with)", headers=_CHALLENGE)
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "wrong API token (send `Authorization: Bearer <token>` with the "
                       "server's FORMGUIDE_API_TOKEN)", headers=_CHALLENGE)
