"""Cases, routing rules and indicators: thin translation of HTTP into :mod:`geo_grid.services.cases`.

Errors come from the domain (``api/errors.py``): an illegal transition or a stale version is a 409
whose body lists the ``allowed`` actions (and the ``current_version``). ``POST /cases`` honours an
``Idempotency-Key`` header: a retry returns the first answer (200, ``Idempotent-Replayed: true``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api import workers
from api.auth import PrincipalDep
from api.deps import BBoxDep
from api.guard import GuardedRoute
from geo_grid.errors import BadInput
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
class CaseIn(BaseModel):
    """A report: a category and an address and/or a point in any supported CRS."""

    model_config = ConfigDict(extra="forbid")
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
    lon: float | None
    lat: float | None
    received_at: datetime
    due_at: datetime | None
    overdue: bool
    allowed_actions: list[str]


class CaseList(BaseModel):
    data: list[CaseOut]
    count: int


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(examples=["accept"])
    version: int = Field(ge=1, description="The version you read: a stale one answers 409")
    role: str | None = Field(None, max_length=32, description="The part you act in (handler...)")
    note: str | None = Field(None, max_length=4000)
    attachment: str | None = Field(None, max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict)


class WhistleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field("handler", max_length=32)
    note: str | None = None
    version: int | None = Field(None, ge=1)


class ReportInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: str = Field(min_length=1, max_length=100)
    note: str | None = Field(None, max_length=4000)


class ReportInOut(BaseModel):
    id: int
    escalation_id: int
    department: str
    due_at: datetime
    reported_at: datetime
    on_time: bool


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: str = "wgs84"
    version: int | None = Field(None, ge=1)


class TickIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: datetime | None = Field(None, description="Sweep as of this instant (default: now)")


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


class ManualOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    number: str
    manual_reason: str | None
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


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
@cases_router.post("", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
async def create_case(
    body: CaseIn,
    response: Response,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Any:
    # async: the request waits for its group commit without holding one of the threadpool's
    # threads (a report is answered only once stored; see ``cases.intake``)
    case = await cases.intake_async(
        body.model_dump(), actor=principal.label, role=principal.role, client=principal.label,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    if case.pop("replayed", False):
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return case


@cases_router.get("", response_model=CaseList)
def list_cases(
    bbox: BBoxDep,
    principal: PrincipalDep,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    category: Annotated[list[str] | None, Query()] = None,
    grid_code: Code = None,
    community_code: Code = None,
    street_code: Code = None,
    department: Code = None,
    level: Literal["grid", "community", "street", "district"] | None = None,
    channel: Code = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    filters = {
        "status": status_, "category_code": category, "grid_code": grid_code,
        "community_code": community_code, "street_code": street_code, "department": department,
        "level": level, "channel": channel, "received_from": from_, "received_to": to,
        "bbox": bbox.bbox, "overdue_at": datetime.now().astimezone() if overdue else None,
    }  # fmt: skip
    data, count = cases.list_cases(filters, limit=limit, offset=offset, viewer=principal)
    return {"data": data, "count": count}


@cases_router.get("/manual", response_model=ManualList)
def manual_queue(limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Any:
    data = cases.manual_queue(limit)
    return {"data": data, "count": len(data)}


@cases_router.post("/tick", response_model=TickOut)
def tick(body: TickIn | None = None) -> Any:
    now = body.now if body and body.now else None
    if now is not None and now.tzinfo is None:
        raise BadInput("now: include a timezone offset", field="now")
    return cases.tick(now)


@cases_router.get("/{ref}", response_model=CaseOut)
def get_case(ref: CaseRef, principal: PrincipalDep) -> Any:
    return cases.get_case(ref, viewer=principal)


@cases_router.get("/{ref}/events", response_model=EventList)
def case_events(ref: CaseRef, principal: PrincipalDep) -> Any:
    data = cases.history(ref, viewer=principal)
    return {"data": data, "count": len(data)}


@cases_router.post("/{ref}/transitions", response_model=CaseOut)
def transition(ref: CaseRef, body: TransitionIn, principal: PrincipalDep) -> Any:
    return cases.transition(
        ref, body.action, version=body.version, actor=principal.label,
        role=body.role or principal.role, note=body.note, attachment=body.attachment,
        data=body.data, viewer=principal,
    )  # fmt: skip


@cases_router.post("/{ref}/whistle", response_model=CaseOut)
def whistle(ref: CaseRef, body: WhistleIn, principal: PrincipalDep) -> Any:
    return cases.whistle(
        ref, actor=principal.label, role=body.role, note=body.note, version=body.version,
        viewer=principal,
    )  # fmt: skip


@cases_router.post("/{ref}/report-ins", response_model=ReportInOut)
def report_in(ref: CaseRef, body: ReportInIn, principal: PrincipalDep) -> Any:
    return cases.report_in(
        ref, body.department, actor=principal.label, note=body.note, viewer=principal
    )


@cases_router.post("/{ref}/route-to-point", response_model=CaseOut)
def route_to_point(ref: CaseRef, body: PointIn, principal: PrincipalDep) -> Any:
    return cases.route_to_point(
        ref, body.lon, body.lat, body.crs, actor=principal.label, version=body.version,
        viewer=principal,
    )  # fmt: skip


# ------------------------------------------------------------------------------------ rules
@rules_router.get("", response_model=RuleList)
def list_rules() -> Any:
    data = cases.effective_rules()
    return {"data": data, "count": len(data)}


@rules_router.get("/{code}", response_model=RuleOut)
def get_rule(code: str) -> Any:
    for rule in cases.effective_rules():
        if rule["category_code"] == code:
            return rule
    from geo_grid.cases.catalogue import category

    category(code)  # raises NotFound naming the code


@rules_router.put("/{code}", response_model=RuleOut)
def put_rule(code: str, body: RuleIn, principal: PrincipalDep) -> Any:
    data = body.model_dump(exclude_none=True)
    return cases.update_rule(code, data, actor=principal.label)


@rules_router.delete("/{code}", response_model=RuleOut)
def delete_rule(code: str) -> Any:
    return {**cases.reset_rule(code), "source": "default"}


# ------------------------------------------------------------------------------------ indicators
@indicators_router.get("", response_model=IndicatorList)
def get_indicators(
    from_: Annotated[datetime, Query(alias="from", examples=["2026-06-01T00:00:00+08:00"])],
    to: Annotated[datetime, Query(examples=["2026-07-01T00:00:00+08:00"])],
    level: Literal["grid", "community", "street", "department"] = "grid",
) -> Any:
    # a pandas report over every case of the period: made, validated and written to JSON in a
    # worker process (api/workers.py), not in the server's threads or on its event loop
    return workers.run_json(IndicatorList, _indicator_list, level, from_, to)


def _indicator_list(level: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The indicators as the answer (in a worker process)."""
    data = cases.indicators(level, start, end)
    return {"data": data, "count": len(data)}


router.include_router(cases_router)
router.include_router(rules_router)
router.include_router(indicators_router)
