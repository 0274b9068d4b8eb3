"""Domain errors → HTTP: one table, registered in a loop. Only 5xx are logged."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from api import pages
from geo_grid.errors import (
    BadInput,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    GeoGridError,
    NotFound,
    TooLarge,
    TooManyAttempts,
    Unauthorized,
)
from geo_grid.services.database import error_line

log = logging.getLogger("geo_grid.api")

STATUS: dict[type[GeoGridError], int] = {
    BadInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    TooManyAttempts: 429,
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
        (400, "The body cannot be parsed (malformed JSON or multipart form)"),
        (401, "No or invalid credentials"),
        (403, "The caller's role or area does not allow this"),
        (404, "Not found"),
        (409, "Conflicts with the current state"),
        (413, "The request body is over its size limit (the message names the limit)"),
        (422, "Bad input: the message names the field"),
        (429, "Too many failed logins: wait Retry-After seconds"),
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
    """Open311 clients get every error in the spec's list format (XML for ``.xml`` routes).

    Bad input is the spec's 400 (this API's 422 elsewhere).
    """
    from geo_grid.cases import open311

    status = 400 if status == 422 else status
    payload = open311.errors(status, message)
    if path.endswith(".xml"):
        return Response(
            open311.to_xml("errors", payload), status, headers=headers,
            media_type="text/xml; charset=utf-8",
        )  # fmt: skip
    return JSONResponse(payload, status_code=status, headers=headers)


def _open311(request: Request, status: int) -> bool:
    return 400 <= status < 500 and request.url.path.startswith("/open311/")


def _error(request: Request, status: int, message: str, field: str | None, headers=None,
           extra: dict | None = None) -> Response:  # fmt: skip
    """Every 4xx of the app: ``{"error": {message, field, **extra}}``, or the GeoReport v2 list
    on Open311 routes."""
    if _open311(request, status):
        return _open311_error(request.url.path, status, message, headers)
    body = _body(message, field, **(extra or {}))
    return JSONResponse(body, status_code=status, headers=headers)


@lru_cache(maxsize=8)
def _method_table(app: FastAPI) -> tuple[tuple[re.Pattern, int, frozenset[str]], ...]:
    """(path pattern, number of its parameters, methods) of every route of ``app``, built once
    (routes do not change)."""
    from api.policy import routes

    table = []
    for path, methods, _ in routes(app):
        pattern, _, convertors = compile_path(path)
        table.append((pattern, len(convertors), frozenset(methods)))
    return tuple(table)


def allowed_methods(request: Request) -> list[str]:
    """The methods the API serves at the request's path, as its OpenAPI document reads: every
    route at that path (Starlette's own ``Allow`` names only the first one: ``GET`` and ``POST
    /cases`` are two), and a concrete path before a templated one (OpenAPI 3.1 "Paths Object"),
    so ``/api/v1/cases/tick`` is the sweep's (POST), not a case called "tick"."""
    path = request.url.path
    matches = [(n, methods) for pattern, n, methods in _method_table(request.app)
               if pattern.match(path)]  # fmt: skip
    if not matches:
        return []
    fewest = min(n for n, _ in matches)
    methods = set().union(*(m for n, m in matches if n == fewest))
    return sorted(methods | {"OPTIONS"})


def _validation_field(first: dict) -> tuple[str | None, str]:
    """The field a validation error names, and its message.

    A body that is not JSON or not an object names ``body`` (FastAPI reports the character
    position of a JSON syntax error as the location, which names no field).
    """
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "JSON decode error")
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        return "body", f"body: not valid JSON ({reason}{at})"
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    field = ".".join(parts) or ("body" if loc[:1] == ("body",) else None)
    return field, f"{field}: {first.get('msg')}" if field else str(first.get("msg"))


def _reason(exc: GeoGridError) -> str:
    """What the log says: the message, and the cause the client is not told (e.g. why the
    database is unavailable, in the driver's words)."""
    cause = error_line(exc)
    return exc.message if cause == exc.message else f"{exc.message}: {cause}"


def register(app: FastAPI) -> None:
    """Attach the handlers: domain errors by class, request validation with the field named,
    and Starlette's own errors (unparseable body 400, unknown path 404, method 405, OPTIONS)."""

    def make_handler(status: int):
        async def handler(request: Request, exc: GeoGridError) -> JSONResponse:
            if status >= 500:
                log.error("%s %s: %s", request.method, request.url.path, _reason(exc))
            if status == 401 and request.method == "GET" and pages.is_page_path(request.url.path):
                # a person opening a page: send them to the login form and back
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            if status in pages.PAGE_ERRORS and pages.wants_page(request):
                return pages.error_page(request, status, exc.message)  # Chinese, for a person
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            if isinstance(exc, TooManyAttempts):
                headers = {"Retry-After": str(exc.retry_after)}
            extra = getattr(exc, "extra", None) or {}
            return _error(request, status, exc.message, exc.field, headers, extra)

        return handler

    for cls, status in STATUS.items():
        app.add_exception_handler(cls, make_handler(status))

    async def validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field, message = _validation_field(first)
        if pages.wants_page(request):
            return pages.error_page(request, 422, message)  # Chinese, for a person
        return _error(request, 422, message, field, extra={"details": _plain(exc.errors())})

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Errors Starlette and FastAPI raise before a route runs, in the API's one error shape.

    ``OPTIONS`` on a path the API serves answers ``204`` with ``Allow`` (RFC 9110 §9.3.7), no
    CORS headers: the maps are same-origin and no other site is meant to call the API from a
    browser. Any other method a path does not serve is ``405`` with the full ``Allow`` list. A
    person's browser opening a page that does not exist (``/map/nothing``) gets the Chinese page
    of :mod:`api.pages` instead of JSON, as a route's own 403 and 404 do.
    """
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status in pages.PAGE_ERRORS and pages.wants_page(request):
        return pages.error_page(request, status, f"{request.method} {request.url.path}")
    if status == 405:
        # no route at the path: the only other 405 is a static file's (StaticFiles: GET, HEAD)
        allowed = allowed_methods(request) or ["GET", "HEAD", "OPTIONS"]
        headers["Allow"] = ", ".join(allowed)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
        message = f"method {request.method} not allowed here; allowed: {', '.join(allowed)}"
        return _error(request, 405, message, None, headers)
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
    if status == 400:  # FastAPI and Starlette raise it for a body they cannot parse
        return _error(request, 400, f"body: cannot be parsed ({exc.detail})", "body", headers)
    if status == 404:
        message = f"no such path: {request.url.path}"
        return _error(request, 404, message, None, headers)
    return _error(request, status, str(exc.detail), None, headers)
