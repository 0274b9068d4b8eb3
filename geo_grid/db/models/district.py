"""Models of the district's reference data: admin areas, buildings, the standard address library,
people and the roster of who works in which grid.

Loaded with the district (the demo loader), read by the locate index, the geocoder and the maps.
``person.phone`` is personal data: the API masks it and the maps never carry it.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import SRID, Base

__all__ = ["Address", "AdminArea", "Building", "Person", "RosterEntry"]


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
