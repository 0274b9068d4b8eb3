"""Open311 GeoReport v2 at ``/open311/v2``: JSON or XML by extension, the spec's error format.

Every route answers ``.json`` and ``.xml``; errors are ``[{"code", "description"}]`` (XML
``<errors><error>``) with the HTTP status as the code: 400 bad input, 404 unknown service or request,
403 a request outside the caller's area; 401 (no or unknown ``api_key``) and 403 (a role that may
not) come from the access layer in the same format (``api/errors.py``). The POST takes the form
fields a FixMyStreet-style client sends.

Discovery and the service list are public unless ``GEO_GRID_OPEN311_PUBLIC_DISCOVERY=false``
(``api/policy.py``); requests are read with a key or token, confined to the caller's area as
``GET /api/v1/cases`` is, and never carry personal data (numbers in their text are masked).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api import schemas
from api.auth import PrincipalDep
from api.deps import Open311FiltersDep, Open311PeriodDep
from api.errors import STATUS
from api.guard import GuardedRoute
from geo_grid.cases import open311
from geo_grid.cases.catalogue import categories, category
from geo_grid.errors import BadInput, GeoGridError, NotFound
from geo_grid.services import cases

_SPEC_ERRORS = {
    status: {
        "model": list[schemas.Open311Error],
        "description": f"GeoReport v2 error list ({status})",
    }
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
    """A domain error in the spec's list, with the API's status for its class (bad input: 400,
    as GeoReport v2 says, not 422)."""
    status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 400)
    code = 400 if isinstance(exc, BadInput) else status
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


@router.get("/discovery.{fmt}", response_model=None)
async def discovery(request: Request, fmt: str) -> Response:
    """Open311 GeoReport v2 discovery: the endpoint, its formats and how to get a key.

    ``fmt`` is ``json`` or ``xml``. Public (clients read it before they have a key) unless
    ``GEO_GRID_OPEN311_PUBLIC_DISCOVERY=false``."""
    base = str(request.base_url).rstrip("/") + "/open311/v2"
    return await _answer(
        fmt, "discovery",
        lambda: open311.discovery(base, changeset=_CHANGESET, contact="网格化服务管理中心",
                                  key_service="向网格化服务管理中心申请 api_key (管理员: geo-grid keys add)"),
    )  # fmt: skip


@router.get("/services.{fmt}", response_model=None)
async def services(fmt: str) -> Response:
    """Open311 service list: the case categories a client may report.

    ``fmt`` is ``json`` or ``xml``. Public unless ``GEO_GRID_OPEN311_PUBLIC_DISCOVERY=false``."""
    return await _answer(fmt, "services", lambda: open311.service_list(categories()))


@router.get("/services/{code}.{fmt}", response_model=None)
async def service_definition(code: str, fmt: str) -> Response:
    """Open311 service definition of one category (its attributes).

    ``fmt`` is ``json`` or ``xml``."""
    return await _answer(
        fmt, "service_definition", lambda: open311.service_definition(category(code))
    )


@router.post("/requests.{fmt}", response_model=None)
async def post_request(request: Request, fmt: str, principal: PrincipalDep) -> Response:
    """Open311: report a service request (a case) as a form, with the client's key.

    Answers the new request's id; the case is routed like any other report."""
    form = dict(await request.form())
    return await _answer(fmt, "service_requests", lambda: cases.open311_create(form, by=principal))


@router.get("/requests.{fmt}", response_model=None)
async def get_requests(
    fmt: str, principal: PrincipalDep, period: Open311PeriodDep, filters: Open311FiltersDep
) -> Response:
    """Open311: service requests of the caller's area by id, category, status or period.

    A street leader sees their street, a grid worker their grids; no reporter's name or contact,
    and phone or ID numbers typed into the text are masked. ``fmt`` is ``json`` or ``xml``."""

    def make() -> Any:
        return cases.open311_requests(
            ids=filters.ids,
            service_codes=filters.service_codes,
            start=period.start,
            end=period.end,
            status=filters.status,
            viewer=principal,
        )

    return await _answer(fmt, "service_requests", make)


@router.get("/requests/{request_id}.{fmt}", response_model=None)
async def get_request(request_id: str, fmt: str, principal: PrincipalDep) -> Response:
    """Open311: one service request by id.

    ``fmt`` is ``json`` or ``xml``; an unknown id is a 404 and one outside the caller's area a 403
    naming it, both in the spec's error format."""
    return await _answer(
        fmt, "service_requests",
        lambda: cases.open311_request(
            open311.plain_text(request_id, "service_request_id"), viewer=principal
        ),
    )  # fmt: skip
