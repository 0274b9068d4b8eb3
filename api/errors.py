"""Domain errors → HTTP: one table, registered in a loop. Only 5xx are logged."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from geo_grid.errors import BadInput, Conflict, DatabaseUnavailable, GeoGridError, NotFound

log = logging.getLogger("geo_grid.api")

STATUS: dict[type[GeoGridError], int] = {
    BadInput: 422,
    NotFound: 404,
    Conflict: 409,
    DatabaseUnavailable: 503,
}


def _body(message: str, field: str | None, **extra) -> dict:
    return {"error": {"message": message, "field": field, **extra}}


def _plain(errors: list) -> list:
    """Validation errors as JSON values.

    A body that could not be parsed is echoed as the ``input`` of its error, as bytes in whatever
    encoding the client sent: shown as text (undecodable bytes replaced), never a 500.
    """
    text = {bytes: lambda raw: raw.decode("utf-8", "replace")}
    return jsonable_encoder(errors, custom_encoder=text)


def register(app: FastAPI) -> None:
    """Attach the handlers: domain errors by class, request validation with the field named."""

    def make_handler(status: int):
        async def handler(request: Request, exc: GeoGridError) -> JSONResponse:
            if status >= 500:
                log.error("%s %s: %s", request.method, request.url.path, exc.message)
            extra = getattr(exc, "extra", None) or {}
            return JSONResponse(_body(exc.message, exc.field, **extra), status_code=status)

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

    async def unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(_body("database unavailable", None), status_code=503)

    app.add_exception_handler(OperationalError, unavailable)
