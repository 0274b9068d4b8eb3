"""Cases, routing rules and indicators: thin translation of HTTP into :mod:`geo_grid.services.cases`.

Errors come from the domain (``api/errors.py``): an illegal transition or a stale version is a 409
whose body lists the ``allowed`` actions (and the ``current_version``); an action the caller's role
may not take (:mod:`geo_grid.cases.duties`) is a 403 naming the rule. ``POST /cases`` honours an
``Idempotency-Key`` header: a retry returns the first answer (200, ``Idempotent-Replayed: true``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response, status

from api import schemas, workers
from api.auth import PrincipalDep
from api.deps import BBoxDep, ClosedPeriodDep, DistrictQuery, PeriodDep, ReadableDistricts
from api.geojson import geometry
from api.guard import GuardedRoute
from api.params import CaseRef, Code
from geo_grid.labels import reason_zh
from geo_grid.periods import parse_instant
from geo_grid.services import cases
from geo_grid.services import districts as district_profiles
from geo_grid.settings import get_settings


@asynccontextmanager
async def _ticker(app) -> AsyncIterator[None]:
    """Run the escalation sweep on a timer while the app runs (``case_tick_seconds``, 0: off)."""
    interval = float(get_settings().case_tick_seconds or 0)
    stop = cases.start_ticker(interval) if interval > 0 else None
    try:
        yield
    finally:
        if stop is not None:
            stop()


router = APIRouter(lifespan=_ticker)
cases_router = APIRouter(prefix="/api/v1/cases", tags=["cases"], route_class=GuardedRoute)
rules_router = APIRouter(prefix="/api/v1/rules", tags=["cases"], route_class=GuardedRoute)
indicators_router = APIRouter(prefix="/api/v1/indicators", tags=["cases"], route_class=GuardedRoute)


# ------------------------------------------------------------------------------------ cases
@cases_router.post(
    "",
    response_model=schemas.CaseOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": schemas.CaseOut,
            "description": "A retry with the same Idempotency-Key: "
            "the case stored the first time (header Idempotent-Replayed: true)",
        }
    },
)
async def create_case(
    body: schemas.CaseIn,
    response: Response,
    principal: PrincipalDep,
    districts: ReadableDistricts,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=128)] = None,
) -> Any:
    # async: the request waits for its group commit without holding one of the threadpool's
    # threads (a report is answered only once stored; see ``cases.intake``)
    """Report a case: a category and an address and/or a point; it is routed at once.

    The answer says where it went (grid, department, person) or why it waits in the manual queue.
    An ``Idempotency-Key`` header makes a retry answer the first result (200) instead of a
    duplicate. A report that cannot be placed stays with the filer's district (when they have
    one) for its dispatchers."""
    case = await cases.intake_async(
        body.model_dump(), actor=principal.label, role=principal.role, client=principal.label,
        idempotency_key=idempotency_key, viewer=principal,
        district=districts[0] if len(districts) == 1 else None,
    )  # fmt: skip
    if case.pop("replayed", False):
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return case


@cases_router.get("", response_model=schemas.CaseList)
def list_cases(
    bbox: BBoxDep,
    period: PeriodDep,
    principal: PrincipalDep,
    district: DistrictQuery = None,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    category: Annotated[list[str] | None, Query()] = None,
    grid_code: Code = None,
    community_code: Code = None,
    street_code: Code = None,
    department: Code = None,
    level: Literal["grid", "community", "street", "district"] | None = None,
    channel: Code = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    # PostgreSQL's OFFSET is a bigint: past it the query failed (500, schemathesis)
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> Any:
    """List cases with filters (district, status, category, area, level, channel, period, overdue).

    A caller limited to an area sees only its cases; reporters, and phone and ID numbers typed into
    an address or description, are masked except for the roles that need them (each unmasked read
    is logged). A period spans at most ``GEO_GRID_MAX_PERIOD_DAYS``."""
    filters = {
        "status": status_, "category_code": category, "grid_code": grid_code,
        "community_code": community_code, "street_code": street_code, "department": department,
        "level": level, "channel": channel, "received_from": period.start,
        "received_to": period.end,
        "bbox": bbox.bbox, "overdue_at": datetime.now(UTC) if overdue else None,
        "districts": None if district is None else district_profiles.readable(principal, district),
    }  # fmt: skip
    data, count = cases.list_cases(filters, limit=limit, offset=offset, viewer=principal)
    return {"data": data, "count": count}


@cases_router.get("/manual", response_model=schemas.ManualList)
def manual_queue(principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Any:
    """The manual queue of the caller's area: cases the router could not place, with the reason.

    Oldest first; the dispatcher places each with ``route-to-point``."""
    data = [
        {**row, "manual_reason_zh": reason_zh(row.get("manual_reason"))}
        for row in cases.manual_queue(limit, viewer=principal)
    ]
    return {"data": data, "count": len(data)}


@cases_router.get("/preview", response_model=schemas.PreviewOut)
def intake_preview(
    principal: PrincipalDep,
    address_text: Annotated[str, Query(min_length=1, max_length=500, examples=["尧佳路12号门口"])],
    category_code: Code = None,
) -> Any:
    """What filing a report at this address would do, before it is filed (nothing is stored).

    The address's match (or why it would wait in the manual queue), its unified grid with outline,
    community, street and the people on duty (phones masked), and the cases of the same category
    within 50 m and 48 h in the caller's area (masked): the intake page shows them as the address
    is typed."""
    found = cases.intake_preview(address_text, category_code, viewer=principal)
    if found["grid"] is not None:
        found["grid"]["geometry"] = geometry(found["grid"]["geometry"])
    return found


@cases_router.post("/tick", response_model=schemas.TickOut)
def tick(body: schemas.TickIn | None = None) -> Any:
    """Run the escalation sweep now: overdue cases move up a level, departments report in.

    The server also runs it every ``GEO_GRID_CASE_TICK_SECONDS``; ``now`` (with an offset) replays a
    sweep at another time."""
    return cases.tick(parse_instant(body.now if body else None, "now", local=False))


@cases_router.get("/{ref}", response_model=schemas.CaseOut)
def get_case(ref: CaseRef, principal: PrincipalDep) -> Any:
    """One case by id or number, with its routing trace and the actions legal now.

    Outside the caller's area: 403."""
    return cases.get_case(ref, viewer=principal)


