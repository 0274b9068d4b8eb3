"""Models of planner redrawing: a plan owns one draft generation and logs every edit made to it.

Mirrors migrations ``0003_plans`` and ``0011_districts``. A plan redraws one layer of one district:
a draft copy of that district's published generation, published without touching any other
district's rows. The draft's grids live in the ordinary ``grid`` table, so a plan
is published by the same generation switch as any import; ``plan_edit`` is append-only (a trigger
refuses UPDATE and DELETE) because it is the record of who moved which households where.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import Base

__all__ = ["PLAN_STATUSES", "Plan", "PlanEdit"]

PLAN_STATUSES = ("open", "published", "abandoned")


class Plan(Base):
    """A redrawing in progress: the draft generation and the published one it started from."""

    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"), index=True)
    #: the district whose layer it redraws: its draft generation's (a composite key)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id"))
    base_generation_id: Mapped[int | None] = mapped_column(ForeignKey("generation.id"))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    author: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("generation_id", name="plan_generation_unique"),
        CheckConstraint("status in ('open', 'published', 'abandoned')", name="plan_status_values"),
        ForeignKeyConstraint(
            ["generation_id", "district_code"],
            ["generation.id", "generation.district_code"],
            name="plan_generation_district_fk",
        ),
    )


class PlanEdit(Base):
    """One edit of a plan, in order: the operation, its JSON parameters and its impact."""

    __tablename__ = "plan_edit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    impact: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    author: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (UniqueConstraint("plan_id", "seq", name="plan_edit_plan_seq"),)
