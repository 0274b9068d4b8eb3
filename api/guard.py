"""Every route's gate, passed before FastAPI reads a byte of the body: credentials, size, NUL.

FastAPI reads and parses a route's body (to validate its JSON model or form) *before* it solves
any dependency, so the app-wide ``Depends(authorize)`` this replaces came too late: an anonymous
200 MiB POST to ``/api/v1/users`` was read whole (the server grew from 477 to 884 MiB) and
answered 422, where a 401 was due.
Every router is built with :class:`GuardedRoute` (``api.policy.bind`` refuses to start with a
route that is not), whose handler, before FastAPI's own:

1. applies the role table (:func:`api.auth.authorize`), reading no body, except on the Open311
   POST whose ``api_key`` may be a form field: that form is read under the cap of step 3; so an
   anonymous caller of a route that needs credentials gets its 401 whatever else it sent;
2. refuses a NUL character in the query or path (PostgreSQL text cannot hold it; no body read);
3. caps the body: ``GEO_GRID_BODY_MAX_BYTES``, or for a multipart body sent to a route that takes
   an upload (:data:`api.uploads.UploadDep`) ``GEO_GRID_UPLOAD_MAX_BYTES`` plus the form's slack.
   A Content-Length over the cap answers 413 before anything is read; a body without one
   (chunked) is counted as it streams and stopped with 413 as soon as it passes the cap;
4. reads the body (an upload's stream is left to :mod:`api.uploads`, which writes it to disk),
   parses JSON over :data:`_INLINE_JSON` bytes in a worker thread instead of the event loop, and
   refuses NUL in it (``\\u0000`` in JSON, any value of a plain form).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from api.auth import authorize
from api.uploads import FORM_SLACK, UPLOAD_SETTINGS, too_large
from geo_grid.errors import BadInput, TooLarge
from geo_grid.settings import get_settings

__all__ = ["GuardedRequest", "GuardedRoute", "upload_setting"]

_FORM = "application/x-www-form-urlencoded"
#: JSON bodies up to this size are parsed on the event loop (cheaper than a thread hop).
_INLINE_JSON = 64 * 1024


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


class GuardedRequest(Request):
    """A request whose body arrives through the cap, and whose form is parsed from the body read
    once (so the credentials step and the route can both look at it)."""

    async def form(self, **kwargs: Any):  # type: ignore[override]
        await self.body()
        return await super().form(**kwargs)

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) > _INLINE_JSON:
                self._json = await run_in_threadpool(json.loads, body)
        return await super().json()


def _capped(receive: Receive, declared: int | None, limit: int, error: TooLarge) -> Receive:
    """``receive`` that raises ``error`` instead of passing more than ``limit`` body bytes."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        if declared is not None and declared > limit:
            raise error  # nothing of it read
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise error
        return message

    return capped


def _declared(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _body_cap(request: Request, upload: str | None) -> tuple[int, TooLarge]:
    """The byte cap of this request's body and the error that names it; ``upload`` is the setting
    that caps the files of the route's upload dependency, if it has one."""
    settings = get_settings()
    if upload and _media_type(request) == "multipart/form-data":
        limit = getattr(settings, upload)
        return limit + FORM_SLACK, too_large(limit, setting=upload)
    limit = settings.body_max_bytes
    message = (
        f"body: larger than the {limit / 1048576:.1f} MiB limit ({limit} bytes, "
        "GEO_GRID_BODY_MAX_BYTES)"
    )
    return limit, TooLarge(message, field="body")


def _refuse_nul_params(request: Request) -> None:
    for name, value in (*request.query_params.multi_items(), *request.path_params.items()):
        if "\x00" in str(value):
            raise BadInput(f"{name}: must not contain a NUL character", field=name)


async def _refuse_nul_body(request: Request, media_type: str) -> None:
    """PostgreSQL text cannot hold U+0000: one check at the edge instead of a pattern on every
    string field. Multipart uploads are checked by :mod:`api.uploads` (files hold zero bytes)."""
    if _is_json(media_type):
        if b"\\u0000" in await request.body():  # JSON can carry NUL only as this escape
            raise BadInput("body: must not contain a NUL character (\\u0000)", field="body")
    elif media_type == _FORM:
        for name, value in (await request.form()).multi_items():
            if isinstance(value, str) and "\x00" in value:
                raise BadInput(f"{name}: must not contain a NUL character", field=name)


def upload_setting(dependant: Dependant) -> str | None:
    """The setting capping the files of ``dependant``'s upload dependency (among its
    sub-dependencies too, :data:`api.uploads.UPLOAD_SETTINGS`); None when it takes no file."""
    for dependency in dependant.dependencies:
        found = UPLOAD_SETTINGS.get(dependency.call) or upload_setting(dependency)  # type: ignore[arg-type]
        if found:
            return found
    return None


class GuardedRoute(APIRoute):
    """An API route whose handler passes the gate (module docstring) before FastAPI's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        upload = upload_setting(self.dependant)

        async def guarded(request: Request) -> Response:
            limit, error = _body_cap(request, upload)
            receive = _capped(request.receive, _declared(request), limit, error)
            request = GuardedRequest(request.scope, receive)
            await authorize(request)  # puts no query or path text in the database: keys hashed
            _refuse_nul_params(request)
            media_type = _media_type(request)
            if not (upload and media_type == "multipart/form-data"):
                await request.body()  # whole, under the cap; what FastAPI then parses
                if _is_json(media_type):
                    with contextlib.suppress(ValueError):  # FastAPI answers it with its 422
                        await request.json()
                await _refuse_nul_body(request, media_type)
            return await handler(request)

        return guarded
