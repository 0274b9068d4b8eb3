"""Domain errors → HTTP: one table, registered in a loop. Only 5xx are logged."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError

from geo_grid.errors import (
    BadInput,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    GeoGridError,
    NotFound,
    TooLarge,
    Unauthorized,
)
from geo_grid.services.database import UNREACHABLE, error_line

log = logging.getLogger("geo_grid.api")

STATUS: dict[type[GeoGridError], int] = {
    BadInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    DatabaseUnavailable: 503,
}


class ErrorDetail(BaseModel):
    """What went wrong and which field to fix (``None``: the request as a whole)."""

    model_config = ConfigDict(extra="allow")  # e.g. ``allowed`` actions on a 409
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error answer of the API (Open311 routes answer in the spec's own format)."""

    error: ErrorDetail


#: Declared on every route (``FastAPI(responses=...)``) so the OpenAPI document says what an
#: error looks like, instead of FastAPI's default 422 shape which this API never sends.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "No or invalid credentials"),
        (403, "The caller's role or area does not allow this"),
        (404, "Not found"),
        (409, "Conflicts with the current state"),
        (413, "The request body is over its size limit (the message names the limit)"),
        (422, "Bad input: the message names the field"),
        (503, "Database unavailable"),
    )
}


def _body(message: str, field: str | None, **extra) -> dict:
    return {"error": {"message": message, "field": field, **extra}}


#: At most this many validation errors, and this much of each refused input, go back to the client.
_MAX_ERRORS = 20
_ECHO_CHARS = 200
_ECHO_ITEMS = 20


def _echo(value: Any, depth: int = 0) -> Any:
    """What an error repeats of a refused input: short values as sent, long text cut, large or
    deep lists and objects by their size only. Echoing a refused 1.5 MB body whole took 2.6 s on
    the event loop and answered 1.2 MB.

    >>> _echo("x" * 300)[-18:], _echo(list(range(50))), _echo({"a": [1, [2, [3]]]})
    ('… (300 characters)', '<list of 50 items>', {'a': [1, '<list of 2 items>']})
    """
    if isinstance(value, bytes):  # a body that could not be parsed, in the client's encoding
        value = value[: _ECHO_CHARS * 4].decode("utf-8", "replace") + (
            f"… ({len(value)} bytes)" if len(value) > _ECHO_CHARS * 4 else ""
        )
    if isinstance(value, str):
        cut = f"… ({len(value)} characters)" if len(value) > _ECHO_CHARS else ""
        return value[:_ECHO_CHARS] + cut
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | dict):
        if depth >= 2 or len(value) > _ECHO_ITEMS:
            return f"<{type(value).__name__} of {len(value)} items>"
        if isinstance(value, dict):
            return {str(k)[:_ECHO_CHARS]: _echo(v, depth + 1) for k, v in value.items()}
        return [_echo(v, depth + 1) for v in value]
    return _echo(str(value), depth)


def _plain(errors: list) -> list:
    """The first validation errors as JSON values, each ``input`` trimmed (:func:`_echo`).

    A body that could not be parsed is echoed as the ``input`` of its error, as bytes in whatever
    encoding the client sent: shown as text (undecodable bytes replaced), never a 500.
    """
    trimmed = [
        {**error, "input": _echo(error["input"])} if "input" in error else error
        for error in errors[:_MAX_ERRORS]
    ]
    return jsonable_encoder(trimmed)


def _open311_error(path: str, status: int, message: str, headers) -> Response:
    """Open311 clients get access errors in the spec's list format (XML for ``.xml`` routes)."""
    from geo_grid.cases import open311

    payload = open311.errors(status, message)
    if path.endswith(".xml"):
        return Response(
            open311.to_xml("errors", payload), status, headers=headers,
            media_type="text/xml; charset=utf-8",
        )  # fmt: skip
    return JSONResponse(payload, status_code=status, headers=headers)


def register(app: FastAPI) -> None:
    """Attach the handlers: domain errors by class, request validation with the field named."""

    def make_handler(status: int):
        async def handler(request: Request, exc: GeoGridError) -> JSONResponse:
            if status >= 500:
                log.error("%s %s: %s", request.method, request.url.path, exc.message)
            if status == 401 and request.method == "GET" and request.url.path.startswith("/map"):
                # a person opening a map page: send them to the login form and back
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            if status in (401, 403) and request.url.path.startswith("/open311/"):
                return _open311_error(request.url.path, status, exc.message, headers)
            extra = getattr(exc, "extra", None) or {}
            return JSONResponse(
                _body(exc.message, exc.field, **extra), status_code=status, headers=headers
            )

        return handler

    for cls, status in STATUS.items():
        app.add_exception_handler(cls, make_handler(status))

    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return JSONResponse(_body(message, field, details=_plain(exc.errors())), status_code=422)

    app.add_exception_handler(RequestValidationError, validation)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        reason = error_line(exc)
        log.error("%s %s: database unavailable: %s", request.method, request.url.path, reason)
        return JSONResponse(_body("database unavailable", None), status_code=503)

    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if _lost_connection(exc):
            return await unavailable(request, exc)
        raise exc  # a bug: the server's default 500 (and its traceback in the log), as before

    # the server is down, restarting or went away mid-request, or the pool is exhausted: retry
    for cls in UNREACHABLE:
        if cls not in STATUS:  # DatabaseUnavailable keeps its own message
            app.add_exception_handler(cls, unavailable)
    # any other driver error stays a bug (500), unless it came from a connection that died
    app.add_exception_handler(DBAPIError, database_error)


def _lost_connection(exc: DBAPIError) -> bool:
    """A driver error caused by a dead connection (SQLAlchemy flags those it recognises).

    psycopg2 reports "server closed the connection unexpectedly" as an OperationalError, but a
    statement on a socket the server already dropped can surface as another DBAPIError class.
    """
    if exc.connection_invalidated:
        return True
    text = str(exc.orig or "").lower()
    return any(
        hint in text
        for hint in (
            "server closed the connection",
            "connection already closed",
            "terminating connection",
            "could not connect",
            "connection refused",
        )
    )
