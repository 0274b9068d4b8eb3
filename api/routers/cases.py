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

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api import workers
from api.auth import PrincipalDep
from api.deps import BBoxDep, ClosedPeriodDep, JsonBody, PeriodDep, PositiveInteger
from api.geojson import geometry
from api.guard import GuardedRoute
from geo_grid.labels import reason_zh
from geo_grid.periods import parse_instant
from geo_grid.services import cases
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

CaseRef = Annotated[
    str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="Case id or case number")
]
#: A code or name filter: any text but control characters (PostgreSQL cannot hold NUL)
Code = Annotated[str | None, Query(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]


# ------------------------------------------------------------------------------------ models
class CaseIn(JsonBody):
    """A report: a category and an address and/or a point in any supported CRS."""

    category_code: str = Field(examples=["E0502"])
    channel: Literal["hotline", "app", "wechat", "patrol", "open311"] = "app"
    description: str | None = Field(None, max_length=4000)
    address_text: str | None = Field(None, max_length=500, examples=["尧化街道尧佳路12号门口"])
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: str = Field("wgs84", description="wgs84|cgcs2000|gcj02|bd09|EPSG:n")
    reporter_name: str | None = Field(None, max_length=100)
    reporter_phone: str | None = Field(None, max_length=32)
    photos: list[str] = Field(default_factory=list, max_length=20)
    severity: Literal["low", "normal", "high", "urgent"] | None = None


class CaseOut(BaseModel):
    """A stored case (reporter phone masked) with the actions legal now."""

    model_config = ConfigDict(extra="allow")
    id: int
    number: str
    status: str
    status_zh: str
    version: int
    level: str
    category_code: str
    category_name: str | None
    channel: str
    grid_code: str | None
    grids: dict[str, str | None]
    community_code: str | None
    street_code: str | None
    department: str | None
    assignee_person_id: str | None
    assignee_name: str | None
    strategy: str | None
    routing: dict[str, Any]
    manual_reason: str | None
    manual_reason_zh: str | None = Field(None, description="manual_reason in Chinese, for people")
    lon: float | None
    lat: float | None
    received_at: datetime
    due_at: datetime | None
    overdue: bool
    allowed_actions: list[str] = Field(
        description="What the caller may do to the case now: its status, the caller's role "
        "(geo_grid/cases/duties.py), area and the four-eyes rule; the case page's buttons"
    )
    photo_phases: list[str] = Field(
        default_factory=list,
        description="Photo phases (before, after) the caller may add now (POST .../photos)",
    )


class CaseList(BaseModel):
    data: list[CaseOut]
    count: int


class TransitionIn(JsonBody):
    """One step of the life cycle. Who acts, and in what role, comes from the credentials (a
    ``role`` field is refused): :mod:`geo_grid.cases.duties` says which roles may take it."""

    action: str = Field(examples=["accept"])
    version: PositiveInteger = Field(description="The version you read: a stale one answers 409")
    note: str | None = Field(None, max_length=4000)
    attachment: str | None = Field(None, max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict)


class WhistleIn(JsonBody):
    note: str | None = None
    version: PositiveInteger | None = None


class ReportInIn(JsonBody):
    department: str = Field(min_length=1, max_length=100)
    note: str | None = Field(None, max_length=4000)


class ReportInOut(BaseModel):
    id: int
    escalation_id: int
    department: str
    due_at: datetime
    reported_at: datetime
    on_time: bool


class PointIn(JsonBody):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: str = "wgs84"
    version: PositiveInteger | None = None


class TickIn(JsonBody):
    #: RFC 3339's date-time (with its offset), read by geo_grid.periods; not blank (null is now)
    now: Annotated[
        str, Field(max_length=64, pattern=r"\S", json_schema_extra={"format": "date-time"})
    ] | None = (
        Field(
            None, examples=["2026-06-01T08:00:00+08:00"],
            description="Sweep as of this instant, ISO 8601 with a UTC offset (default: now)",
        )
    )  # fmt: skip


class TickOut(BaseModel):
    at: str
    cases: int
    escalations: int
    report_ins: int


class EventOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    action: str
    from_status: str | None
    to_status: str
    actor: str
    role: str | None
    at: datetime
    note: str | None
    attachment: str | None
    data: dict[str, Any]


class EventList(BaseModel):
    data: list[EventOut]
    count: int


class RosterPersonOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    role: str
    role_zh: str
    phone: str | None = Field(None, description="masked")


class PreviewGridOut(BaseModel):
    code: str
    name: str | None
    community_code: str | None
    community: str | None
    street_code: str | None
    street: str | None
    households: int | None
    roster: list[RosterPersonOut]
    geometry: dict[str, Any] | None = Field(description="GeoJSON, CGCS2000 lon/lat")


class PreviewDuplicateOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    number: str
    status: str
    status_zh: str
    distance_m: float
    received_at: datetime
    received_zh: str = Field(description="received_at as people read it (北京时间)")


class PreviewOut(BaseModel):
    """What filing this address would do: its match, grid and people on duty, nearby duplicates."""

    model_config = ConfigDict(extra="allow")
    query: str
    status: str = Field(description="matched | ambiguous | unmatched")
    status_zh: str
    level: str | None
    confidence: float
    matched_text: str | None
    reason_zh: str | None
    lon: float | None
    lat: float | None
    alternatives: list[dict[str, Any]]
    grid: PreviewGridOut | None
    duplicates: list[PreviewDuplicateOut]


class ManualOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    number: str
    manual_reason: str | None
    manual_reason_zh: str | None = Field(None, description="manual_reason in Chinese, for people")
    address_text: str | None
    received_at: datetime


class ManualList(BaseModel):
    data: list[ManualOut]
    count: int


class RuleOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    category_code: str
    layer: str | None
    department: str | None
    strategy: str
    severity: str
    sla_hours: dict[str, float]
    report_in_hours: float
    whistle_departments: list[str]
    source: str


class RuleList(BaseModel):
    data: list[RuleOut]
    count: int


class RuleIn(JsonBody):
    layer: str | None = None
    department: str | None = None
    strategy: Literal["territorial_first", "owner_first", "territorial_fallback"] | None = None
    severity: Literal["low", "normal", "high", "urgent"] | None = None
    sla_hours: dict[str, float] | None = None
    report_in_hours: float | None = Field(None, gt=0)
    whistle_departments: list[str] | None = None


class IndicatorOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    level: str
    code: str
    received: int
    due: int
    closed: int
    overdue: int
    closure_rate: float | None
    ontime_rate: float | None
    rework_rate: float | None
    extension_rate: float | None
    response_rate: float | None
    solve_rate: float | None
    satisfaction: float | None
    mean_hours: float | None
    colour: str | None


class IndicatorList(BaseModel):
    data: list[IndicatorOut]
    count: int


# ------------------------------------------------------------------------------------ cases
@cases_router.post(
    "",
    response_model=CaseOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": CaseOut,
            "description": "A retry with the same Idempotency-Key: "
            "the case stored the first time (header Idempotent-Replayed: true)",
        }
    },
)
async def create_case(
    body: CaseIn,
    response: Response,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=128)] = None,
) -> Any:
    # async: the request waits for its group commit without holding one of the threadpool's
    # threads (a report is answered only once stored; see ``cases.intake``)
    """Report a case: a category and an address and/or a point; it is routed at once.

    The answer says where it went (grid, department, person) or why it waits in the manual queue.
    An ``Idempotency-Key`` header makes a retry answer the first result (200) instead of a
    duplicate."""
    case = await cases.intake_async(
        body.model_dump(), actor=principal.label, role=principal.role, client=principal.label,
        idempotency_key=idempotency_key, viewer=principal,
    )  # fmt: skip
    if case.pop("replayed", False):
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return case


