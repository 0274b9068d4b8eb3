"""Open311 GeoReport v2 at ``/open311/v2``: JSON or XML by extension, the spec's error format.

Every route answers ``.json`` and ``.xml``; errors are ``[{"code", "description"}]`` (XML
``<errors><error>``) with the HTTP status as the code: 400 bad input, 404 unknown service or request;
401 (no or unknown ``api_key``) and 403 (a role that may not) come from the access layer in the same
format (``api/errors.py``). The POST takes the form fields a FixMyStreet-style client sends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.auth import PrincipalDep
from api.guard import GuardedRoute
from geo_grid.cases import open311
from geo_grid.cases.catalogue import categories, category
from geo_grid.errors import BadInput, GeoGridError, NotFound
from geo_grid.services import cases


class Open311Error(BaseModel):
    code: int
    description: str


_SPEC_ERRORS = {
    status: {"model": list[Open311Error], "description": f"GeoReport v2 error list ({status})"}
    for status in (400, 401, 403, 404)
}
router = APIRouter(
    prefix="/open311/v2", tags=["open311"], responses=_SPEC_ERRORS, route_class=GuardedRoute
)

_CHANGESET = datetime(2026, 11, 25, tzinfo=UTC)


def _render(fmt: str, root: str, payload: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(open311.to_xml(root, payload), status, media_type="text/xml; charset=utf-8")
    return JSONResponse(payload, status)


def _error(fmt: str, exc: GeoGridError) -> Response:
    code = 404 if isinstance(exc, NotFound) else 400
    return _render(fmt, "errors", open311.errors(code, exc.message), code)


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise NotFound(f"format: {fmt!r} is not served (json or xml)", field="format")
    return fmt


async def _answer(fmt: str, root: str, make: Callable[[], Any]) -> Response:
    try:
        fmt = _fmt(fmt)  # the payload and its JSON or XML are made in a worker thread
        return await run_in_threadpool(lambda: _render(fmt, root, make()))
    except GeoGridError as exc:
        return _error(fmt if fmt in ("json", "xml") else "json", exc)


def _dt(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{field}: not an ISO 8601 datetime: {value!r}", field=field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: str, field: str) -> str:
    """A value bound for the store: PostgreSQL text cannot hold NUL, so no control characters."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BadInput(f"{field}: control characters are not allowed: {value!r}", field=field)
    return value


def _csv(value: str | None, field: str) -> list[str] | None:
    items = [_text(v.strip(), field) for v in (value or "").split(",") if v.strip()]
    return items or None


@router.get("/discovery.{fmt}", response_model=None)
async def discovery(request: Request, fmt: str) -> Response:
    base = str(request.base_url).rstrip("/") + "/open311/v2"
    return await _answer(
        fmt, "discovery",
        lambda: open311.discovery(base, changeset=_CHANGESET, contact="网格化服务管理中心",
                                  key_service="向网格化服务管理中心申请 api_key (管理员: geo-grid keys add)"),
    )  # fmt: skip


@router.get("/services.{fmt}", response_model=None)
async def services(fmt: str) -> Response:
    return await _answer(fmt, "services", lambda: open311.service_list(categories()))


@router.get("/services/{code}.{fmt}", response_model=None)
async def service_definition(code: str, fmt: str) -> Response:
    return await _answer(
        fmt, "service_definition", lambda: open311.service_definition(category(code))
    )


@router.post("/requests.{fmt}", response_model=None)
async def post_request(request: Request, fmt: str, principal: PrincipalDep) -> Response:
    form = dict(await request.form())
    return await _answer(
        fmt, "service_requests", lambda: cases.open311_create(form, client=principal.name)
    )


@router.get("/requests.{fmt}", response_model=None)
async def get_requests(request: Request, fmt: str) -> Response:
    q = request.query_params

    def make() -> Any:
        return cases.open311_requests(
            ids=_csv(q.get("service_request_id"), "service_request_id"),
            service_codes=_csv(q.get("service_code"), "service_code"),
            start=_dt(q.get("start_date"), "start_date"),
            end=_dt(q.get("end_date"), "end_date"),
            status=_csv(q.get("status"), "status"),
        )

    return await _answer(fmt, "service_requests", make)


@router.get("/requests/{request_id}.{fmt}", response_model=None)
async def get_request(request_id: str, fmt: str) -> Response:
    def make() -> Any:
        found = cases.open311_requests(ids=[_text(request_id, "service_request_id")])
        if not found:
            raise NotFound(f"service_request_id: no request {request_id!r}", field="id")
        return found

    return await _answer(fmt, "service_requests", make)
