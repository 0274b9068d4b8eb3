"""Models of the closed loop: cases, their append-only event log, rules, escalations, Open311 keys.

Mirrors migration ``0002_cases``; the database itself enforces what an audit must never lose: the
``case_event`` log refuses UPDATE and DELETE (a trigger), a case reaches each escalation level once
(a unique key, which also makes concurrent sweeps harmless), a department reports in once per
escalation, and statuses and channels are checked values.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import SRID, Base, empty_list, empty_object, now_default

__all__ = [
    "CASE_CHANNELS",
    "CASE_STATUSES",
    "PHOTO_PHASES",
    "PHOTO_TYPES",
    "Case",
    "CaseEvent",
    "CasePhoto",
    "EscalationRecord",
    "IdempotencyKey",
    "ReportIn",
    "RoutingRuleRow",
]

CASE_STATUSES = (
    "received", "manual", "assessed", "dispatched", "handling", "handled", "verified", "closed",
    "rated", "returned", "suspended", "rejected",
)  # fmt: skip
CASE_CHANNELS = ("hotline", "app", "wechat", "patrol", "open311")
PHOTO_PHASES = ("before", "after")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
_IN = ", ".join(f"'{s}'" for s in CASE_STATUSES)
_CH = ", ".join(f"'{s}'" for s in CASE_CHANNELS)


class Case(Base):
    """One reported problem, from receipt to rating (reporter phone is personal data)."""

    __tablename__ = "case"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    address_text: Mapped[str | None] = mapped_column(Text)
    input_crs: Mapped[str | None] = mapped_column(String(16))
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)
    category_code: Mapped[str] = mapped_column(String(8))
    category_kind: Mapped[str] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list] = empty_list()
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    level: Mapped[str] = mapped_column(String(10), server_default="grid")
    #: the district the case is in (NULL: placed nowhere and no district could be told)
    district_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("district.code", ondelete="SET NULL")
    )
    grid_code: Mapped[str | None] = mapped_column(String(64), index=True)
    grids: Mapped[dict] = empty_object()
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    street_code: Mapped[str | None] = mapped_column(String(12), index=True)
    responsible_layer: Mapped[str | None] = mapped_column(String(32))
    responsible_grid: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(Text, index=True)
    assignee_person_id: Mapped[str | None] = mapped_column(String(32))
    assignee_name: Mapped[str | None] = mapped_column(Text)
    strategy: Mapped[str | None] = mapped_column(String(24))
    routing: Mapped[dict] = empty_object()
    manual_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    stage_due_at: Mapped[datetime | None]
    level_due_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    rated_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    reopened: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    extended: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger)
    source_client: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint(f"status in ({_IN})", name="case_status_values"),
        CheckConstraint(f"channel in ({_CH})", name="case_channel_values"),
        CheckConstraint(
            "level in ('grid', 'community', 'street', 'district')", name="case_level_values"
        ),
        CheckConstraint("version >= 1", name="case_version_positive"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="case_rating_range"),
        Index("case_category_received", "category_code", "received_at"),
        Index("ix_case_district_code", "district_code", "received_at"),
        Index(
            "case_open_level_due",
            "level_due_at",
            postgresql_where=text("status NOT IN ('closed', 'rated', 'rejected')"),
        ),
    )


class CaseEvent(Base):
    """One transition: who, in what role, when, why, with what attachment. Append-only."""

    __tablename__ = "case_event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    attachment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = empty_object()
    recorded_at: Mapped[datetime] = now_default()


class CasePhoto(Base):
    """A photo of the work on a case (处置前/处置后): its file under ``<home>/photos`` and what
    proves it (size, type, pixel size, sha256 of the stored bytes), who added it and when.

    Append-only like the case log (a trigger refuses UPDATE and DELETE): the verifier judges the
    work by these photos, so none may be swapped after the fact.
    """

    __tablename__ = "case_photo"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    phase: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("phase in ('before', 'after')", name="case_photo_phase_values"),
        CheckConstraint(
            "content_type in ('image/jpeg', 'image/png', 'image/webp')",
            name="case_photo_type_values",
        ),
        CheckConstraint("size_bytes > 0 AND width > 0 AND height > 0", name="case_photo_sizes"),
    )


class RoutingRuleRow(Base):
    """An override of the catalogue's default rule for one category (absent: the default holds)."""

    __tablename__ = "routing_rule"
    category_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    layer: Mapped[str | None] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(Text)
    strategy: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(8))
    sla_hours: Mapped[dict]
    report_in_hours: Mapped[float] = mapped_column(Float)
    whistle_departments: Mapped[list] = empty_list()
    updated_by: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = now_default()
    __table_args__ = (
        CheckConstraint(
            "strategy in ('territorial_first', 'owner_first', 'territorial_fallback')",
            name="routing_rule_strategy_values",
        ),
    )


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` seen on POST /cases, per client, with the case it created."""

    __tablename__ = "idempotency_key"
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime] = now_default()


class EscalationRecord(Base):
    """One step up the 吹哨报到 ladder; a case reaches each level once."""

    __tablename__ = "escalation"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    from_level: Mapped[str] = mapped_column(String(10))
    to_level: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime]
    overdue_since: Mapped[datetime | None]
    level_due_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("case_id", "to_level", name="escalation_once_per_level"),
        CheckConstraint("reason in ('overdue', 'whistle')", name="escalation_reason_values"),
    )


class ReportIn(Base):
    """A department that must report in (报到) after an escalation, and when it did."""

    __tablename__ = "report_in"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    department: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    reported_at: Mapped[datetime | None]
    actor: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("escalation_id", "department", name="report_in_once_per_department"),
    )
