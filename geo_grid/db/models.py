"""SQLAlchemy 2 + GeoAlchemy2 models: the system of record.

Everything is stored in CGCS2000 (EPSG:4490); areas are computed in the district's metric CRS by the
library before they are written. Integrity that matters to a city is enforced by PostgreSQL itself,
not by application code: SRIDs by column typmods, one published generation per layer by a partial
unique index, valid unified geometry by a CHECK, unique unified codes per generation by a partial
unique index. Department layers are stored as received (possibly with invalid rings or duplicate codes)
because finding those defects is the job of the coverage checks.

Schema changes go through Alembic (``geo_grid/db/migrations``); nothing calls ``create_all``.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4490


class Base(DeclarativeBase):
    """Declarative base; Alembic reads ``Base.metadata``."""


class Meta(Base):
    """Key/value facts about the store (e.g. which demo seed is loaded)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AdminArea(Base):
    """District 区, street 街道 and community 社区 with their official division codes."""

    __tablename__ = "admin_area"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    area_m2: Mapped[float] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        CheckConstraint("level in ('district', 'street', 'community')", name="admin_area_level"),
        CheckConstraint("ST_IsValid(geom)", name="admin_area_valid_geom"),
    )


class Layer(Base):
    """A grid layer: the unified grid or a department's; new layers are rows, not migrations."""

    __tablename__ = "layer"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (CheckConstraint("key ~ '^[a-z][a-z0-9_]*$'", name="layer_key_format"),)


class Generation(Base):
    """A version of a layer (MapIt's word): draft → published → retired, never deleted once published."""

    __tablename__ = "generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    author: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("generation.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("layer_key", "number", name="generation_layer_number"),
        CheckConstraint(
            "status in ('draft', 'published', 'retired')", name="generation_status_values"
        ),
        Index(
            "generation_one_published",
            "layer_key",
            unique=True,
            postgresql_where=text("status = 'published'"),
        ),
    )


class Grid(Base):
    """One grid of one generation of one layer."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    street_code: Mapped[str | None] = mapped_column(String(12))
    households: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float)
    properties: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        CheckConstraint("NOT ST_IsEmpty(geom)", name="grid_geom_not_empty"),
        CheckConstraint("layer_key <> 'unified' OR ST_IsValid(geom)", name="grid_unified_valid"),
        CheckConstraint(
            "layer_key <> 'unified' OR code ~ '^[0-9]{15}$'", name="grid_unified_code_format"
        ),
        CheckConstraint("households IS NULL OR households >= 0", name="grid_households_positive"),
        Index("grid_generation_code", "generation_id", "code"),
        Index(
            "grid_unified_code_unique",
            "generation_id",
            "code",
            unique=True,
            postgresql_where=text("layer_key = 'unified'"),
        ),
    )


class Building(Base):
    """A building footprint 楼栋 with its households."""

    __tablename__ = "building"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    xiaoqu: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int] = mapped_column(Integer)
    floors: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(16))
    geom = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (CheckConstraint("ST_IsValid(geom)", name="building_valid_geom"),)


class Address(Base):
    """The standard address library 标准地址库: one door plate or room, with its parsed parts."""

    __tablename__ = "address"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    full_text: Mapped[str] = mapped_column(Text)
    local_text: Mapped[str] = mapped_column(Text)
    street_code: Mapped[str | None] = mapped_column(String(12))
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    road: Mapped[str | None] = mapped_column(Text)
    door_no: Mapped[str | None] = mapped_column(String(16))
    xiaoqu: Mapped[str | None] = mapped_column(Text)
    building: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(16))
    room: Mapped[str | None] = mapped_column(String(16))
    village: Mapped[str | None] = mapped_column(Text)
    group_no: Mapped[str | None] = mapped_column(String(16))
    building_code: Mapped[str | None] = mapped_column(ForeignKey("building.code"))
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        Index(
            "address_full_text_trgm",
            "full_text",
            postgresql_using="gin",
            postgresql_ops={"full_text": "gin_trgm_ops"},
        ),
    )


class Person(Base):
    """A person on the roster. ``phone`` is personal data: never shown on maps or in exports."""

    __tablename__ = "person"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))


class RosterEntry(Base):
    """A person's role in a grid of a layer (网格长, 网格员, 包保民警, 党员中心户, 报到成员).

    Keyed by layer and grid code rather than grid id, so a role survives a redraw that keeps the code.
    """

    __tablename__ = "roster"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"))
    grid_code: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(Text)
    linked_households: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    __table_args__ = (
        CheckConstraint(
            "role in ('grid_leader', 'grid_worker', 'police', 'party_household', 'dept_member')",
            name="roster_role_values",
        ),
        Index("roster_layer_grid", "layer_key", "grid_code"),
    )