@cases_router.get("", response_model=CaseList)
def list_cases(
    bbox: BBoxDep,
    period: PeriodDep,
    principal: PrincipalDep,
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
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """List cases with filters (status, category, area, level, channel, period, overdue).

    A caller limited to an area sees only its cases; reporters, and phone and ID numbers typed into
    an address or description, are masked except for the roles that need them (each unmasked read
    is logged). A period spans at most ``GEO_GRID_MAX_PERIOD_DAYS``."""
    filters = {
        "status": status_, "category_code": category, "grid_code": grid_code,
        "community_code": community_code, "street_code": street_code, "department": department,
        "level": level, "channel": channel, "received_from": period.start,
        "received_to": period.end,
        "bbox": bbox.bbox, "overdue_at": datetime.now(UTC) if overdue else None,
    }  # fmt: skip
    data, count = cases.list_cases(filters, limit=limit, offset=offset, viewer=principal)
    return {"data": data, "count": count}


@cases_router.get("/manual", response_model=ManualList)
def manual_queue(principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Any:
    """The manual queue of the caller's area: cases the router could not place, with the reason.

    Oldest first; the dispatcher places each with ``route-to-point``."""
    data = [
        {**row, "manual_reason_zh": reason_zh(row.get("manual_reason"))}
        for row in cases.manual_queue(limit, viewer=principal)
    ]
    return {"data": data, "count": len(data)}


@cases_router.get("/preview", response_model=PreviewOut)
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


@cases_router.post("/tick", response_model=TickOut)
def tick(body: TickIn | None = None) -> Any:
    """Run the escalation sweep now: overdue cases move up a level, departments report in.

    The server also runs it every ``GEO_GRID_CASE_TICK_SECONDS``; ``now`` (with an offset) replays a
    sweep at another time."""
    return cases.tick(parse_instant(body.now if body else None, "now", local=False))


@cases_router.get("/{ref}", response_model=CaseOut)
def get_case(ref: CaseRef, principal: PrincipalDep) -> Any:
    """One case by id or number, with its routing trace and the actions legal now.

    Outside the caller's area: 403."""
    return cases.get_case(ref, viewer=principal)


@cases_router.get("/{ref}/events", response_model=EventList)
def case_events(ref: CaseRef, principal: PrincipalDep) -> Any:
    """The history of a case: every step, who took it and when (append-only).

    The database refuses UPDATE and DELETE on this log."""
    data = cases.history(ref, viewer=principal)
    return {"data": data, "count": len(data)}


@cases_router.post("/{ref}/transitions", response_model=CaseOut)
def transition(ref: CaseRef, body: TransitionIn, principal: PrincipalDep) -> Any:
    """Move a case through the closed loop (accept, handle, verify, close, rate...).

    The caller's account is the actor and its role decides which actions it may take
    (``geo_grid/cases/duties.py``; 403 naming the rule); whoever handled a case may not verify it
    (four eyes). ``version`` is the one you read: a stale version or an illegal step is a 409
    listing the allowed actions."""
    return cases.transition(
        ref, body.action, version=body.version, by=principal, note=body.note,
        attachment=body.attachment, data=body.data,
    )  # fmt: skip


@cases_router.post("/{ref}/whistle", response_model=CaseOut)
def whistle(ref: CaseRef, body: WhistleIn, principal: PrincipalDep) -> Any:
    """吹哨: ask the level above (and its departments) to come in on a case.

    The case escalates one level; the departments named by the rules are called to report in. The
    caller's account is recorded as who whistled, in its own role."""
    return cases.whistle(ref, by=principal, note=body.note, version=body.version)


@cases_router.post("/{ref}/report-ins", response_model=ReportInOut)
def report_in(ref: CaseRef, body: ReportInIn, principal: PrincipalDep) -> Any:
    """报到: a department reports in on a case it was whistled to.

    Recorded in the case's history."""
    return cases.report_in(
        ref, body.department, actor=principal.label, note=body.note, viewer=principal
    )


@cases_router.post("/{ref}/route-to-point", response_model=CaseOut)
def route_to_point(ref: CaseRef, body: PointIn, principal: PrincipalDep) -> Any:
    """Place a queued case at a point and route it (the dispatcher's map does this).

    The point in any supported CRS; the case is routed from there as a new report would be."""
    return cases.route_to_point(
        ref, body.lon, body.lat, body.crs, by=principal, version=body.version
    )


# ------------------------------------------------------------------------------------ rules
@rules_router.get("", response_model=RuleList)
def list_rules() -> Any:
    """The routing rules of every category: responsible layer, department and strategy.

    Defaults from the catalogue, with the administrator's changes applied (``source``)."""
    data = cases.effective_rules()
    return {"data": data, "count": len(data)}


@rules_router.get("/{code}", response_model=RuleOut)
def get_rule(code: str) -> Any:
    """The routing rule of one category code.

    Unknown codes answer 404."""
    for rule in cases.effective_rules():
        if rule["category_code"] == code:
            return rule
    from geo_grid.cases.catalogue import category

    category(code)  # raises NotFound naming the code


@rules_router.put("/{code}", response_model=RuleOut)
def put_rule(code: str, body: RuleIn, principal: PrincipalDep) -> Any:
    """Change the routing rule of a category (layer, department, strategy, hours).

    Cases reported afterwards are routed by it; the change is recorded with its author."""
    data = body.model_dump(exclude_none=True)
    return cases.update_rule(code, data, actor=principal.label)


@rules_router.delete("/{code}", response_model=RuleOut)
def delete_rule(code: str) -> Any:
    """Forget the changes to a category's rule and route by the catalogue's default again.

    The answer is the default rule now in force."""
    return {**cases.reset_rule(code), "source": "default"}


# ------------------------------------------------------------------------------------ indicators
@indicators_router.get("", response_model=IndicatorList)
def get_indicators(
    period: ClosedPeriodDep,
    level: Literal["grid", "community", "street", "department"] = "grid",
) -> Any:
    """Indicators per grid, community, street or department over a period (both ends required).

    结案率, 按期结案率, 返工率, 延期率, 响应率, 解决率, 满意率 with red/yellow/green from the configured
    thresholds."""
    # a pandas report over every case of the period: made, validated and written to JSON in a
    # worker process (api/workers.py), not in the server's threads or on its event loop
    return workers.run_json(IndicatorList, _indicator_list, level, period.start, period.end)


def _indicator_list(level: str, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    """The indicators as the answer (in a worker process)."""
    data = cases.indicators(level, start, end)
    return {"data": data, "count": len(data)}


router.include_router(cases_router)
router.include_router(rules_router)
router.include_router(indicators_router)
