"""Models of the districts and their reference data: each district's profile, admin areas,
buildings, the standard address library, people and the roster of who works in which grid.

Mirrors migrations ``0001_initial_schema`` and ``0011_districts``. A store serves several districts:
every row here carries the ``district_code`` it belongs to (a foreign key to ``district``), and an
admin area's code must start with it (a CHECK). Loaded with the district (the demo loader), read by
the locate index, the geocoder and the maps. ``person.phone`` is personal data: the API masks it
and the maps never carry it.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
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

from geo_grid.db.models.store import SRID, Base, now_default

__all__ = ["Address", "AdminArea", "Building", "District", "Person", "RosterEntry", "RosterRole"]


def _district_code() -> Mapped[str]:
    """The district a row belongs to (indexed: every read is scoped by it)."""
    return mapped_column(String(6), ForeignKey("district.code"), index=True)


class District(Base):
    """One district's profile (:class:`geo_grid.districts.DistrictProfile`): names, local CRS,
    outline (bounds derived by PostgreSQL), and its own time zone, household band and indicator
    thresholds where it does not use the store's defaults (NULL)."""

    __tablename__ = "district"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(Text)
    local_crs: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(Text)
    household_band_min: Mapped[int | None] = mapped_column(Integer)
    household_band_max: Mapped[int | None] = mapped_column(Integer)
    indicator_thresholds: Mapped[dict | None]
    outline = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    min_lon: Mapped[float] = mapped_column(Float, Computed("ST_XMin(outline)", persisted=True))
    min_lat: Mapped[float] = mapped_column(Float, Computed("ST_YMin(outline)", persisted=True))
    max_lon: Mapped[float] = mapped_column(Float, Computed("ST_XMax(outline)", persisted=True))
    max_lat: Mapped[float] = mapped_column(Float, Computed("ST_YMax(outline)", persisted=True))
    created_at: Mapped[datetime | None] = now_default()
    updated_at: Mapped[datetime | None] = now_default()
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{6}$'", name="district_code_format"),
        CheckConstraint("local_crs ~ '^EPSG:[0-9]{4,6}$'", name="district_local_crs_format"),
        CheckConstraint("ST_IsValid(outline)", name="district_valid_outline"),
        CheckConstraint(
            "(household_band_min IS NULL) = (household_band_max IS NULL) AND "
            "(household_band_min IS NULL OR "
            "(household_band_min > 0 AND household_band_min <= household_band_max))",
            name="district_household_band",
        ),
    )


class AdminArea(Base):
    """District 区, street 街道 and community 社区 with their official division codes.

    ``geom`` is NULL for a street or community known from the gazetteer by name and code only
    (a district onboarded without community outlines); spatial readers skip those."""

    __tablename__ = "admin_area"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = _district_code()
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    area_m2: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=True)
    __table_args__ = (
        CheckConstraint("level in ('district', 'street', 'community')", name="admin_area_level"),
        CheckConstraint("ST_IsValid(geom)", name="admin_area_valid_geom"),
        CheckConstraint("left(code, 6) = district_code", name="admin_area_in_district"),
    )


class Building(Base):
    """A building footprint 楼栋 with its households."""

    __tablename__ = "building"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str] = _district_code()
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
    district_code: Mapped[str] = _district_code()
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
    district_code: Mapped[str] = _district_code()


class RosterRole(Base):
    """One role of a district's roster (:class:`geo_grid.roster.RosterRole`): its key, Chinese
    name and duty (what the system does with its people). Migration ``0012_roster_roles``."""

    __tablename__ = "roster_role"
    district_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("district.code", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    duty: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_default()
    __table_args__ = (
        CheckConstraint("key ~ '^[a-z][a-z0-9_]{0,31}$'", name="roster_role_key_format"),
        CheckConstraint(
            "duty in ('grid_worker', 'grid_leader', 'dept_member', 'police', 'party_household', "
            "'none')",
            name="roster_role_duty_values",
        ),
        UniqueConstraint("district_code", "name_zh", name="roster_role_name_unique"),
    )


class RosterEntry(Base):
    """A person's role in a grid of a layer: one of its district's roles (网格长, 网格员, 包保民警,
    党员中心户, 报到成员, 楼栋长 …, a row of ``roster_role``).

    Keyed by layer and grid code rather than grid id, so a role survives a redraw that keeps the code.
    """

    __tablename__ = "roster"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    district_code: Mapped[str] = _district_code()
    role: Mapped[str] = mapped_column(String(32))
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"))
    grid_code: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(Text)
    linked_households: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    __table_args__ = (
        ForeignKeyConstraint(
            ["district_code", "role"],
            ["roster_role.district_code", "roster_role.key"],
            name="roster_role_fk",
        ),
        Index("roster_layer_grid", "layer_key", "grid_code"),
    )
