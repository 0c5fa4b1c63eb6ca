"""The UI's writes besides training: signing in with the API token, signing out, promoting a version.

Promotion asks first: the button's script confirms in a dialog; without JavaScript the server answers a
confirmation page, and only a post carrying ``confirm=yes`` promotes (``app.promote_model``, as the API).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from formguide.app import promote_model, show_model
from formguide.service.ui.common import UiError, error_page, shown
from formguide.service.ui.pages import model_id_of
from formguide.service.ui.render import page
from formguide.service.ui.session import (
    COOKIE,
    NO_TOKEN,
    check_write,
    cookie_value,
    token_matches,
    writes_configured,
)

__all__ = ["router"]

router = APIRouter()


def _local_path(target: str | None) -> str:
    """Where to go after signing in: only a path of this site (never another host)."""
    ok = target and target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target
    return target if ok else "/"


@router.get("/login", response_class=HTMLResponse, name="ui_login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the usual query name
    return page(request, "login.html", title="Sign in", next=_local_path(next), error=None)


@router.post("/login", name="ui_login_post")
async def login(request: Request) -> Response:
    form = await request.form()
    target = _local_path(str(form.get("next") or "/"))
    if not writes_configured(request):
        return page(request, "login.html", title="Sign in", next=target, error=NO_TOKEN, status_code=403)
    if not token_matches(request, str(form.get("token") or "")):
        return page(request, "login.html", title="Sign in", next=target, status_code=401,
                    error="wrong token: paste the FORMGUIDE_API_TOKEN the server was started with")
    response = RedirectResponse(target, status_code=303)
    token = request.app.state.settings.api_token.get_secret_value()
    response.set_cookie(COOKIE, cookie_value(token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout", name="ui_logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/models/{model_ref}/promote", name="ui_promote")
async def promote(request: Request, model_ref: str) -> Response:
    form = await request.form()
    try:
        model_id = model_id_of(model_ref)
    except UiError as exc:
        return error_page(request, exc)
    return await run_in_threadpool(_promote, request, model_id, form.get("confirm") == "yes")


def _promote(request: Request, model_id: int, confirmed: bool) -> Response:
    try:
        refused = check_write(request)
        if refused is not None:
            raise UiError(*refused)
        detail = shown(request, lambda ctx: show_model(ctx, str(model_id)))
        if not confirmed:
            return page(request, "confirm_promote.html", title="Promote?", detail=detail)
        shown(request, lambda ctx: promote_model(ctx, str(model_id)))
    except UiError as exc:
        return error_page(request, exc)
    return RedirectResponse(f"/models?promoted={model_id}#line-{detail.model.name}", status_code=303)