@cases_router.get("/{ref}/events", response_model=schemas.EventList)
def case_events(ref: CaseRef, principal: PrincipalDep) -> Any:
    """The history of a case: every step, who took it and when (append-only).

    The database refuses UPDATE and DELETE on this log."""
    data = cases.history(ref, viewer=principal)
    return {"data": data, "count": len(data)}


@cases_router.post("/{ref}/transitions", response_model=schemas.CaseOut)
def transition(ref: CaseRef, body: schemas.TransitionIn, principal: PrincipalDep) -> Any:
    """Move a case through the closed loop (accept, handle, verify, close, rate...).

    The caller's account is the actor and its role decides which actions it may take
    (``geo_grid/cases/duties.py``; 403 naming the rule); whoever handled a case may not verify it
    (four eyes). ``version`` is the one you read: a stale version or an illegal step is a 409
    listing the allowed actions."""
    return cases.transition(
        ref, body.action, version=body.version, by=principal, note=body.note,
        attachment=body.attachment, data=body.data,
    )  # fmt: skip


@cases_router.post("/{ref}/whistle", response_model=schemas.CaseOut)
def whistle(ref: CaseRef, body: schemas.WhistleIn, principal: PrincipalDep) -> Any:
    """吹哨: ask the level above (and its departments) to come in on a case.

    The case escalates one level; the departments named by the rules are called to report in. The
    caller's account is recorded as who whistled, in its own role."""
    return cases.whistle(ref, by=principal, note=body.note, version=body.version)


@cases_router.post("/{ref}/report-ins", response_model=schemas.ReportInOut)
def report_in(ref: CaseRef, body: schemas.ReportInIn, principal: PrincipalDep) -> Any:
    """报到: a department reports in on a case it was whistled to.

    Recorded in the case's history."""
    return cases.report_in(
        ref, body.department, actor=principal.label, note=body.note, viewer=principal
    )


@cases_router.post("/{ref}/route-to-point", response_model=schemas.CaseOut)
def route_to_point(ref: CaseRef, body: schemas.PointIn, principal: PrincipalDep) -> Any:
    """Place a queued case at a point and route it (the dispatcher's map does this).

    The point in any supported CRS; the case is routed from there as a new report would be."""
    return cases.route_to_point(
        ref, body.lon, body.lat, body.crs, by=principal, version=body.version
    )


# ------------------------------------------------------------------------------------ rules
@rules_router.get("", response_model=schemas.RuleList)
def list_rules() -> Any:
    """The routing rules of every category: responsible layer, department and strategy.

    Defaults from the catalogue, with the administrator's changes applied (``source``)."""
    data = cases.effective_rules()
    return {"data": data, "count": len(data)}


@rules_router.get("/{code}", response_model=schemas.RuleOut)
def get_rule(code: str) -> Any:
    """The routing rule of one category code.

    Unknown codes answer 404."""
    return cases.effective_rule(code)


@rules_router.put("/{code}", response_model=schemas.RuleOut)
def put_rule(code: str, body: schemas.RuleIn, principal: PrincipalDep) -> Any:
    """Change the routing rule of a category (layer, department, strategy, hours).

    Cases reported afterwards are routed by it; the change is recorded with its author."""
    data = body.model_dump(exclude_none=True)
    return cases.update_rule(code, data, actor=principal.label)


@rules_router.delete("/{code}", response_model=schemas.RuleOut)
def delete_rule(code: str) -> Any:
    """Forget the changes to a category's rule and route by the catalogue's default again.

    The answer is the default rule now in force."""
    return {**cases.reset_rule(code), "source": "default"}


# ------------------------------------------------------------------------------------ indicators
@indicators_router.get("", response_model=schemas.IndicatorList)
def get_indicators(
    period: ClosedPeriodDep,
    districts: ReadableDistricts,
    level: Literal["grid", "community", "street", "department"] = "grid",
) -> Any:
    """Indicators per grid, community, street or department over a period (both ends required).

    Of the caller's districts (or ``district``). 结案率, 按期结案率, 返工率, 延期率, 响应率, 解决率,
    满意率 with red/yellow/green from each district's thresholds (the configured ones by
    default)."""
    # a pandas report over every case of the period: made, validated and written to JSON in a
    # worker process (api/workers.py), not in the server's threads or on its event loop
    return workers.run_json(
        schemas.IndicatorList, _indicator_list, level, period.start, period.end, list(districts)
    )


def _indicator_list(
    level: str, start: datetime | None, end: datetime | None, districts: list[str]
) -> dict[str, Any]:
    """The indicators as the answer (in a worker process)."""
    data = cases.indicators(level, start, end, districts=districts)
    return {"data": data, "count": len(data)}


router.include_router(cases_router)
router.include_router(rules_router)
router.include_router(indicators_router)
