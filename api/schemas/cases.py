"""Cases, their photos, routing rules and indicators: request and answer bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CaseIn",
    "CaseList",
    "CaseOut",
    "EventList",
    "EventOut",
    "IndicatorList",
    "IndicatorOut",
    "ManualList",
    "ManualOut",
    "PhotoOut",
    "PointIn",
    "PreviewDuplicateOut",
    "PreviewGridOut",
    "PreviewOut",
    "ReportInIn",
    "ReportInOut",
    "RosterPersonOut",
    "RuleIn",
    "RuleList",
    "RuleOut",
    "TickIn",
    "TickOut",
    "TransitionIn",
    "WhistleIn",
]


class CaseIn(BaseModel):
    """A report: a category and an address and/or a point in any supported CRS."""

    model_config = ConfigDict(extra="forbid")
    category_code: str = Field(examples=["E0502"])
    channel: Literal["hotline", "app", "wechat", "patrol", "open311"] = "app"
    description: str | None = Field(None, max_length=4000)
    address_text: str | None = Field(None, max_length=500, examples=["平江街道平江路12号门口"])
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


class TransitionIn(BaseModel):
    """One step of the life cycle. Who acts, and in what role, comes from the credentials (a
    ``role`` field is refused): :mod:`geo_grid.cases.duties` says which roles may take it."""

    model_config = ConfigDict(extra="forbid")
    action: str = Field(examples=["accept"])
    version: int = Field(ge=1, description="The version you read: a stale one answers 409")
    note: str | None = Field(None, max_length=4000)
    attachment: str | None = Field(None, max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict)


class WhistleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    district_code: str
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


class PhotoOut(BaseModel):
    """A stored photo: what it is, who added it and when, where to fetch it."""

    model_config = ConfigDict(extra="allow")
    id: str
    case_id: int
    phase: str = Field(description="before | after")
    phase_zh: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str = Field(description="Of the stored bytes (re-encoded, without EXIF)")
    uploaded_by: str
    role: str
    uploaded_at: Any
    url: str
