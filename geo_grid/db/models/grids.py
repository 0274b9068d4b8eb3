"""Models of the layer store: layers, their generations and the grids of each generation.

Layers have generations (MapIt's word: draft → published → retired), one line of them per
district: a layer key names the layer in every district, a generation belongs to one district.
PostgreSQL enforces one published generation per (layer, district) (a partial unique index), valid
unified geometry (a CHECK), unique 15-digit unified codes per generation (a partial unique index)
that start with their district's code (a CHECK on the grid's ``district_code``, which a composite
foreign key keeps equal to its generation's). Department layers are stored as received (possibly
with invalid rings or duplicate codes) because finding those defects is the job of the coverage
checks.
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import SRID, Base, empty_object, now_default

__all__ = ["Generation", "Grid", "Layer"]


class Layer(Base):
    """A grid layer: the unified grid or a department's; new layers are rows, not migrations."""

    __tablename__ = "layer"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_default()
    __table_args__ = (CheckConstraint("key ~ '^[a-z][a-z0-9_]*$'", name="layer_key_format"),)


class Generation(Base):
    """A version of a layer (MapIt's word): draft → published → retired, never deleted once published."""

    __tablename__ = "generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"), index=True)
    district_code: Mapped[str] = mapped_column(String(6), ForeignKey("district.code"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    author: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("generation.id"))
    created_at: Mapped[datetime] = now_default()
    published_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("layer_key", "district_code", "number", name="generation_layer_number"),
        UniqueConstraint("id", "district_code", name="generation_id_district"),
        CheckConstraint(
            "status in ('draft', 'published', 'retired')", name="generation_status_values"
        ),
        Index(
            "generation_one_published",
            "layer_key",
            "district_code",
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
    #: its generation's district (the composite key below keeps them equal)
    district_code: Mapped[str] = mapped_column(String(6))
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    street_code: Mapped[str | None] = mapped_column(String(12))
    households: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float)
    properties: Mapped[dict] = empty_object()
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        CheckConstraint("NOT ST_IsEmpty(geom)", name="grid_geom_not_empty"),
        CheckConstraint("layer_key <> 'unified' OR ST_IsValid(geom)", name="grid_unified_valid"),
        CheckConstraint(
            "layer_key <> 'unified' OR code ~ '^[0-9]{15}$'", name="grid_unified_code_format"
        ),
        CheckConstraint("households IS NULL OR households >= 0", name="grid_households_positive"),
        CheckConstraint(
            "layer_key <> 'unified' OR left(code, 6) = district_code",
            name="grid_unified_in_district",
        ),
        ForeignKeyConstraint(
            ["generation_id", "district_code"],
            ["generation.id", "generation.district_code"],
            name="grid_generation_district_fk",
            ondelete="CASCADE",
        ),
        Index("grid_generation_code", "generation_id", "code"),
        Index(
            "grid_unified_code_unique",
            "generation_id",
            "code",
            unique=True,
            postgresql_where=text("layer_key = 'unified'"),
        ),
    )
