"""How the web UI's writes (start a training run, promote a version) are authorised: the same API token.

The token is configured on the server (``FORMGUIDE_API_TOKEN``) exactly as for the HTTP API; there is no
login-free mode, whatever address the server is bound to (a loopback bind can still sit behind a proxy).
A person signs in once by pasting the token into ``/login``; the browser then holds an HttpOnly,
SameSite=Strict cookie carrying an HMAC of the token (never the token itself), which changes when the token
does. A write from the UI also has to come from the UI's own origin (``Origin``/``Referer`` checked), so
another site cannot submit the forms. Without a configured token every UI write is refused with the same
sentence the API's 403 says, and the pages show that the UI is read-only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

__all__ = ["COOKIE", "check_write", "cookie_value", "signed_in", "token_matches", "writes_configured"]

COOKIE = "formguide_ui"
NO_TOKEN = ("writes are disabled: no API token is configured; set FORMGUIDE_API_TOKEN (e.g. `export "
            "FORMGUIDE_API_TOKEN=$(openssl rand -hex 32)`) and restart `formguide serve`, then sign in with it")


def _token(request: Request) -> str:
    configured = request.app.state.settings.api_token
    return configured.get_secret_value() if configured is not None else ""


def writes_configured(request: Request) -> bool:
    return bool(_token(request))


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"formguide-ui-session-v1", hashlib.sha256).hexdigest()


def token_matches(request: Request, given: str) -> bool:
    expected = _token(request)
    return bool(expected) and secrets.compare_digest(given.strip().encode(), expected.encode())


def signed_in(request: Request) -> bool:
    expected = _token(request)
    given = request.cookies.get(COOKIE, "")
    return bool(expected and given) and secrets.compare_digest(given.encode(), cookie_value(expected).encode())


def _same_origin(request: Request) -> bool:
    """The write came from a page of this server (a browser always sends Origin or Referer on a POST)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def check_write(request: Request) -> tuple[int, str] | None:
    """None when the UI may write now; otherwise the status (403 refused, 401 not signed in) and the sentence
    to show in place."""
    if not writes_configured(request):
        return 403, NO_TOKEN
    if not signed_in(request):
        return 401, "sign in with the API token first (Sign in, top right): writes need FORMGUIDE_API_TOKEN"
    if not _same_origin(request):
        return 403, "refused: this write did not come from a page of this server"
    return None
