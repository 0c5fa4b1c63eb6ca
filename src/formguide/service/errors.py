"""Every error the API answers, mapped to a status code in one place, each with a JSON body saying what was wrong.

A user's mistake is a 4xx whose ``message`` is the same sentence the CLI prints; a store that cannot be reached
is a 503 (and the next request opens it again); anything else is a defect: a 500 with a short body, its
traceback in the server's log only.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from formguide.core.errors import (
    ArtifactIntegrityError,
    DataValidationError,
    FormguideError,
    IngestError,
    ModelNotFoundError,
    StoreError,
)

__all__ = ["ApiError", "ErrorBody", "FieldError", "install_error_handlers", "status_of"]

log = logging.getLogger("formguide.service")

#: formguide's own errors by status code, most specific first.
STATUS_OF_ERROR: tuple[tuple[type[FormguideError], int, str], ...] = (
    (ModelNotFoundError, 404, "not_found"),
    (ArtifactIntegrityError, 409, "conflict"),
    (StoreError, 503, "store_unavailable"),
    (DataValidationError, 422, "data"),
    (IngestError, 400, "bad_request"),
    (FormguideError, 400, "bad_request"),
)


class FieldError(BaseModel):
    field: str = Field(description="Where: body.x, query.x or path.x.")
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    status: int
    error: str = Field(description="Kind: not_found, conflict, validation, bad_request, data, unauthorized, "
                       "forbidden, store_unavailable, internal.")
    message: str = Field(description="What was wrong, in one sentence.")
    field: str | None = Field(None, description="The request field at fault, when there is one.")
    errors: list[FieldError] = Field(default_factory=list, description="Every field a validation refused.")


class ApiError(Exception):
    """An error the service raises itself (unknown league or season, a missing token...)."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.field, self.headers = status, error, message, field, headers


def status_of(exc: FormguideError) -> tuple[int, str]:
    for kind, status, error in STATUS_OF_ERROR:
        if isinstance(exc, kind):
            return status, error
    return 400, "bad_request"  # pragma: no cover - FormguideError is the last row


def _body(status: int, error: str, message: str, field: str | None = None,
          errors: list[FieldError] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(status=status, error=error, message=message, field=field, errors=errors or [])
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _field_errors(errors: list[dict]) -> list[FieldError]:
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p != "__root__"]
        out.append(FieldError(field=".".join(loc) or "request", message=str(e.get("msg", "invalid value"))))
    return out


def validation_response(errors: list[dict], default_field: str | None = None) -> JSONResponse:
    fields = _field_errors(errors)
    if default_field is not None:
        fields = [FieldError(field=default_field if f.field == "request" else f.field, message=f.message)
                  for f in fields]
    message = "; ".join(f"{f.field}: {f.message}" for f in fields) or "invalid request"
    return _body(422, "validation", message, field=fields[0].field if fields else None, errors=fields)


def _store_down(request: Request, message: str) -> JSONResponse:
    gate = getattr(request.app.state, "gate", None)
    if gate is not None:
        gate.reset()  # the next request opens the store again
    return _body(503, "store_unavailable", message)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to its status code and JSON body."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return _body(exc.status, exc.error, exc.message, field=exc.field, headers=exc.headers)

    @app.exception_handler(FormguideError)
    async def _formguide(request: Request, exc: FormguideError) -> JSONResponse:
        status, error = status_of(exc)
        if status == 503:
            return _store_down(request, str(exc))
        return _body(status, error, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(list(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _model(request: Request, exc: ValidationError) -> JSONResponse:  # an application request refused
        return validation_response(exc.errors(include_url=False), default_field="query")

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("store error on %s: %s", request.url.path, exc)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        return _store_down(request, f"the store cannot be used right now: {reason}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
        message = str(exc.detail) if exc.status_code != 404 else f"no such endpoint: {request.url.path}"
        return _body(exc.status_code, error, message, headers=getattr(exc, "headers", None))


async def unexpected_errors(request: Request, call_next):  # type: ignore[no-untyped-def]
    """Middleware: a defect answers 500 with a short body; its traceback goes to the log only."""
    try:
        return await call_next(request)
    except DBAPIError as exc:  # a driver error outside OperationalError (e.g. a dropped connection)
        log.exception("store error on %s %s", request.method, request.url.path)
        return _store_down(request, f"the store cannot be used right now: {type(exc.orig).__name__}")
    except ValueError as exc:  # a value a model refused (the CLI also treats these as the user's)
        log.exception("refused value on %s %s", request.method, request.url.path)
        return _body(400, "bad_request", str(exc))
    except Exception as exc:  # noqa: BLE001 - a defect: short body, traceback in the log
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _body(500, "internal", f"unexpected {type(exc).__name__} (a bug; the traceback is in the server log)")
