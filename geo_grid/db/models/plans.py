"""Models of planner redrawing: a plan owns one draft generation and logs every edit made to it.

Mirrors migrations ``0003_plans``, ``0011_districts``, ``0014_plan_workspace`` and
``0015_plan_roster_choice``. A plan redraws one layer of one district:
a draft copy of that district's published generation, published without touching any other
district's rows. The draft's grids live in the ordinary ``grid`` table, so a plan
is published by the same generation switch as any import; ``plan_edit`` is append-only (a trigger
refuses UPDATE and DELETE) because it is the record of who moved which households where.
``plan_edit_grid`` keeps the grids each edit replaced and left (an undo puts the former back and
is itself an edit of the log), append-only too; ``plan_roster`` is the people a planner assigns to
the plan's grids, added to the roster when the plan is published, ``plan_roster_grid`` the grids
whose roster the planner chose.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import SRID, Base, empty_object, now_default

__all__ = ["PLAN_STATUSES", "Plan", "PlanEdit", "PlanEditGrid", "PlanRoster"]

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
    created_at: Mapped[datetime | None] = now_default()
    updated_at: Mapped[datetime | None] = now_default()
    published_at: Mapped[datetime | None]
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
    params: Mapped[dict] = empty_object()
    impact: Mapped[dict] = empty_object()
    author: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = now_default()
    __table_args__ = (UniqueConstraint("plan_id", "seq", name="plan_edit_plan_seq"),)


class PlanEditGrid(Base):
    """A grid an edit replaced (``before``) or left (``after``), as a whole row of the draft."""

    __tablename__ = "plan_edit_grid"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(6))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(12))
    households: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float)
    properties: Mapped[dict] = empty_object()
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(
            ["plan_id", "seq"], ["plan_edit.plan_id", "plan_edit.seq"], name="plan_edit_grid_edit"
        ),
        CheckConstraint("side in ('before', 'after')", name="plan_edit_grid_side_values"),
        Index("plan_edit_grid_edit_side", "plan_id", "seq", "side"),
    )


class PlanRoster(Base):
    """A person the planner puts on duty in a grid of the plan (added to ``roster`` on publish),
    in one of the district's roles whose duty is on duty (checked by the service: roles are the
    district's rows, ``0015_plan_roster_choice``)."""

    __tablename__ = "plan_roster"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    grid_code: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    author: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = now_default()
    __table_args__ = (
        UniqueConstraint("plan_id", "grid_code", "person_id", "role", name="plan_roster_once"),
        Index("plan_roster_plan_grid", "plan_id", "grid_code"),
    )


class PlanRosterGrid(Base):
    """A grid of the plan whose roster the planner set (the form saved, even empty): a merge's
    surviving grid or a recoded grid gets the planner's choice rather than every person the edit
    would carry to it (:func:`geo_grid.plans.roster_after`). Migration ``0015``."""

    __tablename__ = "plan_roster_grid"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    author: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = now_default()
